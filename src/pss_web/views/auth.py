"""The three logins (admin interface, event staff, event player) and logging out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pyramid.csrf import get_csrf_token, new_csrf_token
from pyramid.response import Response
from pyramid.security import forget, remember

from pss_core.models import LoginKind, Role
from pss_core.services import auth
from pss_web.forms import Field, parse
from pss_web.resources import AdminResource, EventResource
from pss_web.security import LoginScope, Permission, scope_of
from pss_web.viewkit import action, done, page
from pss_web.views.errors import error_response

P = Permission

STAFF_FIELDS = (
    Field("username", required=True, label="Username", max_length=64),
    Field("password", "password", required=True, label="Password"),
    Field("next", label="Where to go after logging in"),
)
PLAYER_FIELDS = (
    Field("number", "int", required=True, label="Player number", minimum=1),
    Field("pin", "password", required=True, label="PIN"),
    Field("next", label="Where to go after logging in"),
)


#: How long a browser keeps its device cookie (it only ever widens what that browser may try).
DEVICE_COOKIE_MAX_AGE = 90 * 24 * 3600


def device_cookie_name(scope: LoginScope) -> str:
    return f"{scope.cookie_name}_device"


def device_tokens(request: Any, scope: LoginScope | None) -> tuple[str, ...]:
    """The device tokens this browser holds for ``scope`` (newest first)."""
    if scope is None:
        return ()
    raw = request.cookies.get(device_cookie_name(scope)) or ""
    return tuple(t for t in raw.split(".") if t)[: auth.DEVICE_TOKENS_KEPT]


def client_of(request: Any, context: Any = None) -> auth.Client:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says (behind a proxy, let the
    # server rewrite REMOTE_ADDR, e.g. waitress's trusted_proxy).
    return auth.Client(
        address=request.remote_addr or "unknown",
        user_agent=(request.user_agent or "")[:200],
        devices=device_tokens(request, scope_of(request, context)),
    )


def _device_cookie_headers(
    request: Any, scope: LoginScope, device_token: str | None
) -> list[tuple[str, str]]:
    """The Set-Cookie header that adds ``device_token`` to the browser's device cookie."""
    if device_token is None:
        return []
    kept = (device_token, *device_tokens(request, scope))[: auth.DEVICE_TOKENS_KEPT]
    response = request.response
    response.set_cookie(
        device_cookie_name(scope),
        ".".join(kept),
        path=scope.cookie_path,
        httponly=True,
        samesite="Lax",
        secure=request.scheme == "https",
        max_age=DEVICE_COOKIE_MAX_AGE,
    )
    headers = [(k, v) for k, v in response.headerlist if k.lower() == "set-cookie"]
    del response.headers["Set-Cookie"]
    return headers


def policy_of(request: Any) -> auth.ThrottlePolicy:
    return request.registry.get("pss.throttle_policy") or auth.DEFAULT_POLICY


def safe_next(request: Any, scope: LoginScope, target: Any, default: str) -> str:
    """Only a path inside the login's own scope: never another site, never another event.
    A full address is accepted only on this site's own origin."""
    if not isinstance(target, str):  # a JSON client may send anything
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):  # no header can carry these
        return default
    if "\\" in target:  # browsers read a backslash as a slash: "/\\evil.example"
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if f"{parts.scheme}://{parts.netloc}" != request.host_url:
            return default
        target = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
        parts = urlsplit(target)
    if target.startswith("//") or not parts.path.startswith(scope.cookie_path + "/"):
        return default
    # Dot segments (also percent-encoded) would climb out of the event once resolved.
    segments = unquote(parts.path).split("/")
    if any(seg in (".", "..") for seg in segments):
        return default
    return request.host_url + target


def landing_url(request: Any, context: Any, identity: auth.Identity | None) -> str:
    """Where a staff login goes without a ``next``: the page of the person's job. The tournament
    director (or owner) manages the tournaments, the desk sells, a scorekeeper keeps score."""
    roles = identity.roles if identity is not None else frozenset()
    if identity is not None and (identity.is_owner or Role.TOURNAMENT_DIRECTOR in roles):
        return request.resource_url(context, "tournaments", "")
    if Role.DESK in roles:
        return request.resource_url(context, "desk")
    if Role.SCOREKEEPER in roles:
        return request.resource_url(context, "board")
    return request.resource_url(context)


def identity_json(identity: auth.Identity | None) -> dict[str, Any] | None:
    if identity is None:
        return None
    return {
        "kind": identity.kind,
        "name": identity.name,
        "roles": sorted(r.value for r in identity.roles),
        "is_owner": identity.is_owner,
        "player_number": identity.player_number,
        "expires_at": identity.expires_at,
        "is_instance_admin": identity.is_instance_admin,
    }


def _login_page(context: Any, request: Any, kind: str) -> dict[str, Any]:
    event = getattr(context, "event", None)
    return {
        "kind": kind,
        "event": {"name": event.name, "slug": event.slug} if event is not None else None,
        "identity": identity_json(request.identity),
        "next": request.params.get("next", ""),
        "csrf_token": get_csrf_token(request),
    }


def _finish_login(
    request: Any,
    context: Any,
    login: auth.Login,
    default: str | Callable[[auth.Identity | None], str],
) -> Response:
    scope = scope_of(request, context)
    assert scope is not None
    token = login.token
    headers = remember(request, token, scope=scope)
    headers += _device_cookie_headers(request, scope, login.device_token)
    # A fresh CSRF token for the new login, so a token planted before it is worthless after.
    new_csrf_token(request)
    identity = auth.identity_for(request.dbsession, token)
    if callable(default):
        default = default(identity)
    target = safe_next(request, scope, request.submitted.get("next"), default)
    response = done(
        request,
        target,
        {"identity": identity_json(identity), "csrf_token": get_csrf_token(request)},
        message=f"Logged in as {identity.name}." if identity else None,
        headers=headers,
    )
    return response


@page(context=AdminResource, name="login", permission=P.VIEW, template="auth/login.html")
def admin_login_form(context: AdminResource, request: Any) -> dict[str, Any]:
    """The admin interface login form (event owners)."""
    return _login_page(context, request, "admin")


@action(context=AdminResource, name="login", permission=P.VIEW, fields=STAFF_FIELDS)
def admin_login(context: AdminResource, request: Any) -> Response:
    """Log an event owner into the admin interface (sets the admin session cookie)."""
    values = parse(request, STAFF_FIELDS)
    try:
        login = auth.authenticate_admin(
            request.dbsession,
            values["username"],
            values["password"],
            client_of(request, context),
            policy=policy_of(request),
        )
    except (auth.LoginRefused, auth.LockedOut) as exc:
        # Returned, not raised: the failure count must be committed, not rolled back.
        return error_response(request, exc)
    return _finish_login(request, context, login, request.resource_url(context))


@page(context=EventResource, name="login", permission=P.VIEW, template="auth/login.html")
def staff_login_form(context: EventResource, request: Any) -> dict[str, Any]:
    """The staff login form of one event (TD, desk, scorekeeper)."""
    return _login_page(context, request, "staff")


@action(context=EventResource, name="login", permission=P.VIEW, fields=STAFF_FIELDS)
def staff_login(context: EventResource, request: Any) -> Response:
    """Log an event user into this event with the password valid for it."""
    values = parse(request, STAFF_FIELDS)
    try:
        login = auth.authenticate_staff(
            request.dbsession,
            context.event,
            values["username"],
            values["password"],
            client_of(request, context),
            policy=policy_of(request),
        )
    except (auth.LoginRefused, auth.LockedOut) as exc:
        return error_response(request, exc)
    return _finish_login(
        request, context, login, lambda identity: landing_url(request, context, identity)
    )


@page(context=EventResource, name="player-login", permission=P.VIEW, template="auth/login.html")
def player_login_form(context: EventResource, request: Any) -> dict[str, Any]:
    """The player login form of one event (player number and PIN)."""
    return _login_page(context, request, "player")


@action(context=EventResource, name="player-login", permission=P.VIEW, fields=PLAYER_FIELDS)
def player_login(context: EventResource, request: Any) -> Response:
    """Log a player into this event with their number and PIN (attempts are rate-limited)."""
    values = parse(request, PLAYER_FIELDS)
    try:
        login = auth.authenticate_player(
            request.dbsession,
            context.event,
            values["number"],
            values["pin"],
            client_of(request, context),
            policy=policy_of(request),
        )
    except (auth.LoginRefused, auth.LockedOut) as exc:
        return error_response(request, exc)
    # A player logs in to play: land on their own page (tickets, queue, results).
    default = request.resource_url(context, "players", str(values["number"]), "play")
    return _finish_login(request, context, login, default)


def _logout(context: Any, request: Any) -> Response:
    scope = scope_of(request, context)
    assert scope is not None
    # Only a login of this place: an admin token sent under an event's cookie name (or another
    # event's token) is not this logout's to end.
    kinds = {LoginKind.ADMIN} if scope.kind == "admin" else {LoginKind.STAFF, LoginKind.PLAYER}
    auth.logout(
        request.dbsession,
        request.cookies.get(scope.cookie_name),
        kinds=kinds,
        event_id=scope.event_id,
    )
    headers = forget(request, scope=scope)
    return done(
        request,
        request.resource_url(context),
        {"identity": None},
        message="Logged out.",
        headers=headers,
    )


@action(context=AdminResource, name="logout", permission=P.VIEW)
def admin_logout(context: AdminResource, request: Any) -> Response:
    """End the admin session (the token is revoked on the server, not just forgotten)."""
    return _logout(context, request)


@action(context=EventResource, name="logout", permission=P.VIEW)
def event_logout(context: EventResource, request: Any) -> Response:
    """End this event's session, staff or player (revoked on the server)."""
    return _logout(context, request)
