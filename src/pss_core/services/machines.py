"""A machine's status in a tournament's bank: down for repair, back up, removed; the players in
its queue are told either way. Locks as :mod:`~pss_core.services.games` does."""

from __future__ import annotations

from datetime import datetime

import attrs
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import InvalidInput, PermissionDenied
from pss_core.models import (
    EventUser,
    EventUserRole,
    MachineStatus,
    Role,
    Tournament,
    TournamentMachine,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.services import games, locking, occupants
from pss_core.services.games import GameEnded


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


_STATUS_WORDS = {
    "enable": MachineStatus.ACTIVE,
    "disable": MachineStatus.DISABLED,
    "remove": MachineStatus.REMOVED,
}


def check_machine_status_allowed(
    session: Session, machine: TournamentMachine, new: MachineStatus, actor: Actor
) -> None:
    """Refuse ``actor`` a change of ``machine`` to ``new``: a scorekeeper at the bank marks a
    machine down for repair and back up, as does the tournament director; taking a machine out
    of the bank is the tournament director's alone. pss itself (an actor with no user) may do
    either; players may do neither."""
    if actor.player_id is not None:
        raise PermissionDenied("Only scorekeepers can do this.", code="staff_only")
    if actor.user_id is None:
        return
    roles = set(
        session.scalars(
            select(EventUserRole.role)
            .join(EventUser, EventUserRole.event_user_id == EventUser.id)
            .where(EventUser.event_id == machine.event_id, EventUser.user_id == actor.user_id)
        )
    )
    if new == MachineStatus.REMOVED:
        if Role.TOURNAMENT_DIRECTOR not in roles:
            raise PermissionDenied(
                "Only a tournament director can remove a machine from the bank; mark it down "
                "for repair instead.",
                code="td_only",
            )
    elif not roles & {Role.TOURNAMENT_DIRECTOR, Role.SCOREKEEPER}:
        raise PermissionDenied(
            "Only scorekeepers and tournament directors can mark a machine down or back up.",
            code="scorekeepers_only",
        )


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
    Disable and enable apply to the physical machine: every tournament whose bank has it.
    Remove: a game in progress is taken off without using its token, the queue is cleared and its
    players are told; the machine stays only in results history.

    Scorekeepers and the tournament director disable and enable; only the tournament director
    removes (see :func:`check_machine_status_allowed`).
    """
    try:
        new = _STATUS_WORDS[status] if status in _STATUS_WORDS else MachineStatus(status)
    except ValueError:
        raise InvalidInput(
            f"{status!r} is not a machine status (enable, disable or remove).",
            code="invalid_status",
        ) from None
    check_machine_status_allowed(session, machine, new, actor)
    now = now or utcnow()
    tournament = machine.tournament

    def attempt() -> MachineStatusChange:
        games.fresh_machine(session, machine)
        seen = (machine.player_id, machine.team_id)
        # Down and back up is the physical machine's state, so it holds in every tournament
        # whose bank has it; removal takes it out of this tournament's bank only.
        ids = (
            [machine.id]
            if new == MachineStatus.REMOVED
            else games.same_machine_ids(session, machine)
        )
        locking.lock_machines(session, ids)
        occupants.lock_occupants(session, [occupants.from_row(session, *seen)])
        others = [
            m
            for m in (session.get(TournamentMachine, i) for i in ids)
            if m is not None and m.id != machine.id and m.status != MachineStatus.REMOVED
        ]
        locking.lock_tournaments(
            session, sorted({tournament.id, *(m.tournament_id for m in others)})
        )
        if (machine.player_id, machine.team_id) != seen:
            raise locking.LockSetChanged
        change = _set_status_locked(session, pss, machine, tournament, new, actor, reason, now)
        for other in others:
            _set_status_locked(session, pss, other, other.tournament, new, actor, reason, now)
        return change

    return locking.retrying(session, attempt, what=machine.machine.name)


def _set_status_locked(
    session: Session,
    pss: Pss,
    machine: TournamentMachine,
    tournament: Tournament,
    new: MachineStatus,
    actor: Actor,
    reason: str,
    now: datetime,
) -> MachineStatusChange:
    old = machine.status
    if old == new:
        return MachineStatusChange(machine_id=machine.id, old=old, new=new)
    name = machine.machine.name
    taken_off: GameEnded | None = None
    told: list[int] = []
    if new == MachineStatus.REMOVED:
        if machine.token_id is not None:
            taken_off = games.end_locked(
                session,
                pss,
                machine,
                tournament,
                actor,
                kind="remove",
                score=None,
                token_id=None,
                now=now,
                reason=reason or "machine removed",
            )
        told = occupants.clear_queue_locked(
            session,
            pss,
            machine,
            actor,
            now=now,
            kind="machine_removed",
            message=f"{name} has been removed from {tournament.name}, so you "
            "are no longer in its queue.",
        )
    else:
        for slot in occupants.slots(session, machine.id):
            occ = occupants.from_row(session, slot.player_id, slot.team_id)
            assert occ is not None
            if new == MachineStatus.DISABLED:
                kind, text = (
                    "machine_down",
                    (
                        f"{name} is down for repair. Your place in its queue "
                        f"({occupants.ordinal(slot.position)}) is kept."
                    ),
                )
            else:
                kind, text = (
                    "machine_up",
                    (
                        f"{name} is back up. You are {occupants.ordinal(slot.position)} in its "
                        "queue; please be ready."
                    ),
                )
            occupants.notify(session, pss, occ.person_ids, machine.event_id, kind, text)
            told.extend(occ.person_ids)
        if told or new == MachineStatus.DISABLED:
            occupants.queue_changed(
                session, pss, machine, "freeze" if new == MachineStatus.DISABLED else "unfreeze"
            )
    machine.status = new
    session.flush()
    audit.record(
        session,
        actor,
        "machine.status",
        event_id=machine.event_id,
        subject=machine,
        machine=name,
        tournament=tournament.slug,
        old=old.value,
        new=new.value,
        reason=reason,
        players_told=told,
    )
    return MachineStatusChange(
        machine_id=machine.id, old=old, new=new, told=tuple(told), taken_off=taken_off
    )
