"""What does a hall full of phones polling the standings cost? Builds an event with a HERB
tournament (players x machines, N scores), starts 1 or 2 server processes (waitress, 8 threads
each, one port each; the client spreads its connections over them as a load balancer would) and
measures over HTTP, side by side in one run:

* ``baseline``: a minimal Pyramid handler on the same stack (waitress, Pyramid, SQLAlchemy, the
  same engine settings) that runs one ``SELECT`` of the tournament's version on an autocommit
  connection and returns a constant body: the stack's own limit for a request that must ask the
  database;
* ``304``: a standings poll whose ``If-None-Match`` still matches;
* ``200 cached``: the standings JSON when the body for this version is cached (a phone that
  has no ETag yet, or the first poll after a change once one phone has asked).

At 1, 4 and 16 connections: requests per second, p50 and p99. The load generator is a Python
client (threads, one keep-alive ``http.client`` connection each) in the benchmark's process, so
it runs where CI runs (no wrk there) and costs the same CPU in every row.

Run:  .venv/bin/python -m benchmarks.reads                 (PostgreSQL)
      .venv/bin/python -m benchmarks.reads --quick         (SQLite, tiny, untimed smoke)
PostgreSQL: --pg-url (default $PSS_BENCH_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres)
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import subprocess
import sys
import threading
import time
from typing import Any

import waitress
from pyramid.config import Configurator
from pyramid.response import Response
from sqlalchemy import text

from benchmarks.standings import build, scratch_engine
from pss_core import db
from pss_web import make_app
from pss_web.readcache import read_engine

PAGE = "/events/bench/tournaments/main/"
JSON = {"Accept": "application/json"}


# --- the servers --------------------------------------------------------------------------------


def baseline_app(url: str) -> Any:
    engine = read_engine(db.make_engine(url))
    query = text("SELECT version FROM tournaments WHERE id = 1")

    def version(request: Any) -> Response:
        with engine.connect() as conn:
            conn.execute(query).scalar()
        return Response(body=b'{"ok":true}', content_type="application/json")

    with Configurator() as config:
        config.add_route("any", "/*rest")
        config.add_view(version, route_name="any")
        return config.make_wsgi_app()


def serve(url: str, kind: str) -> None:
    """In a server process: print the port, then serve until killed."""

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = baseline_app(url) if kind == "baseline" else make_app({"pss.database_url": url})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    print(server.socket.getsockname()[1], flush=True)
    server.run()


class Servers:
    def __init__(self, url: str, kind: str, count: int) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks.reads", "--serve", url, "--kind", kind],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        self.ports = [int(p.stdout.readline()) for p in self.procs]  # type: ignore[union-attr]

    def close(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(timeout=30)


# --- the client ---------------------------------------------------------------------------------


def get(conn: http.client.HTTPConnection, headers: dict[str, str]) -> tuple[int, bytes, Any]:
    conn.request("GET", PAGE, headers=headers)
    res = conn.getresponse()
    return res.status, res.read(), res.headers


def load(
    ports: list[int], headers: dict[str, str], expect: int, connections: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(connections + 1)
    stop = [0.0]
    wrong: list[int] = []

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", ports[n % len(ports)], timeout=60)
        get(conn, headers)  # connect before the clock starts
        mine = []
        ready.wait()
        while time.perf_counter() < stop[0]:
            start = time.perf_counter()
            status, _, _ = get(conn, headers)
            mine.append(time.perf_counter() - start)
            if status != expect:
                wrong.append(status)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for t in threads:
        t.start()
    stop[0] = time.perf_counter() + seconds + 60  # until everyone is connected
    ready.wait()
    begun = time.perf_counter()
    stop[0] = begun + seconds
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - begun
    assert not wrong, f"expected {expect}, got {sorted(set(wrong))}"
    latencies.sort()
    return {
        "req/s": len(latencies) / elapsed,
        "p50 ms": latencies[len(latencies) // 2] * 1000,
        "p99 ms": latencies[min(int(len(latencies) * 0.99), len(latencies) - 1)] * 1000,
    }


def run(url: str, seconds: float, connections: list[int], processes: list[int]) -> list[Any]:
    rows = []
    for count in processes:
        for kind in ("baseline", "pss"):
            servers = Servers(url, kind, count)
            try:
                cases: list[tuple[str, dict[str, str], int]]
                if kind == "baseline":
                    cases = [("baseline", JSON, 200)]
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", servers.ports[0], timeout=60)
                    status, _, headers = get(conn, JSON)
                    assert status == 200, status
                    for port in servers.ports[1:]:  # every process has rendered this version
                        get(http.client.HTTPConnection("127.0.0.1", port, timeout=60), JSON)
                    cases = [
                        ("304", {**JSON, "If-None-Match": headers["ETag"]}, 304),
                        ("200 cached", JSON, 200),
                    ]
                for name, hdrs, expect in cases:
                    for n in connections:
                        rows.append((name, count, n, load(servers.ports, hdrs, expect, n, seconds)))
            finally:
                servers.close()
    return rows


def report(rows: list[Any]) -> None:
    by = {(name, procs, conns): r for name, procs, conns, r in rows}
    print(f"\n{'case':12} {'procs':>5} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, procs, conns, r in rows:
        print(
            f"{name:12} {procs:5} {conns:5} {r['req/s']:8.0f} {r['p50 ms']:8.2f} {r['p99 ms']:8.2f}"
        )
    unloaded = by.get(("304", 1, 1))
    top = max((p for _, p, _, _ in rows), default=1)
    busiest = max((c for _, _, c, _ in rows), default=1)
    loaded = by.get(("304", top, busiest))
    cached = by.get(("200 cached", top, busiest))
    base = by.get(("baseline", top, busiest))
    if unloaded and loaded and cached and base:
        print(
            f"\n304 at {top} processes, {busiest} connections: {loaded['req/s']:.0f} req/s "
            f"(goal >= 700), {loaded['req/s'] / base['req/s']:.2f}x the baseline; "
            f"p99 {loaded['p99 ms'] / unloaded['p50 ms']:.1f}x the unloaded p50 (goal <= 10); "
            f"200 cached {cached['req/s'] / loaded['req/s']:.2f}x the 304 rate (goal >= 0.5)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default=None)
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--machines", type=int, default=40)
    parser.add_argument("--scores", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="tiny and short: a smoke, not timed")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="pss", help=argparse.SUPPRESS)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "PSS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.kind)
        return 0
    backend = args.backend or ("sqlite" if args.quick else "postgresql")
    if args.quick:
        args.players, args.machines, args.scores, args.seconds = 20, 4, 200, 0.3
    connections, processes = ([1, 4], [1, 2]) if args.quick else ([1, 4, 16], [1, 2])
    print(
        f"{backend}: {args.players} players x {args.machines} machines, {args.scores} scores; "
        f"{args.seconds:.0f}s per row; waitress with 8 threads per process on 127.0.0.1"
    )
    with open("/proc/loadavg") if os.path.exists("/proc/loadavg") else open(os.devnull) as f:
        print("load:", f.read().strip())
    with scratch_engine(backend, args.pg_url) as engine:
        db.upgrade(engine)
        build(engine, players=args.players, machines=args.machines, scores=args.scores, seed=1)
        url = engine.url.render_as_string(hide_password=False)
        rows = run(url, args.seconds, connections, processes)
    report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
