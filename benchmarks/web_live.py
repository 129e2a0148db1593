"""What does keeping a standings page or a TV fresh cost? Builds an event with a HERB tournament
(players x machines, N scores, one audit row per score as the game services write them), serves
the real app with waitress on 127.0.0.1, and measures over HTTP:

* ``200 cold``: the standings page rendered with the standings cache emptied first;
* ``200 warm``: the same page when the standings cache holds this version (what a poller gets
  right after a change, once one client has asked);
* ``304``: a poll with ``If-None-Match`` while nothing changed: traversal, the fingerprint query
  and the login check, no standings, no template;
* ``json 200 warm``: the JSON twin;
* ``fingerprint``: the fingerprint query alone, in-process;
* ``polling``: C clients polling as fast as they can for a few seconds (mostly 304s): requests per
  second the server sustains and the latency they see.

Run:  .venv/bin/python -m benchmarks.web_live                      (SQLite and PostgreSQL)
      .venv/bin/python -m benchmarks.web_live --backends sqlite --scores 100000 --clients 16
PostgreSQL: --pg-url (default $PSS_BENCH_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres)
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import waitress
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from benchmarks.standings import build, scratch_engine
from pss_core import db
from pss_core.models import AuditLog
from pss_web import make_app
from pss_web.live import event_version

PAGE = "/events/bench/tournaments/main/"


def add_audit_rows(engine: Engine, count: int) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for start in range(0, count, 5000):
            conn.execute(
                insert(AuditLog),
                [
                    {
                        "event_id": 1,
                        "actor": "bench",
                        "action": "game.score",
                        "subject_type": "Score",
                        "subject_id": i,
                        "details": {},
                        "created_at": now,
                    }
                    for i in range(start, min(start + 5000, count))
                ],
            )


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
        self.conn.request("GET", path, headers=headers or {})
        res = self.conn.getresponse()
        body = res.read()
        return res.status, body, res.headers


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, result


def poll_load(port: int, etag: str, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker() -> None:
        client = Client(port)
        mine: list[float] = []
        codes: dict[int, int] = {}
        while time.perf_counter() < stop:
            start = time.perf_counter()
            status, _, _ = client.get(PAGE, {"If-None-Match": etag})
            mine.append(time.perf_counter() - start)
            codes[status] = codes.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "requests/s": len(latencies) / seconds,
        "p50 ms": latencies[len(latencies) // 2] * 1000,
        "p95 ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "share 304": statuses.get(304, 0) / max(len(latencies), 1),
    }


def measure(engine: Engine, *, repeat: int, clients: int, seconds: float) -> dict[str, Any]:
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" at load

    app = make_app({"pss.engine": engine})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    port = server.socket.getsockname()[1]
    # A daemon thread: the server lives until the benchmark exits (closing its socket under
    # the running loop only makes noise).
    threading.Thread(target=server.run, daemon=True).start()
    client = Client(port)
    cache = app.registry["pss.standings_cache"]

    def cold() -> tuple[int, bytes, Any]:
        cache.clear()
        return client.get(PAGE)

    cold_ms, (status, _, headers) = timed(cold, repeat)
    assert status == 200, status
    etag = headers["ETag"]
    warm_ms, (_, warm_body, _) = timed(lambda: client.get(PAGE), repeat)
    not_modified_ms, (status304, body304, _) = timed(
        lambda: client.get(PAGE, {"If-None-Match": etag}), repeat
    )
    assert status304 == 304, status304
    json_ms, (_, json_body, _) = timed(
        lambda: client.get(PAGE, {"Accept": "application/json"}), repeat
    )
    with Session(engine) as session:
        fingerprint_ms, _ = timed(lambda: event_version(session, 1), repeat * 5)
    load = poll_load(port, etag, clients, seconds)
    return {
        "200 cold ms": cold_ms,
        "200 warm ms": warm_ms,
        "304 ms": not_modified_ms,
        "json 200 warm ms": json_ms,
        "fingerprint ms": fingerprint_ms,
        "html bytes": len(warm_body),
        "json bytes": len(json_body),
        "304 bytes": len(body304),
        **{f"polling {k}": v for k, v in load.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--players", type=int, default=400)
    parser.add_argument("--machines", type=int, default=20)
    parser.add_argument("--scores", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "PSS_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args(argv)
    print(
        f"{args.players} players x {args.machines} machines, {args.scores} scores and as many "
        f"audit rows; {args.clients} polling clients for {args.seconds:.0f}s; waitress with 8 "
        "threads on 127.0.0.1"
    )
    for backend in args.backends.split(","):
        with scratch_engine(backend, args.pg_url) as engine:
            db.upgrade(engine)
            build(engine, players=args.players, machines=args.machines, scores=args.scores, seed=1)
            add_audit_rows(engine, args.scores)
            result = measure(engine, repeat=args.repeat, clients=args.clients, seconds=args.seconds)
        print(f"\n{backend}")
        for key, value in result.items():
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            print(f"  {key:28} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
