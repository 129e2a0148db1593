"""A task for tests of the worker: it counts its runs, and how many of its jobs run at once, in
a table of its own (``pss_job_probe``, made by :func:`create_table`). Import it in a worker with
``pss worker --import pss_testing.jobprobe``."""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

from pss_core.jobs import Runtime, task

TABLE = "pss_job_probe"
#: How long a held probe waits for company or release before giving up (a safety bound only).
HOLD_LIMIT_SECONDS = 120.0


def create_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        conn.execute(
            text(
                f"CREATE TABLE {TABLE} (key TEXT PRIMARY KEY, runs INTEGER NOT NULL DEFAULT 0, "
                "running INTEGER NOT NULL DEFAULT 0, max_running INTEGER NOT NULL DEFAULT 0, "
                "released BOOLEAN NOT NULL DEFAULT FALSE)"
            )
        )


def drop_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))


def add_keys(engine: Engine, *keys: str) -> None:
    with engine.begin() as conn:
        for key in keys:
            conn.execute(text(f"INSERT INTO {TABLE} (key) VALUES (:key)"), {"key": key})


def row(engine: Engine, key: str) -> dict[str, int]:
    with engine.connect() as conn:
        found = (
            conn.execute(
                text(f"SELECT runs, running, max_running FROM {TABLE} WHERE key = :key"),
                {"key": key},
            )
            .mappings()
            .one()
        )
    return dict(found)


def release(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {TABLE} SET released = TRUE WHERE key = :key"), {"key": key})


@task("pss.testing.probe")
def probe(runtime: Runtime, key: str, hold: bool = False) -> dict[str, int]:
    """Count a run under ``key``; with ``hold``, stay running until another job of the same key
    has run beside it (so the overlap is seen) or the test releases the key."""
    assert isinstance(runtime.bind, Engine)
    engine = runtime.bind.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(
                f"UPDATE {TABLE} SET runs = runs + 1, running = running + 1, "
                "max_running = GREATEST(max_running, running + 1) WHERE key = :key"
            ),
            {"key": key},
        )
        deadline = time.monotonic() + HOLD_LIMIT_SECONDS
        while hold and time.monotonic() < deadline:
            state = conn.execute(
                text(f"SELECT max_running, released FROM {TABLE} WHERE key = :key"), {"key": key}
            ).one()
            if state.max_running >= 2 or state.released:
                break
            time.sleep(0.05)
        conn.execute(
            text(f"UPDATE {TABLE} SET running = running - 1 WHERE key = :key"), {"key": key}
        )
    return {"probe": 1}
