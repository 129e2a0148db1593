"""Consistent copies of a live pss database and putting one back: SQLite through its online
backup API (a snapshot even while the web app writes), PostgreSQL through ``pg_dump``'s custom
format (one transaction's snapshot) and ``pg_restore``."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from pss_core import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done, with a message the TD can act on."""


def _url(url: str | None) -> URL:
    return make_url(db.database_url(url))


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError(
            "An in-memory SQLite database cannot be backed up: it is gone with its process."
        )
    return Path(url.database)


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump and pg_restore; the password goes in the environment,
    never on a command line others can read."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = ["--dbname", str(url.database or "postgres")]
    if url.host:
        args += ["--host", str(url.host)]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", str(url.username)]
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; it comes with the PostgreSQL client tools "
            "(postgresql-client)."
        )
    return found


def suffix_for(url: str | None) -> str:
    return ".sqlite" if _url(url).get_backend_name() == "sqlite" else ".dump"


def backup(url: str | None, dest: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``dest`` (written aside, then
    renamed, so ``dest`` is never half a backup). Returns ``dest``."""
    parsed = _url(url)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        source_path = _sqlite_path(parsed)
        if not source_path.exists():
            raise BackupError(f"There is no database at {source_path}.")
        source = sqlite3.connect(source_path.resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    elif backend == "postgresql":
        args, env = _pg_args(parsed)
        done = subprocess.run(
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                "--file",
                str(partial),
                *args,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            partial.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    else:
        raise BackupError(f"Backing up a {backend} database is not supported.")
    partial.replace(dest)
    return dest


def kind_of(path: Path) -> str:
    """``sqlite`` or ``postgresql``: what made the backup at ``path``."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise BackupError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(
        f"{path} is not a pss backup (neither a SQLite database nor a pg_dump archive)."
    )


def _has_tables(url: str) -> bool:
    engine = db.make_engine(url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def restore(source: Path, url: str | None, *, replace: bool = False) -> None:
    """Put the backup at ``source`` into the database at ``url``: a SQLite backup into a SQLite
    file, a PostgreSQL one into a PostgreSQL database. A database that already has tables is
    refused unless ``replace`` (its tables are dropped first)."""
    source = Path(source)
    kind = kind_of(source)
    parsed = _url(url)
    backend = parsed.get_backend_name()
    if kind != backend:
        raise BackupError(
            f"{source} is a {kind} backup; restore it into a {kind} database, not {backend}."
        )
    rendered = parsed.render_as_string(hide_password=False)
    if kind == "sqlite":
        _sqlite_path(parsed).parent.mkdir(parents=True, exist_ok=True)
    if not replace and _has_tables(rendered):
        raise BackupError(
            "The database to restore into is not empty; use --replace to "
            "overwrite it (everything in it is lost)."
        )
    if kind == "sqlite":
        target_path = _sqlite_path(parsed)
        src = sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
        target = sqlite3.connect(target_path, timeout=30)
        try:
            # The backup API replaces every page of the target, in one transaction of its own.
            src.backup(target)
        finally:
            target.close()
            src.close()
        return
    args, env = _pg_args(parsed)
    command = [
        _tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
    ]
    if replace:
        command += ["--clean", "--if-exists"]
    done = subprocess.run(
        [*command, *args, str(source)], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def timestamped(directory: Path, url: str | None, now: datetime | None = None) -> Path:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return Path(directory) / f"pss-{moment:%Y%m%d-%H%M%S-%f}{suffix_for(url)}"


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``directory``; returns what was deleted."""
    backups = sorted(p for p in Path(directory).glob("pss-*") if p.suffix in (".sqlite", ".dump"))
    gone = backups[:-keep] if keep > 0 else []
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


class BackupSchedule:
    """Backs up every ``minutes`` while ``pss serve`` runs (the first one right away), keeping
    the newest ``keep``. A failed backup is reported and tried again next time."""

    def __init__(
        self,
        url: str,
        directory: Path,
        minutes: float,
        keep: int = 24,
        report: Callable[[str], None] = print,
    ) -> None:
        if minutes <= 0:
            raise BackupError("Back up every N minutes needs N above 0.")
        self.url, self.directory, self.interval = url, Path(directory), minutes * 60
        self.keep, self.report = keep, report
        self.stopped = threading.Event()
        self.made: list[Path] = []
        self.thread = threading.Thread(target=self._run, name="pss-backup", daemon=True)

    def start(self) -> BackupSchedule:
        self.thread.start()
        return self

    def stop(self, timeout: float = 60) -> None:
        self.stopped.set()
        self.thread.join(timeout)

    def once(self) -> Path | None:
        try:
            path = backup(self.url, timestamped(self.directory, self.url))
        except BackupError as exc:
            self.report(f"pss: backup failed: {exc}")
            return None
        self.made.append(path)
        prune(self.directory, self.keep)
        self.report(f"pss: backed up to {path}")
        return path

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.once()
            self.stopped.wait(self.interval)
