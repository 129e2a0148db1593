"""The audit log: one row per state change, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.models import AuditLog, utcnow


@attrs.frozen
class Actor:
    """Who is acting: a staff user, a player (self-service) or the system (workers, CLI)."""

    label: str = "system"
    user_id: int | None = None
    player_id: int | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(label=label)


SYSTEM = Actor()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    event_id: int | None,
    subject: Any = None,
    player_id: int | None = None,
    at: datetime | None = None,
    **details: Any,
) -> AuditLog:
    """Add an audit row for ``action`` on ``subject`` (an ORM object with an ``id``), dated
    ``at`` (the time the service acted, so durations read from the log are the real ones) or
    now."""
    if subject is not None and getattr(subject, "id", None) is None:
        session.flush()
    row = AuditLog(
        event_id=event_id,
        actor=actor.label,
        actor_user_id=actor.user_id,
        actor_player_id=actor.player_id,
        action=action,
        subject_type=type(subject).__name__ if subject is not None else "",
        subject_id=getattr(subject, "id", None),
        player_id=player_id,
        details=_jsonable(details),
        created_at=at or utcnow(),
    )
    session.add(row)
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if attrs.has(type(value)):
        return _jsonable(attrs.asdict(value))
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def player_history(session: Session, event_id: int, player_id: int) -> Sequence[AuditLog]:
    return session.scalars(
        select(AuditLog)
        .where(AuditLog.event_id == event_id, AuditLog.player_id == player_id)
        .order_by(AuditLog.id)
    ).all()
