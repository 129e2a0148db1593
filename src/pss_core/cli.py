"""The ``pss`` command line: set up a database, seed a demo, list formats, standings, serve."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pss_core import db

#: Modules that add subcommands: each has ``add_parser(subparsers)``.
SUBCOMMAND_MODULES: tuple[str, ...] = ("pss_core.standings_cli", "pss_core.payments.cli")


def _engine(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return db.make_engine(args.db)


def cmd_initdb(args: argparse.Namespace) -> int:
    engine = _engine(args)
    db.upgrade(engine)
    print(
        f"Database at {engine.url.render_as_string(hide_password=True)} is at revision "
        f"{db.current_revision(engine)}."
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
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


def cmd_serve(args: argparse.Namespace) -> int:
    import waitress

    from pss_web import make_app

    engine = _engine(args)
    db.upgrade(engine)
    if args.demo:
        from pss_core.demo import create_demo
        from pss_core.plugins import default_pss

        with db.session_scope(engine) as session:
            create_demo(session, default_pss(), play=True)
    app = make_app({"pss.database_url": engine.url.render_as_string(hide_password=False)})
    base = f"http://{args.host}:{args.port}"
    print(f"pss is serving on {base}/  (Ctrl-C stops it)")
    if args.demo:
        print_logins(base)
    sys.stdout.flush()
    waitress.serve(app, host=args.host, port=args.port, threads=8, ident="pss")
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
    serve = sub.add_parser("serve", help="serve the web app with waitress")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=6543)
    serve.add_argument("--demo", action="store_true", help="create the demo event first")
    serve.set_defaults(func=cmd_serve)
    import importlib

    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
