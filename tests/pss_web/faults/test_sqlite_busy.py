"""SQLite lets one writer in at a time: a request that must write while another connection holds
the write lock longer than the busy timeout gets "database is locked" from a plain write (not one
of the lock helpers, which answer "busy"). That is the same typed 503 with Retry-After as a lost
database, never a 500, and the same request works once the lock is gone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import db
from pss_core.demo import DEMO_PIN, create_demo
from pss_core.plugins import get_plugin_manager
from pss_testing.database import migrated_sqlite
from pss_testing.web import post_json
from pss_web import make_app

LOGIN = "/events/demo/player-login"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, fast_hashing: None) -> Path:
    path = tmp_path_factory.mktemp("busy") / "pss.sqlite"
    engine = db.make_engine(migrated_sqlite(path))
    with Session(engine) as s:
        create_demo(s, get_plugin_manager(load_entrypoints=False))
        s.commit()
    engine.dispose()
    return path


@pytest.fixture
def app(database: Path) -> TestApp:
    # Its own engine, as ``pss serve`` has: every request on a pooled connection of its own.
    return TestApp(
        make_app({"pss.database_url": f"sqlite:///{database}", "pss.raise_errors": "true"}),
        extra_environ={"REMOTE_ADDR": "192.0.2.30"},
    )


@pytest.fixture
def write_lock(database: Path) -> Iterator[sqlite3.Connection]:
    """A second connection holding SQLite's write lock (RESERVED) until the test releases it."""
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.rollback()
        other.close()


def test_a_write_that_cannot_get_the_database_is_a_typed_503(
    app: TestApp, write_lock: sqlite3.Connection
) -> None:
    # A player login writes its throttle row and the session: plain writes, no lock helper.
    r = post_json(app, LOGIN, {"number": 101, "pin": DEMO_PIN}, status=503)
    assert r.json["error"] == "database_unavailable", r.json
    assert "try again" in r.json["message"].lower()
    assert r.headers["Retry-After"] == "5"
    # The 503 page for people is the lost database's (``test_unavailable``).
    write_lock.rollback()
    r = post_json(app, LOGIN, {"number": 101, "pin": DEMO_PIN}, status=200)
    assert r.json["ok"] is True, r.json
