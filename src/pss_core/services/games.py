"""Games at the machine: start a player (or team), record the score, void it (for misconduct too),
take the player off. A machine's status is :mod:`~pss_core.services.machines`; the tournament
director's corrections are :mod:`~pss_core.services.corrections`.

A token is used only when a score or a void is recorded; taking a player off the machine (broken
machine, wrong player) leaves the token unused. Ending a game starts the next player waiting in the
machine's queue. Every change locks the machine and the people involved (see
:mod:`~pss_core.services.locking` for the order), bumps ``Tournament.version`` when a score or
entry changes, and writes one audit row per player concerned, with their remaining games after the
change.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core.audit import Actor
from pss_core.contract import GameResult, GameStart
from pss_core.errors import DomainError, InvalidInput, PermissionDenied, Refused
from pss_core.models import (
    Entry,
    EventPlayer,
    EventUser,
    MachineStatus,
    QueueSlot,
    Score,
    Token,
    Tournament,
    TournamentMachine,
    TournamentStatus,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.services import best_scores, locking, occupants
from pss_core.services.occupants import Occupant
from pss_core.services.tickets import usable_tokens

#: The largest score pss stores (a signed 64-bit integer).
MAX_SCORE = 2**63 - 1

#: 2^63 - 1 has 19 digits; grouped in threes that is 25 characters, and leading zeros are rare.
_SCORE_MAX_CHARS = 40

# "12,345,670", "12.345.670", "12 345 670", "12'345'670": one separator, groups of three.
_GROUPED = re.compile(r"^\d{1,3}(?P<sep>[,. '_\u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*$")


def parse_score(value: int | str) -> int:
    """A score from a form field or a number: a whole number from 0 to 2^63 - 1, written plainly or
    with one kind of thousands separator (``12,345,670``)."""
    if isinstance(value, bool):
        raise InvalidInput("A score is a whole number like 12,345,670.", code="invalid_score")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > _SCORE_MAX_CHARS:
            # int() refuses more than 4,300 digits with a ValueError; no score is this long.
            raise InvalidInput(
                "That score is too large to be real; check the number.", code="score_too_large"
            )
        if text.isascii() and text.isdigit():
            number = int(text)
        elif _GROUPED.match(text):
            number = int(re.sub(r"\D", "", text))
        elif text.startswith("-") and text[1:].replace(",", "").isdigit():
            raise InvalidInput("A score cannot be negative.", code="negative_score")
        else:
            raise InvalidInput(
                f"{value!r} is not a score; type a whole number like 12,345,670.",
                code="invalid_score",
            )
    else:
        raise InvalidInput("A score is a whole number like 12,345,670.", code="invalid_score")
    if number < 0:
        raise InvalidInput("A score cannot be negative.", code="negative_score")
    if number > MAX_SCORE:
        raise InvalidInput(
            "That score is too large to be real; check the number.", code="score_too_large"
        )
    return number


@attrs.frozen
class GameStarted:
    """A game that just started."""

    machine_id: int
    token_id: int
    entry_id: int
    player_id: int | None
    team_id: int | None
    #: The machine whose queue the player left by starting (this machine when started from it).
    left_queue_of: int | None = None
    #: Who started, as the scorekeeper's page names them ("Ada Flipper", "Team Tilt").
    name: str = ""


@attrs.frozen
class GameEnded:
    """A game that just ended: scored, voided (``misconduct`` too) or taken off (``removed``)."""

    machine_id: int
    token_id: int
    entry_id: int | None
    player_id: int | None
    team_id: int | None
    score: int | None = None
    score_id: int | None = None
    voided: bool = False
    misconduct: bool = False
    #: Taken off without using the token.
    removed: bool = False
    #: The next game, started from the queue.
    next_game: GameStarted | None = None
    #: Why the player at the head of the queue could not be started, if they could not.
    advance_refused: str | None = None
    #: Who played, as the scorekeeper's page names them.
    name: str = ""


def _staff_only(actor: Actor) -> None:
    if actor.player_id is not None:
        raise PermissionDenied("Only scorekeepers can do this.", code="staff_only")


def fresh_machine(session: Session, machine: TournamentMachine) -> TournamentMachine:
    """Re-read ``machine`` from the database, so the lock set is chosen from what it is now."""
    fresh = session.scalars(
        select(TournamentMachine)
        .where(TournamentMachine.id == machine.id)
        .execution_options(populate_existing=True)
    ).one()
    return fresh


def same_machine_ids(session: Session, machine: TournamentMachine) -> list[int]:
    """The rows of ``machine``'s physical machine: its title in every tournament bank of the
    event (HERB and PAPA on one bank machine), ``machine`` among them, by id."""
    return list(
        session.scalars(
            select(TournamentMachine.id)
            .where(
                TournamentMachine.event_id == machine.event_id,
                TournamentMachine.machine_id == machine.machine_id,
            )
            .order_by(TournamentMachine.id)
        )
    )


def _machine_and_heads(
    session: Session, machine: TournamentMachine
) -> tuple[list[int], dict[int, tuple[int | None, int | None]]]:
    """In one query: the rows of ``machine``'s physical machine (as :func:`same_machine_ids`)
    and who is at the head of each one's queue (player id, team id), for those with a queue."""
    rows = session.execute(
        select(TournamentMachine.id, QueueSlot.player_id, QueueSlot.team_id)
        .outerjoin(QueueSlot, QueueSlot.tournament_machine_id == TournamentMachine.id)
        .where(
            TournamentMachine.event_id == machine.event_id,
            TournamentMachine.machine_id == machine.machine_id,
        )
        .order_by(TournamentMachine.id, QueueSlot.position, QueueSlot.id)
    ).all()
    ids: list[int] = []
    heads: dict[int, tuple[int | None, int | None]] = {}
    for mid, player_id, team_id in rows:
        if not ids or ids[-1] != mid:
            ids.append(mid)
            if player_id is not None or team_id is not None:
                heads[mid] = (player_id, team_id)
    return ids, heads


def _busy_elsewhere(session: Session, machine: TournamentMachine) -> TournamentMachine | None:
    """The game on ``machine``'s physical machine for another tournament, if one is on."""
    return session.scalars(
        select(TournamentMachine)
        .where(
            TournamentMachine.event_id == machine.event_id,
            TournamentMachine.machine_id == machine.machine_id,
            TournamentMachine.id != machine.id,
            TournamentMachine.token_id.is_not(None),
        )
        .execution_options(populate_existing=True)
    ).first()


def _check_can_start(machine: TournamentMachine, tournament: Tournament) -> None:
    name = machine.machine.name
    if machine.status == MachineStatus.REMOVED:
        raise Refused(f"{name} is no longer in {tournament.name}.", code="machine_removed")
    if machine.status == MachineStatus.DISABLED:
        raise Refused(
            f"{name} is down; nobody new can start on it until it is back up.", code="machine_down"
        )
    if not tournament.active or tournament.status != TournamentStatus.ACTIVE:
        raise Refused(
            f"{tournament.name} is not active, so no new games can start.",
            code="tournament_inactive",
        )


def bump_version(tournament: Tournament) -> None:
    """Mark the tournament's standings as changed (a score or an entry changed), for a caller
    that holds the tournament's lock; games use :func:`pss_core.services.locking.bump_version`,
    one ``UPDATE`` that needs no lock beforehand."""
    # The tournament row is locked (and re-read) by the caller, so this cannot lose an update.
    tournament.version = (tournament.version or 0) + 1


# --- starting -------------------------------------------------------------------------------


def start_game(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    player: EventPlayer,
    actor: Actor,
    now: datetime | None = None,
) -> GameStarted:
    """Start ``player`` (or, in a team tournament, their team) on ``machine``.

    Refused when the machine is down, removed or in use, the tournament inactive, the player or a
    team member already on a machine, others waiting in the machine's queue ahead of them, no usable
    token, or a format rule says no. A player waiting in a queue leaves it by starting.
    """
    _staff_only(actor)
    now = now or utcnow()
    tournament = machine.tournament
    occ = occupants.resolve(session, pss, tournament, player)

    def attempt() -> GameStarted:
        slot = occupants.slot_of(session, occ)
        # The physical machine's rows in every tournament: one game at a time on it.
        machine_ids = set(same_machine_ids(session, machine)) | (
            {slot.tournament_machine_id} if slot else set()
        )
        locking.lock_machines(session, machine_ids)
        occupants.lock_occupants(session, [occ])
        slot = occupants.slot_of(session, occ)
        if slot is not None and slot.tournament_machine_id not in machine_ids:
            raise locking.LockSetChanged
        return start_locked(session, pss, machine, tournament, occ, actor, now, from_queue=False)

    return locking.retrying(session, attempt, what=machine.machine.name, reads_first=True)


def start_locked(
    session: Session,
    pss: Pss,
    machine: TournamentMachine,
    tournament: Tournament,
    occ: Occupant,
    actor: Actor,
    now: datetime,
    *,
    from_queue: bool,
) -> GameStarted:
    """Start ``occ`` on ``machine``; the caller holds the machine and occupant locks (a start
    from the desk and one from the head of the queue share this). The tournament is checked
    again as its version is bumped, the last write."""
    name = machine.machine.name
    if not tournament.active or tournament.status != TournamentStatus.ACTIVE:
        # A lifecycle job holding the tournament is the better answer (and says when it ends);
        # the happy path learns of one as it bumps the version.
        locking.refuse_if_held(session, tournament)
    _check_can_start(machine, tournament)
    if machine.token_id is not None:
        current = occupants.from_row(session, machine.player_id, machine.team_id)
        who = current.name if current else "someone"
        raise Refused(f"{name} is in use: {who} is playing it.", code="machine_busy")
    other = _busy_elsewhere(session, machine)
    if other is not None:
        current = occupants.from_row(session, other.player_id, other.team_id)
        who = current.name if current else "someone"
        raise Refused(
            f"{name} is in use: {who} is playing it for {other.tournament.name}.",
            code="machine_busy",
        )
    occupants.refuse_if_playing(session, occ)
    queue = occupants.slots(session, machine.id)
    if queue and not occ.same_as(queue[0].player_id, queue[0].team_id):
        first = occupants.from_row(session, queue[0].player_id, queue[0].team_id)
        raise Refused(
            f"{len(queue)} waiting in the queue for {name}; "
            f"{first.name if first else 'the player at the head'} is next.",
            code="queue_waiting",
            waiting=len(queue),
        )
    tokens = usable_tokens(
        session, pss, tournament, player_id=occ.player_id, team_id=occ.team_id, limit=1
    )
    if not tokens:
        raise Refused(f"{occ.name} has no tickets left for {tournament.name}.", code="no_tokens")
    token = tokens[0]
    game = GameStart(
        tournament=tournament, machine=machine, player=occ.player, team=occ.team, token=token
    )
    fmt, options = pss.format_for(tournament)
    fmt.check_game_start(session, game, options)
    pss.hook.pss_check_game_start(session=session, game=game)
    entry = fmt.entry_for_game(session, game, options)
    if entry.id is None:
        session.add(entry)
        session.flush()
    token.entry_id = entry.id
    machine.player_id = occ.player_id
    machine.team_id = occ.team_id
    machine.token_id = token.id
    machine.game_started_at = now
    left: int | None = None
    slot = occupants.slot_of(session, occ)
    if slot is not None:
        left = slot.tournament_machine_id
        occupants.delete_slot(session, slot)
        left_machine = session.get(TournamentMachine, left)
        assert left_machine is not None
        occupants.queue_changed(
            session, pss, left_machine, "advance" if left == machine.id else "leave", occ
        )
    occupants.audit_at_machine(
        session,
        actor,
        "game.start",
        occ,
        machine,
        now,
        token_id=token.id,
        entry_id=entry.id,
        from_queue=from_queue,
        left_queue_of=left,
    )
    session.flush()
    locking.bump_version(session, tournament)
    # A status change that committed while this game was being set up is seen here.
    _check_can_start(machine, tournament)
    return GameStarted(
        machine_id=machine.id,
        token_id=token.id,
        entry_id=entry.id,
        player_id=occ.player_id,
        team_id=occ.team_id,
        left_queue_of=left,
        name=occ.name,
    )


def _next_to_play(
    session: Session, machine: TournamentMachine, siblings: list[TournamentMachine]
) -> TournamentMachine:
    """Which tournament's queue the freed physical machine serves next: the one whose head has
    waited longest among the open ones (``machine``'s own when nobody else waits)."""
    best: tuple[Any, int] | None = None
    chosen = machine
    for m in siblings:
        if m.status != MachineStatus.ACTIVE:
            continue
        first = occupants.head(session, m.id)
        if first is None:
            continue
        key = (first.joined_at, 0 if m.id == machine.id else 1)
        if best is None or key < best:
            best, chosen = key, m
    return chosen


def _advance(
    session: Session,
    pss: Pss,
    machine: TournamentMachine,
    tournament: Tournament,
    actor: Actor,
    now: datetime,
) -> tuple[GameStarted | None, str | None]:
    """Start the head of the queue on the (free) machine. A refusal leaves the queue as it was
    and tells the player; the game that just ended is recorded either way."""
    if (
        machine.token_id is not None
        or machine.status != MachineStatus.ACTIVE
        or not tournament.active
        or tournament.status != TournamentStatus.ACTIVE
        or _busy_elsewhere(session, machine) is not None
    ):
        return None, None
    first = occupants.head(session, machine.id)
    if first is None:
        return None, None
    savepoint = session.begin_nested()
    try:
        occ = occupants.from_row(session, first.player_id, first.team_id)
        assert occ is not None
        started = start_locked(session, pss, machine, tournament, occ, actor, now, from_queue=True)
    except DomainError as exc:
        savepoint.rollback()
        people = (
            [first.player_id]
            if first.player_id is not None
            else occupants.members_of(session, first.team_id or 0)
        )
        occupants.notify(
            session,
            pss,
            people,
            machine.event_id,
            "queue_advance_refused",
            f"You are next for {machine.machine.name} but could not be started: "
            f"{exc.message} Please see the scorekeeper.",
        )
        return None, exc.message
    savepoint.commit()
    occupants.notify(
        session,
        pss,
        occ.person_ids,
        machine.event_id,
        "your_turn",
        f"It is your turn on {machine.machine.name}.",
    )
    return started, None


# --- ending ---------------------------------------------------------------------------------


def record_score(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    score: int | str,
    actor: Actor,
    token_id: int | None = None,
    now: datetime | None = None,
    advance: bool = True,
) -> GameEnded:
    """Record the score of the game on ``machine``: uses its token, frees the machine and starts
    the next player from the queue. Pass ``token_id`` (the game the scorekeeper sees) so that a
    second scorekeeper's late submission is refused instead of landing on the next player."""
    value = parse_score(score)
    return _end_game(
        session,
        pss,
        machine=machine,
        actor=actor,
        kind="score",
        score=value,
        token_id=token_id,
        now=now,
        advance=advance,
    )


def void_game(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    actor: Actor,
    token_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
    advance: bool = True,
) -> GameEnded:
    """Void the game on ``machine``: the token is used, no score is kept."""
    return _end_game(
        session,
        pss,
        machine=machine,
        actor=actor,
        kind="void",
        token_id=token_id,
        now=now,
        advance=advance,
        reason=reason,
    )


def misconduct(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    actor: Actor,
    token_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
    advance: bool = True,
) -> GameEnded:
    """Void the game for misconduct: as :func:`void_game`, and one offence on the player (on each
    member for a team)."""
    return _end_game(
        session,
        pss,
        machine=machine,
        actor=actor,
        kind="misconduct",
        token_id=token_id,
        now=now,
        advance=advance,
        reason=reason,
    )


def remove_from_machine(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    actor: Actor,
    token_id: int | None = None,
    reason: str = "",
    now: datetime | None = None,
    advance: bool = True,
) -> GameEnded:
    """Take the player off ``machine`` without using their token (broken machine, wrong player).
    Disable a broken machine first (or pass ``advance=False``) so the queue does not move on."""
    return _end_game(
        session,
        pss,
        machine=machine,
        actor=actor,
        kind="remove",
        token_id=token_id,
        now=now,
        advance=advance,
        reason=reason,
    )


def _end_game(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    actor: Actor,
    kind: str,
    score: int | None = None,
    token_id: int | None = None,
    now: datetime | None = None,
    advance: bool = True,
    reason: str = "",
) -> GameEnded:
    _staff_only(actor)
    now = now or utcnow()
    tournament = machine.tournament
    # Held, so that re-reading the machine under its lock does not send for its name again.
    physical = machine.machine  # noqa: F841

    def attempt() -> GameEnded:
        # The rows of the physical machine in every tournament (HERB and PAPA on one bank
        # machine): whoever has waited longest in their queues plays it next. Locked first, so
        # who plays and who waits (queues change under the machine's lock) are read as they are.
        ids, _ = _machine_and_heads(session, machine)
        locking.lock_machines(session, ids)
        ids_now, heads = _machine_and_heads(session, machine)
        if ids_now != ids:
            raise locking.LockSetChanged
        # Kept referenced, so what is locked stays in the session for end_locked to use.
        people = [
            occupants.from_row(session, machine.player_id, machine.team_id),
            *(occupants.from_row(session, *h) for h in heads.values()),
        ]
        occupants.lock_occupants(session, people)
        siblings = [session.get(TournamentMachine, mid) for mid in ids]
        ended = end_locked(
            session,
            pss,
            machine,
            tournament,
            actor,
            kind=kind,
            score=score,
            token_id=token_id,
            now=now,
            reason=reason,
        )
        if not advance or not heads:  # nobody waits (read under the lock): nothing to start
            return ended
        nxt = _next_to_play(session, machine, [m for m in siblings if m is not None])
        started, refused = _advance(session, pss, nxt, nxt.tournament, actor, now)
        return attrs.evolve(ended, next_game=started, advance_refused=refused)

    return locking.retrying(session, attempt, what=machine.machine.name, reads_first=True)


def end_locked(
    session: Session,
    pss: Pss,
    machine: TournamentMachine,
    tournament: Tournament,
    actor: Actor,
    *,
    kind: str,
    score: int | None,
    token_id: int | None,
    now: datetime,
    reason: str,
) -> GameEnded:
    """End the game on ``machine`` (``kind``: score, void, misconduct or remove); the caller holds
    the machine and occupant locks (ending at the machine and removing the machine share this).
    The tournament's version is bumped as the last write."""
    name = machine.machine.name
    if token_id is not None and machine.token_id != token_id:
        raise Refused(
            f"The game on {name} changed since you looked (its score may have been recorded "
            "already); check the machine and try again.",
            code="game_changed",
        )
    if machine.token_id is None:
        raise Refused(f"Nobody is playing {name}.", code="no_game")
    occ = occupants.from_row(session, machine.player_id, machine.team_id)
    assert occ is not None
    token = session.scalars(
        select(Token).where(Token.id == machine.token_id).execution_options(populate_existing=True)
    ).one()
    entry = session.get(Entry, token.entry_id) if token.entry_id is not None else None
    score_row: Score | None = None
    if kind == "score":
        assert entry is not None
        assert score is not None
        token.used_at = now
        score_row = Score(
            event_id=machine.event_id,
            entry_id=entry.id,
            tournament_machine_id=machine.id,
            token_id=token.id,
            score=score,
            recorded_by_id=event_user_id(session, machine.event_id, actor),
            recorded_at=now,
        )
        session.add(score_row)
    elif kind in ("void", "misconduct"):
        token.voided_at = now
    machine.player_id = None
    machine.team_id = None
    machine.token_id = None
    machine.game_started_at = None
    session.flush()
    entry_id = entry.id if entry is not None else None
    if kind == "remove":
        token.entry_id = None
        session.flush()
        if entry is not None:
            _drop_if_empty(session, entry)
    elif entry is not None:
        finished = GameResult(
            tournament=tournament,
            machine=machine,
            entry=entry,
            token=token,
            score=score,
            voided=kind != "score",
        )
        fmt, options = pss.format_for(tournament)
        fmt.game_finished(session, finished, options)
        pss.hook.pss_game_finished(session=session, result=finished)
    if kind == "misconduct":
        for pid in occ.person_ids:
            person = session.get(EventPlayer, pid)
            assert person is not None
            person.offences = (person.offences or 0) + 1
    best_scores.refresh_entry(session, entry_id)
    session.flush()
    action = {
        "score": "game.score",
        "void": "game.void",
        "misconduct": "game.misconduct",
        "remove": "game.remove",
    }[kind]
    details: dict[str, Any] = {"token_id": token.id, "entry_id": entry_id}
    if kind == "score":
        details["score"] = score
    if reason:
        details["reason"] = reason
    occupants.audit_at_machine(session, actor, action, occ, machine, now, **details)
    session.flush()
    locking.bump_version(session, tournament)
    return GameEnded(
        machine_id=machine.id,
        token_id=token.id,
        entry_id=entry_id,
        player_id=occ.player_id,
        team_id=occ.team_id,
        score=score,
        score_id=score_row.id if score_row is not None else None,
        voided=kind in ("void", "misconduct"),
        misconduct=kind == "misconduct",
        removed=kind == "remove",
        name=occ.name,
    )


def _drop_if_empty(session: Session, entry: Entry) -> None:
    """An entry made for a game that never happened (HERB) goes away with it."""
    tokens = session.scalar(select(func.count(Token.id)).where(Token.entry_id == entry.id))
    scores = session.scalar(select(func.count(Score.id)).where(Score.entry_id == entry.id))
    if not tokens and not scores:
        session.delete(entry)
        session.flush()


def event_user_id(session: Session, event_id: int, actor: Actor) -> int | None:
    """The actor's staff row in the event (who recorded a score), if a person acts."""
    if actor.user_id is None:
        return None
    return session.scalar(
        select(EventUser.id).where(
            EventUser.event_id == event_id, EventUser.user_id == actor.user_id
        )
    )
