"""What does recording a score cost, against what the stack and the database can do? Measured in
the same run on one scratch PostgreSQL database, each machine a client thread with its own
keep-alive HTTP connection, each game one start and one score:

* ``pss``: ``POST /events/bench/machines/<id>/start`` then ``.../score`` through the real app
  (login cookie, CSRF, traversal, ACL, the game services, audit rows, the answer's JSON), served
  by waitress;
* ``minimal``: the same two requests on the same stack (Pyramid + SQLAlchemy + psycopg2 +
  waitress, the same engine settings) doing only the essential writes: start = lock the machine,
  take an unused token, put it on the machine; score = lock the machine, insert the score, use
  the token, free the machine. The stack's own limit;
* ``pgbench``: TPC-B (``pgbench -i -s 1``, then ``-T``) on a throwaway database of its own, with
  1 and 16 clients: what the database does at all.

At 1 and 16 concurrent machines: games per second (each a start and a score) and the score
request's p50 / p99. Goals: pss >= 50% of the minimal handler's games/s; at 16 machines pss's
score p99 <= 5x its own single-machine p50. Every run checks that each game left one score and
one used token.

Run:  .venv/bin/python -m benchmarks.writes
      .venv/bin/python -m benchmarks.writes --seconds 20 --clients 1,16
      .venv/bin/python -m benchmarks.writes --quick          (smoke: a few games, no timing)
PostgreSQL: --pg-url (default $PSS_BENCH_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/postgres);
scratch databases are created and dropped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import waitress
from pyramid.config import Configurator
from pyramid.response import Response
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.standings import build, scratch_engine
from pss_core import db
from pss_core.models import Event, Score, Token, TournamentMachine
from pss_core.plugins import get_plugin_manager
from pss_core.services import setup
from pss_web import make_app

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-pass-123"
THREADS = 16  # waitress threads, the same for both apps


# --- the event ---------------------------------------------------------------------------------


def prepare(engine: Engine, *, machines: int, games: int) -> None:
    """The bench event (HERB, ``machines`` machines, one player per machine with ``games``
    paid tokens) and a scorekeeper."""

    build(engine, players=machines, machines=machines, scores=0, seed=1)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        # build() writes its ids itself: move the sequences past them.
        for table in (
            "users",
            "events",
            "tournaments",
            "machines",
            "tournament_machines",
            "players",
            "event_players",
        ):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        conn.execute(
            insert(Token),
            [
                {
                    "event_id": 1,
                    "player_id": p,
                    "tournament_id": 1,
                    "comped": True,
                    "paid_at": now,
                    "created_at": now,
                }
                for p in range(1, machines + 1)
                for _ in range(games)
            ],
        )
    with Session(engine) as s:
        event = s.get(Event, 1)
        assert event is not None
        setup.add_event_user(s, event, "keeper", PASSWORD, ["scorekeeper"])
        s.commit()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


# --- the minimal handler -------------------------------------------------------------------------


def minimal_app(engine: Engine) -> Any:
    """Pyramid + SQLAlchemy, a session per request, only the writes a game must make."""

    factory = sessionmaker(bind=engine, expire_on_commit=False)

    @contextmanager
    def transaction() -> Iterator[Session]:
        with factory() as s, s.begin():
            yield s

    def locked_machine(s: Session, machine_id: int) -> Any:
        return s.execute(
            text("SELECT id, token_id FROM tournament_machines WHERE id = :m FOR NO KEY UPDATE"),
            {"m": machine_id},
        ).one()

    def start(request: Any) -> Response:
        machine_id = int(request.matchdict["id"])
        number = int(request.json_body["player"])
        with transaction() as s:
            if locked_machine(s, machine_id).token_id is not None:
                return Response(json={"error": "machine_busy"}, status=409)
            player_id, token_id = s.execute(
                text(
                    "SELECT p.id, t.id FROM event_players p JOIN tokens t ON t.player_id = p.id "
                    "WHERE p.event_id = 1 AND p.number = :n AND t.used_at IS NULL "
                    "AND t.id NOT IN (SELECT token_id FROM tournament_machines "
                    "WHERE token_id IS NOT NULL) ORDER BY t.id LIMIT 1"
                ),
                {"n": number},
            ).one()
            entry_id = s.execute(
                text(
                    "INSERT INTO entries (event_id, tournament_id, player_id, status, "
                    "games_allowed, created_at) VALUES (1, 1, :p, 'open', 1, now()) "
                    "RETURNING id"
                ),
                {"p": player_id},
            ).scalar_one()
            s.execute(
                text("UPDATE tokens SET entry_id = :e WHERE id = :t"),
                {"e": entry_id, "t": token_id},
            )
            s.execute(
                text(
                    "UPDATE tournament_machines SET player_id = :p, token_id = :t, "
                    "game_started_at = now() WHERE id = :m"
                ),
                {"p": player_id, "t": token_id, "m": machine_id},
            )
        return Response(json={"started": {"token_id": token_id}}, status=201)

    def score(request: Any) -> Response:
        machine_id = int(request.matchdict["id"])
        body = request.json_body
        with transaction() as s:
            row = locked_machine(s, machine_id)
            if row.token_id is None or row.token_id != int(body["token_id"]):
                return Response(json={"error": "game_changed"}, status=409)
            entry_id = s.execute(
                text("UPDATE tokens SET used_at = now() WHERE id = :t RETURNING entry_id"),
                {"t": row.token_id},
            ).scalar_one()
            s.execute(
                text(
                    "INSERT INTO scores (event_id, entry_id, tournament_machine_id, token_id, "
                    "score, recorded_at) VALUES (1, :e, :m, :t, :v, now())"
                ),
                {"e": entry_id, "m": machine_id, "t": row.token_id, "v": int(body["score"])},
            )
            s.execute(
                text(
                    "UPDATE tournament_machines SET player_id = NULL, token_id = NULL, "
                    "game_started_at = NULL WHERE id = :m"
                ),
                {"m": machine_id},
            )
        return Response(json={"ended": {"score": int(body["score"])}})

    with Configurator() as config:
        config.add_route("start", "/events/bench/machines/{id}/start")
        config.add_route("score", "/events/bench/machines/{id}/score")
        config.add_view(start, route_name="start", request_method="POST")
        config.add_view(score, route_name="score", request_method="POST")
        return config.make_wsgi_app()


# --- serving and clients -------------------------------------------------------------------------


def serve(app: Any) -> tuple[Any, int]:

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=THREADS)
    port = server.socket.getsockname()[1]
    threading.Thread(target=server.run, daemon=True).start()
    return server, port


class Client:
    """One machine's scorekeeper: a keep-alive connection and its cookies."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def post(self, path: str, data: dict[str, Any]) -> tuple[int, Any]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            if "csrf_token" in self.cookies:
                headers["X-CSRF-Token"] = self.cookies["csrf_token"]
        self.conn.request("POST", path, body=json.dumps(data), headers=headers)
        res = self.conn.getresponse()
        body = res.read()
        for name, value in res.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return res.status, json.loads(body) if body else None

    def get(self, path: str) -> Any:
        headers = {"Accept": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request("GET", path, headers=headers)
        res = self.conn.getresponse()
        body = res.read()
        for name, value in res.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return json.loads(body)

    def log_in(self) -> None:
        self.get("/api/csrf")
        status, body = self.post(
            "/events/bench/login", {"username": "keeper", "password": PASSWORD}
        )
        if status != 200:
            raise SystemExit(f"login: {status} {body}")


def play(
    port: int, clients: int, *, seconds: float | None, games: int, login: bool
) -> dict[str, float]:
    """``clients`` machines playing games back to back (player i on machine i) until
    ``seconds`` pass (or ``games`` each are played): games/s and the score's p50/p99."""
    latencies: list[float] = []
    errors: list[str] = []
    done = [0]
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    machines = {i: Client(port) for i in range(1, clients + 1)}
    for client in machines.values():  # one after another: a login is not what is measured
        if login:
            client.log_in()

    def machine(i: int) -> None:
        client = machines[i]
        mine: list[float] = []
        ready.wait()
        stop = time.perf_counter() + seconds if seconds is not None else None
        n = 0
        while (stop is None and n < games) or (stop is not None and time.perf_counter() < stop):
            base = f"/events/bench/machines/{i}"
            status, body = client.post(f"{base}/start", {"player": 100 + i})
            if status != 201:
                errors.append(f"start {status} {body}")
                break
            token_id = body["started"]["token_id"]
            began = time.perf_counter()
            status, body = client.post(
                f"{base}/score", {"score": str(1_000_000 + n), "token_id": token_id}
            )
            mine.append(time.perf_counter() - began)
            if status != 200:
                errors.append(f"score {status} {body}")
                break
            n += 1
        with lock:
            latencies.extend(mine)
            done[0] += n

    threads = [threading.Thread(target=machine, args=(i,)) for i in range(1, clients + 1)]
    for t in threads:
        t.start()
    ready.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    latencies.sort()
    return {
        "games": done[0],
        "games/s": done[0] / wall,
        "p50 ms": latencies[len(latencies) // 2] * 1000,
        "p99 ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def check(engine: Engine, played: int) -> None:
    """Each game left one score on one used token; no machine holds a used token."""
    with Session(engine) as s:
        scores = s.scalar(select(func.count(Score.id))) or 0
        used = s.scalar(select(func.count(Token.id)).where(Token.used_at.is_not(None))) or 0
        distinct = s.scalar(select(func.count(func.distinct(Score.token_id)))) or 0
        stuck = s.scalar(
            select(func.count(TournamentMachine.id))
            .join(Token, Token.id == TournamentMachine.token_id)
            .where(Token.used_at.is_not(None))
        )
    if not (scores == used == distinct == played) or stuck:
        raise SystemExit(f"{played} games but {scores} scores, {used} used tokens, {stuck} stuck")


def pgbench(pg_url: str, clients: int, seconds: float) -> float | None:
    """TPC-B transactions per second on a throwaway database (``None`` without pgbench)."""
    exe = shutil.which("pgbench")
    if exe is None:
        return None
    with scratch_engine("postgresql", pg_url) as engine:
        url = engine.url
        env = {**os.environ, "PGPASSWORD": url.password or ""}
        conn = [
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
        ]
        subprocess.run(
            [exe, "-i", "-q", "-s", "1", *conn, url.database or ""],
            check=True,
            env=env,
            capture_output=True,
        )
        out = subprocess.run(
            [
                exe,
                "-c",
                str(clients),
                "-j",
                str(min(clients, 2)),
                "-T",
                str(max(1, round(seconds))),
                *conn,
                url.database or "",
            ],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
        engine.dispose()
    found = re.search(r"tps = ([\d.]+)", out)
    return float(found.group(1)) if found else None


def run_side(
    name: str,
    make: Callable[[Engine], Any],
    pg_url: str,
    *,
    clients: list[int],
    seconds: float | None,
    games: int,
) -> dict[int, dict[str, float]]:
    results: dict[int, dict[str, float]] = {}
    most = max(clients)
    per_machine = games if seconds is None else int(seconds * 400) + 50
    with scratch_engine("postgresql", pg_url) as engine:
        db.upgrade(engine)
        prepare(engine, machines=most, games=per_machine * len(clients) + 10)  # +warm-up
        app = make(engine)
        # The server's daemon threads live until the benchmark exits (closing its socket under
        # the running loop only makes noise); the scratch database is dropped by force.
        _, port = serve(app)
        try:
            played = play(port, 1, seconds=None, games=3, login=name == "pss")["games"]  # warm-up
            for n in clients:
                result = play(port, n, seconds=seconds, games=games, login=name == "pss")
                played += result["games"]
                results[n] = result
            check(engine, int(played))
        finally:
            engine.dispose()
    return results


def pss_app(engine: Engine) -> Any:

    return make_app(
        {"pss.engine": engine, "pss.plugins": get_plugin_manager(load_entrypoints=False)}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2, help="pss and minimal, interleaved")
    parser.add_argument("--quick", action="store_true", help="a few games each, untimed")
    parser.add_argument("--pg-url", default=os.environ.get("PSS_BENCH_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]
    if args.quick:
        for name, make in (("pss", pss_app), ("minimal", minimal_app)):
            run_side(name, make, args.pg_url, clients=[1, 2], seconds=None, games=2)
        print("writes: quick run ok (pss and the minimal handler, 1 and 2 machines)")
        return 0
    print(
        f"load before: {os.getloadavg()}; {THREADS} waitress threads; {args.seconds:.0f}s per point"
    )
    table: dict[str, list[dict[int, dict[str, float]]]] = {"pss": [], "minimal": []}
    for _ in range(args.rounds):
        for name, make in (("pss", pss_app), ("minimal", minimal_app)):
            table[name].append(
                run_side(name, make, args.pg_url, clients=clients, seconds=args.seconds, games=0)
            )
    tps = {n: pgbench(args.pg_url, n, args.seconds) for n in clients}
    print(f"load after: {os.getloadavg()}")
    print(f"\n{'':10} {'clients':>7} {'games/s':>9} {'score p50 ms':>13} {'score p99 ms':>13}")
    best: dict[str, dict[int, dict[str, float]]] = {}
    for name, runs in table.items():
        best[name] = {}
        for n in clients:
            # The median run by throughput (of an odd count; the better of two).
            ordered = sorted((r[n] for r in runs), key=lambda r: r["games/s"])
            pick = ordered[len(ordered) // 2]
            best[name][n] = pick
            rate, p50, p99 = pick["games/s"], pick["p50 ms"], pick["p99 ms"]
            print(f"{name:10} {n:>7} {rate:>9.1f} {p50:>13.1f} {p99:>13.1f}")
    for n in clients:
        print(f"{'pgbench':10} {n:>7} {tps[n] or float('nan'):>9.0f}  (TPC-B tps)")
    top = max(clients)
    ratio = best["pss"][top]["games/s"] / best["minimal"][top]["games/s"]
    tail = best["pss"][top]["p99 ms"] / best["pss"][min(clients)]["p50 ms"]
    print(f"\npss / minimal games/s at {top}: {ratio:.2f} (goal >= 0.50)")
    print(f"pss p99 at {top} / p50 at {min(clients)}: {tail:.1f} (goal <= 5)")
    for n in clients:
        r = best["pss"][n]["games/s"] / best["minimal"][n]["games/s"]
        print(f"pss / minimal games/s at {n}: {r:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
