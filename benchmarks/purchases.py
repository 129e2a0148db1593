"""How much does protecting the last tickets cost? Times, in the same run and against the same local
fake Stripe server:

* ``race``: 500 buyers on 24 threads (each with its own connection) for the last 50 entries of a
  tournament — every buyer goes through the whole online purchase (hold under the quota lock,
  PaymentIntent, payment, the return page's check); 50 succeed and 450 are told "sold out";
* ``sequential``: the same 500 buyers for the same last 50 entries, served one after another on
  one thread: the same work (50 sales, 450 told "sold out"), nobody waiting for anybody.

Reported: the wall time of each (median of ``--repeat`` runs), the time per buyer, and
race / sequential — what contention costs, and nothing else. Both check their own result
(exactly 50 sold, none oversold) every run.

Run:  .venv/bin/python -m benchmarks.purchases
      .venv/bin/python -m benchmarks.purchases --quick      (a smoke run, not a measurement)
      .venv/bin/python -m benchmarks.purchases --repeat 5 --backends postgresql,sqlite
PostgreSQL: --pg-url (default $PSS_BENCH_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres);
a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import stripe
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from benchmarks.standings import scratch_engine
from pss_core import db
from pss_core.payments.providers import Payments
from pss_core.payments.stripe_gateway import StripeProvider
from pss_core.plugins import get_plugin_manager
from pss_testing.fakestripe import FakeStripe
from pss_testing.loadtest import RaceResult, build_shop, race

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def one_round(
    engine: Engine, fake: FakeStripe, *, buyers: int, left: int, threads: int
) -> tuple[RaceResult, RaceResult]:
    pss = get_plugin_manager(load_entrypoints=False)
    payments = Payments.only(StripeProvider(api_base=fake.url, max_network_retries=2, timeout=30))
    with Session(engine, expire_on_commit=False) as s:
        contended = build_shop(s, players=buyers, secret_key=fake.api_key, quota=left)
        one_by_one = build_shop(s, players=buyers, secret_key=fake.api_key, quota=left)
        s.commit()
    raced = race(
        engine,
        pss,
        payments,
        contended,
        buyers=contended.player_ids,
        succeed=fake.succeed,
        threads=threads,
    )
    served = race(
        engine,
        pss,
        payments,
        one_by_one,
        buyers=one_by_one.player_ids,
        succeed=fake.succeed,
        threads=1,
    )
    for result, what in ((raced, "race"), (served, "sequential")):
        if result.oversold or result.completed_tickets != left:
            raise SystemExit(
                f"{what}: {result.completed_tickets} sold of {left} ({dict(result.outcomes)})"
            )
    return raced, served


def run(
    backend: str, pg_url: str, *, buyers: int, left: int, threads: int, repeat: int
) -> dict[str, Any]:
    # stripe-python's retry back-off is irrelevant against a local server that never fails.
    stripe.HTTPClient.INITIAL_DELAY = 0.01
    races, sequentials = [], []
    with FakeStripe(api_key="sk_test_bench") as fake, scratch_engine(backend, pg_url) as engine:
        db.upgrade(engine)
        one_round(engine, fake, buyers=buyers // 5, left=left // 5, threads=threads)  # warm-up
        for _ in range(repeat):
            fake.reset()
            raced, served = one_round(engine, fake, buyers=buyers, left=left, threads=threads)
            races.append(raced)
            sequentials.append(served)
    race_s = statistics.median(r.seconds for r in races)
    sequential_s = statistics.median(r.seconds for r in sequentials)
    refusals = races[-1].outcomes
    return {
        "backend": backend,
        "buyers": buyers,
        "entries_left": left,
        "threads": threads,
        "repeat": repeat,
        "race_seconds": round(race_s, 3),
        "sequential_seconds": round(sequential_s, 3),
        "race_ms_per_buyer": round(race_s * 1000 / buyers, 2),
        "sequential_ms_per_buyer": round(sequential_s * 1000 / buyers, 2),
        "race_over_sequential": round(race_s / sequential_s, 2),
        "race_outcomes": dict(sorted(refusals.items())),
        "sequential_outcomes": dict(sorted(sequentials[-1].outcomes.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.purchases", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--backends",
        default="postgresql",
        help="comma-separated: postgresql, sqlite (default postgresql)",
    )
    parser.add_argument("--pg-url", default=os.environ.get("PSS_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--buyers", type=int, default=500)
    parser.add_argument("--left", type=int, default=50, help="entries left to sell")
    parser.add_argument("--threads", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run (50 buyers for 5 entries, once): checks, does not measure",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.buyers, args.left, args.repeat = 50, 5, 1
    results = []
    for backend in args.backends.split(","):
        result = run(
            backend.strip(),
            args.pg_url,
            buyers=args.buyers,
            left=args.left,
            threads=args.threads,
            repeat=args.repeat,
        )
        results.append(result)
        print(
            f"{result['backend']:>10}: {args.buyers} buyers / {args.left} entries on "
            f"{args.threads} threads: race {result['race_seconds']:.2f} s "
            f"({result['race_ms_per_buyer']} ms per buyer) vs one after another "
            f"{result['sequential_seconds']:.2f} s "
            f"({result['sequential_ms_per_buyer']} ms per buyer): "
            f"x{result['race_over_sequential']}   {result['race_outcomes']}"
        )
        sys.stdout.flush()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
