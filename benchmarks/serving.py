"""Which multi-process server for production? The same app on the same PostgreSQL demo event,
served in turn (interleaved, ``--repeat`` rounds) by:

* ``waitress x1``: ``pss serve`` as it always was, one process, 8 threads;
* ``waitress xN``: ``pss serve --workers N``, N processes with 8 threads each on one socket;
* ``gunicorn xN``: gunicorn's threaded workers (``-k gthread``), N processes with 8 threads each;

and loaded with wrk at ``--connections`` keep-alive connections for ``--seconds`` per URL: a
standings JSON (a full page of the app) and ``/api/csrf`` (the smallest answer: what the server
itself costs). Reported: requests per second and wrk's p50 / p99 latency, medians over the
rounds. wrk runs on the same machine, so it takes its share of the cores too.

Run:  .venv/bin/python -m benchmarks.serving            (needs wrk and gunicorn installed)
      .venv/bin/python -m benchmarks.serving --quick    (a smoke run: waitress only, no wrk)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.standings import scratch_engine
from pss_core import db
from pss_core.demo import create_demo
from pss_core.plugins import default_pss

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
URLS = {
    "standings": "/events/demo/tournaments/main/",
    "csrf": "/api/csrf",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pss_script() -> list[str]:
    script = Path(sys.executable).with_name("pss")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pss_core.cli"]


def command(kind: str, workers: int, url: str, port: int) -> list[str]:
    if kind == "waitress":
        return [*pss_script(), "--db", url, "serve", "--port", str(port), "--workers", str(workers)]
    settings = {"pss.database_url": url}
    return [
        str(Path(sys.executable).with_name("gunicorn")),
        "-k",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        "8",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        f"pss_web:make_app({settings!r})",
    ]


@contextmanager
def server(kind: str, workers: int, url: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        command(kind, workers, url, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{kind} x{workers} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(base + URLS["standings"], timeout=5) as r:  # noqa: S310  127.0.0.1
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{kind} x{workers} did not answer")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=60)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, *, connections: int, seconds: int) -> dict[str, float]:
    done = subprocess.run(
        [
            shutil.which("wrk") or "wrk",
            "--latency",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "-H",
            "Accept: application/json",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+([\d.]+(?:us|ms|s|m))", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+([\d.]+(?:us|ms|s|m))", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    return {"rps": rate, "p50_ms": p50, "p99_ms": p99}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.serving", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--pg-url", default=os.environ.get("PSS_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    servers = [("waitress", 1), ("waitress", args.workers), ("gunicorn", args.workers)]
    if args.quick:
        servers = [("waitress", args.workers)]
    elif shutil.which("wrk") is None:
        raise SystemExit("benchmarks.serving needs wrk (apt-get install wrk)")
    results: dict[tuple[str, int, str], list[dict[str, float]]] = {}
    with scratch_engine("postgresql", args.pg_url) as engine:
        db.upgrade(engine)
        with db.session_scope(engine) as session:
            create_demo(session, default_pss(), play=True)
        url = engine.url.render_as_string(hide_password=False)
        engine.dispose()
        for _ in range(1 if args.quick else args.repeat):
            for kind, workers in servers:
                with server(kind, workers, url) as base:
                    for name, path in URLS.items():
                        if args.quick:
                            with urllib.request.urlopen(base + path, timeout=30) as r:  # noqa: S310  127.0.0.1
                                assert r.status == 200
                            continue
                        got = wrk(base + path, connections=args.connections, seconds=args.seconds)
                        results.setdefault((kind, workers, name), []).append(got)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows: list[dict[str, Any]] = []
    for (kind, workers, name), runs in results.items():
        row = {
            "server": f"{kind} x{workers}",
            "url": name,
            **{k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]},
        }
        rows.append(row)
        print(
            f"{row['server']:>12} {name:>9}: {row['rps']:8.1f} req/s  "
            f"p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
        )
    print(f"load average after the run: {load}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
