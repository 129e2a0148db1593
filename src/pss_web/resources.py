"""The traversal tree. Every node knows its ``__name__`` and ``__parent__`` so ACLs inherit:

    Root
    ├── events/                       EventsContainer
    │   └── <slug>/                   EventResource (per-event ACL, login scope)
    │       ├── tournaments/<slug>/   TournamentResource
    │       ├── machines/<id>/        MachineResource (a tournament machine)
    │       ├── players/<number>/     PlayerResource (ACL: that player)
    │       ├── teams/<id>/           TeamResource
    │       ├── users/<username>/     EventUserResource
    │       └── metatournaments/<slug>/ MetatournamentResource
    ├── admin/                        AdminResource (admin login scope)
    │   ├── events/<slug>/            AdminEventResource (ACL: the event's owner)
    │   │   └── users/<username>/     EventUserResource
    │   └── owners/<username>/        AdminOwnerResource (instance administrators)
    └── api/                          ApiResource (OpenAPI document, CSRF token)

``__getitem__`` looks rows up scoped to their event and raises ``KeyError`` on a miss (a 404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol, TypeVar

from pyramid.authorization import DENY_ALL, Allow, Deny, Everyone
from pyramid.events import ContextFound
from pyramid.httpexceptions import HTTPNotFound
from pyramid.location import lineage
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from pss_core.models import (
    Event,
    EventPlayer,
    EventUser,
    Metatournament,
    Role,
    Team,
    Tournament,
    TournamentMachine,
    TournamentStatus,
    User,
)
from pss_web import readcache
from pss_web import security as sec
from pss_web.sanity import INT_MAX, storable
from pss_web.security import LoginScope, Permission

P = Permission
ACE = tuple[str, str, Any]


class _EventRow(Protocol):
    @property
    def event_id(self) -> int: ...


R = TypeVar("R", bound=_EventRow)
#: The longest slug or username a URL segment is looked up by.
MAX_KEY_LENGTH = 200


def row_id(name: str) -> int:
    """The id a URL segment names: plain digits within the id columns' range; anything else
    (``²``, ``-1``, ``1e9``, twenty digits) is a ``KeyError``, so a 404, never a database error."""
    if not (name.isascii() and name.isdigit()) or len(name) > 10 or int(name) > INT_MAX:
        raise KeyError(name)
    return int(name)


def text_key(name: str) -> str:
    """A slug or username from a URL segment, or a ``KeyError`` (a 404) for one no row can have:
    too long, or holding a NUL or broken unicode that the database would refuse to compare."""
    if len(name) > MAX_KEY_LENGTH or not storable(name):
        raise KeyError(name[:MAX_KEY_LENGTH])
    return name


class Resource:
    """A node of the tree. ``api_paths`` are its URL templates, for the OpenAPI document."""

    __name__: str = ""
    __parent__: Any = None
    api_paths: ClassVar[tuple[str, ...]] = ()
    #: What a breadcrumb shows.
    title: str = ""
    #: Not there at all (a 404, at this node and below) for whoever may not VIEW it, so that a
    #: login prompt or a 403 does not tell that it exists (a draft tournament's name, say).
    hidden: bool = False

    def __init__(self, request: Any, name: str, parent: Any) -> None:
        self.request = request
        self.__name__ = name
        self.__parent__ = parent

    @property
    def dbsession(self) -> Session:
        return self.request.dbsession

    def __getitem__(self, name: str) -> Any:
        raise KeyError(name)


class Root(Resource):
    __acl__: ClassVar[list[ACE]] = [(Allow, Everyone, P.VIEW), DENY_ALL]
    api_paths = ("",)
    title = "Events"

    def __init__(self, request: Any) -> None:
        super().__init__(request, "", None)

    def __getitem__(self, name: str) -> Any:
        if name == "events":
            return EventsContainer(self.request, name, self)
        if name == "admin":
            return AdminResource(self.request, name, self)
        if name == "api":
            return ApiResource(self.request, name, self)
        raise KeyError(name)


class ApiResource(Resource):
    api_paths = ("/api",)
    title = "API"


class EventsContainer(Resource):
    api_paths = ("/events",)
    title = "Events"

    def __getitem__(self, slug: str) -> EventResource:
        ids = readcache.ids(self.request)
        event_id = ids.get(("event", slug))
        if event_id is not None:  # slugs never change: the row is loaded only if a view needs it
            return EventResource(self.request, slug, self, event_id=event_id)
        event = self.dbsession.scalars(select(Event).where(Event.slug == text_key(slug))).first()
        if event is None:
            raise KeyError(slug)
        ids.put(("event", slug), event.id)
        return EventResource(self.request, slug, self, event)


def _event_acl(eid: int) -> list[ACE]:
    """The event's ACL: each role principal of THIS event gets that role's permissions."""
    acl: list[ACE] = [
        (Allow, Everyone, P.VIEW),
        (Allow, sec.event_owner(eid), P.MANAGE_USERS),
    ]
    for role in Role:
        acl.append((Allow, sec.event_role(eid, role), sec.ROLE_PERMISSIONS[role]))
    acl.append((Allow, sec.event_players(eid), P.PLAY))
    acl.append(DENY_ALL)
    return acl


class EventResource(Resource):
    """One event. Everything below it is scoped to ``event.id``."""

    api_paths = ("/events/{event}",)

    def __init__(
        self, request: Any, name: str, parent: Any, event: Event | None = None, *, event_id: int = 0
    ) -> None:
        super().__init__(request, name, parent)
        self._event = event
        self.event_id = event.id if event is not None else event_id
        self.__acl__ = _event_acl(self.event_id)

    @property
    def event(self) -> Event:
        """The event's row, loaded on first use (a 304 poll never needs it)."""
        if self._event is None:
            self._event = self.dbsession.get(Event, self.event_id)
            if self._event is None:
                raise KeyError(self.__name__)
        return self._event

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.event.name

    def login_scope(self, request: Any) -> LoginScope:
        path = request.resource_path(self).rstrip("/")
        eid = self.event_id
        return LoginScope("event", eid, f"pss_event_{eid}", path, f"{path}/login")

    def __getitem__(self, name: str) -> Any:
        child = _EVENT_CHILDREN.get(name)
        if child is None:
            for lookup in _EVENT_CHILD_LOOKUPS:
                found = lookup(self.request, name, self)
                if found is not None:
                    return found
            raise KeyError(name)
        return child(self.request, name, self)


class EventChild(Resource):
    """Anything inside an event: knows its event through the tree."""

    @property
    def event(self) -> Event:
        node = self.__parent__
        while node is not None and not hasattr(node, "event"):
            node = node.__parent__
        assert node is not None
        return node.event

    def event_row(self, model: type[R], name: str) -> R:
        """The ``model`` row whose id the URL segment ``name`` gives, if it is this event's;
        otherwise ``KeyError`` (a 404), so no URL reaches another event's rows."""
        row = self.dbsession.get(model, row_id(name))
        if row is None or row.event_id != self.event.id:
            raise KeyError(name)
        return row


class TournamentsContainer(EventChild):
    api_paths = ("/events/{event}/tournaments",)
    title = "Tournaments"

    def __getitem__(self, slug: str) -> TournamentResource:
        event_id = self.__parent__.event_id
        ids = readcache.ids(self.request)
        tournament_id = ids.get(("tournament", event_id, slug))
        if tournament_id is not None:
            # Its status (a draft is hidden) can change: it comes with the page's fingerprint,
            # in the one query a poll makes.
            status = readcache.event_facts(self.request, event_id, tournament_id).status
            if status is not None:
                return TournamentResource(
                    self.request, slug, self, tournament_id=tournament_id, status=status
                )
            ids.drop(("tournament", event_id, slug))
        t = self.dbsession.scalars(
            select(Tournament).where(
                Tournament.event_id == event_id, Tournament.slug == text_key(slug)
            )
        ).first()
        if t is None:
            raise KeyError(slug)
        ids.put(("tournament", event_id, slug), t.id)
        return TournamentResource(self.request, slug, self, t)


class TournamentResource(EventChild):
    api_paths = ("/events/{event}/tournaments/{tournament}",)

    def __init__(
        self,
        request: Any,
        name: str,
        parent: Any,
        tournament: Tournament | None = None,
        *,
        tournament_id: int = 0,
        status: TournamentStatus | None = None,
    ) -> None:
        super().__init__(request, name, parent)
        self._tournament = tournament
        self.tournament_id = tournament.id if tournament is not None else tournament_id
        status = tournament.status if tournament is not None else status
        if status == TournamentStatus.DRAFT:
            self.__acl__ = _draft_acl(parent.__parent__.event_id)
            self.hidden = True

    @property
    def tournament(self) -> Tournament:
        """The tournament's row, loaded on first use (a 304 poll never needs it)."""
        if self._tournament is None:
            self._tournament = self.dbsession.get(Tournament, self.tournament_id)
            if self._tournament is None:
                raise KeyError(self.__name__)
        return self._tournament

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.tournament.name


def _draft_acl(eid: int) -> list[ACE]:
    """A draft is the directors' until it opens: only roles that may manage see it."""
    return [
        *[
            (Allow, sec.event_role(eid, role), P.VIEW)
            for role in Role
            if P.MANAGE in sec.ROLE_PERMISSIONS[role]
        ],
        (Deny, Everyone, P.VIEW),
    ]


class MachinesContainer(EventChild):
    api_paths = ("/events/{event}/machines",)
    title = "Machines"

    def __getitem__(self, name: str) -> MachineResource:
        # Its machine and tournament in the same query: every scorekeeper's save comes here.
        tm = self.dbsession.get(
            TournamentMachine,
            row_id(name),
            options=[
                joinedload(TournamentMachine.machine),
                joinedload(TournamentMachine.tournament),
            ],
        )
        if tm is None or tm.event_id != self.event.id:
            raise KeyError(name)
        return MachineResource(self.request, name, self, tm)


class MachineResource(EventChild):
    api_paths = ("/events/{event}/machines/{machine}",)

    def __init__(self, request: Any, name: str, parent: Any, tm: TournamentMachine) -> None:
        super().__init__(request, name, parent)
        self.machine = tm
        self.title = tm.machine.name
        if tm.tournament.status == TournamentStatus.DRAFT:
            # Its page names the draft tournament it belongs to.
            self.__acl__ = _draft_acl(tm.tournament.event_id)
            self.hidden = True


class PlayersContainer(EventChild):
    api_paths = ("/events/{event}/players",)
    title = "Players"

    def __getitem__(self, name: str) -> PlayerResource:
        ep = self.dbsession.scalars(
            select(EventPlayer).where(
                EventPlayer.event_id == self.event.id, EventPlayer.number == row_id(name)
            )
        ).first()
        if ep is None:
            raise KeyError(name)
        return PlayerResource(self.request, name, self, ep)


class PlayerResource(EventChild):
    """A registered player. The player themselves may see its private pages."""

    api_paths = ("/events/{event}/players/{number}",)

    def __init__(self, request: Any, name: str, parent: Any, ep: EventPlayer) -> None:
        super().__init__(request, name, parent)
        self.player = ep
        self.title = f"{ep.name} (#{ep.number})"
        self.__acl__ = [(Allow, sec.event_player(ep.event_id, ep.id), P.SEE_PLAYER)]


class TeamsContainer(EventChild):
    api_paths = ("/events/{event}/teams",)
    title = "Teams"

    def __getitem__(self, name: str) -> TeamResource:
        return TeamResource(self.request, name, self, self.event_row(Team, name))


class TeamResource(EventChild):
    api_paths = ("/events/{event}/teams/{team}",)

    def __init__(self, request: Any, name: str, parent: Any, team: Team) -> None:
        super().__init__(request, name, parent)
        self.team = team
        self.title = team.name


class EventUsersContainer(EventChild):
    """The event's staff; reachable in the event and in the admin interface."""

    api_paths = ("/events/{event}/users", "/admin/events/{event}/users")
    title = "Event users"

    def __getitem__(self, username: str) -> EventUserResource:
        eu = self.dbsession.scalars(
            select(EventUser)
            .join(User, EventUser.user_id == User.id)
            .where(
                EventUser.event_id == self.event.id,
                EventUser.removed_at.is_(None),
                func.lower(User.username) == text_key(username).lower(),
            )
        ).first()
        if eu is None:
            raise KeyError(username)
        return EventUserResource(self.request, username, self, eu)


class EventUserResource(EventChild):
    api_paths = ("/events/{event}/users/{username}", "/admin/events/{event}/users/{username}")

    def __init__(self, request: Any, name: str, parent: Any, eu: EventUser) -> None:
        super().__init__(request, name, parent)
        self.event_user = eu
        self.title = eu.user.username


class MetatournamentsContainer(EventChild):
    api_paths = ("/events/{event}/metatournaments",)
    title = "Metatournaments"

    def __getitem__(self, slug: str) -> MetatournamentResource:
        meta = self.dbsession.scalars(
            select(Metatournament).where(
                Metatournament.event_id == self.event.id, Metatournament.slug == text_key(slug)
            )
        ).first()
        if meta is None:
            raise KeyError(slug)
        return MetatournamentResource(self.request, slug, self, meta)


class MetatournamentResource(EventChild):
    api_paths = ("/events/{event}/metatournaments/{metatournament}",)

    def __init__(self, request: Any, name: str, parent: Any, meta: Metatournament) -> None:
        super().__init__(request, name, parent)
        self.metatournament = meta
        self.title = meta.name


_EVENT_CHILDREN: dict[str, Callable[[Any, str, Any], Resource]] = {
    "tournaments": TournamentsContainer,
    "machines": MachinesContainer,
    "players": PlayersContainer,
    "teams": TeamsContainer,
    "users": EventUsersContainer,
    "metatournaments": MetatournamentsContainer,
}


#: Children whose names are known only at run time (a payment provider's name).
_EVENT_CHILD_LOOKUPS: list[Callable[[Any, str, Any], Resource | None]] = []


def add_event_child_lookup(lookup: Callable[[Any, str, Any], Resource | None]) -> None:
    """Find children under every event whose names are not fixed: ``lookup(request, name,
    event)`` returns the child, or ``None`` when ``name`` is not one of its own. Fixed names
    win."""
    _EVENT_CHILD_LOOKUPS.append(lookup)


def add_event_child(name: str, factory: Callable[[Any, str, Any], Resource]) -> None:
    """Hang another container under every event (``/events/<slug>/<name>``)."""
    if name in _EVENT_CHILDREN:
        raise ValueError(f"/events/<slug>/{name} is taken")
    _EVENT_CHILDREN[name] = factory


# --- the admin interface ----------------------------------------------------------------------

ADMIN_SCOPE_COOKIE = "pss_admin"


class AdminResource(Resource):
    """The event owners' interface; its own login, valid nowhere else."""

    __acl__: ClassVar[list[ACE]] = [
        (Allow, sec.ADMIN_PRINCIPAL, P.ADMIN),
        (Allow, sec.INSTANCE_ADMIN_PRINCIPAL, P.MANAGE_OWNERS),
        (Allow, Everyone, P.VIEW),
        DENY_ALL,
    ]
    api_paths = ("/admin",)
    title = "Admin"

    def login_scope(self, request: Any) -> LoginScope:
        path = request.resource_path(self).rstrip("/")
        return LoginScope("admin", None, ADMIN_SCOPE_COOKIE, path, f"{path}/login")

    def __getitem__(self, name: str) -> Any:
        if name == "events":
            return AdminEventsContainer(self.request, name, self)
        if name == "owners":
            return AdminOwnersContainer(self.request, name, self)
        raise KeyError(name)


class AdminOwnersContainer(Resource):
    """The event-owner accounts (an instance administrator's)."""

    api_paths = ("/admin/owners",)
    title = "Event owners"

    def __getitem__(self, username: str) -> AdminOwnerResource:
        user = self.dbsession.scalars(
            select(User).where(
                User.is_event_owner.is_(True),
                func.lower(User.username) == text_key(username).lower(),
            )
        ).first()
        if user is None:
            raise KeyError(username)
        return AdminOwnerResource(self.request, username, self, user)


class AdminOwnerResource(Resource):
    api_paths = ("/admin/owners/{owner}",)

    def __init__(self, request: Any, name: str, parent: Any, user: User) -> None:
        super().__init__(request, name, parent)
        self.user = user
        self.title = user.username


class AdminEventsContainer(Resource):
    api_paths = ("/admin/events",)
    title = "My events"

    def __getitem__(self, slug: str) -> AdminEventResource:
        event = self.dbsession.scalars(select(Event).where(Event.slug == text_key(slug))).first()
        if event is None:
            raise KeyError(slug)
        return AdminEventResource(self.request, slug, self, event)


class AdminEventResource(Resource):
    """An event seen from the admin interface: only its owner may change it."""

    api_paths = ("/admin/events/{event}",)

    def __init__(self, request: Any, name: str, parent: Any, event: Event) -> None:
        super().__init__(request, name, parent)
        self.event = event
        self.title = event.name
        self.__acl__ = [
            (Allow, sec.admin_user(event.owner_id), (P.EDIT_EVENT, P.MANAGE_USERS)),
            DENY_ALL,
        ]

    def __getitem__(self, name: str) -> Any:
        if name == "users":
            return EventUsersContainer(self.request, name, self)
        raise KeyError(name)


def find_event_id(context: Any) -> int | None:
    """The id of the event a context belongs to, if any, without loading the event."""
    for node in lineage(context):
        if isinstance(node, EventResource):
            return node.event_id
    event = find_event(context)
    return event.id if event is not None else None


def find_event(context: Any) -> Event | None:
    """The event a context belongs to, if any."""
    node = context
    while node is not None:
        event = getattr(node, "event", None)
        if isinstance(event, Event):
            return event
        node = getattr(node, "__parent__", None)
    return None


def _hide_what_may_not_be_seen(event: Any) -> None:
    """After traversal: a hidden node (or anything below it) the requester may not VIEW is not
    found, whatever the view's own permission would have answered (a login prompt, a 403)."""

    request = event.request
    for node in lineage(request.context):
        if getattr(node, "hidden", False) and not request.has_permission(P.VIEW, node):
            raise HTTPNotFound()


def includeme(config: Any) -> None:
    config.add_subscriber(_hide_what_may_not_be_seen, ContextFound)
