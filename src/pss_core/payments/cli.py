"""``pss sweep-holds`` and ``pss payments-worker``: expired holds marked cancelled for the record,
payments reconciled with Stripe, and card refunds that could not reach Stripe sent again."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from typing import Any

from pss_core import db

log = logging.getLogger("pss.payments")


def add_parser(subparsers: Any) -> None:
    sweep = subparsers.add_parser(
        "sweep-holds",
        help="mark online purchases whose hold expired as cancelled",
        description=(
            "Holds stop counting against quotas at their expiry by themselves; this only records "
            "them as cancelled. Payments are not touched (see payments-worker)."
        ),
    )
    sweep.set_defaults(func=cmd_sweep_holds)

    worker = subparsers.add_parser(
        "payments-worker",
        help="reconcile online payments with Stripe, retry refunds, sweep expired holds",
        description=(
            "Each pass asks Stripe about every pending online payment (and ones cancelled in the "
            "last day, for late payments), sends card refunds that could not reach Stripe "
            "again, and marks expired holds cancelled. The Stripe API address is Stripe's unless "
            "PSS_STRIPE_API_BASE names another."
        ),
    )
    worker.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                        help="seconds between passes (default 30)")
    worker.add_argument("--once", action="store_true", help="run one pass and stop")
    worker.set_defaults(func=cmd_payments_worker)


def cmd_sweep_holds(args: argparse.Namespace) -> int:
    from pss_core.payments.online import sweep_expired_holds

    engine = db.make_engine(args.db)
    with db.session_scope(engine) as session:
        swept = sweep_expired_holds(session)
    print(f"{len(swept)} expired hold{'s' if len(swept) != 1 else ''} marked cancelled.")
    return 0


def cmd_payments_worker(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from pss_core.payments.online import run_worker_pass
    from pss_core.payments.stripe_gateway import StripeGateway
    from pss_core.plugins import default_pss

    engine = db.make_engine(args.db)
    gateway = StripeGateway.from_settings()
    pss = default_pss()
    stop = False

    def _stop(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    if not args.once:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    while True:
        with Session(bind=engine, expire_on_commit=False) as session:
            try:
                outcomes = run_worker_pass(session, pss, gateway, commit=session.commit)
            except Exception:
                session.rollback()
                log.exception("payments worker pass failed")
                if args.once:
                    return 1
                outcomes = {}
        summary = ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())) or "nothing to do"
        print(f"payments worker: {summary}")
        sys.stdout.flush()
        if args.once or stop:
            return 0
        deadline = time.monotonic() + args.interval
        while not stop and time.monotonic() < deadline:
            time.sleep(min(0.5, args.interval))
