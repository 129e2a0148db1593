"""Who plays or waits: a player, or a team in a team tournament, and the rows that guard them.

Games and queues share these helpers: resolving the occupant of a machine or queue place, the rows
to lock for it, whether it is busy elsewhere, queue-slot bookkeeping (positions stay 1..n), and
telling players what happened to them through the ``pss_notify`` hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from pss_core import notify as notify_
from pss_core.audit import Actor
from pss_core.contract import PlayerNotification, QueueChange
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import (
    EventPlayer,
    EventUser,
    EventUserRole,
    QueueSlot,
    Role,
    Team,
    TeamMember,
    Tournament,
    TournamentMachine,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.services import locking
from pss_core.services.tickets import audit_for_player, team_ids_of, token_owner


@attrs.frozen(eq=False)
class Occupant:
    """Who a game or a queue place is for: ``player`` alone, or ``team`` (``player`` is then the
    member acting for it)."""

    player: EventPlayer
    team: Team | None = None

    @property
    def person_ids(self) -> list[int]:
        """The players who are physically at the machine."""
        if self.team is not None:
            return sorted(m.event_player_id for m in self.team.members)
        return [self.player.id]

    @property
    def player_id(self) -> int | None:
        """The value for ``player_id`` columns (``None`` for a team)."""
        return None if self.team is not None else self.player.id

    @property
    def team_id(self) -> int | None:
        return self.team.id if self.team is not None else None

    @property
    def name(self) -> str:
        return f"Team {self.team.name}" if self.team is not None else self.player.name

    def same_as(self, player_id: int | None, team_id: int | None) -> bool:
        return (self.player_id, self.team_id) == (player_id, team_id)


def resolve(session: Session, pss: Pss, tournament: Tournament, player: EventPlayer) -> Occupant:
    """The occupant ``player`` acts as in ``tournament``: their team in a team tournament."""
    if player.event_id != tournament.event_id:
        raise InvalidInput(f"{player.name} is not registered in this event.", code="wrong_event")
    return Occupant(player=player, team=token_owner(session, pss, tournament, player))


def from_row(session: Session, player_id: int | None, team_id: int | None) -> Occupant | None:
    """The occupant a machine or queue slot names (a team acts through its first member)."""
    if team_id is not None:
        team = session.get(Team, team_id)
        assert team is not None
        first = team.members[0].event_player if team.members else None
        if first is None:
            raise Refused(f"Team {team.name} has no players.", code="team_empty")
        return Occupant(player=first, team=team)
    if player_id is not None:
        # With the person: what a scorekeeper is told names them.
        player = session.get(EventPlayer, player_id, options=[joinedload(EventPlayer.player)])
        assert player is not None
        return Occupant(player=player)
    return None


def lock_sets(session: Session, occupants: Iterable[Occupant | None]) -> tuple[set[int], set[int]]:
    """The team and player ids to lock for these occupants: the people at the machine, their
    own teams (so a member and their team cannot start at once), and the occupant team."""
    teams: set[int] = set()
    people: set[int] = set()
    for occ in occupants:
        if occ is None:
            continue
        people.update(occ.person_ids)
        if occ.team is not None:
            teams.add(occ.team.id)
    for pid in list(people):
        teams.update(team_ids_of(session, pid))
    return teams, people


def lock_occupants(session: Session, occupants: Iterable[Occupant | None]) -> None:
    teams, people = lock_sets(session, occupants)
    locking.lock_teams(session, teams)
    locking.lock_players(session, people)


def playing_where(session: Session, occ: Occupant) -> TournamentMachine | None:
    """The machine the occupant (or any of its people, or any of their teams) is on, if any."""
    people = occ.person_ids
    teams = {occ.team_id} if occ.team_id is not None else set()
    for pid in people:
        teams.update(team_ids_of(session, pid))
    where: Any = TournamentMachine.player_id.in_(people)
    if teams:
        where = where | TournamentMachine.team_id.in_(teams)
    return session.scalars(
        select(TournamentMachine).where(where).order_by(TournamentMachine.id)
    ).first()


def refuse_if_playing(session: Session, occ: Occupant) -> None:
    busy = playing_where(session, occ)
    if busy is None:
        return
    where = busy.machine.name
    if occ.team is not None and busy.team_id != occ.team_id:
        raise Refused(
            f"A member of {occ.name} is playing {where}; the team can start or queue "
            "when they are done.",
            code="team_member_busy",
            machine_id=busy.id,
        )
    if occ.team is None and busy.team_id is not None:
        raise Refused(
            f"{occ.name} is playing {where} with their team.",
            code="already_playing",
            machine_id=busy.id,
        )
    raise Refused(
        f"{occ.name} is already playing {where}.", code="already_playing", machine_id=busy.id
    )


# --- queue slots ----------------------------------------------------------------------------


def slot_of(session: Session, occ: Occupant) -> QueueSlot | None:
    """The occupant's queue place, if it waits anywhere (one place at most)."""
    if occ.team is not None:
        where = QueueSlot.team_id == occ.team.id
    else:
        where = QueueSlot.player_id == occ.player.id
    return session.scalars(
        select(QueueSlot).where(where).execution_options(populate_existing=True)
    ).first()


def slots(session: Session, machine_id: int) -> list[QueueSlot]:
    return list(
        session.scalars(
            select(QueueSlot)
            .where(QueueSlot.tournament_machine_id == machine_id)
            .order_by(QueueSlot.position, QueueSlot.id)
            .execution_options(populate_existing=True)
        ).all()
    )


def head(session: Session, machine_id: int) -> QueueSlot | None:
    found = slots(session, machine_id)
    return found[0] if found else None


def queue_length(session: Session, machine_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(QueueSlot.id)).where(QueueSlot.tournament_machine_id == machine_id)
        )
        or 0
    )


def delete_slot(session: Session, slot: QueueSlot) -> None:
    """Remove a queue place and close the gap, so positions stay 1..n."""
    machine_id, position = slot.tournament_machine_id, slot.position
    session.delete(slot)
    session.flush()
    session.execute(
        update(QueueSlot)
        .where(QueueSlot.tournament_machine_id == machine_id, QueueSlot.position > position)
        .values(position=QueueSlot.position - 1)
    )


def add_slot(
    session: Session,
    machine: TournamentMachine,
    occ: Occupant,
    *,
    at_head: bool,
    now: datetime | None = None,
) -> QueueSlot:
    """Add the occupant at the end of the queue (or at its head, moving everyone down one)."""
    if at_head:
        session.execute(
            update(QueueSlot)
            .where(QueueSlot.tournament_machine_id == machine.id)
            .values(position=QueueSlot.position + 1)
        )
        position = 1
    else:
        position = queue_length(session, machine.id) + 1
    slot = QueueSlot(
        event_id=machine.event_id,
        tournament_machine_id=machine.id,
        player_id=occ.player_id,
        team_id=occ.team_id,
        position=position,
        joined_at=now or utcnow(),
    )
    session.add(slot)
    session.flush()
    return slot


def queue_changed(
    session: Session, pss: Pss, machine: TournamentMachine, action: str, occ: Occupant | None = None
) -> None:
    pss.hook.pss_queue_changed(
        session=session,
        change=QueueChange(
            machine=machine,
            action=action,
            player_id=occ.player_id if occ else None,
            team_id=occ.team_id if occ else None,
        ),
    )


def notify(
    session: Session, pss: Pss, person_ids: Sequence[int], event_id: int, kind: str, message: str
) -> None:
    """Tell each player (:func:`pss_core.notify.tell`): recorded for their page now, delivered
    through ``pss_notify`` once the change commits."""
    for pid in person_ids:
        notify_.tell(
            session,
            PlayerNotification(event_id=event_id, player_id=pid, kind=kind, message=message),
        )


def audit_at_machine(
    session: Session,
    actor: Actor,
    action: str,
    occ: Occupant,
    machine: TournamentMachine,
    now: datetime,
    **details: Any,
) -> None:
    """One audit row for each player of ``occ`` about something done to them at ``machine``
    (a game, a queue place), with their games left."""
    for pid in occ.person_ids:
        audit_for_player(
            session,
            actor,
            action,
            event_id=machine.event_id,
            player_id=pid,
            subject=machine,
            now=now,
            machine=machine.machine.name,
            tournament=machine.tournament.slug,
            team_id=occ.team_id,
            **details,
        )


def clear_queue_locked(
    session: Session,
    pss: Pss,
    machine: TournamentMachine,
    actor: Actor,
    *,
    now: datetime,
    kind: str,
    message: str,
) -> list[int]:
    """Empty ``machine``'s queue (its lock held), telling everyone who lost their place."""
    told: list[int] = []
    for slot in slots(session, machine.id):
        occ = from_row(session, slot.player_id, slot.team_id)
        assert occ is not None
        position = slot.position
        session.delete(slot)
        session.flush()
        notify(session, pss, occ.person_ids, machine.event_id, kind, message)
        audit_at_machine(
            session, actor, "queue.clear", occ, machine, now, position=position, why=kind
        )
        told.extend(occ.person_ids)
    if told:
        queue_changed(session, pss, machine, "clear")
    return told


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- who may do what ------------------------------------------------------------------------


def require_self_or_staff(actor_player_id: int | None, occ: Occupant) -> None:
    """A player acting for themselves may only act as themselves (or for their team)."""
    if actor_player_id is None:
        return
    if actor_player_id not in occ.person_ids and actor_player_id != occ.player.id:
        raise PermissionDenied("Players can only do this for themselves.", code="not_yourself")


def require_director(
    session: Session, event_id: int, user_id: int | None, player_id: int | None
) -> None:
    """Only a tournament director (or pss itself, with no user) may do this."""
    if player_id is not None:
        raise PermissionDenied("Only a tournament director can do this.", code="td_only")
    if user_id is None:
        return
    is_td = session.scalar(
        select(EventUserRole.id)
        .join(EventUser, EventUserRole.event_user_id == EventUser.id)
        .where(
            EventUser.event_id == event_id,
            EventUser.user_id == user_id,
            EventUserRole.role == Role.TOURNAMENT_DIRECTOR,
        )
    )
    if is_td is None:
        raise PermissionDenied("Only a tournament director can do this.", code="td_only")


def members_of(session: Session, team_id: int) -> list[int]:
    return list(
        session.scalars(
            select(TeamMember.event_player_id)
            .where(TeamMember.team_id == team_id)
            .order_by(TeamMember.event_player_id)
        ).all()
    )
