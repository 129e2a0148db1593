"""The read path of live pages on committed data, as several app processes would see it: how many
database round trips a 304 poll and a cached standings response take (counted, not timed), that a
change is never answered with a stale cached body, and that two apps on one database give
identical ETags and bodies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from webtest import TestApp

from pss_core import db
from pss_core.audit import Actor
from pss_core.models import Event, Tournament
from pss_core.plugins import Pss
from pss_core.services import games, setup, tickets

JSON = "application/json"

DESK = Actor("reads test")
PAGE = "/events/demo/tournaments/main/"


def score(engine: Engine, pss: Pss, number: int, machine_index: int, points: int) -> None:
    with db.session_scope(engine) as session:
        event = session.query(Event).filter_by(slug="demo").one()
        main = session.query(Tournament).filter_by(event_id=event.id, slug="main").one()
        ep = setup.player_by_number(session, event.id, number)
        tm = main.machines[machine_index]
        tickets.sell_tickets(session, pss, player=ep, count=1, tournament=main, actor=DESK)
        games.start_game(session, pss, machine=tm, player=ep, actor=DESK)
        games.record_score(session, pss, machine=tm, score=points, actor=DESK)


@pytest.fixture
def committed_demo(committed_engine: Engine, pss: Pss) -> Engine:
    from pss_core.demo import create_demo

    with db.session_scope(committed_engine) as session:
        create_demo(session, pss)
    for number, points in ((101, 50_000_000), (102, 40_000_000), (103, 30_000_000)):
        score(committed_engine, pss, number, 0, points)
    return committed_engine


def new_app(engine: Engine, pss: Pss) -> TestApp:
    """An app as another process would build it: its own registry, caches and engine."""
    from pss_web import make_app

    own = db.make_engine(engine.url.render_as_string(hide_password=False))
    return TestApp(make_app({"pss.engine": own, "pss.plugins": pss, "pss.raise_errors": "true"}))


def engine_of(app: TestApp) -> Engine:
    return app.app.registry["dbsession_factory"].kw["bind"]


class RoundTrips:
    """Counts what goes over the wire: every statement, the driver's own BEGIN (PostgreSQL's
    psycopg2 sends one before the first statement of a transaction; pss sends SQLite's as a
    statement), every COMMIT and ROLLBACK of a real transaction, and pool pings."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []
        self.pg = engine.dialect.name == "postgresql"

    @staticmethod
    def autocommit(conn: Any) -> bool:
        return bool(conn.get_execution_options().get("pss_autocommit"))

    def on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.pg and self.autocommit(conn):
            # Proof that the driver itself sends no BEGIN for this one.
            assert conn.connection.dbapi_connection.autocommit is True
        self.statements.append(statement.split()[0].upper())

    def on_begin(self, conn: Any) -> None:
        if self.pg and not self.autocommit(conn):
            self.statements.append("BEGIN")

    def on_end(self, name: str) -> Any:
        def listener(conn: Any) -> None:
            if not self.autocommit(conn):
                self.statements.append(name)

        return listener

    def on_checkout(self, dbapi_conn: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pss_pinged"):  # set by pss's own checkout listener, which runs first
            self.statements.append("PING")

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        listeners = [
            (self.engine, "before_cursor_execute", self.on_execute),
            (self.engine, "begin", self.on_begin),
            (self.engine, "commit", self.on_end("COMMIT")),
            (self.engine, "rollback", self.on_end("ROLLBACK")),
            (self.engine.pool, "checkout", self.on_checkout),
        ]
        for target, name, fn in listeners:
            sa_event.listen(target, name, fn)
        try:
            yield self.statements
        finally:
            for target, name, fn in listeners:
                sa_event.remove(target, name, fn)


def trips(app: TestApp, path: str, **headers: str) -> tuple[Any, list[str]]:
    counter = RoundTrips(engine_of(app))
    with counter.counting() as statements:
        response = app.get(path, headers=headers, status="*")
    return response, list(statements)


@pytest.mark.parametrize("accept", ["text/html", JSON])
def test_a_poll_and_a_cached_standings_response_take_at_most_two_round_trips(
    committed_demo: Engine, pss: Pss, accept: str
) -> None:
    app = new_app(committed_demo, pss)
    first = app.get(PAGE, headers={"Accept": accept})
    assert first.status_int == 200
    tag = first.headers["ETag"]

    poll, statements = trips(app, PAGE, Accept=accept, **{"If-None-Match": tag})
    assert poll.status_int == 304
    assert len(statements) <= 2, statements
    assert "BEGIN" not in statements
    assert "ROLLBACK" not in statements

    # Another phone, no ETag yet: the body rendered for this version, as is.
    again, statements = trips(app, PAGE, Accept=accept)
    assert again.status_int == 200
    assert again.headers["ETag"] == tag
    assert again.body == first.body
    assert len(statements) <= 2, statements


def test_without_the_read_path_a_poll_takes_more_round_trips(
    committed_demo: Engine, pss: Pss
) -> None:
    """The counter sees what the read path saves: the first request (nothing remembered yet)
    begins a transaction and looks the event and the tournament up."""
    app = new_app(committed_demo, pss)
    response, statements = trips(app, PAGE, Accept=JSON)
    assert response.status_int == 200
    assert len(statements) > 2, statements
    assert "ROLLBACK" in statements or "COMMIT" in statements


def test_a_score_is_never_answered_with_a_stale_cached_body(
    committed_demo: Engine, pss: Pss
) -> None:
    one, two = new_app(committed_demo, pss), new_app(committed_demo, pss)
    for accept in ("text/html", JSON):
        a, b = one.get(PAGE, headers={"Accept": accept}), two.get(PAGE, headers={"Accept": accept})
        assert a.headers["ETag"] == b.headers["ETag"]
        assert a.body == b.body
    before = one.get(PAGE, headers={"Accept": JSON})
    assert "60000000" not in before.text

    score(committed_demo, pss, 104, 0, 60_000_000)

    for app in (one, two):
        poll = app.get(
            PAGE, headers={"Accept": JSON, "If-None-Match": before.headers["ETag"]}, status="*"
        )
        assert poll.status_int == 200
        assert poll.headers["ETag"] != before.headers["ETag"]
        leader = poll.json["standings"]["standings"][0]
        assert leader["competitor"]["name"] == setup_name(committed_demo, 104)
    a, b = one.get(PAGE, headers={"Accept": JSON}), two.get(PAGE, headers={"Accept": JSON})
    assert a.headers["ETag"] == b.headers["ETag"]
    assert a.body == b.body
    html_a, html_b = one.get(PAGE), two.get(PAGE)
    assert html_a.headers["ETag"] == html_b.headers["ETag"]
    assert html_a.body == html_b.body


def setup_name(engine: Engine, number: int) -> str:
    with db.session_scope(engine) as session:
        event = session.query(Event).filter_by(slug="demo").one()
        return setup.player_by_number(session, event.id, number).name


def test_a_tournament_set_back_to_draft_is_hidden_at_once(committed_demo: Engine, pss: Pss) -> None:
    """The remembered slug gives the id only: whether the tournament is a draft comes from the
    database with the fingerprint, on every request."""
    app = new_app(committed_demo, pss)
    assert app.get(PAGE, headers={"Accept": JSON}).status_int == 200
    with db.session_scope(committed_demo) as session:
        main = session.query(Tournament).filter_by(slug="main").one()
        main.status = main.status.DRAFT
        main.version += 1
    assert app.get(PAGE, headers={"Accept": JSON}, status="*").status_int == 404
