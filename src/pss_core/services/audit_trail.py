"""The event's audit trail for its tournament director: every audit row of the event, newest
first, found by action, player, machine, staff member and time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from pss_core.models import AuditLog, EventUser, Score, TournamentMachine, User


@attrs.frozen
class AuditQuery:
    """What to look for; every part left ``None`` matches everything."""

    #: An action (``score.edit``) or its kind, the part before the dot (``score``).
    action: str | None = None
    #: The event player the row concerns.
    player_id: int | None = None
    #: A tournament machine: games and queues on it, and scores recorded on it.
    machine_id: int | None = None
    #: The staff member (a user) who acted.
    user_id: int | None = None
    #: From this time on (UTC), inclusive.
    since: datetime | None = None
    #: Before this time (UTC).
    until: datetime | None = None


def _conditions(event_id: int, query: AuditQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [AuditLog.event_id == event_id]
    if query.action:
        if "." in query.action:
            where.append(AuditLog.action == query.action)
        else:
            where.append(
                or_(AuditLog.action == query.action, AuditLog.action.like(query.action + ".%"))
            )
    if query.player_id is not None:
        where.append(AuditLog.player_id == query.player_id)
    if query.machine_id is not None:
        scores = select(Score.id).where(Score.tournament_machine_id == query.machine_id)
        where.append(
            or_(
                and_(
                    AuditLog.subject_type == TournamentMachine.__name__,
                    AuditLog.subject_id == query.machine_id,
                ),
                and_(AuditLog.subject_type == Score.__name__, AuditLog.subject_id.in_(scores)),
            )
        )
    if query.user_id is not None:
        where.append(AuditLog.actor_user_id == query.user_id)
    if query.since is not None:
        where.append(AuditLog.created_at >= query.since)
    if query.until is not None:
        where.append(AuditLog.created_at < query.until)
    return where


def count(session: Session, event_id: int, query: AuditQuery) -> int:
    """How many rows match."""
    where = _conditions(event_id, query)
    return int(session.scalar(select(func.count(AuditLog.id)).where(*where)) or 0)


def search(
    session: Session, event_id: int, query: AuditQuery, *, offset: int = 0, limit: int = 50
) -> Sequence[AuditLog]:
    """One page of the rows that match, newest first."""
    return session.scalars(
        select(AuditLog)
        .where(*_conditions(event_id, query))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()


def actions(session: Session, event_id: int) -> list[str]:
    """Every action the event's log holds, sorted (what the action filter offers)."""
    return sorted(
        session.scalars(select(AuditLog.action).where(AuditLog.event_id == event_id).distinct())
    )


def staff(session: Session, event_id: int) -> list[tuple[int, str]]:
    """Everyone who has been on the event's staff (removed members too), as (user id, name)."""
    rows = session.execute(
        select(User.id, User.username)
        .join(EventUser, EventUser.user_id == User.id)
        .where(EventUser.event_id == event_id)
        .order_by(func.lower(User.username))
    ).all()
    return [(uid, name) for uid, name in rows]
