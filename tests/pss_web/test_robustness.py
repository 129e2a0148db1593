"""Hostile and malformed input against every operation of the app's own OpenAPI document.

Every operation ``/api/openapi.json`` lists is sent, as each login that matters (anonymous, the
event's owner, TD, desk, scorekeeper, a player, staff of another event, the admin interface),
missing and mistyped fields, huge and negative numbers, empty, very long, NUL and unicode
strings, bodies that are not JSON objects, the wrong Content-Type, the wrong method, unknown ids
in the path, and unsafe requests without (or with a forged) CSRF token. The payloads form a fixed
table, so a run is bounded and repeatable.

What must hold: never a 5xx; JSON clients get ``{"error", "message"}`` with every 4xx; an unsafe
request without a valid CSRF token is refused and changes nothing; a refusal (a 4xx) leaves the
data and the audit log as they were. Each request runs in a savepoint that is rolled back, so
every payload meets the same demo event (a game in progress, a queue, sales and scores).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webob import Request  # type: ignore[import-untyped]
from webtest import TestApp

from pss_core.audit import SYSTEM
from pss_core.demo import play_demo
from pss_core.models import (
    AuditLog,
    Base,
    Entry,
    EntryStatus,
    Event,
    EventPlayer,
    Purchase,
    Role,
    Tournament,
)
from pss_core.plugins import Pss
from pss_core.services import accounts, queues, setup
from pss_testing.web import (
    JSON,
    TEST_PASSWORD,
    csrf_token,
    login_admin,
    login_as,
    login_player,
)

# --- the operations -------------------------------------------------------------------------


@attrs.frozen
class Op:
    """One operation of the OpenAPI document."""

    method: str
    path: str
    permission: str
    #: Declared request fields: name -> JSON schema.
    fields: dict[str, Any] = attrs.field(factory=dict, eq=False)
    required: tuple[str, ...] = ()
    summary: str = ""

    @property
    def unsafe(self) -> bool:
        return self.method != "GET"

    @property
    def admin(self) -> bool:
        return self.path.startswith("/admin")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations(app: TestApp) -> list[Op]:
    doc = app.get("/api/openapi.json").json
    ops = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            schema = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            ops.append(
                Op(
                    method.upper(),
                    path,
                    op["x-permission"],
                    dict(schema.get("properties", {})),
                    tuple(schema.get("required", ())),
                    op["summary"],
                )
            )
    return ops


def one_per_view(ops: list[Op]) -> list[Op]:
    """The first operation of each view: one page is often registered under several names
    (a machine's page is also the GET of each of its eight actions), and what a query string
    or a header does depends on the view, not on the name it was reached by."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for op in ops:
        key = (op.method, op.summary, op.permission)
        if key not in seen:
            seen.add(key)
            out.append(op)
    return out


#: A request body that the operation accepts (or refuses only for the state it meets), so that
#: changing one field of it reaches that field's parsing and the service behind it. ``{…}``
#: names are filled from the world.
VALID_BODY: dict[str, dict[str, Any]] = {
    "/admin/events/": {"name": "Robust Open"},
    "/admin/events/{event}/": {"name": "PSS Demo Open", "hold_minutes": 20},
    "/admin/events/{event}/stripe": {"publishable_key": "pk_test_robust"},
    "/admin/events/{event}/users/": {
        "username": "newbie",
        "password": "secret-123",
        "roles": ["desk"],
    },
    "/admin/events/{event}/users/{username}/": {"roles": ["desk", "scorekeeper"]},
    "/admin/events/{event}/users/{username}/remove": {},
    "/admin/login": {"username": "owner", "password": "owner-pass"},
    "/admin/logout": {},
    "/events/{event}/desk": {"first_name": "Zoe", "last_name": "Zed", "number": 150},
    "/events/{event}/login": {"username": "desk", "password": "desk-pass"},
    "/events/{event}/logout": {},
    "/events/{event}/machines/{machine}/bump": {},
    "/events/{event}/machines/{machine}/dequeue": {"player": 105},
    "/events/{event}/machines/{machine}/misconduct": {"token_id": "{token}", "reason": "tilt"},
    "/events/{event}/machines/{machine}/queue": {"player": 106},
    "/events/{event}/machines/{machine}/remove-player": {"token_id": "{token}"},
    "/events/{event}/machines/{machine}/score": {"score": "12,345,670", "token_id": "{token}"},
    "/events/{event}/machines/{machine}/start": {"player": 106},
    "/events/{event}/machines/{machine}/status": {"status": "disable", "reason": "coil"},
    "/events/{event}/machines/{machine}/void": {"token_id": "{token}"},
    "/events/{event}/metatournaments/": {"name": "Meta Two", "tournaments": ["side"]},
    "/events/{event}/player-login": {"number": 101, "pin": "4321"},
    "/events/{event}/players/{number}/give-up": {"entry": "{entry}"},
    "/events/{event}/players/{number}/join": {"machine": "{free_machine}"},
    "/events/{event}/players/{number}/leave": {},
    "/events/{event}/players/{number}/sell": {"scope": "tournament:main", "tickets": 2},
    "/events/{event}/players/{number}/unlock": {},
    "/events/{event}/purchases/": {"scope": "tournament:main", "tickets": 1},
    "/events/{event}/purchases/{purchase}/intent": {},
    "/events/{event}/purchases/{purchase}/refund": {"games": 1, "reason": "left early"},
    "/events/{event}/purchases/{purchase}/status": {},
    "/events/{event}/stripe/webhook": {"id": "evt_1", "type": "payment_intent.succeeded"},
    "/events/{event}/teams/": {"name": "Flippers", "members": ["101", "102"]},
    "/events/{event}/teams/{team}/members": {"player": 103},
    "/events/{event}/teams/{team}/remove-member": {"player": 107},
    "/events/{event}/metatournaments/{metatournament}/tournaments": {"tournament": "side"},
    "/events/{event}/metatournaments/{metatournament}/remove-tournament": {"tournament": "side-b"},
    "/events/{event}/players/{number}/new-pin": {"pin": "2468"},
    "/events/{event}/tournaments/": {"name": "Side Two", "format": "herb", "price": "2.00"},
    "/events/{event}/tournaments/{tournament}/edit": {"name": "Main (HERB)", "price": "3.50"},
    "/events/{event}/tournaments/{tournament}/machines": {"machine": "Xenon"},
    "/events/{event}/users/": {
        "username": "newbie",
        "password": "secret-123",
        "roles": ["scorekeeper"],
    },
    "/events/{event}/users/{username}/": {"roles": ["desk"]},
    "/events/{event}/users/{username}/remove": {},
    "/admin/owners/": {
        "username": "newowner",
        "password": "owner-pass-2",
        "password_confirm": "owner-pass-2",
        "instance_admin": False,
    },
    "/admin/owners/{owner}/": {
        "password": "owner2-new-pass",
        "password_confirm": "owner2-new-pass",
    },
    "/admin/password": {
        "current_password": "owner-pass",
        "password": "owner-new-pass",
        "password_confirm": "owner-new-pass",
    },
    "/events/{event}/password": {
        "current_password": TEST_PASSWORD,
        "password": "desk-new-pass",
        "password_confirm": "desk-new-pass",
    },
    "/events/{event}/tv-settings": {"seconds": 12, "rows": 12, "machines": True},
}

#: Path names that differ for one operation (a game starts on a free machine).
PATH_NAMES: dict[str, dict[str, str]] = {
    "/events/{event}/machines/{machine}/start": {"machine": "{free_machine}"},
}

#: Who may run each permission, for the requests that must get past the ACL to reach the view.
ALLOWED_LOGIN = {
    "view": "anonymous",
    "admin": "admin",
    "edit_event": "admin",
    "manage": "td",
    "sell": "desk",
    "refund": "desk",
    "scorekeep": "scorekeeper",
    "play": "player",
    "see_player": "player",
    "staff": "desk",
    "manage_owners": "instance_admin",
}


def allowed_login(op: Op) -> str:
    if op.permission == "manage_users":
        return "admin" if op.admin else "owner"
    return ALLOWED_LOGIN[op.permission]


# --- the world ------------------------------------------------------------------------------


@attrs.define
class World:
    session: Session
    event: Event
    other: Event
    apps: dict[str, TestApp]
    names: dict[str, str]
    writes: Writes

    def url(self, path: str, **override: str) -> str:
        """The path with the world's rows in it. A path name added since this module was
        written gets an id that names nothing, so its operations still meet the hostile input
        (and traversal's 404); give it a real row in ``names`` to reach their views too."""
        names = {k: self.fill(v) for k, v in PATH_NAMES.get(path, {}).items()}
        unknown = {k: "999999" for k in re.findall(r"{(\w+)}", path) if k not in self.names}
        return path.format_map({**unknown, **self.names, **names, **override})

    def known(self, op: Op) -> bool:
        """Whether every name in the operation's path is a real row of the world."""
        return all(k in self.names for k in re.findall(r"{(\w+)}", op.path))

    def body(self, op: Op) -> dict[str, Any]:
        """A body the operation accepts: from :data:`VALID_BODY`, or for an operation added
        since, one made from its schema (``"x"``, ``1``, ``false``, ``[]``, ``{}``)."""
        if op.path in VALID_BODY:
            return dict(self.fill(VALID_BODY[op.path]))
        made = {"string": "x", "integer": 1, "boolean": False, "array": [], "object": {}}
        return {
            name: made.get(schema.get("type", "string"), "x") for name, schema in op.fields.items()
        }

    def fill(self, body: Any) -> Any:
        """``"{name}"`` strings of a body become the world's value (an int where it is one)."""
        if isinstance(body, dict):
            return {k: self.fill(v) for k, v in body.items()}
        if isinstance(body, list):
            return [self.fill(v) for v in body]
        if isinstance(body, str) and body.startswith("{") and body.endswith("}"):
            value = self.names[body[1:-1]]
            return int(value) if value.isdigit() else value
        return body


LOGINS = (
    "anonymous",
    "owner",
    "td",
    "desk",
    "scorekeeper",
    "player",
    "other_staff",
    "admin",
    "other_admin",
    "instance_admin",
)


class Browsers(dict[str, TestApp]):
    """One browser per kind of login, logged in the first time it is asked for."""

    def __init__(
        self, make: Callable[[], TestApp], logins: dict[str, Callable[[TestApp], Any]]
    ) -> None:
        super().__init__()
        self.make = make
        self.logins = logins

    def __missing__(self, who: str) -> TestApp:
        app = self[who] = self.make()
        self.logins[who](app)
        csrf_token(app)
        return app


@pytest.fixture
def world(
    dbsession: Session, pss: Pss, demo_event: Event, make_webapp: Callable[..., TestApp]
) -> World:
    """The demo event with play, a team, a metatournament, and another event with its staff;
    one browser logged in per kind of login."""
    session = dbsession
    event = demo_event
    play_demo(session, pss, event)
    side = setup.create_tournament(session, pss, event, "Side", "papa", slug="side")
    setup.add_machine(session, side, "Xenon")
    classics_two = setup.create_tournament(session, pss, event, "Side B", "papa", slug="side-b")
    meta = setup.create_metatournament(session, event, "Meta", [classics_two], slug="meta")
    players = {
        p.number: p
        for p in session.scalars(select(EventPlayer).where(EventPlayer.event_id == event.id))
    }
    team = setup.create_team(session, event, "Tilt", [players[107], players[108]])
    owner2 = setup.create_user(session, "owner2", password="owner2-pass", event_owner=True)
    accounts.create_owner(session, "root", "root-pass-1", instance_admin=True)
    session.flush()
    other = setup.create_event(session, owner2, "Other Open", slug="other")
    setup.add_event_user(session, other, "desk", "other-desk", [Role.DESK])
    other_main = setup.create_tournament(session, pss, other, "Main", "herb", slug="main")
    setup.add_machine(session, other_main, "Medieval Madness")
    setup.register_player(session, other, "Zed", "Zero", number=101, pin="9999")
    session.flush()
    main = session.scalars(
        select(Tournament).where(Tournament.event_id == event.id, Tournament.slug == "main")
    ).one()
    busy = next(tm for tm in main.machines if tm.token_id is not None)
    free = next(tm for tm in main.machines if tm.token_id is None)
    purchase = session.scalars(
        select(Purchase).where(
            Purchase.event_id == event.id,
            Purchase.player_id == players[101].id,
            Purchase.tournament_id == main.id,
        )
    ).first()
    assert purchase is not None
    queues.join_queue(session, pss, machine=busy, player=players[101], actor=SYSTEM)
    entry = session.scalars(
        select(Entry).where(Entry.player_id == players[101].id, Entry.status == EntryStatus.OPEN)
    ).first()
    assert entry is not None
    logins: dict[str, Callable[[TestApp], Any]] = {
        "anonymous": lambda app: None,
        "owner": lambda app: login_as(app, event, "owner", username="owner", password="owner-pass"),
        "td": lambda app: login_as(app, event, "td"),
        "desk": lambda app: login_as(app, event, "desk"),
        "scorekeeper": lambda app: login_as(app, event, "scorekeeper"),
        "player": lambda app: login_player(app, event, 101, "4321"),
        "other_staff": lambda app: login_as(app, other, "td"),
        "admin": lambda app: login_admin(app),
        "other_admin": lambda app: login_admin(app, "owner2", "owner2-pass"),
        "instance_admin": lambda app: login_admin(app, "root", "root-pass-1"),
    }
    assert set(logins) == set(LOGINS)
    apps = Browsers(make_webapp, logins)
    names = {
        "event": event.slug,
        "tournament": "main",
        "machine": str(busy.id),
        "free_machine": str(free.id),
        "token": str(busy.token_id),
        "number": "101",
        "team": str(team.id),
        "username": "desk",
        "metatournament": meta.slug,
        "purchase": str(purchase.id),
        "entry": str(entry.id),
        "owner": "owner2",
    }
    return World(session, event, other, apps, names, Writes(session))


# --- sending and checking -------------------------------------------------------------------

#: Rows that change merely because someone is logged in (a session's last use) or asked.
_BOOKKEEPING = {"login_sessions", "audit_log"}


class Writes:
    """The tables a session's writes that stick went to: seen at each flush and each bulk
    statement, and forgotten again when the savepoint they were made in is rolled back (a refused
    action undoes its partial work that way). Much cheaper than reading every table before and
    after each of the thousands of requests."""

    def __init__(self, session: Session) -> None:
        self.made: list[tuple[Any, str]] = []
        sa_event.listen(session, "after_flush", self._flushed)
        sa_event.listen(session, "do_orm_execute", self._executed)
        sa_event.listen(session, "after_soft_rollback", self._rolled_back)

    def _note(self, session: Session, table: str) -> None:
        self.made.append((session.get_nested_transaction() or session.get_transaction(), table))

    def _flushed(self, session: Session, context: Any) -> None:
        for obj in (*session.new, *session.deleted):
            self._note(session, obj.__table__.name)
        for obj in session.dirty:
            if session.is_modified(obj):
                self._note(session, obj.__table__.name)

    def _executed(self, state: Any) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            self._note(state.session, state.statement.table.name)

    def _rolled_back(self, session: Session, previous: Any) -> None:
        def inside(transaction: Any) -> bool:
            while transaction is not None:
                if transaction is previous:
                    return True
                transaction = transaction.parent
            return False

        self.made = [(t, table) for t, table in self.made if not inside(t)]

    def take(self) -> set[str]:
        tables = {table for _, table in self.made} - _BOOKKEEPING
        self.made = []
        return tables


def data_digest(session: Session) -> str:
    """A digest of every row of every table but the bookkeeping ones: the ground truth the
    CSRF test compares."""
    session.flush()
    digest = hashlib.sha256()
    for table in Base.metadata.sorted_tables:
        if table.name in _BOOKKEEPING:
            continue
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
        digest.update(table.name.encode())
        digest.update(repr([tuple(r) for r in rows]).encode())
    return digest.hexdigest()


@attrs.frozen
class Sent:
    status: int
    json: Any
    text: str
    #: The actions of the audit rows the request wrote.
    new_audit: tuple[str, ...]
    #: The tables it wrote to (but the audit log and login sessions).
    wrote: frozenset[str]
    #: Whether the digest of every table changed (only when asked for).
    data_changed: bool | None = None
    json_client: bool = True
    method: str = "GET"
    #: The status of the page an accepted action led to (when followed).
    followed: int | None = None

    @property
    def audit_added(self) -> int:
        return len(self.new_audit)

    @property
    def changed(self) -> bool:
        return bool(self.wrote or self.data_changed)


class Crash(Exception):
    pass


def send(
    world: World,
    who: str,
    method: str,
    url: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    content_type: str | None = None,
    csrf: str | bool = True,
    accept_json: bool = True,
    form: dict[str, Any] | list[tuple[str, str]] | None = None,
    digest: bool = False,
    accept: str | None = None,
    cookies: dict[str, str] | None = None,
    follow: bool = False,
    headers: dict[str, str] | None = None,
) -> Sent:
    """One request as ``who``, in a savepoint rolled back afterwards (cookies restored too).
    ``cookies`` are sent as they are, in place of the browser's own; with ``follow``, the page
    an accepted action leads to is fetched too (before the rollback), to see what was stored."""
    app = world.apps[who]
    session = world.session
    extra, headers = headers or {}, dict(JSON) if accept_json else {"Accept": "text/html"}
    headers.update(extra)
    if accept is not None:
        headers["Accept"] = accept
    params: Any = None
    if method not in ("GET", "HEAD"):
        token = csrf_token(app) if csrf is True else (csrf or None)
        if form is not None:
            items = list(form.items()) if isinstance(form, dict) else list(form)
            if token:
                items.append(("csrf_token", token))
            params = items
            content_type = content_type or "application/x-www-form-urlencoded"
        else:
            if token:
                headers["X-CSRF-Token"] = token
            if raw is not None:
                params = raw
            else:
                params = json.dumps(body if body is not None else {}).encode()
                content_type = content_type or "application/json"
    saved = list(app.cookiejar)
    savepoint = session.begin_nested()
    top = session.scalar(select(func.max(AuditLog.id))) or 0
    before_data = data_digest(session) if digest else None
    world.writes.take()
    try:
        if not _utf8(url) or cookies is not None:
            res = _raw_wsgi(app, method, url, headers, _encode(params), content_type, cookies)
        elif method == "GET":
            res = app.get(url, headers=headers, expect_errors=True)
        elif method == "HEAD":
            res = app.head(url, headers=headers, expect_errors=True)
        else:
            res = app.request(
                url,
                method=method,
                body=_encode(params),
                headers={**headers, **({"Content-Type": content_type} if content_type else {})},
                expect_errors=True,
            )
        session.flush()
        followed = None
        if follow and res.status_int < 300 and res.content_type == "application/json":
            location = res.json.get("location", "").removeprefix("http://localhost")
            if location.startswith("/"):
                followed = app.get(
                    location, headers={"Accept": "text/html"}, expect_errors=True
                ).status_int
                session.flush()
        new = tuple(
            session.scalars(select(AuditLog.action).where(AuditLog.id > top).order_by(AuditLog.id))
        )
        changed = (data_digest(session) != before_data) if digest else None
        wrote = frozenset(world.writes.take())
    except Exception as exc:  # the app raises its bugs (pss.raise_errors)
        raise Crash(f"{method} {url[:200]} as {who}: {type(exc).__name__}: {exc}"[:400]) from exc
    finally:
        if savepoint.is_active:
            savepoint.rollback()
        # Rows made inside the savepoint may leave ORM objects behind whose ids the next
        # request's rows reuse (SQLite hands out the same ids again): start each request clean.
        session.expunge_all()
        app.cookiejar.clear()
        for cookie in saved:
            app.cookiejar.set_cookie(cookie)
    try:
        data = res.json if res.content_type == "application/json" else None
    except ValueError:
        data = None
    # An odd Accept may well mean HTML; a HEAD answer has no body at all.
    json_client = accept_json and accept is None and method != "HEAD"
    # A download such as the event zip is bytes, not text.
    body = res.text if res.charset or res.content_type.startswith("text/") else ""
    return Sent(res.status_int, data, body, new, wrote, changed, json_client, method, followed)


def _utf8(url: str) -> bool:
    from urllib.parse import unquote_to_bytes

    try:
        unquote_to_bytes(url).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _raw_wsgi(
    app: TestApp,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    content_type: str | None,
    cookies: dict[str, str] | None = None,
) -> Any:
    """A request WebTest's client cannot make (its cookie jar decodes the path as UTF-8, and
    sends only well-formed cookies): the same environ, straight to the WSGI app."""
    req = Request.blank(url, environ=dict(app.extra_environ), method=method, headers=headers)
    jar = {c.name: c.value for c in app.cookiejar} if cookies is None else cookies
    req.environ["HTTP_COOKIE"] = (
        "; ".join(f"{k}={v}" for k, v in jar.items()).encode("utf-8").decode("latin-1")
    )
    if method != "GET":
        req.body = body
        if content_type:
            req.content_type = content_type
    return req.get_response(app.app)


def _encode(params: Any) -> bytes:
    if params is None:
        return b""
    if isinstance(params, bytes):
        return params
    from urllib.parse import urlencode

    return urlencode(params, doseq=True).encode()


class Problems:
    """Everything wrong found by one test, reported together."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(
        self,
        what: str,
        sent: Sent | None,
        *,
        crash: Crash | None = None,
        changes_allowed: Callable[[Sent], bool] | None = None,
    ) -> None:
        if crash is not None:
            self.found.append(f"{what}: crashed: {crash}")
            return
        assert sent is not None
        if sent.status >= 500:
            self.found.append(f"{what}: {sent.status}")
            return
        if sent.followed is not None and sent.followed >= 500:
            self.found.append(f"{what}: accepted, but the page it leads to is a {sent.followed}")
        if sent.method in ("GET", "HEAD") and (sent.audit_added or sent.changed):
            self.found.append(
                f"{what}: a GET changed things (audit {sent.new_audit}, "
                f"tables {sorted(sent.wrote)})"
            )
        if 400 <= sent.status < 500:
            if sent.json_client and (
                sent.json is None or not {"error", "message"} <= set(sent.json)
            ):
                self.found.append(f"{what}: {sent.status} without an error body")
            allowed = changes_allowed(sent) if changes_allowed else False
            if not allowed and (sent.audit_added or sent.changed):
                self.found.append(
                    f"{what}: refused ({sent.status}) but changed things "
                    f"(audit {sent.new_audit}, tables {sorted(sent.wrote)})"
                )

    def assert_none(self) -> None:
        assert self.found == [], "\n" + "\n".join(self.found[:80])


def attempt(
    problems: Problems,
    what: str,
    world: World,
    *args: Any,
    changes_allowed: Callable[[Sent], bool] | None = None,
    **kw: Any,
) -> Sent | None:
    try:
        sent = send(world, *args, **kw)
    except Crash as crash:
        problems.check(what, None, crash=crash)
        return None
    problems.check(what, sent, changes_allowed=changes_allowed)
    return sent


def login_failures_only(sent: Sent) -> bool:
    """A refused login keeps its failure count (that is the point of counting)."""
    return (
        set(sent.new_audit) <= {"login.failed", "login.locked"}
        and sent.wrote <= {"login_throttles"}
        and not sent.data_changed
    )


# --- hostile values ---------------------------------------------------------------------------

HOSTILE_NUMBERS: tuple[Any, ...] = (
    2**63,
    10**30,
    -1,
    "1e9",
    "12,345,678,901",
    1.5,
    True,
    [1],
    None,
)
HOSTILE_STRINGS: tuple[Any, ...] = (
    "x" * 10_000,
    "nul\x00byte",
    "\u00e9\u00df\u2603\U0001f3b0\u202e",
    "\ud800",
    12,
    [["a"]],
    {"a": "b"},
)
#: For the fields that name where to go next (a redirect): elsewhere, and a header injection.
HOSTILE_PATHS: tuple[Any, ...] = (
    "/events/demo/\r\nSet-Cookie: x=1",
    "//evil.example/events/demo/",
    "https://evil.example/",
)


def hostile_values(name: str, schema: dict[str, Any]) -> tuple[Any, ...]:
    if name == "next":
        return (*HOSTILE_STRINGS, *HOSTILE_PATHS)
    kind = schema.get("type")
    if kind == "integer":
        return HOSTILE_NUMBERS
    if kind == "boolean":
        return ("maybe", 2, [True], {"b": 1}, "\x00")
    if kind == "array":
        return (
            "x" * 10_000,
            [None],
            [["a"]],
            [{"a": 1}],
            ["\x00"],
            ["x" * 10_000],
            [str(2**63)],
            ["\u00b2"],
            list(range(300)),
            {"a": 1},
        )
    if kind == "object":
        return (
            [1],
            "x",
            2**63,
            {"\x00": "\x00"},
            {"machines_counted": 2**63},
            {"machines_counted": "\ud800"},
            {"x" * 1000: 1},
        )
    if schema.get("pattern"):  # money
        return (
            2**63,
            -1,
            "1e9",
            "12,345,678,901",
            [1],
            "$1,000,000,000,000.00",
            "NaN",
            "Infinity",
            "-0.001",
        )
    return HOSTILE_STRINGS


def test_hostile_fields(world: World) -> None:
    """Every declared field of every unsafe operation, one at a time in a body the operation
    accepts, as a login that may run it: each hostile value of the field's type, and each
    required field left out. What an accepted value leads to is fetched too."""
    problems = Problems()
    missing = 0
    for op in operations(world.apps["anonymous"]):
        if not op.unsafe or op.path.endswith("/webhook"):
            continue
        who = allowed_login(op)
        base = world.body(op)
        url = world.url(op.path)
        expected = _expected_changes(op)
        for name, schema in op.fields.items():
            for value in hostile_values(name, schema):
                body = {**base, name: value}
                attempt(
                    problems,
                    f"{op} as {who} with {name}={_short(value)}",
                    world,
                    who,
                    op.method,
                    url,
                    body=body,
                    follow=True,
                    changes_allowed=expected,
                )
        for name in op.required:
            body = {k: v for k, v in base.items() if k != name}
            sent = attempt(
                problems,
                f"{op} as {who} without {name}",
                world,
                who,
                op.method,
                url,
                body=body,
                changes_allowed=expected,
            )
            if sent is None or not world.known(op) or sent.status < 300:
                continue  # JSON edits leave out what they do not change
            missing += 1
            if (sent.status, (sent.json or {}).get("error")) != (400, "missing_field"):
                problems.found.append(f"{op} as {who} without {name}: {sent.status} {sent.json}")
    problems.assert_none()
    assert missing >= 15


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


# --- unknown and hostile ids in the path ------------------------------------------------------

HOSTILE_SEGMENTS = (
    "999999",
    "0",
    "-1",
    str(2**63),
    "9" * 30,
    "1e9",
    "%C2%B2",
    "%D9%A1%D9%A0%D9%A1",
    "%00",
    "nul%00byte",
    "%FF%FE",
    "x" * 10_000,
    "abc",
    "%20101",
    "101%20",
    "%E2%80%AE101",
)


def test_unknown_ids_in_the_path_are_not_found(world: World) -> None:
    """Every path name of every resource, in a GET and an unsafe operation, replaced by ids
    and slugs that name nothing here (too large, not digits, NUL, not UTF-8, 10k long): a
    404, never a 500."""
    problems = Problems()
    params_seen: set[tuple[str, str]] = set()
    for op in operations(world.apps["anonymous"]):
        for param in re.findall(r"{(\w+)}", op.path):
            # One GET and one unsafe operation per resource is enough: the lookup is traversal's.
            key = (op.path.split("{" + param + "}")[0] + param, op.method)
            if key in params_seen:
                continue
            params_seen.add(key)
            who = allowed_login(op)
            for segment in HOSTILE_SEGMENTS:
                url = world.url(op.path, **{param: segment})
                body = world.body(op) if op.unsafe else None
                sent = attempt(
                    problems,
                    f"{op} as {who} with {param}={segment[:20]}",
                    world,
                    who,
                    op.method,
                    url,
                    body=body,
                )
                if sent is not None and sent.status != 404:
                    problems.found.append(
                        f"{op} with {param}={segment[:20]}: {sent.status}, not 404"
                    )
    assert len(params_seen) >= 16
    problems.assert_none()


# --- hostile query strings --------------------------------------------------------------------

QUERY_PARAMS = (
    "q",
    "page",
    "scope",
    "tickets",
    "code",
    "comp",
    "next",
    "breakdown",
    "format",
    "seconds",
)
HOSTILE_QUERY_VALUES = (
    "%00",
    "x" * 10_000,
    str(2**63),
    "-1",
    "12,345,678,901",
    "%C2%B2",
    "%FF%FE",
    "metatournament:%3Cscript%3E",
    "%ED%A0%80",
)


def test_hostile_query_strings(world: World) -> None:
    """Every page (one per view) with every query parameter any view reads set at once to a
    hostile value."""
    problems = Problems()
    for op in one_per_view(operations(world.apps["anonymous"])):
        if op.unsafe:
            continue
        who = allowed_login(op)
        for i, value in enumerate(HOSTILE_QUERY_VALUES):
            query = "&".join(f"{p}={value}" for p in QUERY_PARAMS)
            url = world.url(op.path) + "?" + query
            # Every value as a browser (the template too), a few as an API client.
            attempt(
                problems,
                f"{op} as {who} with ?{value[:20]}",
                world,
                who,
                "GET",
                url,
                accept_json=i % 5 == 0,
            )
    problems.assert_none()


# --- bodies that are not JSON objects, and the wrong Content-Type ------------------------------

HOSTILE_BODIES: tuple[tuple[str, bytes, str], ...] = (
    ("an empty object", b"{}", "application/json"),
    ("an empty body", b"", "application/json"),
    ("a JSON list", b"[1, 2]", "application/json"),
    ("a JSON string", b'"name"', "application/json"),
    ("JSON null", b"null", "application/json"),
    ("broken JSON", b'{"name": ', "application/json"),
    ("JSON with NaN", b'{"tickets": NaN, "number": Infinity}', "application/json"),
    ("not UTF-8", b'\xff\xfe{"a": 1}', "application/json"),
    ("a 5000-digit number", b'{"number": ' + b"9" * 5000 + b"}", "application/json"),
    ("deeply nested", b"[" * 5000 + b"]" * 5000, "application/json"),
    ("JSON as text/plain", b'{"name": "x"}', "text/plain"),
    ("JSON as a form", b'{"name": "x"}', "application/x-www-form-urlencoded"),
    (
        "a form that is not UTF-8",
        b"name=%FF%FE&first_name=\xff",
        "application/x-www-form-urlencoded",
    ),
    (
        "a form with a NUL",
        b"name=a%00b&first_name=a%00b&username=a%00b&scope=a%00b",
        "application/x-www-form-urlencoded",
    ),
    ("broken multipart", b"--xyz\r\ngarbage", "multipart/form-data; boundary=xyz"),
    ("multipart without a boundary", b"garbage", "multipart/form-data"),
    ("no Content-Type", b'{"name": "x"}', ""),
)


def test_bodies_that_are_not_json_objects(world: World) -> None:
    """Every unsafe operation, as a login that may run it, with bodies that are not a JSON
    object or not readable, and with the wrong Content-Type."""
    problems = Problems()
    for op in operations(world.apps["anonymous"]):
        if not op.unsafe:
            continue
        who = allowed_login(op)
        for what, raw, content_type in HOSTILE_BODIES:
            attempt(
                problems,
                f"{op} as {who} with {what}",
                world,
                who,
                op.method,
                world.url(op.path),
                raw=raw,
                content_type=content_type,
                changes_allowed=_expected_changes(op),
            )
    problems.assert_none()


def _expected_changes(op: Op) -> Callable[[Sent], bool] | None:
    if op.path.endswith("login"):
        return login_failures_only
    return None


# --- CSRF -------------------------------------------------------------------------------------


def test_unsafe_requests_without_a_valid_csrf_token_change_nothing(world: World) -> None:
    """Every unsafe operation but Stripe's webhook (which is signature-checked instead), with a
    body it would accept, as a login that may run it: refused (403 ``csrf_failed``) without the
    token, with a forged one, and with another browser's, as JSON and as a form; and without a
    token as anonymous (a 401 where the ACL answers first). Nothing changes."""
    problems = Problems()
    stranger = csrf_token(world.apps["other_staff"])
    for op in operations(world.apps["anonymous"]):
        if not op.permission:
            problems.found.append(f"{op} needs no permission at all")
        if not op.unsafe or op.path.endswith("/webhook") or not world.known(op):
            continue
        who = allowed_login(op)
        url = world.url(op.path)
        body = world.body(op)
        form = {
            k: (",".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in body.items()
        }
        tries: list[tuple[str, str, dict[str, Any]]] = [
            ("no token", who, {"csrf": False, "body": body}),
            ("a forged token", who, {"csrf": "f" * 40, "body": body}),
            ("another browser's token", who, {"csrf": stranger, "body": body}),
            ("a form without a token", who, {"csrf": False, "form": form, "accept_json": False}),
            ("no token, anonymous", "anonymous", {"csrf": False, "body": body}),
        ]
        for i, (what, login, kw) in enumerate(tries):
            # The first try is checked against every row of every table, the others through
            # the writes seen (the token test below shows the two agree).
            sent = attempt(
                problems,
                f"{op} as {login} with {what}",
                world,
                login,
                op.method,
                url,
                digest=i == 0,
                **kw,
            )
            if sent is None:
                continue
            if sent.status not in (400, 401, 403):
                problems.found.append(f"{op} as {login} with {what}: {sent.status}")
            elif login == who and sent.json_client and sent.json.get("error") != "csrf_failed":
                problems.found.append(f"{op} as {login} with {what}: {sent.json}")
            if sent.audit_added or sent.changed:
                problems.found.append(f"{op} as {login} with {what}: changed things")
    problems.assert_none()


def test_the_same_requests_with_the_token_go_through(world: World) -> None:
    """The control for the CSRF test: with the token each of those bodies is accepted (or
    refused only for the state it meets), so the refusals above are the token's doing; every
    change it makes writes an audit row; and the writes the cheap recorder sees are exactly the
    changes found by reading every table."""
    problems = Problems()
    accepted = changed = 0
    for op in operations(world.apps["anonymous"]):
        if not op.unsafe or op.path.endswith("/webhook") or not world.known(op):
            continue
        who = allowed_login(op)
        sent = attempt(
            problems,
            f"{op} as {who}",
            world,
            who,
            op.method,
            world.url(op.path),
            body=world.body(op),
            digest=True,
        )
        if sent is None:
            continue
        if sent.status in (401, 403) or (sent.json or {}).get("error") == "csrf_failed":
            problems.found.append(f"{op} as {who}: {sent.status} {sent.json}")
        if bool(sent.wrote) != sent.data_changed:
            problems.found.append(
                f"{op} as {who}: wrote {sorted(sent.wrote)}, but the "
                f"tables {'did' if sent.data_changed else 'did not'} change"
            )
        if sent.status < 300:
            accepted += 1
            changed += bool(sent.data_changed)
            if sent.changed and not sent.audit_added:
                problems.found.append(f"{op} as {who}: changed data without an audit row")
    problems.assert_none()
    assert accepted >= 30
    assert changed >= 20


# --- the wrong method -------------------------------------------------------------------------


def test_the_wrong_method_is_not_found_and_changes_nothing(world: World) -> None:
    """GET on what only takes POST, POST (and PUT, DELETE, PATCH) on what only takes GET, with
    and without a CSRF token: not found, and nothing changes."""
    problems = Problems()
    ops = operations(world.apps["anonymous"])
    methods: dict[str, set[str]] = {}
    for op in ops:
        methods.setdefault(op.path, set()).add(op.method)
    tried = 0
    for path, allowed in sorted(methods.items()):
        url = world.url(path)
        logins = {allowed_login(op) for op in ops if op.path == path}
        for who in sorted(logins):
            for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
                if method in allowed:
                    continue
                for csrf in (True, False):
                    if method == "GET" and not csrf:
                        continue
                    tried += 1
                    sent = attempt(
                        problems,
                        f"{method} {path} as {who} (csrf {csrf})",
                        world,
                        who,
                        method,
                        url,
                        body={},
                        csrf=csrf,
                    )
                    if sent is not None and sent.status not in (404, 405):
                        problems.found.append(f"{method} {path} as {who}: {sent.status}")
    assert tried > 100
    problems.assert_none()


# --- every operation as every login -----------------------------------------------------------

#: What each login may do in the demo event, from the roles (not read from the code under test).
MAY: dict[str, set[str]] = {
    "anonymous": {"view"},
    "owner": {
        "view",
        "manage",
        "sell",
        "refund",
        "scorekeep",
        "see_player",
        "manage_users",
        "staff",
    },
    "td": {"view", "manage", "sell", "refund", "scorekeep", "see_player", "staff"},
    "desk": {"view", "sell", "refund", "see_player", "staff"},
    "scorekeeper": {"view", "scorekeep", "see_player", "staff"},
    "player": {"view", "play", "see_player"},  # player 101, whose pages these are
    "other_staff": {"view"},
    "admin": {"view", "admin", "edit_event", "manage_users"},
    "other_admin": {"view", "admin"},
    "instance_admin": {"view", "admin", "manage_owners"},
}
EVENT_LOGINS = ("anonymous", "owner", "td", "desk", "scorekeeper", "player", "other_staff")
ADMIN_LOGINS = ("anonymous", "admin", "other_admin", "td", "instance_admin")


def test_every_operation_as_every_login(world: World) -> None:
    """Every operation with a body it accepts, as every login that matters to it: allowed or
    refused by the ACL exactly as the roles say (staff of another event, the admin interface
    in an event and an event login in the admin interface hold nothing), and a refusal
    changes nothing."""
    problems = Problems()
    for op in operations(world.apps["anonymous"]):
        logins: tuple[str, ...] = ADMIN_LOGINS if op.admin else EVENT_LOGINS
        if op.path.startswith("/api") or op.path in ("/", "/events/"):
            logins = ("anonymous",)
        for who in logins:
            body = world.body(op) if op.unsafe else None
            sent = attempt(
                problems,
                f"{op} as {who}",
                world,
                who,
                op.method,
                world.url(op.path),
                body=body,
                changes_allowed=_expected_changes(op),
            )
            if sent is None or op.path.endswith("/webhook") or not world.known(op):
                continue
            may = op.permission in MAY[who if not (op.admin and who == "td") else "anonymous"]
            refused = sent.status in (401, 403) and (sent.json or {}).get("error") in (
                "login_required",
                "forbidden",
            )
            if may and refused:
                problems.found.append(f"{op} as {who}: refused ({sent.status}) but may")
            if not may and not refused:
                problems.found.append(f"{op} as {who}: {sent.status}, but may not")
    problems.assert_none()


# --- forms from a browser ---------------------------------------------------------------------

HOSTILE_FORM_VALUES = ("", "x" * 10_000, "a\x00b", "9" * 30, "\u00fcn\u00ef\U0001f4a5\u202e")


def test_hostile_forms_from_a_browser(world: World) -> None:
    """As a browser posts them: every field of an operation at once set to each hostile value,
    and every field sent twice. A refusal re-renders the form with what was typed, so this also
    renders every form page with hostile values in it."""
    problems = Problems()
    for op in operations(world.apps["anonymous"]):
        if not op.unsafe or op.path.endswith("/webhook"):
            continue
        who = allowed_login(op)
        url = world.url(op.path)
        names = list(op.fields) or ["anything"]
        forms: list[tuple[str, list[tuple[str, str]]]] = [
            (repr(value)[:20], [(name, value) for name in names]) for value in HOSTILE_FORM_VALUES
        ]
        base = {
            k: ",".join(map(str, v)) if isinstance(v, list) else str(v)
            for k, v in world.body(op).items()
        }
        forms.append(("every field twice", [(k, v) for k, v in base.items() for _ in (1, 2)]))
        # One text field at a time in a form that is otherwise accepted: what it becomes after
        # the action (a redirect's Location, a flash message) must survive the value.
        for name, schema in op.fields.items():
            if schema.get("type") != "string":
                continue
            value = "/events/demo/\r\nSet-Cookie: x=1"
            forms.append((f"{name}={value[:15]!r}", list({**base, name: value}.items())))
        for what, form in forms:
            sent = attempt(
                problems,
                f"{op} as {who}, a form with {what}",
                world,
                who,
                op.method,
                url,
                form=form,
                accept_json=False,
                changes_allowed=_expected_changes(op),
            )
            if sent is not None and sent.status >= 400 and "<html" not in sent.text.lower():
                problems.found.append(
                    f"{op} as {who}, a form with {what}: {sent.status} without a page"
                )
    problems.assert_none()


# --- a few properties, with generated values --------------------------------------------------


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(value=ANYTHING, token=ANYTHING)
def test_any_score_is_recorded_or_refused_in_plain_words(
    world: World, value: Any, token: Any
) -> None:
    """Any JSON value as a score and as the game's token: recorded, or refused with a message
    and nothing changed."""
    sent = send(
        world,
        "scorekeeper",
        "POST",
        world.url("/events/{event}/machines/{machine}/score"),
        body={"score": value, "token_id": token},
    )
    assert sent.status in (200, 400, 409), (value, token, sent.status)
    if sent.status >= 400:
        assert sent.json["message"]
        assert sent.json["error"]
        assert sent.new_audit == ()
        assert not sent.changed
    else:
        assert sent.new_audit[0] == "game.score"


@PROPERTY
@given(number=ANYTHING, pin=ANYTHING)
def test_any_player_login_is_answered_in_plain_words(world: World, number: Any, pin: Any) -> None:
    """Any JSON value as player number and PIN: logged in, or refused with a message, keeping
    only the failure count."""
    sent = send(
        world,
        "anonymous",
        "POST",
        world.url("/events/{event}/player-login"),
        body={"number": number, "pin": pin},
    )
    assert sent.status in (200, 400, 403, 429), (number, pin, sent.status)
    if sent.status >= 400:
        assert sent.json["message"]
        assert sent.json["error"]
        assert login_failures_only(sent)


@PROPERTY
@given(
    scope=st.one_of(
        st.text(max_size=30),
        st.sampled_from(["tournament:main", "metatournament:meta", "tournament:classics", "main"]),
    ),
    tickets=st.one_of(st.integers(), st.text(max_size=12)),
)
def test_any_live_price_is_answered_in_plain_words(world: World, scope: str, tickets: Any) -> None:
    """Any scope and ticket count in the desk's live price: a price or a message, and a GET
    that changes nothing."""
    from urllib.parse import urlencode

    url = (
        world.url("/events/{event}/players/{number}/price")
        + "?"
        + urlencode({"scope": scope, "tickets": tickets})
    )
    sent = send(world, "desk", "GET", url)
    assert sent.status in (200, 400, 409), (scope, tickets, sent.status)
    assert sent.json is not None
    assert sent.status == 200 or sent.json["message"]
    assert sent.new_audit == ()
    assert not sent.changed


# --- hostile headers --------------------------------------------------------------------------


def test_hostile_headers(world: World) -> None:
    """Odd Accept and Content-Type headers, junk CSRF headers and forged session cookies: read
    as nothing (anonymous, no token), never as a crash."""
    problems = Problems()
    event_cookie = f"pss_event_{world.event.id}"
    junk_cookies = ('"\\000\\377x"', "x" * 4000, "%00", "\u00e9\u2603")
    for op in one_per_view(operations(world.apps["anonymous"])):
        who = allowed_login(op)
        url = world.url(op.path)
        if op.unsafe:
            body = json.dumps(world.body(op)).encode()
            for content_type in (
                "application/json; charset=x-unknown",
                "application/json; charset=utf-16",
                "application/x-www-form-urlencoded; charset=x-unknown",
            ):
                attempt(
                    problems,
                    f"{op} as {who} sent as {content_type}",
                    world,
                    who,
                    op.method,
                    url,
                    raw=body,
                    content_type=content_type,
                    changes_allowed=_expected_changes(op),
                )
            for junk in ("\u00e9" * 3, "x" * 10_000):
                attempt(
                    problems,
                    f"{op} as {who} with X-CSRF-Token {junk[:10]!r}",
                    world,
                    who,
                    op.method,
                    url,
                    body=world.body(op),
                    csrf=junk,
                )
            continue
        for accept in (
            "application/json;q=x",
            "text/html;q=0, application/json;q=0",
            "*/*;q=0.5, application/json;level=\u00e9",
        ):
            attempt(
                problems,
                f"{op} as {who} accepting {accept!r}",
                world,
                who,
                "GET",
                url,
                accept=accept,
            )
        for name, value in (
            ("If-None-Match", '*, W/"x", "' + "x" * 5000),
            ("If-Modified-Since", "yesterday"),
            ("Range", "bytes=9-1"),
        ):
            attempt(
                problems,
                f"{op} as {who} with {name}",
                world,
                who,
                "GET",
                url,
                headers={name: value},
            )
        attempt(problems, f"HEAD {op.path} as {who}", world, who, "HEAD", url)
        for junk in junk_cookies:
            attempt(
                problems,
                f"{op} with the session cookie {junk[:10]!r}",
                world,
                "anonymous",
                "GET",
                url,
                cookies={event_cookie: junk, "pss_admin": junk, "csrf_token": junk},
            )
    problems.assert_none()


# --- regressions: one test per fix ------------------------------------------------------------


def _post(app: TestApp, url: str, data: Any, status: int | None = None) -> Any:
    return app.post(
        url,
        json.dumps(data),
        content_type="application/json",
        headers={**JSON, "X-CSRF-Token": csrf_token(app)},
        status=status,
    )


def test_numbers_past_the_integer_columns_are_refused(webapp: TestApp, demo_event: Event) -> None:
    """Whole numbers past 2^31 - 1 reached the 32-bit columns and failed there (a 500)."""
    login_as(webapp, demo_event, "td")
    res = _post(webapp, "/events/demo/desk", {"first_name": "Big", "number": 2**31}, 400)
    assert (res.json["error"], res.json["field"]) == ("invalid_field", "number")
    assert "at most 2147483647" in res.json["message"]
    res = _post(webapp, "/events/demo/desk", {"first_name": "Edge", "number": 2**31 - 1}, 201)
    assert res.json["player"]["number"] == 2**31 - 1
    for name, value in (("ifpa_id", 10**30), ("number", "12,345,678,901")):
        res = _post(webapp, "/events/demo/desk", {"first_name": "Big", name: value}, 400)
        assert res.json["field"] == name
    res = _post(webapp, "/events/demo/tournaments/main/edit", {"min_purchase": 2**63}, 400)
    assert res.json["field"] == "min_purchase"
    machine = demo_event.tournaments[0].machines[0].id
    res = _post(webapp, f"/events/demo/machines/{machine}/start", {"player": 10**30}, 400)
    assert res.json["field"] == "player"
    res = _post(webapp, "/events/demo/player-login", {"number": 2**63, "pin": "4321"}, 400)
    assert res.json["field"] == "number"


def test_prices_that_are_not_amounts_are_refused(webapp: TestApp, demo_event: Event) -> None:
    """NaN and Infinity crashed the money parser; prices past what the column holds failed in
    the database."""
    login_as(webapp, demo_event, "td")
    for price in ("NaN", "Infinity", "-Infinity", "sNaN", "21474836.48", 10**30):
        res = _post(
            webapp,
            "/events/demo/tournaments/",
            {"name": "Pricey", "format": "herb", "price": price},
            400,
        )
        assert (res.json["error"], res.json["field"]) == ("invalid_field", "price"), price
    res = _post(
        webapp,
        "/events/demo/tournaments/",
        {"name": "Pricey", "format": "herb", "price": "21474836.47"},
        201,
    )
    assert res.json["tournament"]["price_cents"] == 2**31 - 1


@pytest.mark.parametrize(
    "price",
    [
        "1E+999999999",
        "1e999999999",
        "1E-999999999",
        "1e2",
        "9" * 5000,
        "1" + ",000" * 2000,
        "0x10",
        "1_000",
        "\u0661\u0662",
        "--1",
        "-1",
        "-0.001",
        ".",
        "$",
        "3.5.0",
        True,
        1e300,
        1e-7,
        [1],
        {"a": 1},
    ],
)
def test_every_price_that_is_not_an_amount_is_a_400(
    webapp: TestApp, demo_event: Event, price: Any
) -> None:
    """``1E+999999999`` overflowed Decimal arithmetic (a 500) and ``1E-999999999`` rounded to
    a free tournament: a price is digits with at most one point, nothing else."""
    login_as(webapp, demo_event, "td")
    res = _post(
        webapp,
        "/events/demo/tournaments/",
        {"name": "Pricey", "format": "herb", "price": price},
        400,
    )
    assert (res.json["error"], res.json["field"]) == ("invalid_field", "price")
    assert res.json["message"].startswith("Price ")
    res = _post(webapp, "/events/demo/tournaments/main/edit", {"price": price}, 400)
    assert res.json["field"] == "price"


@pytest.mark.parametrize(
    ("price", "cents"),
    [
        ("-0", 0),
        ("-0.00", 0),
        ("0", 0),
        ("$1,000.50", 100_050),
        (".5", 50),
        ("3.", 300),
        (3.5, 350),
        (7, 700),
        ("3.500", 350),
    ],
)
def test_amounts_as_people_write_them(
    webapp: TestApp, demo_event: Event, price: Any, cents: int
) -> None:
    login_as(webapp, demo_event, "td")
    res = _post(webapp, "/events/demo/tournaments/main/edit", {"price": price}, 200)
    assert res.json["tournament"]["price_cents"] == cents


def test_bundle_text_with_huge_numbers_is_a_400(webapp: TestApp, demo_event: Event) -> None:
    """A bundle count of thousands of digits made int() raise (a 500)."""
    login_as(webapp, demo_event, "td")
    for bundles in (
        "9" * 5000 + " for 8.00",
        "3 for " + "9" * 5000,
        "3 for 1E+999999999",
        "3 for 99999999999.00",
    ):
        res = _post(webapp, "/events/demo/tournaments/main/edit", {"bundles": bundles}, 400)
        assert res.json["error"] in ("invalid_bundle", "invalid_field"), bundles


def test_times_an_offset_pushes_out_of_range_are_a_400(webapp: TestApp, demo_event: Event) -> None:
    """Stored in UTC, year 1 at +01:00 (or 9999 at -01:00) is no datetime at all (a 500)."""
    from pss_testing.web import login_admin

    login_admin(webapp)
    for when in ("0001-01-01T00:00+01:00", "9999-12-31T23:59-01:00"):
        res = _post(webapp, "/admin/events/demo/", {"starts_at": when}, 400)
        assert (res.json["error"], res.json["field"]) == ("invalid_field", "starts_at")
    res = _post(webapp, "/admin/events/demo/", {"starts_at": "2030-05-01T09:00+02:00"}, 200)
    assert res.json["changed"] == ["starts_at"]


def test_a_sale_too_large_to_record_is_refused(webapp: TestApp, demo_event: Event) -> None:
    """Two tickets at the largest price come to more than a purchase's amount column holds
    (PostgreSQL refused it with a 500)."""
    login_as(webapp, demo_event, "td")
    _post(
        webapp, "/events/demo/tournaments/main/edit", {"price": "20000000.00", "bundles": ""}, 200
    )
    sell = "/events/demo/players/101/sell"
    res = _post(webapp, sell, {"scope": "tournament:main", "tickets": 2}, 400)
    assert res.json["error"] == "amount_too_large"
    res = _post(webapp, sell, {"scope": "tournament:main", "tickets": 1}, 201)
    assert res.json["purchase"]["amount_cents"] == 2_000_000_000


def test_text_no_column_can_hold_is_refused(webapp: TestApp, demo_event: Event) -> None:
    """A NUL (PostgreSQL refuses it) or half a UTF-16 pair (UTF-8 cannot encode it), anywhere:
    a JSON field, a form field, a nested option, a query string or a path segment."""
    login_as(webapp, demo_event, "td")
    for value in ("Ann\x00", "\ud800Ann"):
        res = _post(webapp, "/events/demo/desk", {"first_name": value}, 400)
        assert (res.json["error"], res.json["field"]) == ("invalid_text", "first_name")
    res = _post(
        webapp,
        "/events/demo/tournaments/",
        {"name": "Side", "format": "herb", "options": {"points_curve": "a\x00"}},
        400,
    )
    assert res.json["error"] == "invalid_text"
    res = webapp.post(
        "/events/demo/desk",
        {"first_name": "Ann\x00", "csrf_token": csrf_token(webapp)},
        headers=JSON,
        status=400,
    )
    assert res.json["error"] == "invalid_text"
    res = webapp.get("/events/demo/desk?q=Ann%00", headers=JSON, status=400)
    assert res.json["error"] == "invalid_query"
    res = webapp.get("/events/demo/players/?q=%ED%A0%80", status=400)
    assert "not valid here" in res.text
    for path in (
        "/events/de%00mo/",
        "/events/demo/tournaments/ma%00in/",
        "/events/demo/users/de%00sk/",
        "/admin/events/de%00mo/",
        "/events/demo/metatournaments/x%00/",
        "/events/" + "x" * 300 + "/",
    ):
        assert webapp.get(path, headers=JSON, status=404).json["error"] == "not_found"


def test_lists_and_objects_are_not_text(webapp: TestApp, demo_event: Event) -> None:
    """A list or an object sent for a text field was stored as its Python spelling."""
    login_as(webapp, demo_event, "td")
    for value in (["Ann"], {"first": "Ann"}):
        res = _post(webapp, "/events/demo/desk", {"first_name": value}, 400)
        assert (res.json["error"], res.json["field"]) == ("invalid_field", "first_name")
    res = _post(webapp, "/events/demo/teams/", {"name": "Tilt", "members": [["101"]]}, 400)
    assert res.json["field"] == "members"


def test_login_next_must_be_a_plain_path(webapp: TestApp, demo_event: Event) -> None:
    """A ``next`` that is not a string crashed the login; one with CR/LF crashed the redirect."""
    res = _post(
        webapp, "/events/demo/player-login", {"number": 101, "pin": "4321", "next": {"a": 1}}, 400
    )
    assert (res.json["error"], res.json["field"]) == ("invalid_field", "next")
    res = _post(
        webapp, "/events/demo/player-login", {"number": 101, "pin": "4321", "next": 12}, 200
    )
    assert res.json["location"] == "http://localhost/events/demo/players/101/play"
    res = webapp.post(
        "/events/demo/player-login",
        {
            "number": "101",
            "pin": "4321",
            "next": "/events/demo/\r\nSet-Cookie: x=1",
            "csrf_token": csrf_token(webapp),
        },
        status=303,
    )
    assert res.location == "http://localhost/events/demo/players/101/play"
    assert not any(v.startswith("x=") for k, v in res.headerlist if k == "Set-Cookie")
    res = webapp.post(
        "/events/demo/player-login",
        {
            "number": "101",
            "pin": "4321",
            "next": "/events/demo/tv",
            "csrf_token": csrf_token(webapp),
        },
        status=303,
    )
    assert res.location == "http://localhost/events/demo/tv"


def test_path_ids_that_are_not_plain_numbers_are_not_found(
    webapp: TestApp, demo_event: Event
) -> None:
    """``²`` passed ``str.isdigit`` and crashed ``int``; twenty digits reached the database."""
    login_as(webapp, demo_event, "td")
    big = str(2**63)
    for path in (
        "/events/demo/players/%C2%B2/",
        f"/events/demo/players/{big}/",
        f"/events/demo/machines/{big}/",
        "/events/demo/machines/%C2%B2/keep",
        f"/events/demo/teams/{big}/",
        f"/events/demo/purchases/{big}/",
        "/events/demo/players/%D9%A1%D9%A0%D9%A1/",
        "/events/demo/players/+101/",
    ):
        assert webapp.get(path, headers=JSON, status=404).json["error"] == "not_found", path
    res = _post(webapp, f"/events/demo/machines/{big}/start", {}, 404)
    assert res.json["error"] == "not_found"
    assert webapp.get("/events/demo/players/101/", headers=JSON).json["player"]["number"] == 101


def test_a_path_that_is_not_utf8_is_not_found(webapp: TestApp, demo_event: Event) -> None:
    """Traversal could not decode such a path and the error escaped as a 500."""
    for path in ("/events/%FF/", "/events/demo/players/%FF%FE/", "/admin/events/%C0/"):
        req = Request.blank(path, environ=dict(webapp.extra_environ), headers=JSON)
        res = req.get_response(webapp.app)
        assert (res.status_int, res.json["error"]) == (404, "not_found"), path


def test_numbers_in_query_strings_are_plain_digits_in_range(
    webapp: TestApp, demo_event: Event
) -> None:
    """The desk search, the players list and both live prices crashed on ``²`` and failed in
    the database on twenty digits."""
    login_as(webapp, demo_event, "desk")
    for q in ("99999999999999999999", "%C2%B2", "%23%C2%B2"):
        assert webapp.get(f"/events/demo/desk?q={q}", headers=JSON).json["players"] == []
        assert webapp.get(f"/events/demo/players/?q={q}", headers=JSON).json["players"] == []
    assert [
        p["number"] for p in webapp.get("/events/demo/desk?q=%23101", headers=JSON).json["players"]
    ] == [101]
    for tickets in ("%C2%B2", "99999999999999999999", "-1"):
        res = webapp.get(
            f"/events/demo/players/101/price?scope=tournament:main&tickets={tickets}",
            headers=JSON,
            status=400,
        )
        assert res.json["field"] == "tickets"
    player = TestApp(webapp.app, extra_environ=webapp.extra_environ)
    login_player(player, demo_event, 101, "4321")
    res = player.get(
        "/events/demo/purchases/quote?scope=tournament:main&tickets=%C2%B2",
        headers=JSON,
        status=400,
    )
    assert res.json["field"] == "tickets"


def test_bodies_that_cannot_be_read_are_refused(webapp: TestApp, demo_event: Event) -> None:
    """JSON nested past the parser's depth or in an unknown charset, multipart without a
    boundary and forms in another charset than UTF-8 were 500s."""
    login_as(webapp, demo_event, "desk")
    headers = {**JSON, "X-CSRF-Token": csrf_token(webapp)}
    cases = (
        (b"[" * 5000 + b"]" * 5000, "application/json", "invalid_json"),
        (b'{"first_name": "Ann"}', "application/json; charset=x-unknown", "invalid_json"),
        (b"garbage", "multipart/form-data", "invalid_form"),
        (b"first_name=Ann", "application/x-www-form-urlencoded; charset=latin-1", "invalid_form"),
    )
    for body, content_type, code in cases:
        res = webapp.post(
            "/events/demo/desk", body, headers={**headers, "Content-Type": content_type}, status=400
        )
        assert res.json["error"] == code, content_type
    # And a browser's form in UTF-8 still registers the player.
    res = webapp.post(
        "/events/demo/desk",
        {"first_name": "Ann", "last_name": "Ok", "csrf_token": csrf_token(webapp)},
        status=303,
    )
    assert "/slip" in res.location


def test_cookies_that_are_not_utf8_are_ignored(webapp: TestApp, demo_event: Event) -> None:
    """A quoted cookie value with ``\\377`` decodes to bytes that are not UTF-8, which crashed
    every page; now that cookie is dropped and the others still work."""
    login_as(webapp, demo_event, "desk")
    good = "; ".join(f"{c.name}={c.value}" for c in webapp.cookiejar)
    for cookie, status in (
        (r'junk="\377"', 401),
        (good + r'; junk="\377\000"', 200),
        (rf'pss_event_{demo_event.id}="\377"', 401),
    ):
        req = Request.blank("/events/demo/desk", environ=dict(webapp.extra_environ), headers=JSON)
        req.environ["HTTP_COOKIE"] = cookie
        res = req.get_response(webapp.app)
        assert res.status_int == status, cookie


def test_team_members_must_be_player_numbers(webapp: TestApp, demo_event: Event) -> None:
    """``²`` crashed ``int`` and twenty digits reached the database."""
    login_as(webapp, demo_event, "desk")
    for members in (["101", "\u00b2"], ["101, 99999999999999999999"]):
        res = _post(webapp, "/events/demo/teams/", {"name": "Tilt", "members": members}, 400)
        assert (res.json["error"], res.json["field"]) == ("invalid_field", "members")
    res = _post(webapp, "/events/demo/teams/", {"name": "Tilt", "members": ["101", "#102"]}, 201)
    assert res.json["team"]["name"] == "Tilt"


def test_bundles_from_json_must_be_whole_numbers(webapp: TestApp, demo_event: Event) -> None:
    """Bundles sent as a JSON list crashed on counts that are not numbers; OpenAPI now says
    bundles are text or such a list."""
    login_as(webapp, demo_event, "td")
    for bundles in (
        [{"count": "x", "price_cents": 1}],
        [{"count": 3, "price_cents": None}],
        [{"count": 3}],
        ["3 for 8"],
        [{"count": 2.5, "price_cents": 100}],
    ):
        res = _post(webapp, "/events/demo/tournaments/main/edit", {"bundles": bundles}, 400)
        assert res.json["error"] == "invalid_bundle", bundles
    res = _post(
        webapp,
        "/events/demo/tournaments/main/edit",
        {"bundles": [{"count": 4, "price_cents": 1000}]},
        200,
    )
    assert res.json["changed"] == ["bundles"]
    doc = webapp.get("/api/openapi.json").json
    schema = doc["paths"]["/events/{event}/tournaments/"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["properties"]["bundles"]
    assert [s["type"] for s in schema["oneOf"]] == ["string", "array"]


# --- what people typed is shown as text, never as markup --------------------------------------

XSS = '<script>pssXss()</script>"><b id=pss-xss>'


def test_names_with_markup_are_shown_as_text_on_every_page(world: World, pss: Pss) -> None:
    """Names, titles and reasons people type, with markup in them, are escaped on every page
    (one per view, as the login that may see it)."""
    session = world.session
    event = world.event
    main = session.scalars(
        select(Tournament).where(Tournament.event_id == event.id, Tournament.slug == "main")
    ).one()
    ada = session.scalars(
        select(EventPlayer).where(EventPlayer.event_id == event.id, EventPlayer.number == 101)
    ).one()
    ada.player.first_name = XSS
    main.name = XSS
    event.name = XSS
    setup.add_machine(session, main, XSS)
    setup.create_team(session, event, XSS, [ada])
    setup.add_event_user(session, event, "marked", "secret-123", [Role.DESK], full_name=XSS)
    session.flush()
    problems = Problems()
    pages = shown = 0
    for op in one_per_view(operations(world.apps["anonymous"])):
        if op.unsafe:
            continue
        who = allowed_login(op)
        sent = attempt(
            problems, f"{op} as {who}", world, who, "GET", world.url(op.path), accept_json=False
        )
        if sent is None or sent.status != 200 or "<html" not in sent.text.lower():
            continue
        pages += 1
        shown += "&lt;script&gt;pssXss()" in sent.text
        if "<script>pssXss" in sent.text or "<b id=pss-xss>" in sent.text:
            problems.found.append(f"{op} as {who}: markup from a name is in the page")
    problems.assert_none()
    # The names did reach the pages (the event's name is on every page of the event).
    assert pages >= 25
    assert shown >= 20


def test_format_options_too_large_to_store_are_refused(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    """HERB's ``machines_counted`` has no maximum: 2^63 was saved, and every standings page of
    the tournament then failed in the database."""
    play_demo(dbsession, pss, demo_event)
    login_as(webapp, demo_event, "td")
    res = _post(
        webapp, "/events/demo/tournaments/main/edit", {"options": {"machines_counted": 2**63}}, 400
    )
    assert (res.json["error"], res.json["option"]) == ("invalid_option", "machines_counted")
    assert webapp.get("/events/demo/tournaments/main/", headers=JSON).json["standings"]
    res = _post(
        webapp,
        "/events/demo/tournaments/",
        {"name": "Side", "format": "herb", "options": {"machines_counted": 2**31}},
        400,
    )
    assert res.json["option"] == "machines_counted"
    res = _post(
        webapp, "/events/demo/tournaments/main/edit", {"options": {"machines_counted": 5}}, 200
    )
    assert res.json["tournament"]["format_options"]["machines_counted"] == 5


def test_a_refused_action_never_shows_a_page_its_viewer_may_not_see(world: World) -> None:
    """A refused form re-renders the page of the same address with the message; a player's
    queue actions (any player may try them) re-rendered another player's private page. Every
    unsafe operation with a page at its address, as every login that may try it but may not
    see the page: the answer is not that page."""
    problems = Problems()
    ops = operations(world.apps["anonymous"])
    pages = {op.path: op for op in ops if not op.unsafe}
    tried = 0
    for op in ops:
        page = pages.get(op.path)
        if not op.unsafe or page is None or not world.known(op):
            continue
        for who in ADMIN_LOGINS if op.admin else EVENT_LOGINS:
            # The player tries another player's pages (102's, not their own 101's).
            sees = MAY[who] - {"see_player"} if who == "player" else MAY[who]
            if op.permission not in MAY[who] or page.permission in sees:
                continue
            tried += 1
            url = world.url(op.path, number="102" if who == "player" else "101")
            body = {
                k: ",".join(map(str, v)) if isinstance(v, list) else str(v)
                for k, v in world.body(op).items()
            }
            sent = attempt(
                problems,
                f"{op} as {who} (a form)",
                world,
                who,
                op.method,
                url,
                form=body,
                accept_json=False,
            )
            if (
                sent is not None
                and 400 <= sent.status < 500
                and (
                    "<title>Not allowed" not in sent.text
                    and "<title>Cannot do that" not in sent.text
                )
            ):
                problems.found.append(
                    f"{op} as {who}: refused ({sent.status}) with a page it may not see"
                )
    problems.assert_none()
    assert tried >= 3


def test_another_players_page_is_not_shown_by_a_refused_queue_action(world: World) -> None:
    """The case that was found: player 101's form posts to player 102's queue actions."""
    for action in ("join", "leave", "give-up"):
        sent = send(
            world,
            "player",
            "POST",
            f"/events/demo/players/102/{action}",
            form={"machine": world.names["free_machine"], "entry": "1"},
            accept_json=False,
        )
        assert sent.status == 403
        assert "Players can only do this for themselves." in sent.text
        assert "Bo Tilt sees" not in sent.text
        assert "games left" not in sent.text
