"""Changing an event after it is set up: the event's own settings, a tournament's settings and
format options, and who is on the staff with which roles. What the admin pages call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pss_core import audit, timezones
from pss_core.audit import Actor
from pss_core.errors import InvalidInput, Refused
from pss_core.models import (
    Event,
    EventUser,
    EventUserRole,
    Role,
    Tournament,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.security import hash_secret, verify_secret
from pss_core.services import api_tokens
from pss_core.services.auth import revoke_sessions
from pss_core.services.setup import (
    check_format_options,
    require_text,
    tournament_machine_names,
    validate_bundles,
)

CURRENCIES = ("usd", "eur", "gbp", "cad", "aud")


def _changed(obj: Any, field: str, value: Any, diff: dict[str, Any]) -> None:
    before = getattr(obj, field)
    if before != value:
        diff[field] = {"before": before, "after": value}
        setattr(obj, field, value)


def update_event(
    session: Session,
    event: Event,
    *,
    actor: Actor,
    name: str | None = None,
    active: bool | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    currency: str | None = None,
    hold_minutes: int | None = None,
    time_zone: str | None = None,
) -> dict[str, Any]:
    """Change an event's settings; returns what changed (``{field: {before, after}}``).
    Its address (slug) never changes: logins and printed slips point at it."""
    diff: dict[str, Any] = {}
    if name is not None:
        _changed(event, "name", require_text(name, "An event name"), diff)
    if active is not None:
        _changed(event, "active", bool(active), diff)
    start = starts_at if starts_at is not None else event.starts_at
    end = ends_at if ends_at is not None else event.ends_at
    if start is not None and end is not None and end < start:
        raise InvalidInput("The event cannot end before it starts.", code="invalid_dates")
    if starts_at is not None:
        _changed(event, "starts_at", starts_at, diff)
    if ends_at is not None:
        _changed(event, "ends_at", ends_at, diff)
    if currency is not None:
        currency = currency.strip().lower()
        if currency not in CURRENCIES:
            raise InvalidInput(
                f"Choose a currency from {', '.join(CURRENCIES)}.", code="invalid_currency"
            )
        _changed(event, "currency", currency, diff)
    if time_zone is not None:
        _changed(event, "time_zone", timezones.check_time_zone(time_zone), diff)
    if hold_minutes is not None:
        if not 1 <= hold_minutes <= 24 * 60:
            raise InvalidInput(
                "Online purchases are held between 1 minute and 24 hours.", code="invalid_hold"
            )
        _changed(event, "hold_minutes", hold_minutes, diff)
    if diff:
        session.flush()
        audit.record(session, actor, "event.update", event_id=event.id, subject=event, changes=diff)
    return diff


_TOURNAMENT_INTS = {
    # field: (minimum, nullable, plain-words name)
    "min_purchase": (1, False, "The smallest purchase"),
    "purchase_increment": (1, False, "The purchase step"),
    "max_unused_tickets": (0, True, "The most unused tickets a player may hold"),
    "ticket_quota": (0, True, "The ticket quota"),
    "qualifying_cut": (1, True, "The qualifying cut"),
    "max_team_size": (1, True, "The team size"),
    "price_cents": (0, False, "The price"),
}


def update_tournament(
    session: Session,
    pss: Pss,
    tournament: Tournament,
    *,
    actor: Actor,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """Change a tournament's settings. ``changes`` may hold ``name``, ``options`` (format
    options, validated by the format), ``bundles``, ``active``, ``allow_ticket_purchases``,
    ``status`` and the whole-number settings (prices in cents). Queuing is changed through
    :mod:`pss_core.services.queues`, which clears queues when it must. Returns what changed."""
    diff: dict[str, Any] = {}
    unknown = set(changes) - {
        "name",
        "options",
        "bundles",
        "active",
        "allow_ticket_purchases",
        "count_removed_machines",
        "status",
        *_TOURNAMENT_INTS,
    }
    if unknown:
        raise InvalidInput(
            f"These cannot be changed here: {', '.join(sorted(unknown))}.", code="unknown_setting"
        )
    if "name" in changes:
        _changed(
            tournament, "name", require_text(str(changes["name"] or ""), "A tournament name"), diff
        )
    if changes.get("options") is not None:
        spec = pss.formats[tournament.format]
        resolved = spec.resolve_options(
            {**(tournament.format_options or {}), **dict(changes["options"])}
        )
        stored = check_format_options(
            pss, spec, resolved, machines=tournament_machine_names(session, tournament)
        )
        _changed(tournament, "format_options", stored, diff)
    if "bundles" in changes:
        _changed(tournament, "bundles", validate_bundles(changes["bundles"] or ()), diff)
    for flag in ("active", "allow_ticket_purchases", "count_removed_machines"):
        if changes.get(flag) is not None:
            _changed(tournament, flag, bool(changes[flag]), diff)
    if changes.get("status") is not None:
        # A status change has work (refunds, frozen results): it is a transition of its own.
        raise InvalidInput(
            "The status is changed with its own buttons (the tournament's "
            "status page), not with its settings.",
            code="use_status_change",
            field="status",
        )
    for field, (minimum, nullable, what) in _TOURNAMENT_INTS.items():
        if field not in changes:
            continue
        value = changes[field]
        if value is None:
            if not nullable:
                raise InvalidInput(f"{what} is required.", code="missing_field")
        elif isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidInput(
                f"{what} must be a whole number of {minimum} or more.", code="invalid_setting"
            )
        _changed(tournament, field, value, diff)
    if diff:
        session.flush()
        audit.record(
            session,
            actor,
            "tournament.update",
            event_id=tournament.event_id,
            subject=tournament,
            changes=diff,
        )
    return diff


def set_event_user(
    session: Session,
    event: Event,
    event_user: EventUser,
    *,
    roles: Iterable[Role | str],
    actor: Actor,
    password: str | None = None,
    keep_session_id: int | None = None,
) -> EventUser:
    """Give an event user a new set of roles and, optionally, a new password for this event.
    A new password ends every login of theirs to this event (whoever knew the old one is out),
    except ``keep_session_id``: the session of a person changing their own password. New roles
    need no such step: every request reads them afresh."""

    try:
        role_set = {Role(r) for r in roles}
    except ValueError:
        raise InvalidInput("Roles are td, desk and scorekeeper.", code="invalid_role") from None
    if event_user.event_id != event.id or event_user.removed_at is not None:
        raise InvalidInput("That user is not on this event's staff.", code="wrong_event")
    if not role_set:
        raise InvalidInput("Choose at least one role (or remove the user).", code="missing_role")
    if event_user.user_id == event.owner_id and Role.TOURNAMENT_DIRECTOR not in role_set:
        raise Refused("The event owner is always its tournament director.", code="owner_is_td")
    if password and len(password) < 6:
        raise InvalidInput(
            "The event password must have at least 6 characters.", code="weak_password"
        )
    ended = 0
    if password and not verify_secret(event_user.password_hash, password):
        event_user.password_hash = hash_secret(password)
        ended = revoke_sessions(
            session, event_id=event.id, user_id=event_user.user_id, keep_session_id=keep_session_id
        )
    before = sorted(r.value for r in event_user.role_set)
    for row in list(event_user.roles):
        if row.role not in role_set:
            event_user.roles.remove(row)
    session.flush()
    have = event_user.role_set
    for role in sorted(role_set - have):
        event_user.roles.append(EventUserRole(role=role))
    session.flush()
    audit.record(
        session,
        actor,
        "event_user.roles",
        event_id=event.id,
        subject=event_user,
        username=event_user.user.username,
        before=before,
        after=sorted(r.value for r in role_set),
        password_changed=bool(password),
        logins_ended=ended,
    )
    return event_user


def remove_event_user(
    session: Session, event: Event, event_user: EventUser, *, actor: Actor
) -> None:
    """Take a user off the event's staff; their logins to the event stop working at once.

    The membership is marked removed, not deleted: the sales, scores and refunds they made
    keep pointing at it, and history shows them as removed. Adding them again later brings
    the same membership back."""

    if event_user.event_id != event.id or event_user.removed_at is not None:
        raise InvalidInput("That user is not on this event's staff.", code="wrong_event")
    if event_user.user_id == event.owner_id:
        raise Refused("The event owner cannot be removed from their own event.", code="owner_is_td")
    username = event_user.user.username
    before = sorted(r.value for r in event_user.role_set)
    ended = revoke_sessions(session, event_id=event.id, user_id=event_user.user_id)
    api_tokens.revoke_tokens_of(session, event.id, event_user.user_id, actor=actor)
    event_user.roles.clear()
    event_user.removed_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "event_user.remove",
        event_id=event.id,
        subject=event_user,
        username=username,
        roles=before,
        logins_ended=ended,
    )
