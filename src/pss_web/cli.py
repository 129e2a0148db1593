"""``pss serve``: the web app with waitress. Contributed to the ``pss`` command by pss_web through
the ``pss.commands`` entry point group, so pss_core knows nothing of the web app."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from typing import Any

#: What ``pss serve`` needs beyond pss_core, all in the ``web`` extra.
WEB_LIBRARIES = ("pyramid", "pyramid_jinja2", "pyramid_tm", "waitress", "zope.sqlalchemy")
WEB_EXTRA_HINT = "pss serve needs the web app's libraries: pip install 'pss[web]'"


def missing_libraries() -> list[str]:
    """The libraries of the ``web`` extra that are not installed."""
    missing = []
    for name in WEB_LIBRARIES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:  # the parent package of a dotted name is missing
            found = False
        if not found:
            missing.append(name)
    return missing


def add_parser(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="serve the web app with waitress")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on; 0.0.0.0 serves the venue network too",
    )
    serve.add_argument(
        "--lan",
        action="store_true",
        help="serve phones on the venue Wi-Fi (--host 0.0.0.0) and show their "
        "address with a QR code",
    )
    serve.add_argument(
        "--lan-address",
        metavar="ADDRESS",
        help="the address phones should open, when the one found is not it "
        "(a laptop on two networks)",
    )
    serve.add_argument("--port", type=int, default=6543)
    serve.add_argument("--demo", action="store_true", help="create the demo event first")
    serve.add_argument(
        "--threads", type=int, default=8, help="threads per worker process (default 8)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing the port (default 1); for a busy event on a "
        "server with several cores, one per core (see the deployment guide)",
    )
    serve.add_argument(
        "--trusted-proxy",
        metavar="ADDRESS",
        help="the reverse proxy in front (e.g. 127.0.0.1): its X-Forwarded-For "
        "and X-Forwarded-Proto headers are believed",
    )
    serve.add_argument(
        "--backup-every",
        type=float,
        default=0,
        metavar="MINUTES",
        help="back up the database every MINUTES while serving (pss backup)",
    )
    serve.add_argument(
        "--backup-dir",
        default="backups",
        metavar="DIR",
        help="where those backups go (default: backups)",
    )
    serve.add_argument(
        "--backup-keep",
        type=int,
        default=24,
        metavar="N",
        help="keep the newest N of them (default: 24)",
    )
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    missing = missing_libraries()
    if missing:
        print(f"{WEB_EXTRA_HINT} (missing: {', '.join(missing)})", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("pss serve: --workers is at least 1", file=sys.stderr)
        return 2
    from pss_core import db
    from pss_core.cli import print_logins
    from pss_web import make_app
    from pss_web.serving import Workers, serve

    engine = db.make_engine(args.db)
    db.upgrade(engine)
    if not args.demo:
        # Never serve an instance nobody can administer, and never with known credentials:
        # the first run asks for the administrator (or says how to create one).
        from pss_core.accounts_cli import CommandError, Terminal, first_run

        term = Terminal()
        try:
            first_run(engine, term, optional=False)
        except CommandError as exc:
            term.stderr.write(f"{exc}\n")
            return 2
    if args.demo:
        from pss_core.demo import create_demo
        from pss_core.plugins import default_pss

        with db.session_scope(engine) as session:
            create_demo(session, default_pss(), play=True)
    url = engine.url.render_as_string(hide_password=False)
    host = "0.0.0.0" if args.lan else args.host
    lan_url = None
    if host == "0.0.0.0" or args.lan_address:
        from pss_web.lan import lan_address, terminal_qr

        address = args.lan_address or lan_address()
        if address is None:
            print(
                "pss: no local network found: connect this laptop to the venue Wi-Fi "
                "(no internet is needed) and start pss serve again."
            )
        else:
            lan_url = f"http://{address}:{args.port}/"
            print(f"Phones on the venue Wi-Fi open {lan_url}")
            print(terminal_qr(lan_url))
    settings = {"pss.database_url": url, "pss.lan_url": lan_url}
    # One process: the app now. Several: each worker makes its own app, and so its own
    # database pool, after the fork; no connection is shared between processes.
    app = make_app(settings) if args.workers == 1 else None
    engine.dispose()

    def start_backups() -> None:
        if args.backup_every > 0:
            from pathlib import Path

            from pss_core.backup import BackupSchedule

            BackupSchedule(
                url,
                Path(args.backup_dir),
                args.backup_every,
                args.backup_keep,
                report=lambda line: print(line, flush=True),
            ).start()

    base = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{args.port}"
    print(f"pss is serving on {base}/  (Ctrl-C stops it)")
    if args.demo:
        print_logins(base)
    sys.stdout.flush()
    proxy: dict[str, object] = {}
    if args.trusted_proxy:
        # Believe the proxy's word on the client's address and scheme (https), only from it.
        proxy = {
            "trusted_proxy": args.trusted_proxy,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host",
            "clear_untrusted_proxy_headers": True,
        }
    if app is not None:
        start_backups()
        serve(app, host=host, port=args.port, threads=args.threads, **proxy)
        return 0
    # The backups' thread starts after the forks (a thread's locks do not survive a fork).
    return Workers(
        lambda: make_app(settings),
        args.workers,
        host=host,
        port=args.port,
        threads=args.threads,
        **proxy,
    ).run(after_start=start_backups)
