"""Jobs are written in the caller's transaction: a rollback enqueues nothing, a commit enqueues
the job once; on SQLite the task runs in-process after the commit."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from pss_core import db, jobs
from pss_testing.database import migrated_sqlite

CALLS: list[dict[str, object]] = []


@jobs.task("pss.testing.record")
def record(runtime: jobs.Runtime, **kwargs: object) -> None:
    CALLS.append(kwargs)


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = db.make_engine(migrated_sqlite(tmp_path / "jobs.sqlite"))
    CALLS.clear()
    yield engine
    engine.dispose()


def _write(session: Session) -> None:
    session.execute(
        text(
            "INSERT INTO machines (name, abbreviation, manufacturer) "
            "VALUES ('Medieval Madness', 'MM', 'Williams')"
        )
    )


def test_sqlite_runs_the_task_after_commit(sqlite_engine):
    with Session(sqlite_engine) as session:
        _write(session)
        jobs.defer(session, "pss.testing.record", n=1)
        assert CALLS == []  # not before the commit
        assert jobs.pending_in(session) == ["pss.testing.record"]
        session.commit()
    assert CALLS == [{"n": 1}]


def test_sqlite_rollback_runs_nothing(sqlite_engine):
    with Session(sqlite_engine) as session:
        _write(session)
        jobs.defer(session, "pss.testing.record", n=1)
        session.rollback()
        session.commit()
    assert CALLS == []


def test_sqlite_rolled_back_savepoint_drops_only_its_jobs(sqlite_engine):
    with Session(sqlite_engine) as session:
        jobs.defer(session, "pss.testing.record", n=1)
        savepoint = session.begin_nested()
        jobs.defer(session, "pss.testing.record", n=2)
        savepoint.rollback()
        with session.begin_nested():
            jobs.defer(session, "pss.testing.record", n=3)
        session.commit()
    assert CALLS == [{"n": 1}, {"n": 3}]


def test_unknown_task_is_refused(sqlite_engine):
    with Session(sqlite_engine) as session, pytest.raises(KeyError):
        jobs.defer(session, "pss.no.such.task")


def _job_count(engine, task_name: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t"),
                {"t": task_name},
            ).scalar_one()
        )


@pytest.mark.postgres_only
def test_postgres_job_exists_only_if_the_transaction_commits(committed_engine, clean_jobs):
    with Session(committed_engine) as session:
        _write(session)
        jobs.defer(session, "pss.testing.record", n=1)
        # Written on the session's own connection: visible there, not yet elsewhere.
        assert session.execute(text("SELECT count(*) FROM procrastinate_jobs")).scalar() == 1
        assert _job_count(committed_engine, "pss.testing.record") == 0
        session.rollback()
    assert _job_count(committed_engine, "pss.testing.record") == 0

    with Session(committed_engine) as session:
        jobs.defer(session, "pss.testing.record", n=2)
        session.commit()
    assert _job_count(committed_engine, "pss.testing.record") == 1
    assert CALLS == []  # PostgreSQL leaves it to the worker


@pytest.mark.postgres_only
def test_postgres_queueing_lock_keeps_the_transaction_usable(committed_engine, clean_jobs):
    with Session(committed_engine) as session:
        jobs.defer(session, "pss.testing.record", queueing_lock="once", n=1)
        jobs.defer(session, "pss.testing.record", queueing_lock="once", n=2)  # dropped
        _write(session)  # the transaction was not aborted by the refused duplicate
        session.commit()
    assert _job_count(committed_engine, "pss.testing.record") == 1
