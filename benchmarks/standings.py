"""How fast are HERB standings? Builds a HERB tournament (1,000 players x 40 machines by default)
with N scores on PostgreSQL and SQLite, then times, in the same run and over the same rows:

* ``pss``: ``pss_core.standings.compute_standings``, the call the standings pages make: version
  read, format and options, the format's standings method, the machine list, the one ranking
  statement (totals, ranks, names, and each player's breakdown packed into one string), and the
  frozen ``Standings`` values with the qualifying cut marked (breakdowns are decoded on first use);
* ``+decode``: ``pss`` and then every player's breakdown read (~37,000 values at 100k scores);
* ``sql``: the best hand-written statement over the raw scores computing the same totals and
  ranks (1,000 rows, points as a CASE expression, no breakdown): the faster, run by run, of the
  planner's own join order and (SQLite only) scanning scores and fetching each entry by primary
  key (``scores CROSS JOIN entries``); its totals and ranks are checked against pss's. pss reads
  the ``best_scores`` table kept with every score instead (one row per player and machine, plus
  one per game that PAPA-style standings rank), so at 1M scores it reads ~40,000 best rows where
  the baseline groups a million;
* ``sql+breakdown``: the same hand-tuned statement also returning the packed breakdowns, as raw
  rows: the same output as pss's statement.

Reported: medians and best runs, and the ratios pss/sql, pss/sql+breakdown and +decode/sql.
Figures are recorded in docs/benchmarks.rst.

Run:  .venv/bin/python -m benchmarks.standings                  (10k and 100k scores, both backends)
      .venv/bin/python -m benchmarks.standings --quick          (CI smoke: tiny, SQLite, untimed)
      .venv/bin/python -m benchmarks.standings --sizes 10000,100000,1000000
      .venv/bin/python -m benchmarks.standings --backends sqlite --repeat 9
PostgreSQL: --pg-url (default $PSS_BENCH_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres);
a scratch database is created and dropped for each size.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pss_core import db
from pss_core.models import (
    Entry,
    Event,
    EventPlayer,
    Machine,
    Player,
    Score,
    Tournament,
    TournamentMachine,
    User,
)
from pss_core.plugins import get_plugin_manager
from pss_core.services import best_scores
from pss_core.standings import compute_standings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 20_000


def hand_tuned_sql(dialect: str, *, breakdown: bool, scan_scores: bool = False) -> str:
    """HERB totals and ranks (PAPA curve, best 4 machines) the way one would write them by hand;
    with ``breakdown``, also every machine's best score and rank packed per player, which is
    what pss's query returns. With ``scan_scores`` (SQLite), the join order is fixed: every
    score scanned and its entry fetched by primary key."""
    join = "CROSS JOIN entries e" if scan_scores else "JOIN entries e ON e.id = s.entry_id"
    floor = "GREATEST(88 - place, 0)" if dialect == "postgresql" else "MAX(88 - place, 0)"
    points = f"CASE place WHEN 1 THEN 100 WHEN 2 THEN 90 WHEN 3 THEN 85 ELSE {floor} END"
    head = f"""
WITH best AS (
    SELECT e.player_id, s.tournament_machine_id AS machine_id, MAX(s.score) AS score
    FROM scores s
    {join}
    JOIN tournament_machines tm ON tm.id = s.tournament_machine_id
    WHERE e.id = s.entry_id
      AND e.tournament_id = :tid AND e.status = 'complete' AND tm.status <> 'removed'
    GROUP BY e.player_id, s.tournament_machine_id
), placed AS (
    SELECT player_id, machine_id, score,
           RANK() OVER (PARTITION BY machine_id ORDER BY score DESC) AS place
    FROM best
), pointed AS (
    SELECT player_id, machine_id, score, place, {points} AS pts FROM placed
), picked AS (
    SELECT player_id, machine_id, score, place, pts,
           ROW_NUMBER() OVER (PARTITION BY player_id ORDER BY pts DESC, machine_id) AS pick
    FROM pointed
)"""
    if not breakdown:
        # Only the counted rows reach the grouping: the cheapest way to the totals.
        return (
            head
            + """
SELECT player_id, SUM(pts) AS total, RANK() OVER (ORDER BY SUM(pts) DESC) AS standing
FROM picked WHERE pick <= :n GROUP BY player_id"""
        )
    agg = "string_agg" if dialect == "postgresql" else "group_concat"
    return (
        head
        + f"""
SELECT player_id, SUM(CASE WHEN pick <= :n THEN pts ELSE 0 END) AS total,
       RANK() OVER (ORDER BY SUM(CASE WHEN pick <= :n THEN pts ELSE 0 END) DESC) AS standing,
       {agg}(machine_id || ':' || score || ':' || place, ',') AS machines
FROM picked GROUP BY player_id"""
    )


# --- building the tournament ----------------------------------------------------------------


def build(engine: Engine, *, players: int, machines: int, scores: int, seed: int) -> int:
    """Write one event with a HERB tournament and ``scores`` games; returns the tournament id."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            User.__table__.insert(),
            [{"id": 1, "username": "bench", "is_event_owner": True, "created_at": now}],
        )
        conn.execute(
            Event.__table__.insert(),
            [{"id": 1, "slug": "bench", "name": "Bench Open", "owner_id": 1, "created_at": now}],
        )
        conn.execute(
            Tournament.__table__.insert(),
            [
                {
                    "id": 1,
                    "event_id": 1,
                    "slug": "main",
                    "name": "Main",
                    "format": "herb",
                    "format_options": {
                        "machines_counted": 4,
                        "points_curve": "papa",
                        "replay_same_machine": True,
                    },
                    "qualifying_cut": 24,
                    "version": scores,
                    "created_at": now,
                }
            ],
        )
        conn.execute(
            Machine.__table__.insert(),
            [
                {"id": m, "name": f"Machine {m:02d}", "abbreviation": f"M{m:02d}"}
                for m in range(1, machines + 1)
            ],
        )
        conn.execute(
            TournamentMachine.__table__.insert(),
            [
                {"id": m, "event_id": 1, "tournament_id": 1, "machine_id": m, "status": "active"}
                for m in range(1, machines + 1)
            ],
        )
        conn.execute(
            Player.__table__.insert(),
            [
                {"id": p, "first_name": f"Player{p:04d}", "last_name": "", "created_at": now}
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
                    "created_at": now,
                }
                for p in range(1, players + 1)
            ],
        )
        # A machine's scores live on its own scale, as on real games.
        scale = {m: rng.choice((10**6, 10**7, 10**8, 10**9)) for m in range(1, machines + 1)}
        for start in range(1, scores + 1, BATCH):
            ids = range(start, min(start + BATCH, scores + 1))
            owners = [rng.randint(1, players) for _ in ids]
            on = [rng.randint(1, machines) for _ in ids]
            conn.execute(
                Entry.__table__.insert(),
                [
                    {
                        "id": i,
                        "event_id": 1,
                        "tournament_id": 1,
                        "player_id": p,
                        "status": "complete",
                        "games_allowed": 1,
                        "created_at": now,
                    }
                    for i, p in zip(ids, owners, strict=True)
                ],
            )
            conn.execute(
                Score.__table__.insert(),
                [
                    {
                        "id": i,
                        "event_id": 1,
                        "entry_id": i,
                        "tournament_machine_id": m,
                        "score": rng.randint(1, 10) * scale[m] + rng.randint(0, scale[m]),
                        "recorded_at": now,
                    }
                    for i, m in zip(ids, on, strict=True)
                ],
            )
    with Session(engine) as session:
        # What the services keep score by score, worked out in one pass after the bulk load.
        best_scores.rebuild(session, [1])
        session.commit()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return 1


@contextmanager
def scratch_engine(backend: str, pg_url: str) -> Iterator[Engine]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = db.make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    server = make_url(pg_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    admin = db.make_engine(
        server.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    name = f"pss_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = db.make_engine(server.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- timing ---------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(engine: Engine, tournament_id: int, repeat: int) -> dict[str, Any]:
    pss = get_plugin_manager(load_entrypoints=False)
    dialect = engine.dialect.name
    totals_sql = text(hand_tuned_sql(dialect, breakdown=False))
    breakdown_sql = text(hand_tuned_sql(dialect, breakdown=True))
    params = {"tid": tournament_id, "n": 4}

    # Each run gets a session with a connection checked out and the tournament loaded (as a
    # web request has them); only the computation itself is timed.
    def run_pss(session: Session, tournament: Tournament) -> Any:
        return compute_standings(session, pss, tournament)

    def run_pss_decoded(session: Session, tournament: Tournament) -> Any:
        standings = compute_standings(session, pss, tournament)
        for row in standings:
            tuple(row.machines)
        return standings

    def run_sql(statement: Any) -> Callable[[Session, Tournament], Any]:
        def run(session: Session, tournament: Tournament) -> Any:
            return session.execute(statement, params).all()

        return run

    jobs = {
        "pss": run_pss,
        "pss+decode": run_pss_decoded,
        "sql": run_sql(totals_sql),
        "sql+breakdown": run_sql(breakdown_sql),
    }
    if dialect == "sqlite":
        jobs["sql-scan"] = run_sql(text(hand_tuned_sql(dialect, breakdown=False, scan_scores=True)))
        jobs["sql+breakdown-scan"] = run_sql(
            text(hand_tuned_sql(dialect, breakdown=True, scan_scores=True))
        )
    runs: dict[str, list[float]] = {name: [] for name in jobs}
    results: dict[str, Any] = {}

    def once(job: Callable[[Session, Tournament], Any]) -> tuple[float, Any]:
        with Session(engine) as session:
            tournament = session.get(Tournament, tournament_id)
            assert tournament is not None
            return timed(lambda: job(session, tournament))

    for name, job in jobs.items():  # warm the caches once
        results[name] = once(job)[1]
    for _ in range(repeat):  # interleaved, so drift hits every contender alike
        for name, job in jobs.items():
            runs[name].append(once(job)[0])
    for name in ("sql", "sql+breakdown"):
        # The best hand-written query: the faster join order, run by run.
        if f"{name}-scan" in runs:
            runs[name] = [
                min(a, b) for a, b in zip(runs[name], runs.pop(f"{name}-scan"), strict=True)
            ]
    standings = results["pss+decode"]
    by_player = {row.competitor.id: (row.rank, row.points) for row in standings}
    hand = {player_id: (int(standing), int(total)) for player_id, total, standing in results["sql"]}
    if by_player != hand:
        raise SystemExit("pss and the hand-tuned query disagree — the benchmark is void")
    return {
        "owners": len(standings),
        "breakdown_rows": sum(len(row.machines) for row in standings),
        "median": {name: statistics.median(times) for name, times in runs.items()},
        "best": {name: min(times) for name, times in runs.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="scores per run, comma separated (add 1000000 for the big one)",
    )
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--machines", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--pg-url", default=os.environ.get("PSS_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a CI smoke: 2,000 scores, 50 players, 8 machines, SQLite, 1 run (not timed)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat, args.players, args.machines = "2000", 1, 50, 8
        args.backends = "sqlite"
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(
        f"HERB, {args.players} players x {args.machines} machines, best 4 count, PAPA curve; "
        f"median of {args.repeat} runs"
    )
    header = (
        f"{'backend':<11}{'scores':>8}{'build s':>8}{'results':>8}  {'stat':<6}"
        f"{'pss ms':>8}{'+decode':>8}{'sql ms':>8}{'sql+bd':>8}{'pss/sql':>8}"
        f"{'pss/sql+bd':>11}{'+decode/sql':>12}"
    )
    print(header)
    for backend in args.backends.split(","):
        for size in sizes:
            with scratch_engine(backend, args.pg_url) as engine:
                db.upgrade(engine)
                built, tid = timed(
                    lambda e=engine, n=size: build(
                        e, players=args.players, machines=args.machines, scores=n, seed=args.seed
                    )
                )
                m = measure(engine, tid, args.repeat)
            for stat in ("median", "best"):
                t = m[stat]
                lead = (
                    f"{backend:<11}{size:>8}{built:>8.1f}{m['breakdown_rows']:>8}"
                    if stat == "median"
                    else " " * 35
                )
                print(
                    f"{lead}  {stat:<6}{t['pss'] * 1000:>8.1f}{t['pss+decode'] * 1000:>8.1f}"
                    f"{t['sql'] * 1000:>8.1f}{t['sql+breakdown'] * 1000:>8.1f}"
                    f"{t['pss'] / t['sql']:>8.2f}{t['pss'] / t['sql+breakdown']:>11.2f}"
                    f"{t['pss+decode'] / t['sql']:>12.2f}"
                )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
