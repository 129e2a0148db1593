"""``pss worker --once`` processes against one PostgreSQL: a job runs once, never on two workers
at the same time, and jobs sharing a lock never overlap (with a negative control without it)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import Session

from pss_core import jobs
from pss_testing import jobprobe

from .conftest import finish, start_worker

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def probe(committed_engine, clean_jobs):
    jobprobe.create_table(committed_engine)
    yield committed_engine
    jobprobe.drop_table(committed_engine)


def _defer(
    engine, key: str, *, lock: str | None = None, hold: bool = False, count: int = 1
) -> None:
    with Session(engine) as session:
        for _ in range(count):
            jobs.defer(session, "pss.testing.probe", lock=lock, key=key, hold=hold)
        session.commit()


def _wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


IMPORT = ("--import", "pss_testing.jobprobe")


def test_a_job_runs_once(probe, database_url):
    jobprobe.add_keys(probe, "one")
    _defer(probe, "one")
    out = finish(start_worker(database_url, *IMPORT))
    assert "pss.testing.probe: probe=1" in out
    finish(start_worker(database_url, *IMPORT))
    assert jobprobe.row(probe, "one")["runs"] == 1


def test_two_workers_never_run_one_job_twice(probe, database_url):
    keys = [f"job{i}" for i in range(30)]
    jobprobe.add_keys(probe, *keys)
    for key in keys:
        _defer(probe, key)
    workers = [start_worker(database_url, *IMPORT) for _ in range(2)]
    for proc in workers:
        finish(proc)
    assert [jobprobe.row(probe, key)["runs"] for key in keys] == [1] * len(keys)


def _two_jobs_on_two_workers(engine, url: str, lock: str | None) -> None:
    """Worker A takes the first held job; worker B starts while it runs and takes what it may;
    then the key is released and both finish."""
    jobprobe.add_keys(engine, "shared")
    _defer(engine, "shared", lock=lock, hold=True, count=2)
    a = start_worker(url, *IMPORT)
    _wait_for(lambda: jobprobe.row(engine, "shared")["running"] >= 1, "the first job to start")
    b = start_worker(url, *IMPORT)
    if lock is not None:
        # B finds the second job locked, so it leaves it and stops.
        finish(b)
        assert jobprobe.row(engine, "shared")["runs"] == 1
    else:
        _wait_for(lambda: jobprobe.row(engine, "shared")["runs"] >= 2, "the second job")
    jobprobe.release(engine, "shared")
    finish(a)
    if lock is None:
        finish(b)


def test_jobs_with_one_lock_never_run_at_once(probe, database_url):
    _two_jobs_on_two_workers(probe, database_url, lock="pss.testing.shared")
    found = jobprobe.row(probe, "shared")
    assert found["runs"] == 2
    assert found["max_running"] == 1


def test_without_the_lock_the_two_jobs_overlap(probe, database_url):
    # The negative control: the same two jobs without a lock run at the same time.
    _two_jobs_on_two_workers(probe, database_url, lock=None)
    found = jobprobe.row(probe, "shared")
    assert found["runs"] == 2
    assert found["max_running"] == 2
