"""Databases on SQLite and PostgreSQL, a rolled-back session per test, a plugin manager with your
plugins, the demo event and the fake Stripe account (part of the :mod:`pss_testing` plugin).

Every test that asks for ``dbsession`` (or ``engine``) runs once per backend: always on SQLite, and
on PostgreSQL when ``PSS_TEST_DATABASE_URL`` names a server (``postgresql://postgres@127.0.0.1/test``).
Each run creates its own PostgreSQL database and drops it at the end. ``PSS_REQUIRE_POSTGRES=1``
makes a missing or unreachable server, or a run in which no PostgreSQL test passed, a failure.

Nothing here acts on a test that asks for none of these fixtures: there is no autouse fixture, and
the hooks only look at tests that use ``db_backend`` (through ``engine`` or ``dbsession``), so the
kit loaded into another project's test run changes nothing there.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pss_core import db, security
from pss_core.demo import create_demo
from pss_core.models import Base, EventPlayer, Tournament
from pss_core.payments.providers import Payments
from pss_core.payments.stripe_gateway import StripeProvider
from pss_core.plugins import Pss, get_plugin_manager
from pss_testing.fakestripe import FakeStripe

PG_ENV = "PSS_TEST_DATABASE_URL"
REQUIRE_PG_ENV = "PSS_REQUIRE_POSTGRES"

_pg_passed = 0
_db_tests = 0


def _require_pg() -> bool:
    return os.environ.get(REQUIRE_PG_ENV, "") not in ("", "0", "false", "no")


def backends() -> list[str]:
    if os.environ.get(PG_ENV) or _require_pg():
        return ["sqlite", "postgresql"]
    return ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgres_only: needs PostgreSQL (row locks, real concurrency)"
    )
    config.addinivalue_line("markers", "sqlite_only: exercises SQLite-specific behaviour")


def _uses_database(item: pytest.Item) -> bool:
    return "db_backend" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    global _db_tests
    _db_tests = sum(1 for item in items if _uses_database(item))
    if _db_tests and _require_pg() and not os.environ.get(PG_ENV):
        raise pytest.UsageError(f"{REQUIRE_PG_ENV} is set but {PG_ENV} is not")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``postgres_only`` and ``sqlite_only`` tests run on their backend only."""
    if not _uses_database(item):
        return
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("db_backend") if callspec is not None else None
    if item.get_closest_marker("postgres_only") and backend != "postgresql":
        pytest.skip("needs PostgreSQL")
    if item.get_closest_marker("sqlite_only") and backend != "sqlite":
        pytest.skip("SQLite only")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _pg_passed
    if report.when == "call" and report.passed and "[postgresql" in report.nodeid:
        _pg_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _require_pg() and exitstatus == 0 and _db_tests and _pg_passed == 0:
        session.exitstatus = 1
        print(f"\n{REQUIRE_PG_ENV} is set but no PostgreSQL test passed")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get(PG_ENV) and _db_tests:
        terminalreporter.write_line(f"pss: {_pg_passed} tests passed on PostgreSQL")


@pytest.fixture(scope="session", params=backends())
def db_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: every database test runs on each available backend."""
    return str(request.param)


def _create_pg_database() -> tuple[str, Callable[[], None]]:
    server = make_url(
        db.database_url(os.environ[PG_ENV]).replace("postgresql://", "postgresql+psycopg2://", 1)
    )
    name = f"pss_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = db.make_engine(
        server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if _require_pg():
            raise
        pytest.skip(f"PostgreSQL at {server.host} is not reachable: {exc}")
    url = server.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


_migrated_template: Path | None = None


def migrated_sqlite(path: Path) -> str:
    """A SQLite file at ``path`` at the newest schema; returns its URL. The schema is migrated
    once per test run and copied from then on: a fresh migration takes seconds (a dozen
    revisions and the job queue's schema), a copy of the closed file none, and the two are the
    same file. Tests of the migrations themselves migrate for real."""
    global _migrated_template
    if _migrated_template is None or not _migrated_template.exists():
        folder = Path(tempfile.mkdtemp(prefix="pss-schema-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "migrated.sqlite"
        engine = db.make_engine(f"sqlite:///{template}")
        try:
            db.upgrade(engine)
        finally:
            engine.dispose()
        _migrated_template = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def database_url(db_backend: str) -> Iterator[str]:
    """A freshly created database on the backend, migrated to head, dropped after the run."""
    if db_backend == "postgresql":
        url, drop = _create_pg_database()
        engine = db.make_engine(url)
        db.upgrade(engine)
        engine.dispose()
        try:
            yield url
        finally:
            drop()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield migrated_sqlite(Path(tmp) / "pss-test.sqlite")


@pytest.fixture(scope="session")
def engine(database_url: str, fast_hashing: None) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def dbsession(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test; the code under test
    may commit freely (commits become savepoints)."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def committed_engine(engine: Engine) -> Iterator[Engine]:
    """The engine for tests whose work must really commit (races across connections); every
    table is emptied afterwards."""
    yield engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def pss() -> Pss:
    """The plugin manager with the built-in plugins only (no installed entry points)."""
    return get_plugin_manager(load_entrypoints=False)


@pytest.fixture
def make_pss() -> Callable[..., Pss]:
    """Build a manager with extra plugins: ``make_pss(my_plugin, builtins=True)``."""

    def factory(*plugins: object, builtins: bool = True, load_entrypoints: bool = False) -> Pss:
        return get_plugin_manager(plugins, builtins=builtins, load_entrypoints=load_entrypoints)

    return factory


@pytest.fixture(scope="session")
def fast_hashing() -> Iterator[None]:
    """Argon2 with small parameters from the first database test on: real hashing and
    verification, but milliseconds instead of a fifth of a second for each of the many PINs
    tests create (``engine`` asks for it)."""

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        yield


@pytest.fixture
def installed_pss(make_pss: Callable[..., Pss]) -> Pss:
    """The plugin manager with the built-ins and every installed plugin, found by entry point."""
    return make_pss(load_entrypoints=True)


@pytest.fixture(scope="session")
def fake_stripe_server() -> Iterator[Any]:
    """A fake Stripe API on 127.0.0.1 for the whole run (see :mod:`pss_testing.fakestripe`)."""

    with FakeStripe(api_key="sk_test_pss_event_secret_0123456789") as fake:
        yield fake


@pytest.fixture
def fake_stripe(fake_stripe_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fake Stripe server, emptied for this test; the stripe library's retry pauses (half a
    second and more) shortened, since the fake answers at once."""
    import stripe  # noqa: PLC0415  stripe is slow to import; only tests that pay need it

    fake_stripe_server.reset()
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.005)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.01)
    return fake_stripe_server


@pytest.fixture
def stripe_shop(dbsession: Session, demo_event: Any, fake_stripe: Any) -> Any:
    """The demo event connected to the fake Stripe account: ``session``, ``event``, ``players``
    (by number), ``main`` (HERB), ``classics`` (PAPA-style) and ``payments`` (a
    :class:`~pss_core.payments.providers.Payments` whose Stripe provider talks to the fake)."""

    demo_event.stripe_secret_key = fake_stripe.api_key
    demo_event.stripe_publishable_key = SHOP_PUBLISHABLE_KEY
    demo_event.stripe_webhook_secret = SHOP_WEBHOOK_SECRET
    dbsession.flush()
    players = dbsession.scalars(
        select(EventPlayer)
        .where(EventPlayer.event_id == demo_event.id)
        .order_by(EventPlayer.number)
    ).all()
    by_slug = {
        t.slug: t
        for t in dbsession.scalars(select(Tournament).where(Tournament.event_id == demo_event.id))
    }
    payments = Payments.only(
        StripeProvider(api_base=fake_stripe.url, max_network_retries=2, timeout=5)
    )
    return SimpleNamespace(
        session=dbsession,
        event=demo_event,
        players=list(players),
        main=by_slug["main"],
        classics=by_slug["classics"],
        payments=payments,
    )


SHOP_PUBLISHABLE_KEY = "pk_test_fake_publishable"
SHOP_WEBHOOK_SECRET = "whsec_test_pss_secret"


@pytest.fixture
def demo_event(dbsession: Session, pss: Pss) -> Any:
    """The demo event (staff, players 101-108 with PIN 4321, a HERB and a PAPA-style tournament)."""

    event = create_demo(dbsession, pss)
    dbsession.flush()
    return event
