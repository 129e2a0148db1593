"""``pss backup`` and ``pss restore`` as real processes: a copy taken mid-event (a change still
in flight) restores elsewhere with the same standings and without the unfinished change; a
non-empty database is not overwritten unless asked; the copies made while serving; PostgreSQL
through pg_dump and pg_restore."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from pss_core import backup, db
from pss_core.demo import create_demo
from pss_core.models import Event, Tournament
from pss_core.plugins import Pss
from pss_core.standings import compute_standings
from pss_testing.database import migrated_sqlite


def pss_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PSS_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "pss_core.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


def standings_of(engine: Engine, pss: Pss) -> dict[str, list[Any]]:
    with Session(engine) as session:
        return {
            t.slug: [tuple(r) for r in compute_standings(session, pss, t).csv_rows()]
            for t in session.scalars(select(Tournament).order_by(Tournament.slug))
        }


@pytest.fixture
def live_sqlite(tmp_path: Path, pss: Pss) -> str:
    url = migrated_sqlite(tmp_path / "venue.sqlite")
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        create_demo(session, pss, play=True)
    engine.dispose()
    return url


def test_a_backup_mid_event_restores_elsewhere_with_the_same_standings(
    live_sqlite: str, tmp_path: Path, pss: Pss
) -> None:
    source = db.make_engine(live_sqlite)
    before = standings_of(source, pss)
    assert any(before.values()), "the demo has standings to compare"
    copy = tmp_path / "copy.sqlite"
    # Mid-event: the web app is in the middle of a change that is not committed yet.
    with source.connect() as conn:
        conn.execute(text("DELETE FROM scores"))
        conn.execute(text("DELETE FROM best_scores"))  # what the standings read
        done = pss_cli("--db", live_sqlite, "backup", "-o", str(copy))
        assert done.returncode == 0, done.stderr
        conn.commit()
    assert standings_of(source, pss) != before  # the change did land, after the copy
    other_laptop = f"sqlite:///{tmp_path / 'elsewhere' / 'pss.sqlite'}"
    done = pss_cli("--db", other_laptop, "restore", str(copy))
    assert done.returncode == 0, done.stderr
    assert "Restored" in done.stdout
    restored = db.make_engine(other_laptop)
    assert standings_of(restored, pss) == before
    with Session(restored) as session:
        event = session.scalars(select(Event)).one()
        assert event.slug == "demo"
        assert len(event.tournaments) == 2
    restored.dispose()
    source.dispose()


def test_restore_does_not_overwrite_a_database_unless_asked(
    live_sqlite: str, tmp_path: Path, pss: Pss
) -> None:
    copy = tmp_path / "copy.sqlite"
    assert pss_cli("--db", live_sqlite, "backup", "-o", str(copy)).returncode == 0
    target = migrated_sqlite(tmp_path / "used.sqlite")
    done = pss_cli("--db", target, "restore", str(copy))
    assert done.returncode == 2
    assert "not empty; use --replace" in done.stderr
    done = pss_cli("--db", target, "restore", "--replace", str(copy))
    assert done.returncode == 0, done.stderr
    engine = db.make_engine(target)
    assert standings_of(engine, pss) == standings_of(db.make_engine(live_sqlite), pss)
    engine.dispose()


def test_what_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    done = pss_cli("--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "restore", str(junk))
    assert done.returncode == 2
    assert "is not a pss backup" in done.stderr
    sqlite_copy = tmp_path / "copy.sqlite"
    sqlite_copy.write_bytes(backup.SQLITE_MAGIC + b"\x00" * 100)
    with pytest.raises(backup.BackupError, match="restore it into a sqlite database"):
        backup.restore(sqlite_copy, "postgresql://nobody@127.0.0.1:1/none")
    done = pss_cli(
        "--db",
        f"sqlite:///{tmp_path / 'missing.sqlite'}",
        "backup",
        "-o",
        str(tmp_path / "out.sqlite"),
    )
    assert done.returncode == 2
    assert "There is no database" in done.stderr


def test_timestamped_backups_into_a_directory_keep_the_newest(
    live_sqlite: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    for _ in range(3):
        done = pss_cli("--db", live_sqlite, "backup", "--dir", str(folder), "--keep", "2")
        assert done.returncode == 0, done.stderr
    kept = sorted(folder.glob("pss-*.sqlite"))
    assert len(kept) == 2
    assert all(backup.kind_of(p) == "sqlite" for p in kept)
    assert not list(folder.glob("*.partial"))


def test_backups_every_n_minutes_while_serving(live_sqlite: str, tmp_path: Path, pss: Pss) -> None:
    lines: list[str] = []
    schedule = backup.BackupSchedule(
        live_sqlite, tmp_path / "auto", minutes=60, keep=5, report=lines.append
    ).start()
    try:
        deadline = time.monotonic() + 60
        while not schedule.made and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        schedule.stop()
    assert len(schedule.made) == 1  # the first right away, the next in an hour
    assert lines == [f"pss: backed up to {schedule.made[0]}"]
    restored = tmp_path / "from-auto.sqlite"
    backup.restore(schedule.made[0], f"sqlite:///{restored}")
    engine = db.make_engine(f"sqlite:///{restored}")
    assert standings_of(engine, pss) == standings_of(db.make_engine(live_sqlite), pss)
    engine.dispose()


def test_a_failed_scheduled_backup_is_reported(tmp_path: Path) -> None:
    lines: list[str] = []
    schedule = backup.BackupSchedule(
        f"sqlite:///{tmp_path / 'gone.sqlite'}", tmp_path / "b", minutes=1, report=lines.append
    )
    assert schedule.once() is None
    assert lines[0].startswith("pss: backup failed: There is no database")


def test_serve_offers_backups() -> None:
    done = pss_cli("serve", "--help")
    assert done.returncode == 0, done.stderr
    assert "--backup-every" in done.stdout


@pytest.mark.postgres_only
def test_postgresql_backup_mid_event_restores_into_another_database(
    committed_engine: Engine, tmp_path: Path, pss: Pss
) -> None:
    from pss_testing.database import _create_pg_database

    with Session(committed_engine) as session:
        create_demo(session, pss, play=True)
        session.commit()
    url = committed_engine.url.render_as_string(hide_password=False)
    before = standings_of(committed_engine, pss)
    copy = tmp_path / "copy.dump"
    with committed_engine.connect() as conn:
        conn.execute(text("DELETE FROM scores"))  # in flight: not in the copy
        conn.execute(text("DELETE FROM best_scores"))
        done = pss_cli("--db", url, "backup", "-o", str(copy))
        assert done.returncode == 0, done.stderr
        conn.rollback()
    assert backup.kind_of(copy) == "postgresql"
    other_url, drop = _create_pg_database()
    try:
        done = pss_cli("--db", other_url, "restore", str(copy))
        assert done.returncode == 0, done.stderr
        other = db.make_engine(other_url)
        try:
            assert standings_of(other, pss) == before
            again = pss_cli("--db", other_url, "restore", str(copy))
            assert again.returncode == 2
            assert "--replace" in again.stderr
            done = pss_cli("--db", other_url, "restore", "--replace", str(copy))
            assert done.returncode == 0, done.stderr
            assert standings_of(other, pss) == before
        finally:
            other.dispose()
    finally:
        drop()
