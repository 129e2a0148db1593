"""Worker processes against the run's PostgreSQL database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text


@pytest.fixture
def clean_jobs(committed_engine: Engine) -> Iterator[None]:
    """procrastinate's queue emptied before and after the test."""

    def empty() -> None:
        with committed_engine.begin() as conn:
            conn.execute(
                text(
                    "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, "
                    "procrastinate_workers RESTART IDENTITY CASCADE"
                )
            )

    empty()
    yield
    empty()


def start_worker(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``pss worker --once`` in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "pss_core.cli", "--db", url, "worker", "--once", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 180) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out
