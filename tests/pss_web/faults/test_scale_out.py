"""Two ``pss serve`` processes on one PostgreSQL database, as behind a load balancer: whatever one
of them learns (a login, a sale, a score, a logout) the other knows at its next request, because
neither keeps any of it in its own memory. Black-box HTTP only, so the test holds whatever either
process caches; and ``pss serve --workers 2`` (several processes on one port) keeps its limits
and its typed 503s, and replaces a worker that dies."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pss_core import db
from pss_core.plugins import Pss

from .harness import WAIT, Answer, Client, Plan, database_refused, seed, serving, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

#: What a reverse proxy in front of both servers would send as the Host of every request.
HOST = "scores.example.org"
PLAYER = 101


def _url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _seed(engine: Engine, pss: Pss) -> tuple[Plan, int]:
    """An event with one machine and player :data:`PLAYER`, who has no ticket yet."""
    plan = seed(engine, pss, stations=1, players_each=1, tickets_each=0)
    ((machine_id, (number,)),) = plan.stations
    assert number == PLAYER
    return plan, machine_id


def _rows(answer: Answer) -> list[dict[str, Any]]:
    table = answer.body["standings"]
    return [] if table is None else list(table["standings"])


def _ok(answer: Answer, *expected: int) -> Answer:
    if expected:
        assert answer.status in expected, answer
    else:
        assert answer.status is not None, answer
        assert 200 <= answer.status < 300, answer
    return answer


def test_two_servers_on_one_database_are_one_pss(
    committed_engine: Engine, pss: Pss, tmp_path: Path
) -> None:
    plan, machine_id = _seed(committed_engine, pss)
    url = _url_of(committed_engine)
    event = f"/events/{plan.slug}"
    standings = f"{event}/tournaments/main/?breakdown=1"
    keep = f"{event}/machines/{machine_id}"
    with (
        serving(url, tmp_path / "a.log") as a,
        serving(url, tmp_path / "b.log") as b,
    ):
        # One browser each, talking to both servers (a proxy in front sends its own Host).
        desk_a = Client(a.base, host=HOST)
        desk_b = Client(b.base, jar=desk_a.jar, host=HOST)
        sk_b = Client(b.base, host=HOST)
        sk_a = Client(a.base, jar=sk_b.jar, host=HOST)
        stranger_b = Client(b.base, host=HOST)

        # A login made on A is a session on B.
        _ok(desk_a.login(plan, username=plan.desk_username))
        _ok(desk_b.call("GET", f"{event}/players/{PLAYER}/sell"))
        assert stranger_b.call("GET", f"{event}/players/{PLAYER}/sell").status in (401, 403)

        # Standings and their ETags are the same on both, and one's ETag is current on the other.
        before_a = _ok(Client(a.base, host=HOST).call("GET", standings))
        before_b = _ok(stranger_b.call("GET", standings))
        assert before_a.etag
        assert before_a.etag == before_b.etag
        assert before_a.body == before_b.body
        assert _rows(before_a) == []
        _ok(stranger_b.call("GET", standings, headers={"If-None-Match": before_a.etag}), 304)

        # A sale on A; the scorekeeper, logged in on B, starts the player and records the score.
        _ok(desk_a.call("POST", f"{event}/players/{PLAYER}/sell", {"tickets": 1, "scope": "main"}))
        _ok(sk_b.login(plan))
        _ok(sk_b.call("POST", f"{keep}/start", {"player": PLAYER}))
        # ... and the game the start on B began is the one A shows.
        game = _ok(sk_a.call("GET", f"{keep}/keep")).body["machine"]["game"]
        assert game is not None
        _ok(
            sk_a.call(
                "POST", f"{keep}/score", {"score": 4_200_000_000, "token_id": game["token_id"]}
            )
        )

        # No stale page on either: the old ETag is no longer current, both show the new score
        # with the same new ETag.
        after = {}
        for base in (a.base, b.base):
            fresh = Client(base, host=HOST)
            answer = _ok(fresh.call("GET", standings, headers={"If-None-Match": before_a.etag}))
            assert [row["competitor"]["number"] for row in _rows(answer)] == [PLAYER]
            assert "4200000000" in json.dumps(answer.body)
            after[base] = answer
        assert after[a.base].etag == after[b.base].etag != before_a.etag
        assert after[a.base].body == after[b.base].body

        # A logout on B ends the desk's session on A too (and the scorekeeper's stays).
        _ok(desk_b.call("POST", f"{event}/logout"))
        assert desk_a.call("GET", f"{event}/players/{PLAYER}/sell").status in (401, 403)
        _ok(sk_a.call("GET", f"{keep}/keep"))
        _ok(sk_a.call("POST", f"{event}/logout"))
        assert sk_b.call("GET", f"{keep}/keep").status in (401, 403)


def _children(pid: int) -> set[int]:
    done = subprocess.run(
        [shutil.which("ps") or "ps", "-o", "pid=", "--ppid", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    return {int(p) for p in done.stdout.split()}


def test_workers_share_one_port_and_a_dead_one_is_replaced(
    committed_engine: Engine, pss: Pss, tmp_path: Path
) -> None:
    plan, _ = _seed(committed_engine, pss)
    with serving(_url_of(committed_engine), tmp_path / "w.log", "--workers", "2") as served:
        wait_until(lambda: len(_children(served.pid)) == 2, "two worker processes")
        workers = _children(served.pid)
        client = Client(served.base)
        _ok(client.login(plan))
        os.kill(min(workers), signal.SIGKILL)
        wait_until(
            lambda: len(_children(served.pid)) == 2 and _children(served.pid) != workers,
            "the killed worker to be replaced",
            describe=served.tail,
        )
        # Every worker answers, with the session made before the kill.
        for _ in range(20):
            _ok(client.call("GET", f"/events/{plan.slug}/machines/"), 200, 404)
        assert client.call("GET", "/api/csrf").status == 200
        # Idle half-open connections past one worker's threads do not stop the rest.
        idle = []
        try:
            for _ in range(60):
                sock = socket.create_connection(("127.0.0.1", served.port), timeout=WAIT)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                idle.append(sock)
            _ok(Client(served.base).call("GET", "/api/csrf"))
        finally:
            for sock in idle:
                sock.close()
        # A body past the server's bound is refused by whichever worker reads it.
        with socket.create_connection(("127.0.0.1", served.port), timeout=WAIT) as sock:
            sock.sendall(
                b"POST /api/csrf HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n" + b"{" * 65536
            )
            assert b" 413 " in sock.makefile("rb").readline()
        workers = _children(served.pid)
        served.stop()
    assert served.proc is not None
    assert served.proc.returncode == 0
    wait_until(lambda: not any(_alive(p) for p in workers), "the workers to stop with the server")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_answer_typed_503s_while_the_database_is_away(
    committed_engine: Engine, pss: Pss, tmp_path: Path
) -> None:
    """The workers' connections are cut and the database refuses new ones for a while: every
    answer meanwhile is a typed 503 with Retry-After (never a 500), and the same workers serve
    again once it is back."""
    plan, machine_id = _seed(committed_engine, pss)
    app_name = f"pss-scale-{secrets.token_hex(3)}"
    database = committed_engine.url.database
    url = committed_engine.url.update_query_dict({"application_name": app_name})
    admin = db.make_engine(
        committed_engine.url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    keep = f"/events/{plan.slug}/machines/{machine_id}/keep"
    answers: list[Answer] = []
    try:
        with serving(
            url.render_as_string(hide_password=False), tmp_path / "w.log", "--workers", "2"
        ) as served:
            client = Client(served.base)
            _ok(client.login(plan))
            _ok(client.call("GET", keep))
            workers = _children(served.pid)
            assert database is not None

            def unavailable() -> bool:
                # A new connection each time: the workers take turns accepting them.
                answers.append(Client(served.base, jar=client.jar).call("GET", keep))
                return sum(a.status == 503 for a in answers) >= 6

            with database_refused(admin, database, app_name):
                wait_until(unavailable, "typed 503s", describe=lambda: repr(answers[-5:]))
            wait_until(lambda: client.call("GET", keep).status == 200, "the workers to serve again")
            assert _children(served.pid) == workers  # recovered, not restarted
    finally:
        admin.dispose()
    for answer in answers:
        assert answer.status in (200, 503), answer
        if answer.status == 503:
            assert answer.code == "database_unavailable", answer
            assert (answer.retry_after or "").isdigit(), answer
