"""What the fault tests share: ``pss serve`` in its own process on a spare 127.0.0.1 port, a
seeded event, scorekeepers sending real HTTP from threads (every acknowledged score remembered,
every answer checked), the invariants read back from the tables, a throwaway PostgreSQL cluster.

Every wait is for a condition with a generous bound; nothing asserts how long anything took.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from glob import glob
from http.client import HTTPException
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from pss_core.audit import Actor
from pss_core.models import EventPlayer, Player, Role, Score, User
from pss_core.plugins import Pss
from pss_core.services import setup, tickets

#: The longest any single wait may take; reached only when something is broken.
WAIT = 90.0
#: How long one HTTP request may take before the client gives up on it (no answer).
REQUEST_TIMEOUT = 30.0
PASSWORD = "faults-pass-123"
JSON_HEADERS = {"Accept": "application/json"}


def wait_until(
    condition: Callable[[], bool],
    what: str,
    timeout: float = WAIT,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Poll ``condition`` until it holds; fail (saying ``what`` was awaited) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}. {describe()}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- pss serve in a process ---------------------------------------------------------------------


class Served:
    """``pss --db URL serve`` on 127.0.0.1 at a spare port; restartable on the same port."""

    def __init__(self, url: str, log: Path, *options: str) -> None:
        self.url = url
        #: More ``pss serve`` options (``--workers 2``).
        self.options = options
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def command(self) -> list[str]:
        script = Path(sys.executable).with_name("pss")
        prefix = [str(script)] if script.exists() else [sys.executable, "-m", "pss_core.cli"]
        return [
            *prefix,
            "--db",
            self.url,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *self.options,
        ]

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts} ---\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        wait_until(self._up, f"pss serve to answer on {self.base}", describe=self.tail)

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"pss serve exited with {self.proc.returncode}. {self.tail()}")
        try:
            with urllib.request.urlopen(
                urllib.request.Request(self.base + "/api/csrf", headers=JSON_HEADERS), timeout=5
            ) as r:
                return bool(r.status == 200)
        except (OSError, HTTPException):
            return False

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=WAIT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=WAIT)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def tail(self) -> str:
        try:
            return "Server log:\n" + self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


@contextlib.contextmanager
def serving(url: str, log: Path, *options: str) -> Iterator[Served]:
    served = Served(url, log, *options)
    try:
        served.start()
        yield served
    finally:
        served.stop()


# --- the event ----------------------------------------------------------------------------------


@attrs.frozen
class Plan:
    slug: str
    username: str
    #: A desk account (same password).
    desk_username: str
    #: Per scorekeeper: (tournament machine id, the numbers of the players it plays).
    stations: tuple[tuple[int, tuple[int, ...]], ...]


def seed(
    engine: Engine, pss: Pss, *, stations: int = 3, players_each: int = 2, tickets_each: int = 60
) -> Plan:
    """An event with a HERB tournament, one machine per scorekeeping station, players with
    ``tickets_each`` tickets, a scorekeeper and a desk account."""
    n = secrets.token_hex(3)
    with Session(bind=engine, expire_on_commit=False) as s:
        owner = User(username=f"owner-{n}", password_hash="x", is_event_owner=True)
        s.add(owner)
        s.flush()
        event = setup.create_event(s, owner, f"Fault Open {n}", slug=f"faults-{n}")
        main = setup.create_tournament(s, pss, event, "Main", "herb", slug="main", price_cents=100)
        username = f"sk-{n}"
        setup.add_event_user(s, event, username, PASSWORD, [Role.SCOREKEEPER])
        setup.add_event_user(s, event, f"desk-{n}", PASSWORD, [Role.DESK])
        desk = Actor("desk")
        numbers = itertools.count(101)
        plan = []
        for i in range(stations):
            machine = setup.add_machine(s, main, f"Faults {n} machine {i + 1}")
            mine = []
            for _ in range(players_each):
                p = Player(first_name=f"Player{i}", last_name="Fault")
                s.add(p)
                s.flush()
                ep = EventPlayer(
                    event_id=event.id, player_id=p.id, number=next(numbers), pin_hash="x"
                )
                s.add(ep)
                s.flush()
                if tickets_each:
                    tickets.sell_tickets(
                        s, pss, player=ep, count=tickets_each, tournament=main, actor=desk
                    )
                mine.append(ep.number)
            plan.append((machine.id, tuple(mine)))
        s.commit()
        return Plan(
            slug=event.slug,
            username=username,
            desk_username=f"desk-{n}",
            stations=tuple(plan),
        )


# --- scorekeepers over HTTP ---------------------------------------------------------------------


@attrs.frozen
class Answer:
    status: int | None  # None: no answer (refused, reset, timed out)
    body: Any = None
    retry_after: str | None = None
    etag: str | None = None

    @property
    def code(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


class Client:
    """One scorekeeper's browser: cookies, the CSRF token, JSON in and out; 127.0.0.1 only."""

    def __init__(self, base: str, jar: CookieJar | None = None, host: str | None = None) -> None:
        assert base.startswith("http://127.0.0.1:")
        self.base = base
        #: Another client's jar: the same browser talking to another server.
        self.jar = CookieJar() if jar is None else jar
        #: The Host header to send (a proxy in front of several servers sends its own name).
        self.host = host
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar)
        )

    @property
    def csrf(self) -> str:
        # Double submit: the token is whatever the csrf_token cookie says now (a login renews it).
        return next((c.value or "" for c in self.jar if c.name == "csrf_token"), "")

    def call(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        headers = {**JSON_HEADERS, **(headers or {})}
        if self.host:
            headers["Host"] = self.host
        body = None
        if method != "GET":
            headers["Content-Type"] = "application/json"
            headers["X-CSRF-Token"] = self.csrf
            body = json.dumps(data or {}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers=headers, method=method
        )
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as r:
                return self._answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as r:
            with r:
                return self._answer(r.code, r.headers, r.read())
        except (OSError, HTTPException):
            return Answer(None)

    @staticmethod
    def _answer(status: int, headers: Any, raw: bytes) -> Answer:
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw[:200].decode(errors="replace")
        return Answer(status, body, headers.get("Retry-After"), headers.get("ETag"))

    def login(self, plan: Plan, username: str | None = None) -> Answer:
        got = self.call("GET", "/api/csrf")
        if got.status != 200:
            return got
        return self.call(
            "POST",
            f"/events/{plan.slug}/login",
            {"username": username or plan.username, "password": PASSWORD},
        )


class Traffic:
    """Scorekeepers at their stations, each in its own thread, until stopped: read the machine;
    if a game is on, record its score with the game's token; otherwise start the next player —
    by number, or by queueing them and starting the head of the queue. Every answer is kept;
    a score is acknowledged when its answer was a 2xx."""

    def __init__(self, base: str, plan: Plan) -> None:
        self.base = base
        self.plan = plan
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.answers: list[tuple[str, Answer]] = []
        self.acked: list[tuple[int, int]] = []  # (token id, score)
        self.failures: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._station, args=(i, st), daemon=True)
            for i, st in enumerate(plan.stations)
        ]

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(REQUEST_TIMEOUT + 10)
        assert not any(t.is_alive() for t in self.threads), "a scorekeeper thread hung"

    # --- counts the tests wait on ---

    def count(self, predicate: Callable[[Answer], bool]) -> int:
        with self.lock:
            return sum(predicate(a) for _, a in self.answers)

    def n_acked(self) -> int:
        with self.lock:
            return len(self.acked)

    def n_unavailable(self) -> int:
        return self.count(lambda a: a.status == 503)

    def summary(self) -> str:
        with self.lock:
            seen = Counter((what, a.status, a.code) for what, a in self.answers)
            return (
                f"{len(self.acked)} scores acknowledged; answers: "
                f"{dict(seen.most_common(20))}; failures: {self.failures!r}"
            )

    def _broken(self) -> bool:
        return bool(self.failures) or bool(self.bad_answers())

    def _check(self) -> None:
        assert not self.failures, self.summary()
        assert self.bad_answers() == [], self.summary()

    def wait_acked(self, more: int, what: str = "") -> None:
        target = self.n_acked() + more
        wait_until(
            lambda: self.n_acked() >= target or self._broken(),
            f"{more} more acknowledged scores {what}",
            describe=self.summary,
        )
        self._check()

    def wait_unavailable(self, more: int) -> None:
        target = self.n_unavailable() + more
        wait_until(
            lambda: self.n_unavailable() >= target or self._broken(),
            f"{more} more typed 503 answers",
            describe=self.summary,
        )
        self._check()

    def bad_answers(self) -> list[tuple[str, Answer]]:
        """Answers no client should ever get: any 5xx but a typed 503 with Retry-After (a 500 is
        a bug), and anything unexpected from the scorekeeping calls."""
        bad = []
        with self.lock:
            for what, a in self.answers:
                if a.status is None:
                    continue
                if a.status == 503:
                    if (
                        a.code != "database_unavailable"
                        or not a.retry_after
                        or not (a.retry_after.isdigit())
                    ):
                        bad.append((what, a))
                elif a.status >= 500 or a.status in (400, 401, 403, 404):
                    bad.append((what, a))
        return bad

    # --- one station ---

    def _note(self, what: str, answer: Answer) -> Answer:
        with self.lock:
            self.answers.append((what, answer))
        if answer.status is None or answer.status == 503:
            time.sleep(0.05)  # the server or the database is away: do not spin
        return answer

    def _station(self, index: int, station: tuple[int, tuple[int, ...]]) -> None:
        try:
            self._play(index, station)
        except BaseException as exc:  # noqa: BLE001  reported by the waits and by the test
            with self.lock:
                self.failures.append(exc)

    def _play(self, index: int, station: tuple[int, tuple[int, ...]]) -> None:
        machine_id, numbers = station
        client = Client(self.base)
        root = f"/events/{self.plan.slug}/machines/{machine_id}"
        scores = itertools.count(index * 1_000_000_000 + 1_000)
        turn = itertools.count()
        logged_in = False
        while not self.stop_event.is_set():
            if not logged_in:
                logged_in = self._note("login", client.login(self.plan)).status == 200
                continue
            state = self._note("read", client.call("GET", root + "/keep"))
            if state.status == 401:
                logged_in = False
                continue
            if state.status != 200:
                continue
            machine = state.body["machine"]
            if machine["game"] is not None:
                token_id = machine["game"]["token_id"]
                value = next(scores)
                done = self._note(
                    "score",
                    client.call("POST", root + "/score", {"score": value, "token_id": token_id}),
                )
                if done.status is not None and 200 <= done.status < 300:
                    with self.lock:
                        self.acked.append((token_id, value))
            elif machine["queue"]:
                self._note("start-head", client.call("POST", root + "/start", {}))
            else:
                k = next(turn)
                player = numbers[k % len(numbers)]
                if k % 2:
                    self._note("queue", client.call("POST", root + "/queue", {"player": player}))
                else:
                    self._note("start", client.call("POST", root + "/start", {"player": player}))


# --- what the tables must say afterwards --------------------------------------------------------


def missing_acknowledged(engine: Engine, traffic: Traffic) -> list[tuple[int, int]]:
    with Session(bind=engine) as s:
        kept = {(t, v) for t, v in s.execute(select(Score.token_id, Score.score))}
    return [a for a in traffic.acked if a not in kept]


INVARIANTS = {
    "a used token without exactly one score": """
        SELECT t.id FROM tokens t LEFT JOIN scores s ON s.token_id = t.id
        WHERE t.used_at IS NOT NULL GROUP BY t.id HAVING count(s.id) != 1""",
    "a score whose token is not used": """
        SELECT s.id FROM scores s JOIN tokens t ON t.id = s.token_id WHERE t.used_at IS NULL""",
    "a machine holding a used, voided or refunded token": """
        SELECT m.id FROM tournament_machines m JOIN tokens t ON t.id = m.token_id
        WHERE t.used_at IS NOT NULL OR t.voided_at IS NOT NULL OR t.refunded_at IS NOT NULL""",
    "a machine playing someone else's token": """
        SELECT m.id FROM tournament_machines m JOIN tokens t ON t.id = m.token_id
        WHERE t.player_id IS DISTINCT FROM m.player_id OR t.team_id IS DISTINCT FROM m.team_id""",
    "a player on two machines": """
        SELECT player_id FROM tournament_machines WHERE player_id IS NOT NULL
        GROUP BY player_id HAVING count(*) > 1""",
    "a player queued while playing": """
        SELECT q.player_id FROM queue_slots q JOIN tournament_machines m
        ON m.player_id = q.player_id""",
    "a queue whose positions are not 1..n": """
        SELECT tournament_machine_id FROM queue_slots GROUP BY tournament_machine_id
        HAVING min(position) != 1 OR max(position) != count(*)
        OR count(DISTINCT position) != count(*)""",
    "an unused token tied to an entry but not in play": """
        SELECT t.id FROM tokens t WHERE t.used_at IS NULL AND t.voided_at IS NULL
        AND t.entry_id IS NOT NULL
        AND t.id NOT IN (SELECT token_id FROM tournament_machines WHERE token_id IS NOT NULL)""",
}


def broken_invariants(engine: Engine) -> dict[str, list[Any]]:
    found = {}
    with engine.connect() as conn:
        for name, sql in INVARIANTS.items():
            rows = conn.execute(text(sql)).scalars().all()
            if rows:
                found[name] = list(rows)
    return found


def check_aftermath(engine: Engine, traffic: Traffic) -> None:
    """Nothing acknowledged lost, nothing half-done, and no answer a client should never get."""
    assert traffic.bad_answers() == [], traffic.summary()
    assert missing_acknowledged(engine, traffic) == [], traffic.summary()
    assert broken_invariants(engine) == {}


@contextlib.contextmanager
def database_refused(admin: Engine, database: str, app_name: str) -> Iterator[None]:
    """While inside: ``database`` refuses new connections and the backends of ``app_name`` are
    terminated (``admin`` is an AUTOCOMMIT engine on another database of the server)."""
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false'))
        try:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :app"
                ),
                {"app": app_name},
            )
            yield
        finally:
            conn.execute(text(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true'))


# --- a throwaway PostgreSQL cluster -------------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (with initdb and pg_ctl)."""
    found = sorted(
        (
            Path(p)
            for p in glob("/usr/lib/postgresql/*/bin")
            if Path(p, "initdb").exists() and Path(p, "pg_ctl").exists()
        ),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


class Cluster:
    """A PostgreSQL cluster of its own in a temporary directory, on a spare 127.0.0.1 port, with
    trust authentication; run as the ``postgres`` OS user when the tests run as root (initdb
    refuses root)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile_dir())
        self.data = self.root / "data"
        self.port = free_port()
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
            self.as_owner = [runuser, "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )

    def url(self, database: str = "postgres", **query: str) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}" + (f"?{q}" if q else "")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self.as_owner, str(self.bindir / tool), *args],
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{tool} {' '.join(args)} failed: {done.stdout}{done.stderr}{tail}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=40"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            str(int(WAIT)),
            "-o",
            options,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(int(WAIT)), "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(BaseException):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def tempfile_dir() -> str:
    import tempfile

    # Directly under the system temp dir: the postgres user must be able to reach it, and
    # pytest's own temp dirs are private to the user running the tests.
    return tempfile.mkdtemp(prefix="pss-faults-pg-")
