"""Engines, sessions and migrations: the one place that knows how pss talks to its database."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///pss.sqlite"
#: How long a service's row lock waits for somebody else's before PostgreSQL gives up (which
#: the services answer with "busy, try again"): set once per transaction, by its first lock.
LOCK_TIMEOUT_MS = 5000
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(explicit: str | None = None) -> str:
    """The database to use: an explicit URL, else ``PSS_DATABASE_URL``, else ``pss.sqlite`` here."""
    return explicit or os.environ.get("PSS_DATABASE_URL") or DEFAULT_DATABASE_URL


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # pysqlite begins transactions lazily and on its own, which breaks SAVEPOINT (a nested
    # transaction's commit would really commit); pss begins them itself, see _sqlite_begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # SQLite leaves foreign keys off unless asked; pss relies on them being enforced.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A read that needs no transaction (``pss_autocommit``) sends no BEGIN: with pysqlite's own
    # transactions off, each statement then runs on its own.
    if not connection.get_execution_options().get("pss_autocommit"):
        connection.exec_driver_sql("BEGIN")


#: A pooled connection idle longer than this is tested before use; one used more recently is not
#: (a ping per checkout doubled the round trips of a poll).
PING_AFTER_IDLE_SECONDS = 10.0
#: Connections are replaced after this long, whatever their use.
POOL_RECYCLE_SECONDS = 1800


def _checkin(dbapi_connection: Any, record: Any) -> None:
    record.info["pss_idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    idle_since = record.info.get("pss_idle_since")
    record.info["pss_pinged"] = False
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    record.info["pss_pinged"] = True
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:
        # The pool discards this connection and checks out (or opens) another.
        raise DisconnectionError() from exc


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Build an engine for ``url`` with the settings pss needs on each backend."""
    url = database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith(("postgresql://", "postgres://")):
        # pss speaks to PostgreSQL through psycopg2; name the driver so no other is guessed.
        url = "postgresql+psycopg2://" + url.split("://", 1)[1]
    # A pooled connection may have died while idle (the server restarted, a backend was
    # terminated): one idle for a while is tested on checkout and replaced, so a request never
    # starts on a dead one; a busy one is not pinged on every checkout.
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    ping = not kwargs.get("pool_pre_ping")
    engine = create_engine(url, **kwargs)
    if ping:
        event.listen(engine.pool, "checkin", _checkin)
        event.listen(engine.pool, "checkout", _ping_if_idle)
    event.listen(engine, "begin", _forget_lock_timeout)
    event.listen(engine, "rollback_savepoint", _forget_lock_timeout)
    return engine


#: ``Connection.info`` key: this transaction has its ``SET LOCAL lock_timeout`` (see
#: :func:`pss_core.services.locking.lock_rows`), so the next lock needs no second one.
LOCK_TIMEOUT_SET = "pss.lock_timeout_set"


def _forget_lock_timeout(connection: Any, *args: Any) -> None:
    # Called as a transaction begins, and as a savepoint is rolled back (a SET LOCAL made in it
    # is undone with it). A connection that was lost needs nothing: its next DBAPI connection
    # begins a new transaction.
    if connection.invalidated:
        return
    with suppress(sa_exc.InvalidRequestError):  # the connection died under the savepoint
        connection.info.pop(LOCK_TIMEOUT_SET, None)


#: PostgreSQL error codes that mean the server or the connection is gone, not the statement
#: wrong: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections; class 08 is
#: every connection exception.
_PG_UNAVAILABLE = ("57P01", "57P02", "57P03", "53300")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached right now (refused, killed, restarting,
    the pool exhausted) rather than that a statement is wrong: a "try again shortly", not a bug."""

    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:  # SQLAlchemy recognised a disconnect
        return True
    code = getattr(exc.orig, "pgcode", None)
    if code:
        return code.startswith("08") or code in _PG_UNAVAILABLE
    # psycopg2 gives no code when it could not connect at all, or the connection is closed.
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) and (
        type(exc.orig).__module__.startswith("psycopg2")
    )


#: SQLite's answers when another connection held the database longer than the busy timeout.
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")


def database_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked": another connection held the one write
    lock for longer than the busy timeout, so nothing of this transaction was written. Outside
    the lock helpers (which answer "busy") any write can meet it; like a lost database it is a
    "try again shortly", not a bug."""
    if not isinstance(exc, sa_exc.OperationalError) or not isinstance(
        exc.orig, sqlite3.OperationalError
    ):
        return False
    name = getattr(exc.orig, "sqlite_errorname", "")
    return name in _SQLITE_BUSY or str(exc.orig).startswith(
        ("database is locked", "database table is locked")
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends normally and rolls back otherwise."""
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine_or_url: Engine | str) -> Any:
    from alembic.config import Config  # noqa: PLC0415  alembic loads only when a command migrates

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if isinstance(engine_or_url, str):
        cfg.set_main_option("sqlalchemy.url", engine_or_url)
    else:
        cfg.attributes["connection_engine"] = engine_or_url
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (head by default)."""
    from alembic import command  # noqa: PLC0415  alembic loads only when a command migrates

    command.upgrade(alembic_config(engine), revision)
    if revision == "head":
        from pss_core.jobs.schema import ensure_schema  # noqa: PLC0415  the job queue sits above the database layer

        ensure_schema(engine)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415  alembic loads only when a command migrates

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
