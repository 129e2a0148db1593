"""The admin interface (event owners, with the admin login): their events, creating one, and an
event's own settings. Staff of an event are managed under ``/admin/events/<slug>/users/``."""

from __future__ import annotations

import zoneinfo
from typing import Any

from pyramid.response import Response
from sqlalchemy import select

from pss_core import timezones
from pss_core.models import Event, User
from pss_core.services import admin as admin_service
from pss_core.services import setup
from pss_web.forms import Field, parse
from pss_web.present import app_url, event_json
from pss_web.resources import AdminEventResource, AdminEventsContainer, AdminResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page

P = Permission

NEW_EVENT_FIELDS = (
    Field("name", required=True, label="Event name"),
    Field(
        "slug",
        label="Web address",
        max_length=64,
        help="Lower-case letters, digits and dashes; made from the name when empty. "
        "It cannot change later.",
    ),
    Field(
        "owner_password",
        "password",
        label="Your password inside this event",
        help="Empty: the same as your admin password.",
    ),
)
EDIT_EVENT_FIELDS = (
    Field("name", required=True, label="Event name"),
    Field("active", "bool", label="Active (listed first; players and staff can use it)"),
    Field(
        "time_zone",
        label="Time zone",
        max_length=64,
        help="Where the event happens, like Europe/Berlin or America/Chicago: every time is "
        "shown and typed in it.",
    ),
    Field("starts_at", "datetime", label="Starts", help="In the event's time zone."),
    Field("ends_at", "datetime", label="Ends", help="In the event's time zone."),
    Field("currency", "choice", label="Currency", choices=admin_service.CURRENCIES),
    Field(
        "hold_minutes",
        "int",
        label="Minutes an online purchase holds tickets",
        minimum=1,
        maximum=24 * 60,
    ),
)


def _owner(request: Any) -> User:
    user = request.dbsession.get(User, request.identity.user_id)
    assert user is not None
    return user


def _my_events(request: Any) -> list[Event]:
    return list(
        request.dbsession.scalars(
            select(Event)
            .where(Event.owner_id == request.identity.user_id)
            .order_by(Event.id.desc())
        )
    )


def _admin_event_json(request: Any, event: Event) -> dict[str, Any]:
    return {
        **event_json(request, event),
        "admin_url": app_url(request, "admin", "events", event.slug, ""),
        "users_url": app_url(request, "admin", "events", event.slug, "users", ""),
        "login_url": app_url(request, "events", event.slug, "login"),
    }


@page(context=AdminResource, permission=P.ADMIN, template="admin/events.html")
@page(context=AdminEventsContainer, permission=P.ADMIN, template="admin/events.html")
def my_events(context: Any, request: Any) -> dict[str, Any]:
    """The events you own, and the form to create one."""
    return {
        "events": [_admin_event_json(request, e) for e in _my_events(request)],
        "create_url": app_url(request, "admin", "events", ""),
    }


@action(context=AdminEventsContainer, permission=P.ADMIN, fields=NEW_EVENT_FIELDS)
def create_event(context: AdminEventsContainer, request: Any) -> Response:
    """Create an event; you become its owner and tournament director."""
    values = parse(request, NEW_EVENT_FIELDS)
    event = setup.create_event(
        request.dbsession,
        _owner(request),
        values["name"],
        slug=values["slug"] or None,
        owner_password=values["owner_password"] or None,
        actor=request.actor,
    )
    data = _admin_event_json(request, event)
    return done(
        request,
        data["admin_url"],
        {"event": data},
        message=f"{event.name} created. Add its staff, then log into it to set up tournaments.",
        status=201,
    )


@page(context=AdminEventResource, permission=P.EDIT_EVENT, template="admin/event.html")
def event_settings(context: AdminEventResource, request: Any) -> dict[str, Any]:
    """An event's settings, to change."""
    return {
        "event": _admin_event_json(request, context.event),
        "settings": {"hold_minutes": context.event.hold_minutes},
        "currencies": list(admin_service.CURRENCIES),
        "_time_zones": sorted(zoneinfo.available_timezones()),
    }


@action(context=AdminEventResource, permission=P.EDIT_EVENT, fields=EDIT_EVENT_FIELDS)
def update_event(context: AdminEventResource, request: Any) -> Response:
    """Change an event's name, time zone, dates, currency, online hold time, or whether it is
    active. Dates without an offset are read in the event's time zone."""
    data = request.submitted
    fields = tuple(f for f in EDIT_EVENT_FIELDS if not data.is_json or data.has(f.name))
    # The start and end are typed in the zone being set, when it changes in the same form.
    zone_field = tuple(f for f in fields if f.name == "time_zone")
    zone = parse(request, zone_field).get("time_zone") or context.event.time_zone
    values = parse(request, fields, zone=timezones.check_time_zone(zone))
    diff = admin_service.update_event(
        request.dbsession,
        context.event,
        actor=request.actor,
        name=values.get("name"),
        active=values.get("active") if "active" in values else None,
        starts_at=values.get("starts_at"),
        ends_at=values.get("ends_at"),
        currency=values.get("currency"),
        hold_minutes=values.get("hold_minutes"),
        time_zone=values.get("time_zone") or None,
    )
    return done(
        request,
        request.resource_url(context),
        {"event": _admin_event_json(request, context.event), "changed": sorted(diff)},
        message="Saved." if diff else "Nothing changed.",
    )
