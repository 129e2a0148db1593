"""The ``pss`` command line: set up a database, seed a demo, list formats, standings; installed
packages add more (``pss serve`` comes from pss_web)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Nothing heavy at import time (SQLAlchemy, Pyramid, argon2, the job engine): ``pss --help``
# only builds the parser, and each command imports what it needs when it runs. The subcommand
# modules below follow the same rule; tests/pss_core/test_cli_startup.py checks it.

#: Modules that add subcommands: each has ``add_parser(subparsers)``.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "pss_core.standings_cli",
    "pss_core.payments.cli",
    "pss_core.worker_cli",
    "pss_core.export_cli",
    "pss_core.accounts_cli",
    "pss_core.backup_cli",
)
#: Entry point group of modules (in pss's own distribution or a plugin's) that add subcommands
#: the same way: ``pss serve`` comes from pss_web through it.
COMMANDS_GROUP = "pss.commands"
#: Commands that other distributions contribute, and the extra that brings each.
EXTRA_COMMANDS = {"serve": "web"}


def _engine(args: argparse.Namespace) -> Engine:
    from pss_core import db

    return db.make_engine(args.db)


def cmd_initdb(args: argparse.Namespace) -> int:
    from pss_core import db

    engine = _engine(args)
    db.upgrade(engine)
    print(
        f"Database at {engine.url.render_as_string(hide_password=True)} is at revision "
        f"{db.current_revision(engine)}."
    )
    from pss_core.accounts_cli import CommandError, Terminal, first_run

    term = Terminal()
    try:
        first_run(engine, term, optional=True)
    except CommandError as exc:
        term.stderr.write(f"{exc}\n")
        return 2
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pss_core import db
    from pss_core.demo import create_demo
    from pss_core.plugins import default_pss

    engine = _engine(args)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        event = create_demo(session, default_pss(), play=True)
        print(f"Demo event {event.name!r} is ready at /events/{event.slug}/")
    print_logins()
    return 0


def print_logins(base: str = "") -> None:
    from pss_core.demo import DEMO_LOGINS

    print("Log in as:")
    for login in DEMO_LOGINS:
        print(f"  {login.role:32} {base}{login.where:28} {login.username} / {login.password}")


def cmd_formats(args: argparse.Namespace) -> int:
    from pss_core.plugins import default_pss

    pss = default_pss()
    for spec in pss.formats:
        print(f"{spec.name}: {spec.title}  [{pss.formats.owner(spec.name)}]")
        if spec.description:
            print(f"    {spec.description}")
        for opt in spec.options:
            extra = f" choices: {', '.join(opt.choices)}" if opt.choices else ""
            if opt.type == "points_curve":
                extra = f" curves: {', '.join(c.name for c in pss.curves)}"
            print(f"    --set {opt.name}=<{opt.type}> (default {opt.default!r}){extra}  {opt.help}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pss", description=__doc__)
    parser.add_argument(
        "--db",
        help="database URL (default: $PSS_DATABASE_URL or "
        "sqlite:///pss.sqlite in the current directory)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "initdb", help="create or migrate the database to the newest schema"
    ).set_defaults(func=cmd_initdb)
    sub.add_parser("demo", help="create a demo event and print how to log in").set_defaults(
        func=cmd_demo
    )
    sub.add_parser("formats", help="list installed formats and their options").set_defaults(
        func=cmd_formats
    )
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    for entry_point in entry_points(group=COMMANDS_GROUP):
        try:
            module = entry_point.load()
        except ImportError:
            # Its libraries are not installed (pss_web without the web extra): the command is
            # then offered as one that is not installed, below.
            continue
        module.add_parser(sub)
    for name, extra in EXTRA_COMMANDS.items():
        if name not in sub.choices:
            # Still listed, so that asking for it says how to get it.
            sub.add_parser(
                name, help=f"(not installed: pip install 'pss[{extra}]')", add_help=False
            ).set_defaults(func=_needs_extra, needs_extra=extra)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "needs_extra", None):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return int(args.func(args))


def _needs_extra(args: argparse.Namespace) -> int:
    print(
        f"pss {args.command} is not installed: it comes with the {args.needs_extra} extra "
        f"(pip install 'pss[{args.needs_extra}]')",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
