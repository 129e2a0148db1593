"""The web test kit, a pytest plugin: a WebTest app over the rolled-back ``dbsession`` of the pss
test kit, and helpers that log in as an event's staff, a player or an event owner.

    def test_desk_sees_sales(webapp, demo_event):
        login_as(webapp, demo_event, "desk")
        webapp.get("/events/demo/...", headers=JSON)

Every request of a test runs in that test's session, so what one request writes the next one
reads, and everything is rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import Event, EventUser, Role
from pss_core.plugins import Pss
from pss_core.security import hash_secret

#: Send with a request to get its JSON twin.
JSON = {"Accept": "application/json"}
#: The password the helpers give the accounts they create.
TEST_PASSWORD = "test-pass-123"
CLIENT_ADDR = "192.0.2.10"

_apps: dict[tuple[int, int], Any] = {}


def wsgi_app(engine: Engine, pss: Pss) -> Any:
    """One app per engine and plugin manager (building one scans every view module)."""
    from pss_web import make_app

    key = (id(engine), id(pss))
    if key not in _apps:
        _apps[key] = make_app({"pss.engine": engine, "pss.plugins": pss,
                               "pss.raise_errors": "true"})
    return _apps[key]


def app_for(dbsession: Session, engine: Engine, pss: Pss, **environ: Any) -> TestApp:
    app = wsgi_app(engine, pss)
    app.registry["pss.standings_cache"].clear()  # ids repeat across rolled-back tests
    return TestApp(app, extra_environ={"app.dbsession": dbsession, "REMOTE_ADDR": CLIENT_ADDR,
                                       **environ})


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


def post_json(app: TestApp, url: str, data: dict[str, Any] | None = None, *,
              status: int | str | None = None, csrf: bool = True) -> Any:
    """POST a JSON body the way an API client does (CSRF token in ``X-CSRF-Token``)."""
    headers = dict(JSON)
    if csrf:
        headers["X-CSRF-Token"] = csrf_token(app)
    return app.post_json(url, data or {}, headers=headers, status=status)


def post_form(app: TestApp, url: str, data: dict[str, Any] | None = None, *,
              status: int | str | None = None, csrf: bool = True) -> Any:
    """POST a form the way a browser does (CSRF token in the ``csrf_token`` field)."""
    fields = dict(data or {})
    if csrf:
        fields["csrf_token"] = csrf_token(app)
    return app.post(url, fields, status=status)


def ensure_staff(session: Session, event: Event, role: str,
                 password: str = TEST_PASSWORD) -> str:
    """A staff account with ``role`` in ``event`` (``owner`` is the event's owner); returns the
    username, whose event password is then ``password``."""
    from pss_core.services import setup

    if role == "owner":
        eu = session.query(EventUser).filter_by(event_id=event.id,
                                                user_id=event.owner_id).one()
        eu.password_hash = hash_secret(password)
        session.flush()
        return eu.user.username
    username = f"{Role(role).value}-{event.slug}"
    if setup.event_user(session, event, username) is None:
        setup.add_event_user(session, event, username, password, [Role(role)])
        session.flush()
    return username


def login_as(app: TestApp, event: Event, role: str, *, username: str | None = None,
             password: str | None = None, status: int | None = None) -> Any:
    """Log this browser into ``event`` as staff: ``role`` is ``owner``, ``td``, ``desk`` or
    ``scorekeeper`` (an account is made for it), or give ``username`` and ``password``."""
    if username is None:
        username = ensure_staff(session_of(app), event, role)
        password = TEST_PASSWORD
    return post_json(app, f"/events/{event.slug}/login",
                     {"username": username, "password": password}, status=status)


def login_player(app: TestApp, event: Event, number: int, pin: str, *,
                 status: int | None = None) -> Any:
    """Log this browser into ``event`` as the player with ``number`` and ``pin``."""
    return post_json(app, f"/events/{event.slug}/player-login",
                     {"number": number, "pin": pin}, status=status)


def login_admin(app: TestApp, username: str = "owner", password: str = "owner-pass", *,
                status: int | None = None) -> Any:
    """Log this browser into the admin interface (the demo owner by default)."""
    return post_json(app, "/admin/login", {"username": username, "password": password},
                     status=status)


def logout(app: TestApp, event: Event | None = None) -> Any:
    """Log out of ``event`` (or, without one, of the admin interface)."""
    url = f"/events/{event.slug}/logout" if event is not None else "/admin/logout"
    return post_json(app, url)


__all__ = [
    "JSON",
    "TEST_PASSWORD",
    "csrf_token",
    "ensure_staff",
    "login_admin",
    "login_as",
    "login_player",
    "logout",
    "make_webapp",
    "post_form",
    "post_json",
    "webapp",
]
