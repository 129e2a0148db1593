"""Who is asking and what they may do: permission names, scoped principals, the security policy.

A login is valid in exactly one place. Its cookie is named and pathed for that place (``/admin`` or
``/events/<slug>``), and the policy only accepts a session whose scope matches the resource being
asked for, so a login to one event gives nothing in another event or in the admin interface.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs
from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.interfaces import ISecurityPolicy
from pyramid.location import lineage
from zope.interface import implementer

from pss_core.audit import Actor
from pss_core.models import LoginKind, Role
from pss_core.services import api_tokens, auth


class Permission(enum.StrEnum):
    """Every permission a view can require. Event ACLs grant them to role principals."""

    #: Public pages: events, standings, machines, players, the TV view, login forms.
    VIEW = "view"
    #: The admin interface (an event owner logged in there).
    ADMIN = "admin"
    #: An event's own settings in the admin interface (its owner only).
    EDIT_EVENT = "edit_event"
    #: Adding event users and giving them roles (the event's owner).
    MANAGE_USERS = "manage_users"
    #: Tournament director: tournaments, machines, metatournaments.
    MANAGE = "manage"
    #: Desk: register players, teams, sell and comp tickets.
    SELL = "sell"
    #: Desk and TD: give money back for unused tickets.
    REFUND = "refund"
    #: Scorekeeper: start games, record scores, void, manage queues.
    SCOREKEEP = "scorekeep"
    #: Any staff role in the event (staff-only pages such as the audit trail).
    STAFF = "staff"
    #: Any player logged into the event (self-service: queue up, buy tickets).
    PLAY = "play"
    #: A player's private pages (tickets, history): that player and the event's staff.
    SEE_PLAYER = "see_player"
    #: Creating event owners and resetting their passwords (an instance administrator).
    MANAGE_OWNERS = "manage_owners"


P = Permission

#: What each role grants inside its event.
ROLE_PERMISSIONS: dict[Role, tuple[Permission, ...]] = {
    Role.TOURNAMENT_DIRECTOR: (P.MANAGE, P.SELL, P.REFUND, P.SCOREKEEP, P.STAFF, P.SEE_PLAYER),
    Role.DESK: (P.SELL, P.REFUND, P.STAFF, P.SEE_PLAYER),
    Role.SCOREKEEPER: (P.SCOREKEEP, P.STAFF, P.SEE_PLAYER),
}


# --- principals -------------------------------------------------------------------------------
# Every principal but ``admin`` names the event it is valid in.

ADMIN_PRINCIPAL = "admin"
#: An admin login of an instance administrator.
INSTANCE_ADMIN_PRINCIPAL = "admin:instance"


def admin_user(user_id: int) -> str:
    return f"admin:user:{user_id}"


def event_role(event_id: int, role: Role | str) -> str:
    return f"event:{event_id}:role:{Role(role).value}"


def event_staff(event_id: int) -> str:
    return f"event:{event_id}:staff"


def event_owner(event_id: int) -> str:
    return f"event:{event_id}:owner"


def event_user(event_id: int, user_id: int) -> str:
    return f"event:{event_id}:user:{user_id}"


def event_players(event_id: int) -> str:
    return f"event:{event_id}:player"


def event_player(event_id: int, event_player_id: int) -> str:
    return f"event:{event_id}:player:{event_player_id}"


def principals_for(identity: auth.Identity | None) -> list[str]:
    """The principals an identity holds, all scoped to its one event (or to the admin interface)."""
    principals = [Everyone]
    if identity is None:
        return principals
    principals.append(Authenticated)
    if identity.kind == LoginKind.ADMIN:
        assert identity.user_id is not None
        principals += [ADMIN_PRINCIPAL, admin_user(identity.user_id)]
        if identity.is_instance_admin:
            principals.append(INSTANCE_ADMIN_PRINCIPAL)
    elif identity.kind == LoginKind.STAFF:
        assert identity.event_id is not None
        assert identity.user_id is not None
        eid = identity.event_id
        principals += [event_staff(eid), event_user(eid, identity.user_id)]
        principals += [event_role(eid, r) for r in sorted(identity.roles)]
        if identity.is_owner:
            principals.append(event_owner(eid))
    else:
        assert identity.event_id is not None
        assert identity.player_id is not None
        principals += [
            event_players(identity.event_id),
            event_player(identity.event_id, identity.player_id),
        ]
    return principals


# --- where a login is valid -------------------------------------------------------------------


@attrs.frozen
class LoginScope:
    """The place a request belongs to: the admin interface or one event, and its cookie."""

    kind: str  # "admin" | "event"
    event_id: int | None
    cookie_name: str
    cookie_path: str
    login_path: str


def scope_of(request: Any, context: Any = None) -> LoginScope | None:
    """The login scope of ``context`` (default: the request's traversal context)."""
    if context is None:
        context = getattr(request, "context", None)
    if context is None:
        return None
    for node in lineage(context):
        scope = getattr(node, "login_scope", None)
        if scope is not None:
            return scope(request) if callable(scope) else scope
    return None


@implementer(ISecurityPolicy)
class PssSecurityPolicy:
    """Identity from a ``LoginSession`` whose token is in the scope's cookie; ACLs decide."""

    def __init__(self) -> None:
        self.acl = ACLHelper()

    def identity(self, request: Any) -> auth.Identity | None:
        cache = request.environ.setdefault("pss.identity", {})
        scope = scope_of(request)
        key = scope.cookie_name if scope else None
        if key not in cache:
            cache[key] = self._identity(request, scope)
        return cache[key]

    def _identity(self, request: Any, scope: LoginScope | None) -> auth.Identity | None:
        if scope is None:
            return None
        bearer = bearer_token(request)
        if bearer is not None:
            # A bearer request is the token's alone: it never falls back to a login cookie, so
            # it needs no CSRF token (a cross-site page cannot set this header).
            if scope.kind != "event" or scope.event_id is None:
                return None
            return api_tokens.identity_for_token(request.dbsession, bearer, scope.event_id)
        token = request.cookies.get(scope.cookie_name)
        if not token:
            return None
        ident = auth.identity_for(request.dbsession, token)
        if ident is None:
            return None
        if scope.kind == "admin" and ident.kind != LoginKind.ADMIN:
            return None
        if scope.kind == "event" and (
            ident.kind == LoginKind.ADMIN or ident.event_id != scope.event_id
        ):
            return None
        return ident

    def authenticated_userid(self, request: Any) -> str | None:
        ident = self.identity(request)
        if ident is not None and ident.token_id is not None:
            return f"token:{ident.token_id}"
        return f"session:{ident.session_id}" if ident else None

    def permits(self, request: Any, context: Any, permission: str) -> Any:
        return self.acl.permits(context, principals_for(self.identity(request)), permission)

    def remember(self, request: Any, userid: str, **kw: Any) -> list[tuple[str, str]]:
        """``userid`` is the session token; ``scope`` (a LoginScope) says where it is valid."""
        scope: LoginScope = kw["scope"]
        request.environ.pop("pss.identity", None)
        response = request.response
        response.set_cookie(
            scope.cookie_name,
            userid,
            path=scope.cookie_path,
            httponly=True,
            samesite="Lax",
            secure=request.scheme == "https",
            max_age=int(kw.get("max_age") or 3 * 24 * 3600),
        )
        return _set_cookie_headers(response)

    def forget(self, request: Any, **kw: Any) -> list[tuple[str, str]]:
        scope: LoginScope | None = kw.get("scope") or scope_of(request)
        request.environ.pop("pss.identity", None)
        if scope is None:
            return []
        response = request.response
        response.delete_cookie(scope.cookie_name, path=scope.cookie_path)
        return _set_cookie_headers(response)


def bearer_token(request: Any) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None`` without one."""
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def _csrf_needed(request: Any) -> bool:
    return bearer_token(request) is None


def _set_cookie_headers(response: Any) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in response.headerlist if k.lower() == "set-cookie"]
    # The headers are handed back to the caller to put on its own response; drop them here so
    # they are not sent twice when the caller returns ``request.response`` itself.
    del response.headers["Set-Cookie"]
    return headers


def request_actor(request: Any) -> Actor:
    """Who is acting, as the audit log names them (``request.actor``): the logged-in staff member
    or player, else ``anonymous``."""
    identity = request.identity
    return identity.actor if identity is not None else Actor("anonymous")


def includeme(config: Any) -> None:
    # A property, not reified: remember() and forget() drop the cached identity, so who is
    # acting can change within a request.
    config.add_request_method(request_actor, "actor", property=True)
    config.set_security_policy(PssSecurityPolicy())
    # The CSRF token lives in its own cookie (double submit), independent of any login, so the
    # login forms are protected too. Forms send it as ``csrf_token``, JSON clients as the
    # ``X-CSRF-Token`` header.
    config.set_csrf_storage_policy(CookieCSRFStoragePolicy(samesite="Lax", httponly=False))
    config.set_default_csrf_options(require_csrf=True, callback=_csrf_needed)
