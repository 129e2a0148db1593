"""Web Push for players: "notify me on this phone" on the player's own page, the subscription the
browser made kept (or forgotten), and the service worker that shows the messages.

    /events/<slug>/players/<number>/push               GET: the VAPID key and this player's state
    /events/<slug>/players/<number>/push-key           POST: the VAPID key (made on first use)
    /events/<slug>/players/<number>/push-subscribe     POST endpoint, p256dh, auth
    /events/<slug>/players/<number>/push-unsubscribe   POST endpoint
    /push-sw.js                                        the service worker (scope: the whole app)
"""

from __future__ import annotations

from typing import Any

from pyramid.response import Response
from pyramid.settings import asbool
from pyramid.view import view_config
from sqlalchemy import func, select

from pss_core import push
from pss_core.errors import Refused
from pss_core.models import PushSubscription
from pss_web.assets import STATIC_DIR
from pss_web.forms import Field, parse
from pss_web.present import event_json, event_url
from pss_web.resources import PlayerResource, Root
from pss_web.security import Permission
from pss_web.viewkit import action, done, page
from pss_web.views.player import own_player

P = Permission

#: Admit push services on this machine over plain http (tests, a relay on the venue laptop).
ALLOW_HTTP = "pss.push.allow_http_endpoints"

ENDPOINT = Field(
    "endpoint",
    required=True,
    label="Push address",
    max_length=1000,
    help="The push service's address for this browser (PushSubscription.endpoint).",
)
SUBSCRIBE_FIELDS = (
    ENDPOINT,
    Field("p256dh", required=True, label="Encryption key", help="keys.p256dh (base64url)."),
    Field("auth", required=True, label="Authentication secret", help="keys.auth (base64url)."),
)


def _state(request: Any, context: PlayerResource) -> dict[str, Any]:
    session = request.dbsession
    ep = context.player
    base = event_url(request, context.event, "players", ep.number, "")
    available = push.available()
    return {
        "event": event_json(request, context.event),
        "available": available,
        # Made by the first ``push-key`` request, never by a GET.
        "public_key": push.public_key(session) if available else None,
        "subscriptions": session.scalar(
            select(func.count(PushSubscription.id)).where(PushSubscription.player_id == ep.id)
        )
        or 0,
        "key_url": base + "push-key",
        "subscribe_url": base + "push-subscribe",
        "unsubscribe_url": base + "push-unsubscribe",
        "worker_url": request.application_url + "/push-sw.js",
        "play_url": base + "play",
    }


@page(context=PlayerResource, name="push", permission=P.PLAY, template="player/push.html")
def push_page(context: PlayerResource, request: Any) -> dict[str, Any]:
    """Notifications on this phone: the instance's VAPID public key the browser subscribes with,
    and how many of the player's browsers get pushed messages."""
    own_player(request, context)
    return _state(request, context)


@action(context=PlayerResource, name="push-key", permission=P.PLAY)
def push_key(context: PlayerResource, request: Any) -> Response:
    """The instance's VAPID public key, which the browser subscribes with (made on the first
    request for it). Refused with ``push_unavailable`` (409) where pss cannot push."""
    own_player(request, context)
    if not push.available():
        raise Refused("This pss cannot send notifications to phones.", code="push_unavailable")
    key = push.vapid_keys(
        request.dbsession, actor=request.identity.actor, event_id=context.event.id
    ).public_key
    return done(
        request,
        event_url(request, context.event, "players", context.player.number, "push"),
        {"public_key": key},
    )


@action(context=PlayerResource, name="push-subscribe", permission=P.PLAY, fields=SUBSCRIBE_FIELDS)
def push_subscribe(context: PlayerResource, request: Any) -> Response:
    """Keep this browser's push subscription: every message to the player ("you're up next",
    "your game was recorded") is pushed there too. Refused with ``invalid_push_subscription``
    for an address that is not a push service's or keys of the wrong shape."""
    ep = own_player(request, context)
    values = parse(request, SUBSCRIBE_FIELDS)
    push.subscribe(
        request.dbsession,
        ep,
        endpoint=values["endpoint"],
        p256dh=values["p256dh"],
        auth=values["auth"],
        actor=request.identity.actor,
        allow_http=asbool(request.registry.settings.get(ALLOW_HTTP)),
    )
    return done(
        request,
        event_url(request, context.event, "players", ep.number, "push"),
        {"subscribed": True},
        message="This phone gets your notifications.",
        status=201,
    )


@action(context=PlayerResource, name="push-unsubscribe", permission=P.PLAY, fields=(ENDPOINT,))
def push_unsubscribe(context: PlayerResource, request: Any) -> Response:
    """Stop pushing to this browser."""
    ep = own_player(request, context)
    values = parse(request, (ENDPOINT,))
    gone = push.unsubscribe(
        request.dbsession, ep, endpoint=values["endpoint"], actor=request.identity.actor
    )
    return done(
        request,
        event_url(request, context.event, "players", ep.number, "push"),
        {"subscribed": False, "removed": gone},
        message="This phone no longer gets your notifications.",
    )


@view_config(context=Root, name="push-sw.js", permission=P.VIEW, request_method=("GET", "HEAD"))
def service_worker(context: Root, request: Any) -> Response:
    """The service worker that shows pushed messages (served from the root so that its scope is
    the whole app)."""
    body = (STATIC_DIR / "push-sw.js").read_bytes()
    response = Response(body=body)
    response.content_type = "application/javascript"
    response.charset = "utf-8"
    response.cache_control = "no-cache"
    return response
