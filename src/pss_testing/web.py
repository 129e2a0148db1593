"""The web part of the test kit: a WebTest app over the rolled-back ``dbsession``, and helpers that
log in as an event's staff, a player or an event owner (part of the :mod:`pss_testing` plugin;
WebTest and the web app are imported only when a test asks for them).

    def test_desk_sees_sales(webapp, demo_event):
        login_as(webapp, demo_event, "desk")
        webapp.get("/events/demo/...", headers=JSON)

Every request of a test runs in that test's session, so what one request writes the next one
reads, and everything is rolled back at the end.

For permission matrices, ``two_events`` is the demo event and a second one built alike, ``WHO``
the logins to ask as (each a :class:`Who`), and :func:`check_matrix` asks every view as one of
them in both events::

    VIEWS = [("GET", "/events/{slug}/desk", desk_here), ...]

    @pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
    def test_permission_matrix(webapp, dbsession, two_events, who):
        assert check_matrix(webapp, dbsession, two_events, who, VIEWS) == []
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pss_core.demo import DEMO_PIN
from pss_core.models import Event, EventUser, Role
from pss_core.plugins import Pss
from pss_core.security import hash_secret
from pss_core.services import setup

if TYPE_CHECKING:
    from webtest import TestApp

with warnings.catch_warnings(), contextlib.suppress(ImportError):
    # WebOb 1.8 imports the standard library's deprecated ``cgi`` module. Imported here, before
    # pytest turns warnings into errors, so a test module importing webtest still works; without
    # the web extra there is nothing to import, and the web fixtures are simply not usable.
    warnings.filterwarnings("ignore", message="'cgi' is deprecated", category=DeprecationWarning)
    import webob  # type: ignore[import-untyped]  # noqa: F401

#: Send with a request to get its JSON twin.
JSON = {"Accept": "application/json"}
#: The password the helpers give the accounts they create.
TEST_PASSWORD = "test-pass-123"
CLIENT_ADDR = "192.0.2.10"

_apps: dict[tuple[int, int], Any] = {}


def wsgi_app(engine: Engine, pss: Pss) -> Any:
    """One app per engine and plugin manager (building one scans every view module)."""
    from pss_web import make_app  # noqa: PLC0415  the web app loads for web tests only

    key = (id(engine), id(pss))
    if key not in _apps:
        _apps[key] = make_app(
            {"pss.engine": engine, "pss.plugins": pss, "pss.raise_errors": "true"}
        )
    return _apps[key]


def app_for(dbsession: Session, engine: Engine, pss: Pss, **environ: Any) -> TestApp:
    from webtest import TestApp  # noqa: PLC0415  the web app loads for web tests only

    app = wsgi_app(engine, pss)
    app.registry["pss.standings_cache"].clear()  # ids repeat across rolled-back tests
    from pss_web.readcache import clear  # noqa: PLC0415  the web app loads for web tests only

    clear(app.registry)
    return TestApp(
        app, extra_environ={"app.dbsession": dbsession, "REMOTE_ADDR": CLIENT_ADDR, **environ}
    )


@pytest.fixture
def webapp(dbsession: Session, engine: Engine, pss: Pss) -> Iterator[TestApp]:
    """A WebTest app whose requests all use this test's rolled-back ``dbsession``."""
    return app_for(dbsession, engine, pss)


@pytest.fixture
def make_webapp(dbsession: Session, engine: Engine, pss: Pss) -> Any:
    """Another browser (own cookies), optionally from another address: ``make_webapp(REMOTE_ADDR=
    "192.0.2.99")``."""

    def factory(**environ: Any) -> TestApp:
        return app_for(dbsession, engine, pss, **environ)

    return factory


def session_of(app: TestApp) -> Session:
    return app.extra_environ["app.dbsession"]


def csrf_token(app: TestApp) -> str:
    """The CSRF token of this browser (fetched once; it lives in the ``csrf_token`` cookie)."""
    token = app.cookies.get("csrf_token")
    if not token:
        token = app.get("/api/csrf", headers=JSON).json["csrf_token"]
    return str(token)


def post_json(
    app: TestApp,
    url: str,
    data: dict[str, Any] | None = None,
    *,
    status: int | str | None = None,
    csrf: bool = True,
) -> Any:
    """POST a JSON body the way an API client does (CSRF token in ``X-CSRF-Token``)."""
    headers = dict(JSON)
    if csrf:
        headers["X-CSRF-Token"] = csrf_token(app)
    return app.post_json(url, data or {}, headers=headers, status=status)


def post_form(
    app: TestApp,
    url: str,
    data: dict[str, Any] | None = None,
    *,
    status: int | str | None = None,
    csrf: bool = True,
) -> Any:
    """POST a form the way a browser does (CSRF token in the ``csrf_token`` field)."""
    fields = dict(data or {})
    if csrf:
        fields["csrf_token"] = csrf_token(app)
    return app.post(url, fields, status=status)


def ensure_staff(session: Session, event: Event, role: str, password: str = TEST_PASSWORD) -> str:
    """A staff account with ``role`` in ``event`` (``owner`` is the event's owner); returns the
    username, whose event password is then ``password``."""

    if role == "owner":
        eu = session.query(EventUser).filter_by(event_id=event.id, user_id=event.owner_id).one()
        eu.password_hash = hash_secret(password)
        session.flush()
        return eu.user.username
    username = f"{Role(role).value}-{event.slug}"
    if setup.event_user(session, event, username) is None:
        setup.add_event_user(session, event, username, password, [Role(role)])
        session.flush()
    return username


def login_as(
    app: TestApp,
    event: Event,
    role: str,
    *,
    username: str | None = None,
    password: str | None = None,
    status: int | None = None,
) -> Any:
    """Log this browser into ``event`` as staff: ``role`` is ``owner``, ``td``, ``desk`` or
    ``scorekeeper`` (an account is made for it), or give ``username`` and ``password``."""
    if username is None:
        username = ensure_staff(session_of(app), event, role)
        password = TEST_PASSWORD
    return post_json(
        app,
        f"/events/{event.slug}/login",
        {"username": username, "password": password},
        status=status,
    )


def login_player(
    app: TestApp, event: Event, number: int, pin: str, *, status: int | str | None = None
) -> Any:
    """Log this browser into ``event`` as the player with ``number`` and ``pin``."""
    return post_json(
        app, f"/events/{event.slug}/player-login", {"number": number, "pin": pin}, status=status
    )


def login_admin(
    app: TestApp,
    username: str = "owner",
    password: str = "owner-pass",
    *,
    status: int | None = None,
) -> Any:
    """Log this browser into the admin interface (the demo owner by default)."""
    return post_json(
        app, "/admin/login", {"username": username, "password": password}, status=status
    )


def logout(app: TestApp, event: Event | None = None) -> Any:
    """Log out of ``event`` (or, without one, of the admin interface)."""
    url = f"/events/{event.slug}/logout" if event is not None else "/admin/logout"
    return post_json(app, url)


# --- two events and who asks: permission matrices --------------------------------------------

#: The PIN of the players of the second event of :func:`two_events`.
OTHER_PIN = "9999"


@attrs.frozen
class Who:
    """A login a permission matrix asks as."""

    #: What the test id says.
    name: str
    #: ``anon``, ``staff`` or ``player``.
    kind: str
    #: Where the login is valid: ``"a"`` (the demo event) or ``"b"`` (the other one).
    event: str | None = None
    #: A staff login's role (``td``, ``desk``, ``scorekeeper``), or a player login's number.
    role: str | None = None


#: Every login the desk, scorekeeping and player matrices ask as: nobody, each staff role, players
#: 101 and 102 of the demo event, and staff and player 101 of the other event.
WHO: tuple[Who, ...] = (
    Who("anonymous", "anon"),
    Who("td in a", "staff", "a", "td"),
    Who("desk in a", "staff", "a", "desk"),
    Who("desk in b", "staff", "b", "desk"),
    Who("scorekeeper in a", "staff", "a", "scorekeeper"),
    Who("scorekeeper in b", "staff", "b", "scorekeeper"),
    Who("player 101 in a", "player", "a", "101"),
    Who("player 102 in a", "player", "a", "102"),
    Who("player 101 in b", "player", "b", "101"),
)


@pytest.fixture
def two_events(dbsession: Session, pss: Pss, demo_event: Event) -> dict[str, Event]:
    """Event ``a`` (the demo) and event ``b`` of the same shape: tournament ``main`` (HERB,
    $3.00) with a machine, players 101 and 102 (PIN ``4321`` in a, :data:`OTHER_PIN` in b)."""

    owner2 = setup.create_user(dbsession, "owner2", password="owner2-pass", event_owner=True)
    dbsession.flush()
    other = setup.create_event(dbsession, owner2, "Other Open", slug="other")
    main = setup.create_tournament(
        dbsession, pss, other, "Main", "herb", slug="main", price_cents=300
    )
    setup.add_machine(dbsession, main, "Medieval Madness")
    for number, name in ((101, "Zed"), (102, "Yul")):
        setup.register_player(dbsession, other, name, "Other", number=number, pin=OTHER_PIN)
    dbsession.flush()
    return {"a": demo_event, "b": other}


def log_in(app: TestApp, who: Who, events: dict[str, Event]) -> None:
    """Log this browser in as ``who`` (nothing for ``anon``) in its event of ``events``."""
    if who.kind == "anon":
        return
    assert who.event is not None
    assert who.role is not None
    event = events[who.event]
    if who.kind == "player":
        login_player(app, event, int(who.role), DEMO_PIN if who.event == "a" else OTHER_PIN)
    else:
        login_as(app, event, who.role)


def ask(app: TestApp, session: Session, method: str, url: str, token: str) -> Any:
    """One request (``POST`` with an empty JSON object) in a savepoint that is rolled back, so
    an allowed action changes nothing for the next one."""
    savepoint = session.begin_nested()
    try:
        if method == "GET":
            return app.get(url, headers=JSON, expect_errors=True)
        return app.post_json(url, {}, headers={**JSON, "X-CSRF-Token": token}, expect_errors=True)
    finally:
        savepoint.rollback()


#: A view of a matrix: method, path (``{slug}`` and ``{machine}``, the first machine of the
#: first tournament, are filled per event) and who may use it there.
MatrixView = tuple[str, str, Callable[[Who, str], bool]]


def check_matrix(
    app: TestApp, session: Session, events: dict[str, Event], who: Who, views: Sequence[MatrixView]
) -> list[str]:
    """Log in as ``who`` and ask every view in both events; returns what was not as expected.

    Allowed: a page answers below 400; an action answers 200, 201, 303, or 400 or 409 (its empty
    body was refused by the view, past the permission check). Denied: 401 ``login_required`` for
    a login of another place (or none), 403 ``forbidden`` (or ``not_yourself``) for one here."""
    log_in(app, who, events)
    token = csrf_token(app)
    wrong = []
    for ev in ("a", "b"):
        event = events[ev]
        machine = event.tournaments[0].machines[0].id
        for method, path, allowed_for in views:
            url = path.format(slug=event.slug, machine=machine)
            res = ask(app, session, method, url, token)
            allowed = allowed_for(who, ev)
            if allowed:
                ok = (
                    res.status_int < 400
                    if method == "GET"
                    else (res.status_int in (200, 201, 303, 400, 409))
                )
            else:
                logged_in_here = who.kind != "anon" and who.event == ev
                ok = res.status_int == (403 if logged_in_here else 401) and res.json["error"] in (
                    "forbidden",
                    "login_required",
                    "not_yourself",
                )
            if not ok:
                wrong.append(
                    f"{method} {url}: {res.status_int} "
                    f"(expected {'allowed' if allowed else 'denied'})"
                )
    return wrong


__all__ = [
    "JSON",
    "OTHER_PIN",
    "TEST_PASSWORD",
    "WHO",
    "MatrixView",
    "Who",
    "ask",
    "check_matrix",
    "csrf_token",
    "ensure_staff",
    "log_in",
    "login_admin",
    "login_as",
    "login_player",
    "logout",
    "make_webapp",
    "post_form",
    "post_json",
    "two_events",
    "webapp",
]
