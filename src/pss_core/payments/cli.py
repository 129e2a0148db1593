"""``pss sweep-holds``: expired holds marked cancelled for the record. The payment passes run in
``pss worker`` (:mod:`pss_core.jobs`), which ``pss payments-worker`` is now another name for."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    sweep = subparsers.add_parser(
        "sweep-holds",
        help="mark online purchases whose hold expired as cancelled",
        description=(
            "Holds stop counting against quotas at their expiry by themselves; this only records "
            "them as cancelled. Payments are not touched (see pss worker)."
        ),
    )
    sweep.set_defaults(func=cmd_sweep_holds)


def cmd_sweep_holds(args: argparse.Namespace) -> int:
    from pss_core import db
    from pss_core.payments.online import sweep_expired_holds

    engine = db.make_engine(args.db)
    with db.session_scope(engine) as session:
        swept = sweep_expired_holds(session)
    print(f"{len(swept)} expired hold{'s' if len(swept) != 1 else ''} marked cancelled.")
    return 0
