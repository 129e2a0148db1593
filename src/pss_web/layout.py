"""What the base template needs on every page: who is logged in where, the navigation for the
current place, breadcrumbs, and the one-time message. Other view modules add navigation entries
with :func:`add_event_nav`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from pyramid.location import lineage

from pss_web.resources import AdminResource, EventResource, Root
from pss_web.security import LoginScope, Permission, scope_of
from pss_web.viewkit import flash

P = Permission


@attrs.frozen
class NavItem:
    """A link in an event's navigation, shown to whoever holds ``permission`` there."""

    label: str
    #: Path below the event, e.g. ``("tournaments", "")`` or ``("tv",)``.
    path: tuple[str, ...]
    permission: str = P.VIEW
    order: int = 50
    #: Shown only where this says so for the event (``when(request, event)``).
    when: Callable[[Any, Any], bool] | None = None


_EVENT_NAV: list[NavItem] = [
    NavItem("Home", ("",), P.VIEW, 0),
    NavItem("Tournaments", ("tournaments", ""), P.VIEW, 10),
    NavItem("Players", ("players", ""), P.VIEW, 20),
    NavItem("TV", ("tv",), P.VIEW, 90),
    NavItem("Teams", ("teams", ""), P.SELL, 60),
    NavItem("Metatournaments", ("metatournaments", ""), P.MANAGE, 70),
    NavItem("Staff", ("users", ""), P.MANAGE_USERS, 80),
]


def add_event_nav(
    label: str,
    *path: str,
    permission: str = P.VIEW,
    order: int = 50,
    when: Callable[[Any, Any], bool] | None = None,
) -> None:
    """Add a link to every event's navigation (idempotent per label and path); with ``when``,
    only in events where ``when(request, event)`` is true."""
    item = NavItem(label, tuple(path), permission, order, when)
    if all((i.label, i.path) != (item.label, item.path) for i in _EVENT_NAV):
        _EVENT_NAV.append(item)


@attrs.frozen
class Link:
    label: str
    url: str
    current: bool = False


@attrs.frozen
class Layout:
    scope: LoginScope | None
    identity: Any
    nav: tuple[Link, ...]
    crumbs: tuple[Link, ...]
    login_url: str | None
    player_login_url: str | None
    logout_url: str | None
    message: str | None
    event_name: str | None
    home_url: str
    #: Where the logged-in person changes their own password here (``None``: nowhere).
    password_url: str | None = None


def _own_pages(identity: Any, event_url: str) -> str:
    """The address prefix of a logged-in player's own pages ("" for anyone else)."""
    number = getattr(identity, "player_number", None)
    return f"{event_url}players/{number}/" if number is not None else ""


def build_layout(request: Any) -> Layout:
    context = getattr(request, "context", None)
    scope = scope_of(request) if context is not None else None
    identity = request.identity if scope is not None else None
    base = request.application_url
    nav: list[Link] = []
    event_node = None
    admin_node = None
    for node in lineage(context) if context is not None else ():
        if isinstance(node, EventResource):
            event_node = node
        if isinstance(node, AdminResource):
            admin_node = node
    here = request.path_url
    if event_node is not None:
        event_url = request.resource_url(event_node)
        own = _own_pages(identity, event_url)
        links = []
        for item in sorted(_EVENT_NAV, key=lambda i: i.order):
            if item.permission != P.VIEW and not request.has_permission(
                item.permission, event_node
            ):
                continue
            if item.when is not None and not item.when(request, event_node.event):
                continue
            url = event_url + "/".join(item.path)
            # How much of the current address the tab covers: all of it, the section it opens
            # (a container's address ends in "/"), or — for "My page" — the player's own pages.
            if here == url:
                covers = len(here) + 1
            elif item.path != ("",) and url.endswith("/") and here.startswith(url):
                covers = len(url)
            elif item.path == ("me",) and own and here.startswith(own):
                covers = len(own)
            else:
                covers = 0
            links.append((item.label, url, covers))
        # One tab is current: the one that covers most (a player on their own page under
        # players/ is on "My page", not on the players list).
        best = max((c for _, _, c in links), default=0)
        nav.extend(Link(label, url, bool(best) and covers == best) for label, url, covers in links)
    elif admin_node is not None and identity is not None:
        nav.append(
            Link(
                "My events",
                request.resource_url(admin_node, "events", ""),
                here.startswith(request.resource_url(admin_node, "events", "")),
            )
        )
        if getattr(identity, "is_instance_admin", False):
            owners = request.resource_url(admin_node, "owners", "")
            nav.append(Link("Event owners", owners, here.startswith(owners)))
    crumbs = []
    if context is not None:
        for node in reversed(list(lineage(context))):
            if isinstance(node, Root):
                continue
            title = getattr(node, "title", "") or node.__name__
            crumbs.append(Link(title, request.resource_url(node)))
    login = player_login = logout = password = None
    if scope is not None:
        # Scope paths come from resource_path, so they already carry any script name.
        host = request.host_url
        login = host + scope.login_path
        logout = host + scope.cookie_path + "/logout"
        # Staff and owners have a password of their own; a player's PIN comes from the desk.
        if identity is not None and getattr(identity, "user_id", None) is not None:
            password = host + scope.cookie_path + "/password"
        if scope.kind == "event":
            player_login = host + scope.cookie_path + "/player-login"
    return Layout(
        scope=scope,
        identity=identity,
        nav=tuple(nav),
        crumbs=tuple(crumbs),
        login_url=login,
        player_login_url=player_login,
        logout_url=logout,
        message=flash(request),
        event_name=event_node.event.name if event_node is not None else None,
        home_url=base + "/",
        password_url=password,
    )


def includeme(config: Any) -> None:
    config.add_request_method(build_layout, "layout", reify=True)
