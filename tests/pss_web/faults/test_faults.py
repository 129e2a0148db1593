"""Faults in the middle of a stream of real scorekeeping over HTTP, against ``pss serve`` in its own
process on PostgreSQL: the server killed with SIGKILL, its database connections terminated, the
database server restarted. Throughout, no client ever gets a 500 — only answers, typed 503s with
Retry-After while the database is away, or no answer while pss itself is down — pss recovers by
itself (no restart, except after being killed), every acknowledged score is in the database and
nothing is half-done."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from pss_core import db
from pss_core.plugins import Pss

from .harness import (
    Cluster,
    Traffic,
    check_aftermath,
    database_refused,
    postgres_bindir,
    seed,
    serving,
)

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

#: Acknowledged scores to see before a fault and again after recovery.
BEFORE = 6
AFTER = 6
#: Typed 503 answers to see while the database is away.
UNAVAILABLE = 3


def _url_of(engine: Engine, **query: str) -> str:
    return engine.url.update_query_dict(query).render_as_string(hide_password=False)


def test_kill_9_mid_stream_loses_nothing_acknowledged(
    committed_engine: Engine, pss: Pss, tmp_path: Path
) -> None:
    plan = seed(committed_engine, pss)
    with (
        serving(_url_of(committed_engine), tmp_path / "serve.log") as served,
        Traffic(served.base, plan) as traffic,
    ):
        traffic.wait_acked(BEFORE, "before the kill")
        served.kill9()
        served.start()  # same port, same database
        traffic.wait_acked(AFTER, "after the restart")
    # While pss was down its clients got no answer at all (connection refused), not a 5xx.
    assert traffic.count(lambda a: a.status is None) > 0, traffic.summary()
    check_aftermath(committed_engine, traffic)


def test_terminated_connections_answer_503_and_recover(
    committed_engine: Engine, pss: Pss, tmp_path: Path
) -> None:
    """The server's backends are terminated and, so that the outage lasts, the database refuses
    new connections until the test lets them in again; pss answers typed 503s meanwhile and
    then carries on in the same process."""
    plan = seed(committed_engine, pss)
    app_name = f"pss-faults-{secrets.token_hex(3)}"
    database = committed_engine.url.database
    admin = db.make_engine(
        committed_engine.url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with (
            serving(
                _url_of(committed_engine, application_name=app_name), tmp_path / "serve.log"
            ) as served,
            Traffic(served.base, plan) as traffic,
        ):
            pid = served.pid
            traffic.wait_acked(BEFORE, "before the connections are cut")
            assert database is not None
            with database_refused(admin, database, app_name):
                traffic.wait_unavailable(UNAVAILABLE)
            traffic.wait_acked(AFTER, "after the connections are allowed again")
            # Recovered without a restart.
            assert served.pid == pid
            assert served.starts == 1
    finally:
        admin.dispose()
    check_aftermath(committed_engine, traffic)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = postgres_bindir()
    if bindir is None:
        if os.environ.get("PSS_REQUIRE_POSTGRES", "") not in ("", "0", "false", "no"):
            pytest.fail(
                "PSS_REQUIRE_POSTGRES is set but no PostgreSQL server binaries "
                "(/usr/lib/postgresql/*/bin/initdb, pg_ctl) are installed"
            )
        pytest.skip(
            "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin) to start a "
            "throwaway cluster with"
        )
    c = Cluster(bindir)
    try:
        c.start()
        yield c
    finally:
        c.remove()


def test_a_database_restart_answers_503_and_recovers(
    cluster: Cluster, pss: Pss, tmp_path: Path
) -> None:
    """A cluster of the test's own (nothing else is disturbed) is stopped mid-stream and started
    again: typed 503s while it is down, then pss carries on in the same process. It needs only
    the PostgreSQL server binaries, not ``PSS_TEST_DATABASE_URL``."""
    admin = db.make_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "pss_faults"'))
    admin.dispose()
    engine = db.make_engine(cluster.url("pss_faults"))
    try:
        db.upgrade(engine)
        plan = seed(engine, pss)
        url = make_url(cluster.url("pss_faults")).render_as_string(hide_password=False)
        with serving(url, tmp_path / "serve.log") as served, Traffic(served.base, plan) as traffic:
            pid = served.pid
            traffic.wait_acked(BEFORE, "before the database stops")
            cluster.stop()
            try:
                traffic.wait_unavailable(UNAVAILABLE)
            finally:
                cluster.start()
            traffic.wait_acked(AFTER, "after the database is back")
            assert served.pid == pid
            assert served.starts == 1
        # The test's own pooled connections died with the server (pss's were replaced as they
        # failed); the checks read through new ones.
        engine.dispose()
        check_aftermath(engine, traffic)
    finally:
        engine.dispose()
