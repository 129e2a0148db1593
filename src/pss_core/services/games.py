"""Games at the machine: start a player (or team), record the score, void it, take the player off,
change a machine's status, and the tournament director's corrections.

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
    EntryStatus,
    EventPlayer,
    EventUser,
    EventUserRole,
    MachineStatus,
    Role,
    Score,
    Token,
    Tournament,
    TournamentMachine,
    TournamentStatus,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.services import locking, occupants
from pss_core.services.occupants import Occupant
from pss_core.services.tickets import audit_for_player, usable_tokens

#: The largest score pss stores (a signed 64-bit integer).
MAX_SCORE = 2**63 - 1

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
        if text.isascii() and text.isdigit():
            number = int(text)
        elif _GROUPED.match(text):
            number = int(re.sub(r"\D", "", text))
        elif text.startswith("-") and text[1:].replace(",", "").isdigit():
            raise InvalidInput("A score cannot be negative.", code="negative_score")
        else:
            raise InvalidInput(f"{value!r} is not a score; type a whole number like 12,345,670.",
                               code="invalid_score")
    else:
        raise InvalidInput("A score is a whole number like 12,345,670.", code="invalid_score")
    if number < 0:
        raise InvalidInput("A score cannot be negative.", code="negative_score")
    if number > MAX_SCORE:
        raise InvalidInput("That score is too large to be real; check the number.",
                           code="score_too_large")
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


def _staff_only(actor: Actor) -> None:
    if actor.player_id is not None:
        raise PermissionDenied("Only scorekeepers can do this.", code="staff_only")


def _fresh_machine(session: Session, machine: TournamentMachine) -> TournamentMachine:
    fresh = session.scalars(select(TournamentMachine).where(TournamentMachine.id == machine.id)
                            .execution_options(populate_existing=True)).one()
    return fresh


def _check_can_start(machine: TournamentMachine, tournament: Tournament) -> None:
    name = machine.machine.name
    if machine.status == MachineStatus.REMOVED:
        raise Refused(f"{name} is no longer in {tournament.name}.", code="machine_removed")
    if machine.status == MachineStatus.DISABLED:
        raise Refused(f"{name} is down; nobody new can start on it until it is back up.",
                      code="machine_down")
    if not tournament.active or tournament.status != TournamentStatus.ACTIVE:
        raise Refused(f"{tournament.name} is not active, so no new games can start.",
                      code="tournament_inactive")


def _bump_version(tournament: Tournament) -> None:
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
        machine_ids = {machine.id} | ({slot.tournament_machine_id} if slot else set())
        locking.lock_machines(session, machine_ids)
        occupants.lock_occupants(session, [occ])
        locking.lock_tournaments(session, [tournament.id])
        slot = occupants.slot_of(session, occ)
        if slot is not None and slot.tournament_machine_id not in machine_ids:
            raise locking.LockSetChanged
        return start_locked(session, pss, machine, tournament, occ, actor, now,
                            from_queue=False)

    return locking.retrying(session, attempt, what=machine.machine.name)


def start_locked(session: Session, pss: Pss, machine: TournamentMachine,
                 tournament: Tournament, occ: Occupant, actor: Actor, now: datetime, *,
                 from_queue: bool) -> GameStarted:
    """Start ``occ`` on ``machine``; the caller holds the machine, occupant and tournament
    locks (a start from the desk and one from the head of the queue share this)."""
    name = machine.machine.name
    _check_can_start(machine, tournament)
    if machine.token_id is not None:
        current = occupants.from_row(session, machine.player_id, machine.team_id)
        who = current.name if current else "someone"
        raise Refused(f"{name} is in use: {who} is playing it.", code="machine_busy")
    occupants.refuse_if_playing(session, occ)
    queue = occupants.slots(session, machine.id)
    if queue and not occ.same_as(queue[0].player_id, queue[0].team_id):
        first = occupants.from_row(session, queue[0].player_id, queue[0].team_id)
        raise Refused(
            f"{len(queue)} waiting in the queue for {name}; "
            f"{first.name if first else 'the player at the head'} is next.",
            code="queue_waiting", waiting=len(queue))
    tokens = usable_tokens(session, pss, tournament, player_id=occ.player_id,
                           team_id=occ.team_id, limit=1)
    if not tokens:
        raise Refused(f"{occ.name} has no tickets left for {tournament.name}.",
                      code="no_tokens")
    token = tokens[0]
    game = GameStart(tournament=tournament, machine=machine, player=occ.player, team=occ.team,
                     token=token)
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
        occupants.queue_changed(session, pss, left_machine,
                                "advance" if left == machine.id else "leave", occ)
    _bump_version(tournament)
    session.flush()
    occupants.audit_at_machine(session, actor, "game.start", occ, machine, now,
                               token_id=token.id, entry_id=entry.id, from_queue=from_queue,
                               left_queue_of=left)
    return GameStarted(machine_id=machine.id, token_id=token.id, entry_id=entry.id,
                       player_id=occ.player_id, team_id=occ.team_id, left_queue_of=left)


def _advance(session: Session, pss: Pss, machine: TournamentMachine, tournament: Tournament,
             actor: Actor, now: datetime) -> tuple[GameStarted | None, str | None]:
    """Start the head of the queue on the (free) machine. A refusal leaves the queue as it was
    and tells the player; the game that just ended is recorded either way."""
    if (machine.token_id is not None or machine.status != MachineStatus.ACTIVE
            or not tournament.active or tournament.status != TournamentStatus.ACTIVE):
        return None, None
    first = occupants.head(session, machine.id)
    if first is None:
        return None, None
    savepoint = session.begin_nested()
    try:
        occ = occupants.from_row(session, first.player_id, first.team_id)
        assert occ is not None
        started = start_locked(session, pss, machine, tournament, occ, actor, now,
                               from_queue=True)
    except DomainError as exc:
        savepoint.rollback()
        people = ([first.player_id] if first.player_id is not None
                  else occupants.members_of(session, first.team_id or 0))
        occupants.notify(session, pss, people, machine.event_id, "queue_advance_refused",
                         f"You are next for {machine.machine.name} but could not be started: "
                         f"{exc.message} Please see the scorekeeper.")
        return None, exc.message
    savepoint.commit()
    occupants.notify(session, pss, occ.person_ids, machine.event_id, "your_turn",
                     f"It is your turn on {machine.machine.name}.")
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
    return _end_game(session, pss, machine=machine, actor=actor, kind="score", score=value,
                     token_id=token_id, now=now, advance=advance)


def void_game(session: Session, pss: Pss, *, machine: TournamentMachine, actor: Actor,
              token_id: int | None = None, reason: str = "", now: datetime | None = None,
              advance: bool = True) -> GameEnded:
    """Void the game on ``machine``: the token is used, no score is kept."""
    return _end_game(session, pss, machine=machine, actor=actor, kind="void", token_id=token_id,
                     now=now, advance=advance, reason=reason)


def misconduct(session: Session, pss: Pss, *, machine: TournamentMachine, actor: Actor,
               token_id: int | None = None, reason: str = "", now: datetime | None = None,
               advance: bool = True) -> GameEnded:
    """Void the game for misconduct: as :func:`void_game`, and one offence on the player (on each
    member for a team)."""
    return _end_game(session, pss, machine=machine, actor=actor, kind="misconduct",
                     token_id=token_id, now=now, advance=advance, reason=reason)


def remove_from_machine(session: Session, pss: Pss, *, machine: TournamentMachine, actor: Actor,
                        token_id: int | None = None, reason: str = "",
                        now: datetime | None = None, advance: bool = True) -> GameEnded:
    """Take the player off ``machine`` without using their token (broken machine, wrong player).
    Disable a broken machine first (or pass ``advance=False``) so the queue does not move on."""
    return _end_game(session, pss, machine=machine, actor=actor, kind="remove",
                     token_id=token_id, now=now, advance=advance, reason=reason)


def _end_game(session: Session, pss: Pss, *, machine: TournamentMachine, actor: Actor, kind: str,
              score: int | None = None, token_id: int | None = None,
              now: datetime | None = None, advance: bool = True, reason: str = "") -> GameEnded:
    _staff_only(actor)
    now = now or utcnow()
    tournament = machine.tournament

    def attempt() -> GameEnded:
        _fresh_machine(session, machine)
        seen = (machine.player_id, machine.team_id)
        first = occupants.head(session, machine.id)
        seen_head = (first.player_id, first.team_id) if first else None
        locking.lock_machines(session, [machine.id])
        occupants.lock_occupants(session, [
            occupants.from_row(session, *seen),
            occupants.from_row(session, *seen_head) if seen_head else None,
        ])
        locking.lock_tournaments(session, [tournament.id])
        first = occupants.head(session, machine.id)
        if ((machine.player_id, machine.team_id) != seen
                or ((first.player_id, first.team_id) if first else None) != seen_head):
            raise locking.LockSetChanged
        ended = _end_locked(session, pss, machine, tournament, actor, kind=kind, score=score,
                            token_id=token_id, now=now, reason=reason)
        if not advance:
            return ended
        started, refused = _advance(session, pss, machine, tournament, actor, now)
        return attrs.evolve(ended, next_game=started, advance_refused=refused)

    return locking.retrying(session, attempt, what=machine.machine.name)


def _end_locked(session: Session, pss: Pss, machine: TournamentMachine, tournament: Tournament,
                actor: Actor, *, kind: str, score: int | None, token_id: int | None,
                now: datetime, reason: str) -> GameEnded:
    name = machine.machine.name
    if token_id is not None and machine.token_id != token_id:
        raise Refused(
            f"The game on {name} changed since you looked (its score may have been recorded "
            "already); check the machine and try again.", code="game_changed")
    if machine.token_id is None:
        raise Refused(f"Nobody is playing {name}.", code="no_game")
    occ = occupants.from_row(session, machine.player_id, machine.team_id)
    assert occ is not None
    token = session.scalars(select(Token).where(Token.id == machine.token_id)
                            .execution_options(populate_existing=True)).one()
    entry = session.get(Entry, token.entry_id) if token.entry_id is not None else None
    score_row: Score | None = None
    if kind == "score":
        assert entry is not None
        assert score is not None
        token.used_at = now
        score_row = Score(event_id=machine.event_id, entry_id=entry.id,
                          tournament_machine_id=machine.id, token_id=token.id, score=score,
                          recorded_by_id=_event_user_id(session, machine.event_id, actor),
                          recorded_at=now)
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
        finished = GameResult(tournament=tournament, machine=machine, entry=entry, token=token,
                              score=score, voided=kind != "score")
        fmt, options = pss.format_for(tournament)
        fmt.game_finished(session, finished, options)
        pss.hook.pss_game_finished(session=session, result=finished)
    if kind == "misconduct":
        for pid in occ.person_ids:
            person = session.get(EventPlayer, pid)
            assert person is not None
            person.offences = (person.offences or 0) + 1
    _bump_version(tournament)
    session.flush()
    action = {"score": "game.score", "void": "game.void", "misconduct": "game.misconduct",
              "remove": "game.remove"}[kind]
    details: dict[str, Any] = {"token_id": token.id, "entry_id": entry_id}
    if kind == "score":
        details["score"] = score
    if reason:
        details["reason"] = reason
    occupants.audit_at_machine(session, actor, action, occ, machine, now, **details)
    return GameEnded(machine_id=machine.id, token_id=token.id, entry_id=entry_id,
                     player_id=occ.player_id, team_id=occ.team_id, score=score,
                     score_id=score_row.id if score_row is not None else None,
                     voided=kind in ("void", "misconduct"), misconduct=kind == "misconduct",
                     removed=kind == "remove")


def _drop_if_empty(session: Session, entry: Entry) -> None:
    """An entry made for a game that never happened (HERB) goes away with it."""
    tokens = session.scalar(select(func.count(Token.id)).where(Token.entry_id == entry.id))
    scores = session.scalar(select(func.count(Score.id)).where(Score.entry_id == entry.id))
    if not tokens and not scores:
        session.delete(entry)
        session.flush()


def _event_user_id(session: Session, event_id: int, actor: Actor) -> int | None:
    if actor.user_id is None:
        return None
    from pss_core.models import EventUser

    return session.scalar(select(EventUser.id).where(EventUser.event_id == event_id,
                                                     EventUser.user_id == actor.user_id))


# --- machine status -------------------------------------------------------------------------


@attrs.frozen
class MachineStatusChange:
    machine_id: int
    old: MachineStatus
    new: MachineStatus
    #: Players told about their queue place (kept when down, lost when removed).
    told: tuple[int, ...] = ()
    #: The game taken off a removed machine (its token not used).
    taken_off: GameEnded | None = None

    @property
    def changed(self) -> bool:
        return self.old != self.new


_STATUS_WORDS = {"enable": MachineStatus.ACTIVE, "disable": MachineStatus.DISABLED,
                 "remove": MachineStatus.REMOVED}


def check_machine_status_allowed(session: Session, machine: TournamentMachine,
                                 new: MachineStatus, actor: Actor) -> None:
    """Refuse ``actor`` a change of ``machine`` to ``new``: a scorekeeper at the bank marks a
    machine down for repair and back up, as does the tournament director; taking a machine out
    of the bank is the tournament director's alone. pss itself (an actor with no user) may do
    either; players may do neither."""
    if actor.player_id is not None:
        raise PermissionDenied("Only scorekeepers can do this.", code="staff_only")
    if actor.user_id is None:
        return
    roles = set(session.scalars(
        select(EventUserRole.role).join(EventUser, EventUserRole.event_user_id == EventUser.id)
        .where(EventUser.event_id == machine.event_id, EventUser.user_id == actor.user_id)))
    if new == MachineStatus.REMOVED:
        if Role.TOURNAMENT_DIRECTOR not in roles:
            raise PermissionDenied(
                "Only a tournament director can remove a machine from the bank; mark it down "
                "for repair instead.", code="td_only")
    elif not roles & {Role.TOURNAMENT_DIRECTOR, Role.SCOREKEEPER}:
        raise PermissionDenied(
            "Only scorekeepers and tournament directors can mark a machine down or back up.",
            code="scorekeepers_only")


def set_machine_status(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    status: MachineStatus | str,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> MachineStatusChange:
    """Enable, disable (DOWN) or remove a machine.

    Disable: nobody new starts; a game in progress may still be recorded; the queue is frozen
    (places kept, nobody joins, nobody is started from it) and its players are told. Enable: the
    queue thaws and its players are told (the scorekeeper starts the head when they are there).
    Remove: a game in progress is taken off without using its token, the queue is cleared and its
    players are told; the machine stays only in results history.

    Scorekeepers and the tournament director disable and enable; only the tournament director
    removes (see :func:`check_machine_status_allowed`).
    """
    try:
        new = _STATUS_WORDS[status] if status in _STATUS_WORDS else MachineStatus(status)
    except ValueError:
        raise InvalidInput(f"{status!r} is not a machine status (enable, disable or remove).",
                           code="invalid_status") from None
    check_machine_status_allowed(session, machine, new, actor)
    now = now or utcnow()
    tournament = machine.tournament

    def attempt() -> MachineStatusChange:
        _fresh_machine(session, machine)
        seen = (machine.player_id, machine.team_id)
        locking.lock_machines(session, [machine.id])
        occupants.lock_occupants(session, [occupants.from_row(session, *seen)])
        locking.lock_tournaments(session, [tournament.id])
        if (machine.player_id, machine.team_id) != seen:
            raise locking.LockSetChanged
        return _set_status_locked(session, pss, machine, tournament, new, actor, reason, now)

    return locking.retrying(session, attempt, what=machine.machine.name)


def _set_status_locked(session: Session, pss: Pss, machine: TournamentMachine,
                       tournament: Tournament, new: MachineStatus, actor: Actor, reason: str,
                       now: datetime) -> MachineStatusChange:
    old = machine.status
    if old == new:
        return MachineStatusChange(machine_id=machine.id, old=old, new=new)
    name = machine.machine.name
    taken_off: GameEnded | None = None
    told: list[int] = []
    if new == MachineStatus.REMOVED:
        if machine.token_id is not None:
            taken_off = _end_locked(session, pss, machine, tournament, actor, kind="remove",
                                    score=None, token_id=None, now=now,
                                    reason=reason or "machine removed")
        told = occupants.clear_queue_locked(
            session, pss, machine, actor, now=now, kind="machine_removed",
            message=f"{name} has been removed from {tournament.name}, so you "
                    "are no longer in its queue.")
    else:
        for slot in occupants.slots(session, machine.id):
            occ = occupants.from_row(session, slot.player_id, slot.team_id)
            assert occ is not None
            if new == MachineStatus.DISABLED:
                kind, text = "machine_down", (
                    f"{name} is down for repair. Your place in its queue "
                    f"({occupants.ordinal(slot.position)}) is kept.")
            else:
                kind, text = "machine_up", (
                    f"{name} is back up. You are {occupants.ordinal(slot.position)} in its "
                    "queue; please be ready.")
            occupants.notify(session, pss, occ.person_ids, machine.event_id, kind, text)
            told.extend(occ.person_ids)
        if told or new == MachineStatus.DISABLED:
            occupants.queue_changed(session, pss, machine,
                                    "freeze" if new == MachineStatus.DISABLED else "unfreeze")
    machine.status = new
    session.flush()
    from pss_core import audit

    audit.record(session, actor, "machine.status", event_id=machine.event_id, subject=machine,
                 machine=name, tournament=tournament.slug, old=old.value, new=new.value,
                 reason=reason, players_told=told)
    return MachineStatusChange(machine_id=machine.id, old=old, new=new, told=tuple(told),
                               taken_off=taken_off)


# --- corrections (tournament director) ------------------------------------------------------


def _owner_of_entry(session: Session, entry: Entry) -> Occupant:
    occ = occupants.from_row(session, entry.player_id, entry.team_id)
    assert occ is not None
    return occ


def _lock_entry_owner(session: Session, entry: Entry) -> tuple[Occupant, Tournament]:
    occ = _owner_of_entry(session, entry)
    occupants.lock_occupants(session, [occ])
    tournament = locking.lock_tournaments(session, [entry.tournament_id])[0]
    session.refresh(entry)
    return occ, tournament


def _correction_audit(session: Session, actor: Actor, action: str, occ: Occupant,
                      tournament: Tournament, subject: Any, now: datetime,
                      **details: Any) -> None:
    for pid in occ.person_ids:
        audit_for_player(session, actor, action, event_id=tournament.event_id, player_id=pid,
                         subject=subject, now=now, tournament=tournament.slug,
                         team_id=occ.team_id, **details)


def edit_score(session: Session, pss: Pss, *, score: Score, new_score: int | str, actor: Actor,
               reason: str = "", now: datetime | None = None) -> Score:
    """Change a recorded score (a typo). Audit-logged with the score before and after."""
    value = parse_score(new_score)
    now = now or utcnow()
    entry = score.entry
    occupants.require_director(session, entry.event_id, actor.user_id, actor.player_id)
    occ, tournament = _lock_entry_owner(session, entry)
    session.refresh(score)
    before = score.score
    if before == value:
        return score
    score.score = value
    _bump_version(tournament)
    session.flush()
    _correction_audit(session, actor, "score.edit", occ, tournament, score, now,
                      entry_id=entry.id, machine_id=score.tournament_machine_id,
                      before=before, after=value, reason=reason)
    return score


def _entry_in_play(session: Session, entry: Entry) -> bool:
    return session.scalar(select(TournamentMachine.id).join(
        Token, TournamentMachine.token_id == Token.id).where(Token.entry_id == entry.id)
    ) is not None


def void_entry(session: Session, pss: Pss, *, entry: Entry, actor: Actor, reason: str = "",
               now: datetime | None = None) -> Entry:
    """Void a whole entry: its scores stop counting (tokens stay as they were: used or voided)."""
    now = now or utcnow()
    occupants.require_director(session, entry.event_id, actor.user_id, actor.player_id)
    occ, tournament = _lock_entry_owner(session, entry)
    if entry.status == EntryStatus.VOIDED:
        raise Refused("This entry is already voided.", code="already_voided")
    if _entry_in_play(session, entry):
        raise Refused("A game of this entry is being played; record or take it off first.",
                      code="entry_in_play")
    before = entry.status.value
    consumed = _void_rest_of_entry(session, pss, entry, occ, tournament, now)
    _bump_version(tournament)
    session.flush()
    _correction_audit(session, actor, "entry.void", occ, tournament, entry, now,
                      before=before, after=entry.status.value, reason=reason,
                      tokens_voided=consumed)
    return entry


def abandon_entry(session: Session, pss: Pss, *, entry: Entry, actor: Actor,
                  now: datetime | None = None) -> Entry:
    """A player gives up their open entry before finishing it (the player themself, or staff for
    them): the games it has left are used up and its scores never count."""
    now = now or utcnow()
    occ, tournament = _lock_entry_owner(session, entry)
    occupants.require_self_or_staff(actor.player_id, occ)
    if entry.status != EntryStatus.OPEN:
        raise Refused("Only an entry that is still being played can be given up.",
                      code="entry_not_open")
    if _entry_in_play(session, entry):
        raise Refused("A game of this entry is being played; finish it first.",
                      code="entry_in_play")
    consumed = _void_rest_of_entry(session, pss, entry, occ, tournament, now)
    _bump_version(tournament)
    session.flush()
    _correction_audit(session, actor, "entry.abandon", occ, tournament, entry, now,
                      before=EntryStatus.OPEN.value, after=entry.status.value,
                      tokens_voided=consumed)
    return entry


def _void_rest_of_entry(session: Session, pss: Pss, entry: Entry, occ: Occupant,
                        tournament: Tournament, now: datetime) -> list[int]:
    """Void the entry; if it was still open, the tokens of its unplayed games are used up too
    (marked voided at the entry's void time, so an unvoid can give them back)."""
    was_open = entry.status == EntryStatus.OPEN
    entry.status = EntryStatus.VOIDED
    entry.voided_at = now
    if not was_open:
        return []
    left = entry.games_allowed - _games_ended(session, entry)
    if left <= 0:
        return []
    team_id = occ.team.id if occ.team is not None else None
    tokens = usable_tokens(session, pss, tournament, player_id=None if team_id else occ.player.id,
                           team_id=team_id, limit=left)
    for token in tokens:
        token.voided_at = now
        token.entry_id = entry.id
    return [t.id for t in tokens]


def _games_ended(session: Session, entry: Entry) -> int:
    return int(session.scalar(select(func.count(Token.id)).where(
        Token.entry_id == entry.id,
        Token.used_at.is_not(None) | Token.voided_at.is_not(None))) or 0)


def unvoid_entry(session: Session, pss: Pss, *, entry: Entry, actor: Actor, reason: str = "",
                 now: datetime | None = None) -> Entry:
    """Undo a void: the entry counts again (complete once all its games are played, else open)."""
    now = now or utcnow()
    occupants.require_director(session, entry.event_id, actor.user_id, actor.player_id)
    occ, tournament = _lock_entry_owner(session, entry)
    if entry.status != EntryStatus.VOIDED:
        raise Refused("This entry is not voided.", code="not_voided")
    if not entry.scores:
        raise Refused("This entry has no scores to bring back; add the missing score instead.",
                      code="entry_has_no_scores")
    # Give back the unplayed games that voiding an open entry used up.
    for token in session.scalars(select(Token).where(
            Token.entry_id == entry.id, Token.voided_at == entry.voided_at,
            ~Token.id.in_(select(Score.token_id).where(Score.token_id.is_not(None))))):
        token.voided_at = None
        token.entry_id = None
    session.flush()
    if _games_ended(session, entry) >= entry.games_allowed:
        entry.status = EntryStatus.COMPLETE
        entry.completed_at = entry.completed_at or now
    else:
        other = session.scalar(select(Entry.id).where(
            Entry.tournament_id == entry.tournament_id, Entry.id != entry.id,
            Entry.status == EntryStatus.OPEN,
            (Entry.team_id == entry.team_id) if entry.team_id is not None
            else (Entry.player_id == entry.player_id)))
        if other is not None:
            raise Refused(f"{occ.name} has another entry open; finish or void it first.",
                          code="another_entry_open")
        entry.status = EntryStatus.OPEN
    entry.voided_at = None
    _bump_version(tournament)
    session.flush()
    _correction_audit(session, actor, "entry.unvoid", occ, tournament, entry, now,
                      before=EntryStatus.VOIDED.value, after=entry.status.value, reason=reason)
    return entry


def add_missing_score(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    player: EventPlayer,
    score: int | str,
    actor: Actor,
    entry: Entry | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Score:
    """Add a score that was played but never recorded. It uses one of the player's (or team's)
    tokens, as the game would have; ``entry`` names the entry it belongs to (else the format's
    choice: a new HERB entry, the open PAPA-style entry). Format start rules are not re-checked,
    but an entry holds at most one score per machine and no more games than it allows."""
    value = parse_score(score)
    now = now or utcnow()
    tournament = machine.tournament
    occupants.require_director(session, tournament.event_id, actor.user_id, actor.player_id)
    occ = occupants.resolve(session, pss, tournament, player)
    occupants.lock_occupants(session, [occ])
    locking.lock_tournaments(session, [tournament.id])
    tokens = usable_tokens(session, pss, tournament, player_id=occ.player_id,
                           team_id=occ.team_id, limit=1)
    if not tokens:
        raise Refused(f"{occ.name} has no unused ticket for {tournament.name} to put this "
                      "score on; sell or comp one first.", code="no_tokens")
    token = tokens[0]
    fmt, options = pss.format_for(tournament)
    if entry is None:
        entry = fmt.entry_for_game(session, GameStart(
            tournament=tournament, machine=machine, player=occ.player, team=occ.team,
            token=token), options)
        if entry.id is None:
            session.add(entry)
            session.flush()
    elif (entry.tournament_id != tournament.id
          or (entry.player_id, entry.team_id) != (occ.player_id, occ.team_id)):
        raise InvalidInput(f"That entry is not {occ.name}'s in {tournament.name}.",
                           code="wrong_entry")
    if entry.status == EntryStatus.VOIDED:
        raise Refused("That entry is voided; unvoid it first.", code="entry_voided")
    linked = int(session.scalar(select(func.count(Token.id)).where(
        Token.entry_id == entry.id)) or 0)
    if linked >= entry.games_allowed:
        raise Refused("That entry has all its games already.", code="entry_full")
    if session.scalar(select(Score.id).where(Score.entry_id == entry.id,
                                             Score.tournament_machine_id == machine.id)):
        raise Refused(f"That entry already has a score on {machine.machine.name}; edit it "
                      "instead.", code="score_exists")
    token.entry_id = entry.id
    token.used_at = now
    row = Score(event_id=machine.event_id, entry_id=entry.id, tournament_machine_id=machine.id,
                token_id=token.id, score=value,
                recorded_by_id=_event_user_id(session, machine.event_id, actor), recorded_at=now)
    session.add(row)
    session.flush()
    finished = GameResult(tournament=tournament, machine=machine, entry=entry, token=token,
                          score=value)
    fmt.game_finished(session, finished, options)
    pss.hook.pss_game_finished(session=session, result=finished)
    _bump_version(tournament)
    session.flush()
    _correction_audit(session, actor, "score.add_missing", occ, tournament, row, now,
                      entry_id=entry.id, machine=machine.machine.name, token_id=token.id,
                      before=None, after=value, reason=reason)
    return row
