"""Machine queues: players (or teams) waiting for one tournament machine, in places 1..n.

Rules:

- A player (or team) waits in at most one queue; joining another leaves the first. Nobody joins
  while playing, without a usable token, when the queue is full (``Tournament.queue_limit``), when
  queuing is off (``Tournament.queuing_enabled``), when the tournament is not active, or when the
  machine is down or removed. Plugins may veto a join (``pss_check_queue_join``) and observe every
  change (``pss_queue_changed``).
- Bump: the head moves down one place and is marked bumped; bumping a bumped head removes them.
- Insert at head (tournament director): ahead of everyone, even past the limit.
- A game ending on the machine starts the head (see :mod:`.games`); so does :func:`start_from_head`.
- A machine that goes DOWN freezes its queue: places are kept, nobody joins or is started, and the
  players are told; when it is back up they are told again. Removing a machine, or turning queuing
  off for its tournament, clears its queue and tells each player who lost their place.

Every change holds the machine's row lock (and the player's, when a player's place is decided),
so positions never collide and nobody ends up in two queues.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.contract import QueueJoin
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import (
    EventPlayer,
    MachineStatus,
    QueueSlot,
    Team,
    TeamMember,
    Tournament,
    TournamentMachine,
    TournamentStatus,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.services import locking, occupants
from pss_core.services.games import GameStarted, same_machine_ids, start_locked
from pss_core.services.occupants import Occupant
from pss_core.services.tickets import usable_tokens


@attrs.frozen
class QueuePlace:
    """One place in a machine's queue, as the pages show it."""

    slot_id: int
    machine_id: int
    position: int
    player_id: int | None
    team_id: int | None
    name: str
    bumped: bool
    joined_at: datetime


def _place(session: Session, slot: QueueSlot) -> QueuePlace:
    if slot.team_id is not None:
        team = session.get(Team, slot.team_id)
        name = f"Team {team.name}" if team else "?"
    else:
        player = session.get(EventPlayer, slot.player_id)
        name = player.name if player else "?"
    return QueuePlace(
        slot_id=slot.id,
        machine_id=slot.tournament_machine_id,
        position=slot.position,
        player_id=slot.player_id,
        team_id=slot.team_id,
        name=name,
        bumped=slot.bumped,
        joined_at=slot.joined_at,
    )


def queue_for(session: Session, machine: TournamentMachine) -> list[QueuePlace]:
    """The machine's queue, head first."""
    return [_place(session, s) for s in occupants.slots(session, machine.id)]


def place_of(session: Session, player: EventPlayer) -> QueuePlace | None:
    """Where ``player`` waits: their own place, or their team's."""
    team_ids = select(TeamMember.team_id).where(TeamMember.event_player_id == player.id)
    slot = session.scalars(
        select(QueueSlot)
        .where((QueueSlot.player_id == player.id) | QueueSlot.team_id.in_(team_ids))
        .order_by(QueueSlot.id)
    ).first()
    return _place(session, slot) if slot is not None else None


def _fresh_tournament(session: Session, tournament_id: int) -> Tournament:
    # Read after the machine lock: changes to queuing settings hold every machine's lock.
    return session.scalars(
        select(Tournament)
        .where(Tournament.id == tournament_id)
        .execution_options(populate_existing=True)
    ).one()


def _check_open(machine: TournamentMachine, tournament: Tournament) -> None:
    name = machine.machine.name
    if machine.status == MachineStatus.REMOVED:
        raise Refused(f"{name} is no longer in {tournament.name}.", code="machine_removed")
    if machine.status == MachineStatus.DISABLED:
        raise Refused(
            f"{name} is down; its queue is closed until it is back up.", code="machine_down"
        )
    if not tournament.queuing_enabled:
        raise Refused(f"Queuing is off in {tournament.name}.", code="queuing_off")
    if not tournament.active or tournament.status != TournamentStatus.ACTIVE:
        raise Refused(
            f"{tournament.name} is not active, so nobody can queue.", code="tournament_inactive"
        )


def _lock_for_place(
    session: Session, machine: TournamentMachine, occ: Occupant
) -> QueueSlot | None:
    """Lock ``machine``, the machine of the occupant's current place, and the occupant; return the
    current place. Raises LockSetChanged if the place moved before the locks were had."""
    slot = occupants.slot_of(session, occ)
    machine_ids = {machine.id} | ({slot.tournament_machine_id} if slot else set())
    locking.lock_machines(session, machine_ids)
    occupants.lock_occupants(session, [occ])
    slot = occupants.slot_of(session, occ)
    if slot is not None and slot.tournament_machine_id not in machine_ids:
        raise locking.LockSetChanged
    return slot


def _leave_current(
    session: Session,
    pss: Pss,
    slot: QueueSlot,
    occ: Occupant,
    actor: Actor,
    now: datetime,
    why: str,
) -> None:
    old = session.get(TournamentMachine, slot.tournament_machine_id)
    assert old is not None
    position = slot.position
    occupants.delete_slot(session, slot)
    occupants.queue_changed(session, pss, old, "leave", occ)
    occupants.audit_at_machine(
        session, actor, "queue.leave", occ, old, now, position=position, why=why
    )


def join_queue(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    player: EventPlayer,
    actor: Actor,
    now: datetime | None = None,
) -> QueuePlace:
    """Put ``player`` (or their team) at the end of ``machine``'s queue, leaving any other queue.
    Staff may queue anyone; a player (``actor.player_id``) only themselves."""
    return _join(session, pss, machine=machine, player=player, actor=actor, now=now, at_head=False)


def insert_at_head(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    player: EventPlayer,
    actor: Actor,
    now: datetime | None = None,
) -> QueuePlace:
    """Tournament director only: put ``player`` first in ``machine``'s queue, ahead of everyone
    and regardless of the queue limit (the other rules still apply)."""
    occupants.require_director(session, machine.event_id, actor.user_id, actor.player_id)
    return _join(session, pss, machine=machine, player=player, actor=actor, now=now, at_head=True)


def _join(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    player: EventPlayer,
    actor: Actor,
    now: datetime | None,
    at_head: bool,
) -> QueuePlace:
    now = now or utcnow()
    occ = occupants.resolve(session, pss, machine.tournament, player)
    occupants.require_self_or_staff(actor.player_id, occ)

    def attempt() -> QueuePlace:
        current = _lock_for_place(session, machine, occ)
        tournament = _fresh_tournament(session, machine.tournament_id)
        name = machine.machine.name
        _check_open(machine, tournament)
        if machine.token_id is not None and occ.same_as(machine.player_id, machine.team_id):
            raise Refused(f"{occ.name} is playing {name} right now.", code="already_playing")
        occupants.refuse_if_playing(session, occ)
        if current is not None and current.tournament_machine_id == machine.id:
            if not at_head:
                raise Refused(
                    f"{occ.name} is already {occupants.ordinal(current.position)} in "
                    f"the queue for {name}.",
                    code="already_queued",
                    position=current.position,
                )
            if current.position == 1:
                return _place(session, current)
        if not at_head and tournament.queue_limit is not None:
            waiting = occupants.queue_length(session, machine.id)
            if waiting >= tournament.queue_limit:
                raise Refused(
                    f"The queue for {name} is full ({tournament.queue_limit} waiting).",
                    code="queue_full",
                    limit=tournament.queue_limit,
                )
        if not usable_tokens(
            session, pss, tournament, player_id=occ.player_id, team_id=occ.team_id, limit=1
        ):
            raise Refused(
                f"{occ.name} has no tickets left for {tournament.name}.", code="no_tokens"
            )
        join = QueueJoin(tournament=tournament, machine=machine, player=occ.player, team=occ.team)
        fmt, options = pss.format_for(tournament)
        fmt.check_queue_join(session, join, options)
        pss.hook.pss_check_queue_join(session=session, join=join)
        if current is not None:
            _leave_current(
                session,
                pss,
                current,
                occ,
                actor,
                now,
                why="moved to the head"
                if current.tournament_machine_id == machine.id
                else f"joined the queue for {name}",
            )
        slot = occupants.add_slot(session, machine, occ, at_head=at_head, now=now)
        occupants.queue_changed(session, pss, machine, "insert" if at_head else "join", occ)
        occupants.audit_at_machine(
            session,
            actor,
            "queue.insert" if at_head else "queue.join",
            occ,
            machine,
            now,
            position=slot.position,
        )
        return _place(session, slot)

    return locking.retrying(session, attempt, what=machine.machine.name)


def leave_queue(
    session: Session,
    pss: Pss,
    *,
    player: EventPlayer,
    actor: Actor,
    machine: TournamentMachine | None = None,
    now: datetime | None = None,
) -> QueuePlace:
    """Take ``player`` (or, with ``machine`` given, their team's place there) out of the queue."""
    now = now or utcnow()
    place = place_of(session, player)
    if machine is not None:
        occ = occupants.resolve(session, pss, machine.tournament, player)
    elif place is not None and place.team_id is not None:
        team = session.get(Team, place.team_id)
        occ = Occupant(player=player, team=team)
    else:
        occ = Occupant(player=player)
    occupants.require_self_or_staff(actor.player_id, occ)

    def attempt() -> QueuePlace:
        slot = occupants.slot_of(session, occ)
        if slot is None or (machine is not None and slot.tournament_machine_id != machine.id):
            where = f" for {machine.machine.name}" if machine is not None else ""
            raise Refused(f"{occ.name} is not in a queue{where}.", code="not_queued")
        target = session.get(TournamentMachine, slot.tournament_machine_id)
        assert target is not None
        slot = _lock_for_place(session, target, occ)
        if slot is None or slot.tournament_machine_id != target.id:
            raise locking.LockSetChanged
        left = _place(session, slot)
        _leave_current(session, pss, slot, occ, actor, now, why="left")
        return left

    return locking.retrying(session, attempt, what="The queue")


@attrs.frozen
class Bumped:
    """What a bump did: ``removed`` when the head had been bumped before, else moved down."""

    player_id: int | None
    team_id: int | None
    removed: bool
    position: int | None


def bump(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    actor: Actor,
    now: datetime | None = None,
) -> Bumped:
    """The head is not there: move them down one place; if they were bumped before, remove them."""
    if actor.player_id is not None:
        raise PermissionDenied("Only staff can bump a player.", code="staff_only")
    now = now or utcnow()

    def attempt() -> Bumped:
        locking.lock_machines(session, [machine.id])
        queue = occupants.slots(session, machine.id)
        if not queue:
            raise Refused(f"Nobody is waiting for {machine.machine.name}.", code="queue_empty")
        first = queue[0]
        occ = occupants.from_row(session, first.player_id, first.team_id)
        assert occ is not None
        name = machine.machine.name
        if first.bumped:
            occupants.delete_slot(session, first)
            occupants.notify(
                session,
                pss,
                occ.person_ids,
                machine.event_id,
                "queue_removed",
                f"You were not at {name} when called twice, so you have been "
                "taken out of its queue.",
            )
            result = Bumped(
                player_id=occ.player_id, team_id=occ.team_id, removed=True, position=None
            )
        else:
            first.bumped = True
            if len(queue) > 1:
                queue[1].position, first.position = 1, 2
            session.flush()
            occupants.notify(
                session,
                pss,
                occ.person_ids,
                machine.event_id,
                "queue_bumped",
                f"You were called for {name} but were not there; you are now "
                f"{occupants.ordinal(first.position)} in its queue. Next time "
                "you will lose your place.",
            )
            result = Bumped(
                player_id=occ.player_id, team_id=occ.team_id, removed=False, position=first.position
            )
        occupants.queue_changed(session, pss, machine, "bump", occ)
        occupants.audit_at_machine(
            session,
            actor,
            "queue.bump",
            occ,
            machine,
            now,
            removed=result.removed,
            position=result.position,
        )
        return result

    return locking.retrying(session, attempt, what=machine.machine.name)


def start_from_head(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    actor: Actor,
    now: datetime | None = None,
) -> GameStarted:
    """Start the player (or team) at the head of ``machine``'s queue on it."""
    if actor.player_id is not None:
        raise PermissionDenied("Only scorekeepers can start games.", code="staff_only")
    now = now or utcnow()
    tournament = machine.tournament

    def attempt() -> GameStarted:
        first = occupants.head(session, machine.id)
        if first is None:
            raise Refused(f"Nobody is waiting for {machine.machine.name}.", code="queue_empty")
        seen = (first.player_id, first.team_id)
        occ = occupants.from_row(session, *seen)
        locking.lock_machines(session, [machine.id])
        occupants.lock_occupants(session, [occ])
        locking.lock_tournaments(session, [tournament.id])
        first = occupants.head(session, machine.id)
        if first is None or (first.player_id, first.team_id) != seen:
            raise locking.LockSetChanged
        assert occ is not None
        started = start_locked(session, pss, machine, tournament, occ, actor, now, from_queue=True)
        occupants.notify(
            session,
            pss,
            occ.person_ids,
            machine.event_id,
            "your_turn",
            f"It is your turn on {machine.machine.name}.",
        )
        return started

    return locking.retrying(session, attempt, what=machine.machine.name)


def clear_queue(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> list[int]:
    """Empty ``machine``'s queue; returns the players who were told."""
    if actor.player_id is not None:
        raise PermissionDenied("Only staff can clear a queue.", code="staff_only")
    now = now or utcnow()

    def attempt() -> list[int]:
        locking.lock_machines(session, [machine.id])
        text = f"The queue for {machine.machine.name} was cleared"
        return occupants.clear_queue_locked(
            session,
            pss,
            machine,
            actor,
            now=now,
            kind="queue_cleared",
            message=f"{text}: {reason}." if reason else f"{text}.",
        )

    return locking.retrying(session, attempt, what=machine.machine.name)


def _lock_all_machines(session: Session, tournament: Tournament) -> list[TournamentMachine]:
    ids = session.scalars(
        select(TournamentMachine.id).where(TournamentMachine.tournament_id == tournament.id)
    ).all()
    return locking.lock_machines(session, ids)


def set_queuing(
    session: Session,
    pss: Pss,
    *,
    tournament: Tournament,
    enabled: bool,
    actor: Actor,
    now: datetime | None = None,
) -> list[int]:
    """Turn queuing on or off for a tournament. Turning it off clears every queue of the
    tournament and tells the players; returns who was told."""
    if actor.player_id is not None:
        raise PermissionDenied("Only staff can change queuing.", code="staff_only")
    now = now or utcnow()

    def attempt() -> list[int]:
        machines = _lock_all_machines(session, tournament)
        locking.lock_tournaments(session, [tournament.id])
        if bool(tournament.queuing_enabled) == bool(enabled):
            return []
        told: list[int] = []
        tournament.queuing_enabled = bool(enabled)
        if not enabled:
            for machine in machines:
                told += occupants.clear_queue_locked(
                    session,
                    pss,
                    machine,
                    actor,
                    now=now,
                    kind="queuing_off",
                    message=f"Queuing is now off in {tournament.name}, so you are no longer in "
                    f"the queue for {machine.machine.name}.",
                )
        session.flush()
        audit.record(
            session,
            actor,
            "tournament.queuing",
            event_id=tournament.event_id,
            subject=tournament,
            enabled=bool(enabled),
            players_told=told,
        )
        return told

    return locking.retrying(session, attempt, what=tournament.name)


def set_queue_limit(
    session: Session, pss: Pss, *, tournament: Tournament, limit: int | None, actor: Actor
) -> None:
    """Set how many may wait per machine (``None``: no limit). Places already taken are kept when
    the limit is lowered; new joins wait until a queue is below it."""
    if actor.player_id is not None:
        raise PermissionDenied("Only staff can change the queue limit.", code="staff_only")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInput(
            "A queue limit is a whole number of 1 or more, or none.", code="invalid_queue_limit"
        )

    def attempt() -> None:
        _lock_all_machines(session, tournament)
        locking.lock_tournaments(session, [tournament.id])
        before = tournament.queue_limit
        if before == limit:
            return
        tournament.queue_limit = limit
        session.flush()
        audit.record(
            session,
            actor,
            "tournament.queue_limit",
            event_id=tournament.event_id,
            subject=tournament,
            before=before,
            after=limit,
        )

    locking.retrying(session, attempt, what=tournament.name)


def positions_ok(session: Session, machine_ids: Sequence[int]) -> bool:
    """True when every queue's positions are exactly 1..n (a check for tests and monitoring)."""
    for machine_id in machine_ids:
        positions = [s.position for s in occupants.slots(session, machine_id)]
        if positions != list(range(1, len(positions) + 1)):
            return False
    return True


@attrs.frozen
class PhysicalQueueRow:
    """One place in the queues of a physical machine, with the tournament it waits for."""

    tournament_machine_id: int
    tournament: str
    position: int
    player_id: int | None
    team_id: int | None
    joined_at: datetime


def physical_queue(session: Session, machine: TournamentMachine) -> list[PhysicalQueueRow]:
    """Everyone waiting for ``machine``'s physical machine, in every tournament whose bank has
    it, longest waiting first (each tournament's own order is kept)."""
    ids = same_machine_ids(session, machine)
    rows = session.execute(
        select(QueueSlot, Tournament.name)
        .join(TournamentMachine, TournamentMachine.id == QueueSlot.tournament_machine_id)
        .join(Tournament, Tournament.id == TournamentMachine.tournament_id)
        .where(QueueSlot.tournament_machine_id.in_(ids))
        .order_by(QueueSlot.joined_at, QueueSlot.position, QueueSlot.id)
    ).all()
    return [
        PhysicalQueueRow(
            slot.tournament_machine_id,
            name,
            slot.position,
            slot.player_id,
            slot.team_id,
            slot.joined_at,
        )
        for slot, name in rows
    ]
