"""Personal API tokens for scripts and other tools: a staff member makes one for one event and one
of their roles; it is shown once, stored as a digest, used as a bearer token, rate-limited and
revocable. A token never grants more than its maker holds in the event at the time of a request,
and stops working when they leave the staff."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import Busy, InvalidInput, NotFound
from pss_core.models import ApiToken, Event, EventUser, LoginKind, Role, User, utcnow
from pss_core.security import token_digest
from pss_core.services.auth import Identity

#: Tokens start with this, so a leaked one is recognised (by secret scanners, say) for what it is.
PREFIX = "pss_"
#: Requests one token may make per window; enough for a results feed polling every second.
RATE_LIMIT = 120
RATE_WINDOW = timedelta(minutes=1)


def _staff_roles(session: Session, event: Event, user_id: int) -> frozenset[Role]:
    eu = session.scalars(
        select(EventUser).where(
            EventUser.event_id == event.id,
            EventUser.user_id == user_id,
            EventUser.removed_at.is_(None),
        )
    ).first()
    roles = set(eu.role_set) if eu is not None else set()
    if event.owner_id == user_id:
        roles.add(Role.TOURNAMENT_DIRECTOR)
    return frozenset(roles)


def create_token(
    session: Session, event: Event, user_id: int, role: Role | str, label: str, *, actor: Actor
) -> tuple[ApiToken, str]:
    """A new token for ``role`` in ``event``, made by the staff member ``user_id``, who must hold
    that role there; returns the row and the token itself, which is never shown again."""

    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(
            "Choose the role the token acts as: td, desk or scorekeeper.", code="invalid_role"
        ) from None
    label = (label or "").strip()
    if not label:
        raise InvalidInput("Give the token a name, to tell it apart later.", code="label")
    if role not in _staff_roles(session, event, user_id):
        raise InvalidInput(
            f"You do not hold the {role.value} role in this event, so a token cannot either.",
            code="role_not_held",
        )
    plain = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=token_digest(plain),
        event_id=event.id,
        user_id=user_id,
        role=role,
        label=label[:100],
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "api_token.create",
        event_id=event.id,
        subject=row,
        role=role.value,
        label=row.label,
    )
    return row, plain


def tokens_of(session: Session, event: Event, user_id: int) -> list[ApiToken]:
    """The staff member's tokens in the event, newest first (revoked ones too, for the record)."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.event_id == event.id, ApiToken.user_id == user_id)
            .order_by(ApiToken.id.desc())
        ).all()
    )


def revoke_token(
    session: Session, event: Event, user_id: int, token_id: int, *, actor: Actor
) -> ApiToken:
    """Revoke one of the staff member's own tokens in the event (at once, for every request)."""
    row = session.get(ApiToken, token_id)
    if row is None or row.event_id != event.id or row.user_id != user_id:
        raise NotFound("There is no such token of yours in this event.", code="no_such_token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.record(
            session, actor, "api_token.revoke", event_id=event.id, subject=row, label=row.label
        )
    return row


def revoke_tokens_of(session: Session, event_id: int, user_id: int, *, actor: Actor) -> int:
    """Revoke every live token the user made in the event (when they leave its staff)."""
    rows = session.scalars(
        select(ApiToken).where(
            ApiToken.event_id == event_id,
            ApiToken.user_id == user_id,
            ApiToken.revoked_at.is_(None),
        )
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
        audit.record(
            session,
            actor,
            "api_token.revoke",
            event_id=event_id,
            subject=row,
            label=row.label,
            reason="removed from staff",
        )
    return len(rows)


def identity_for_token(
    session: Session, plain: str, event_id: int, now: datetime | None = None
) -> Identity | None:
    """Who a bearer token acts as in ``event_id``: its maker, with its role if they still hold
    it there; ``None`` for an unknown or revoked token, a token of another event, or a maker
    no longer holding the role. Counts the request, refusing past the rate limit (Busy)."""
    if not plain.startswith(PREFIX):
        return None
    now = now or utcnow()
    row = session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == token_digest(plain), ApiToken.revoked_at.is_(None)
        )
    ).first()
    if row is None or row.event_id != event_id:
        return None
    event = session.get(Event, event_id)
    user = session.get(User, row.user_id)
    if event is None or user is None or row.role not in _staff_roles(session, event, user.id):
        return None
    started = row.window_started_at
    if started is None or started + RATE_WINDOW <= now:
        row.window_started_at, row.window_requests = now, 0
    elif row.window_requests >= RATE_LIMIT:
        wait = int((started + RATE_WINDOW - now).total_seconds()) + 1
        raise Busy(
            f"This token made more than {RATE_LIMIT} requests a minute; try again in "
            f"{wait} seconds.",
            code="rate_limited",
            retry_after=wait,
        )
    row.window_requests += 1
    row.last_used_at = now
    session.flush()
    return Identity(
        session_id=0,
        kind=LoginKind.STAFF,
        event_id=event_id,
        user_id=user.id,
        player_id=None,
        name=f"{user.username} (token “{row.label}”)",
        roles=frozenset({row.role}),
        is_owner=False,
        token_id=row.id,
    )
