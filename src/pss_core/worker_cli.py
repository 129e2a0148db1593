"""``pss worker``: runs the background jobs (payment passes, e-mail) beside ``pss serve``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when the worker runs, not for ``pss --help``
    from sqlalchemy import Connection, Engine

    from pss_core.jobs.registry import Runtime

WORKER_HELP = (
    "On PostgreSQL this is a procrastinate worker: it runs jobs deferred by the web app (e-mail) "
    "and, every minute, the payment passes (reconcile payments with Stripe, retry refunds, "
    "expire holds and cancel their PaymentIntents), the e-mail retries and the IFPA look-ups' "
    "retries. Several workers may run against one database. On SQLite jobs run in the web "
    "process after commit, and this runs only the periodic passes. SMTP settings come from "
    "--config (the pss.mail.* keys) and PSS_SMTP_* variables; the Stripe API is Stripe's unless "
    "PSS_STRIPE_API_BASE names another."
)


def add_parser(subparsers: Any) -> None:
    worker = subparsers.add_parser(
        "worker", help="run the background jobs (payments, e-mail)", description=WORKER_HELP
    )
    _arguments(worker)
    alias = subparsers.add_parser(
        "payments-worker", help="the same as `pss worker`", description=WORKER_HELP
    )
    _arguments(alias)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--once",
        action="store_true",
        help="process what is due now, then stop (for tests and cron)",
    )
    parser.add_argument(
        "--config", metavar="INI", help="ini file whose [app:main] pss.mail.* keys configure SMTP"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        metavar="N",
        help="jobs run at once by this worker (PostgreSQL; default 1)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds between passes on SQLite (default 60)",
    )
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a module that registers more tasks",
    )
    parser.set_defaults(func=cmd_worker)


def environment_runtime(
    bind: Engine | Connection, settings: dict[str, Any] | None = None
) -> Runtime:
    """A runtime from the environment: the installed plugins, their payment providers (made from
    ``settings``; Stripe's API base also from ``PSS_STRIPE_API_BASE``) and SMTP (``PSS_SMTP_*``
    over ``settings``)."""
    from pss_core.jobs.registry import Runtime
    from pss_core.mail.settings import MailSettings
    from pss_core.payments.providers import Payments
    from pss_core.plugins import default_pss

    pss = default_pss()
    return Runtime(
        bind=bind,
        pss=pss,
        payments=Payments.of(pss, settings or {}),
        mail=MailSettings.from_settings(settings or {}),
    )


def cmd_worker(args: argparse.Namespace) -> int:
    from pss_core import db
    from pss_core.jobs import worker
    from pss_core.mail.settings import MailSettings

    engine = db.make_engine(args.db)
    runtime = environment_runtime(engine)
    if args.config:
        runtime.mail = MailSettings.from_ini(args.config)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger = logging.getLogger("pss")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        return worker.run(
            engine,
            runtime,
            once=args.once,
            concurrency=args.concurrency,
            interval=args.interval,
            imports=args.imports,
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        sys.stdout.flush()
        engine.dispose()
