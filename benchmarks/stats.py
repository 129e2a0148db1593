"""How fast is the statistics page? Builds one event with N scores (each with its game's start
and score in the audit log, a tenth of them after a queue wait) and M purchases (desk, online and
comp, spread over three days and two desk workers, some refunded), then times side by side:

* ``pss``: ``pss_core.stats.event_stats``, every figure the page shows (11 grouped queries);
* ``sql``: the same figures as hand-written SQL statements, the baseline;
* ``page``: ``GET /events/bench/stats/`` through the whole web app as the tournament director
  (login, traversal, the queries, charts and template), as HTML.

Run:  .venv/bin/python -m benchmarks.stats              (100k scores, 20k purchases, both backends)
      .venv/bin/python -m benchmarks.stats --quick      (a smoke run: 2,000 and 400, SQLite)
      .venv/bin/python -m benchmarks.stats --backends postgresql --repeat 9
PostgreSQL: --pg-url (default $PSS_BENCH_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres);
a scratch database is created and dropped. Figures are recorded in docs/benchmarks.rst.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from webtest import TestApp

from benchmarks.standings import DEFAULT_PG, scratch_engine, timed
from pss_core import db, stats
from pss_core.models import (
    AuditLog,
    Entry,
    Event,
    EventPlayer,
    EventUser,
    EventUserRole,
    Machine,
    Player,
    Purchase,
    Refund,
    Score,
    Tournament,
    TournamentMachine,
    User,
)
from pss_core.plugins import get_plugin_manager
from pss_core.security import hash_secret
from pss_testing.web import JSON, post_json
from pss_web import make_app

BATCH = 20_000
T0 = datetime(2030, 6, 5, 9, 0, tzinfo=UTC)
PASSWORD = "bench-pass-123"


def build(
    engine: Engine,
    *,
    scores: int,
    purchases: int,
    players: int = 1000,
    machines: int = 40,
    seed: int = 7,
) -> None:
    rng = random.Random(seed)
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            User.__table__.insert(),
            [
                {
                    "id": i,
                    "username": name,
                    "full_name": name.title(),
                    "is_event_owner": i == 1,
                    "created_at": T0,
                }
                for i, name in ((1, "bench"), (2, "desk1"), (3, "desk2"))
            ],
        )
        conn.execute(
            Event.__table__.insert(),
            [{"id": 1, "slug": "bench", "name": "Bench Open", "owner_id": 1, "created_at": T0}],
        )
        conn.execute(
            EventUser.__table__.insert(),
            [
                {
                    "id": i,
                    "event_id": 1,
                    "user_id": i,
                    "password_hash": hash_secret(PASSWORD),
                    "created_at": T0,
                }
                for i in (1, 2, 3)
            ],
        )
        conn.execute(
            EventUserRole.__table__.insert(),
            [
                {"id": 1, "event_user_id": 1, "role": "td"},
                {"id": 2, "event_user_id": 2, "role": "desk"},
                {"id": 3, "event_user_id": 3, "role": "desk"},
            ],
        )
        conn.execute(
            Tournament.__table__.insert(),
            [
                {
                    "id": t,
                    "event_id": 1,
                    "slug": f"t{t}",
                    "name": f"Tournament {t}",
                    "format": "herb",
                    "format_options": {},
                    "version": 1,
                    "created_at": T0,
                }
                for t in (1, 2)
            ],
        )
        conn.execute(
            Machine.__table__.insert(),
            [{"id": m, "name": f"Machine {m:02d}"} for m in range(1, machines + 1)],
        )
        conn.execute(
            TournamentMachine.__table__.insert(),
            [
                {
                    "id": m,
                    "event_id": 1,
                    "tournament_id": 1 + m % 2,
                    "machine_id": m,
                    "status": "active",
                }
                for m in range(1, machines + 1)
            ],
        )
        conn.execute(
            Player.__table__.insert(),
            [
                {"id": p, "first_name": f"P{p}", "last_name": "X", "created_at": T0}
                for p in range(1, players + 1)
            ],
        )
        conn.execute(
            EventPlayer.__table__.insert(),
            [
                {
                    "id": p,
                    "event_id": 1,
                    "player_id": p,
                    "number": 100 + p,
                    "pin_hash": "-",
                    "offences": 0,
                    "created_at": T0,
                }
                for p in range(1, players + 1)
            ],
        )
        for start in range(1, purchases + 1, BATCH):
            ids = range(start, min(start + BATCH, purchases + 1))
            rows, refunds = [], []
            for i in ids:
                channel = rng.choice(("desk", "desk", "online", "comp"))
                amount = 0 if channel == "comp" else rng.choice((300, 800))
                at = T0 + timedelta(minutes=rng.randint(0, 3 * 24 * 60))
                refunded = amount if channel == "desk" and rng.random() < 0.03 else 0
                rows.append(
                    {
                        "id": i,
                        "event_id": 1,
                        "player_id": rng.randint(1, players),
                        "tournament_id": rng.choice((1, 2)),
                        "tickets": 1 + (amount > 300) * 2,
                        "amount_cents": amount,
                        "breakdown": {},
                        "channel": channel,
                        "status": "refunded" if refunded else "completed",
                        "refunded_cents": refunded,
                        "sold_by_id": rng.choice((2, 3)) if channel != "online" else None,
                        "created_at": at,
                        "completed_at": at,
                    }
                )
                if refunded:
                    refunds.append(
                        {
                            "purchase_id": i,
                            "amount_cents": refunded,
                            "tokens": 1,
                            "channel": "desk",
                            "reason": "",
                            "created_at": at,
                            "refunded_by_id": rng.choice((2, 3)),
                        }
                    )
            conn.execute(Purchase.__table__.insert(), rows)
            if refunds:
                conn.execute(Refund.__table__.insert(), refunds)
        for start in range(1, scores + 1, BATCH):
            ids = range(start, min(start + BATCH, scores + 1))
            entries, score_rows, audit = [], [], []
            for i in ids:
                p, m = rng.randint(1, players), rng.randint(1, machines)
                began = T0 + timedelta(minutes=rng.randint(0, 3 * 24 * 60))
                ended = began + timedelta(seconds=rng.randint(120, 1500))
                entries.append(
                    {
                        "id": i,
                        "event_id": 1,
                        "tournament_id": 1 + m % 2,
                        "player_id": p,
                        "status": "complete",
                        "games_allowed": 1,
                        "created_at": began,
                    }
                )
                score_rows.append(
                    {
                        "id": i,
                        "event_id": 1,
                        "entry_id": i,
                        "tournament_machine_id": m,
                        "score": rng.randint(1, 10**9),
                        "recorded_at": ended,
                    }
                )
                common = {
                    "event_id": 1,
                    "actor": "sk",
                    "subject_type": "TournamentMachine",
                    "subject_id": m,
                    "player_id": p,
                }
                if rng.random() < 0.1:
                    audit.append(
                        {
                            "action": "queue.join",
                            "details": {},
                            "created_at": began - timedelta(minutes=rng.randint(1, 20)),
                            **common,
                        }
                    )
                audit.append({"action": "game.start", "details": {}, "created_at": began, **common})
                audit.append({"action": "game.score", "details": {}, "created_at": ended, **common})
            conn.execute(Entry.__table__.insert(), entries)
            conn.execute(Score.__table__.insert(), score_rows)
            conn.execute(AuditLog.__table__.insert(), audit)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def baseline(dialect: str) -> list[str]:
    """The page's figures as one would write them by hand."""
    pg = dialect == "postgresql"

    def hour(col: str, fmt: str) -> str:
        if pg:
            return f"to_char({col} AT TIME ZONE 'UTC', '{fmt[0]}')"
        return f"strftime('{fmt[1]}', {col})"

    secs = (
        "EXTRACT(EPOCH FROM created_at - prev_at)"
        if pg
        else "(julianday(created_at) - julianday(prev_at)) * 86400.0"
    )
    sold = "p.event_id = :e AND p.status IN ('completed', 'refunded')"
    pairs = """SELECT subject_id, action, created_at,
                      LAG(action) OVER (PARTITION BY {part} ORDER BY id) AS prev_action,
                      LAG(created_at) OVER (PARTITION BY {part} ORDER BY id) AS prev_at
               FROM audit_log WHERE event_id = :e AND action IN ({actions})"""
    return [
        f"""SELECT COALESCE(t.name, m.name), COUNT(*), SUM(p.tickets), SUM(p.amount_cents),
                   SUM(p.refunded_cents) FROM purchases p
            LEFT JOIN tournaments t ON t.id = p.tournament_id
            LEFT JOIN metatournaments m ON m.id = p.metatournament_id
            WHERE {sold} GROUP BY COALESCE(t.name, m.name)""",
        f"""SELECT channel, COUNT(*), SUM(tickets), SUM(amount_cents), SUM(refunded_cents)
            FROM purchases p WHERE {sold} GROUP BY channel""",
        f"""SELECT {hour("created_at", ("YYYY-MM-DD", "%Y-%m-%d"))} AS d, COUNT(*),
                   SUM(tickets), SUM(amount_cents) FROM purchases p WHERE {sold} GROUP BY d""",
        f"""SELECT {hour("created_at", ("YYYY-MM-DD HH24:00", "%Y-%m-%d %H:00"))} AS h,
                   COUNT(*), SUM(tickets), SUM(amount_cents)
            FROM purchases p WHERE {sold} GROUP BY h""",
        f"""SELECT sold_by_id, COUNT(*), SUM(amount_cents) FROM purchases p
            WHERE {sold} AND channel = 'desk' GROUP BY sold_by_id""",
        """SELECT r.refunded_by_id, SUM(r.amount_cents) FROM refunds r
           JOIN purchases p ON p.id = r.purchase_id
           WHERE p.event_id = :e AND r.channel = 'desk' GROUP BY r.refunded_by_id""",
        """SELECT r.channel, COUNT(*), SUM(r.tokens), SUM(r.amount_cents) FROM refunds r
           JOIN purchases p ON p.id = r.purchase_id WHERE p.event_id = :e GROUP BY r.channel""",
        """SELECT pr.name, COUNT(u.id) FROM price_restrictions pr
           JOIN restriction_uses u ON u.restriction_id = pr.id
           WHERE pr.event_id = :e GROUP BY pr.id, pr.name""",
        """SELECT t.name, m.name, COUNT(*) FROM scores s
           JOIN tournament_machines tm ON tm.id = s.tournament_machine_id
           JOIN machines m ON m.id = tm.machine_id JOIN tournaments t ON t.id = tm.tournament_id
           WHERE s.event_id = :e GROUP BY t.name, m.name""",
        f"""SELECT subject_id, COUNT(*), AVG({secs}) FROM ({
            pairs.format(
                part="subject_type, subject_id",
                actions="'game.start', 'game.score', 'game.void', 'game.misconduct', 'game.remove'",
            )
        }) x
            WHERE action = 'game.score' AND prev_action = 'game.start' GROUP BY subject_id""",
        f"""SELECT subject_id, COUNT(*), AVG({secs}), MAX({secs}) FROM ({
            pairs.format(
                part="player_id",
                actions="'queue.join', 'queue.insert', 'queue.leave', 'queue.clear', 'game.start'",
            )
        }) x
            WHERE action = 'game.start' AND prev_action IN ('queue.join', 'queue.insert')
            GROUP BY subject_id""",
        f"""SELECT {hour("recorded_at", ("HH24:00", "%H:00"))} AS h, COUNT(*) FROM scores
            WHERE event_id = :e GROUP BY h""",
        f"""SELECT {hour("created_at", ("HH24:00", "%H:00"))} AS h, COUNT(*) FROM purchases p
            WHERE {sold} GROUP BY h""",
    ]


def measure(engine: Engine, repeat: int) -> dict[str, Any]:
    statements = [text(s) for s in baseline(engine.dialect.name)]
    app = TestApp(
        make_app({"pss.engine": engine, "pss.plugins": get_plugin_manager(load_entrypoints=False)})
    )
    post_json(app, "/events/bench/login", {"username": "bench", "password": PASSWORD})
    assert app.get("/events/bench/stats/", headers=JSON).json["tables"]

    def run_pss() -> Any:
        with Session(engine) as session:
            return stats.event_stats(session, 1)

    def run_sql() -> Any:
        with Session(engine) as session:
            return [session.execute(s, {"e": 1}).all() for s in statements]

    def run_page() -> Any:
        return app.get("/events/bench/stats/").status_int

    jobs = {"pss": run_pss, "sql": run_sql, "page": run_page}
    for job in jobs.values():
        job()
    runs: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, job in jobs.items():
            runs[name].append(timed(job)[0])
    figures = run_pss()
    if sum(r[2] for r in figures["games_per_machine"].rows) != sum(n for _t, _m, n in run_sql()[8]):
        raise SystemExit("pss and the hand-written queries disagree: the benchmark is void")
    return {
        "median": {n: statistics.median(t) for n, t in runs.items()},
        "best": {n: min(t) for n, t in runs.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stats", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--scores", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-url", default=os.environ.get("PSS_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 2,000 scores, 400 purchases, SQLite, 2 repeats",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.scores, args.purchases, args.backends, args.repeat = 2000, 400, "sqlite", 2
    print(
        f"{'backend':10} {'scores':>8} {'purchases':>9}   {'pss':>8} {'sql':>8} {'page':>8}"
        f"   pss/sql  (median seconds)"
    )
    for backend in args.backends.split(","):
        with scratch_engine(backend, args.pg_url) as engine:
            build(engine, scores=args.scores, purchases=args.purchases)
            result = measure(engine, args.repeat)
        med = result["median"]
        print(
            f"{backend:10} {args.scores:>8,} {args.purchases:>9,}   {med['pss']:8.3f} "
            f"{med['sql']:8.3f} {med['page']:8.3f}   {med['pss'] / med['sql']:6.2f}"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
