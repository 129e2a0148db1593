"""``pss backup`` and ``pss restore``: a consistent copy of the live database, and putting one
back (on this laptop or another). See :mod:`pss_core.backup`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_FAILED = 2


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="write a consistent copy of the database (also while serving)",
        description=(
            "Copy the database (--db, else PSS_DATABASE_URL, else pss.sqlite) while it is in "
            "use: SQLite through its online backup API, PostgreSQL with pg_dump. Without -o the "
            "copy goes into --dir (default: backups) with the time in its name."
        ),
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write the copy here")
    parser.add_argument(
        "--dir",
        default="backups",
        metavar="DIR",
        help="where timestamped copies go (default: backups)",
    )
    parser.add_argument(
        "--keep",
        type=int,
        default=0,
        metavar="N",
        help="then delete all but the newest N copies in --dir (0: keep all)",
    )
    parser.set_defaults(func=cmd_backup)

    restore = subparsers.add_parser(
        "restore",
        help="put a backup into a database (another laptop's, say)",
        description=(
            "Restore FILE (made by pss backup) into the database (--db, else PSS_DATABASE_URL, "
            "else pss.sqlite): a SQLite copy into a SQLite file, a PostgreSQL one into a "
            "PostgreSQL database. Then it is brought to this pss version's schema."
        ),
    )
    restore.add_argument("file", metavar="FILE", help="the backup")
    restore.add_argument(
        "--replace",
        action="store_true",
        help="overwrite a database that is not empty (its contents are lost)",
    )
    restore.set_defaults(func=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> int:
    from pss_core import backup as backups
    from pss_core import db

    url = db.database_url(args.db)
    dest = Path(args.output) if args.output else backups.timestamped(Path(args.dir), url)
    try:
        path = backups.backup(url, dest)
    except backups.BackupError as exc:
        print(f"pss backup: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not args.output and args.keep > 0:
        backups.prune(Path(args.dir), args.keep)
    print(f"Backed up to {path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pss_core import backup as backups
    from pss_core import db

    url = db.database_url(args.db)
    try:
        backups.restore(Path(args.file), url, replace=args.replace)
    except backups.BackupError as exc:
        print(f"pss restore: {exc}", file=sys.stderr)
        return EXIT_FAILED
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        revision = db.current_revision(engine)
    finally:
        engine.dispose()
    print(f"Restored {args.file}; the database is at revision {revision}.")
    return 0
