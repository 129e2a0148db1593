"""The event's IFPA API key (its owner): with one, players' IFPA numbers and WPPR ranks are looked
up as they register (:mod:`pss_core.services.ifpa`); the desk sees what each look-up found.

/admin/events/<slug>/ifpa               the event's IFPA API key (its owner); POST sets it
/events/<slug>/players/<n>/ifpa-lookup  POST: look the player up again (desk)
"""

from __future__ import annotations

from typing import Any

from pyramid.response import Response

from pss_core.models import Event, EventPlayer
from pss_core.services import ifpa
from pss_web.forms import Field, parse
from pss_web.present import event_json, event_url
from pss_web.resources import AdminEventResource, PlayerResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page

P = Permission

IFPA_FIELDS = (
    Field("api_key", "password", label="IFPA API key", max_length=255),
    Field("clear", "bool", label="Remove the IFPA API key"),
)


def _settings_json(event: Event) -> dict[str, Any]:
    return {"api_key_set": ifpa.key_set(event)}


def lookup_json(request: Any, event: Event, ep: EventPlayer) -> dict[str, Any] | None:
    """The player's IFPA look-up as the desk sees it (``None`` where none was made)."""
    state = ifpa.lookup_state(ep)
    if state is None:
        return None
    return {**state, "retry_url": event_url(request, event, "players", ep.number, "ifpa-lookup")}


@page(context=AdminEventResource, name="ifpa", permission=P.EDIT_EVENT, template="admin/ifpa.html")
def ifpa_settings(context: AdminEventResource, request: Any) -> dict[str, Any]:
    """Whether the event has an IFPA API key (never the key itself)."""
    return {"event": event_json(request, context.event), "ifpa": _settings_json(context.event)}


@action(context=AdminEventResource, name="ifpa", permission=P.EDIT_EVENT, fields=IFPA_FIELDS)
def set_ifpa_settings(context: AdminEventResource, request: Any) -> Response:
    """Set the event's IFPA API key (empty keeps the current one) or remove it."""
    values = parse(request, IFPA_FIELDS)
    ifpa.set_api_key(
        request.dbsession,
        context.event,
        api_key=values["api_key"],
        clear=values["clear"],
        actor=request.identity.actor,
    )
    return done(
        request,
        request.resource_url(context, "ifpa"),
        {"ifpa": _settings_json(context.event)},
        message="IFPA settings saved.",
    )


@action(context=PlayerResource, name="ifpa-lookup", permission=P.SELL)
def lookup_again(context: PlayerResource, request: Any) -> Response:
    """Look the player's IFPA number and rank up again (after the commit), e.g. after a look-up
    that gave up; what the desk entered is kept."""
    ep, event = context.player, context.event
    asked = ifpa.request_lookup(request.dbsession, event, ep)
    return done(
        request,
        event_url(request, event, "players", ep.number, "edit"),
        {"requested": asked, "ifpa_lookup": lookup_json(request, event, ep)},
        message="Looking the IFPA number and rank up again."
        if asked
        else "Nothing to look up: the event has no IFPA key, or the number and rank are set.",
    )
