"""A local fake of the two IFPA API v2 calls pss makes, on 127.0.0.1.

``GET /player/search?name=`` answers ``{"query": …, "total_results": "n", "results": [...]}`` (the
players whose "first last" contains the name, case aside; ``wppr_rank`` as a string) and
``GET /player/{id}`` answers ``{"player": [{…, "player_stats": {"system": {"open":
{"current_rank": "…"}}}}]}`` or a 404. Every request must carry the key in ``X-API-Key`` (else a
401). Every request is counted and recorded; :meth:`FakeIfpa.fail` makes the next answers errors
(``server_error``, ``drop``: the connection closed unanswered, ``hang``: no answer until
:meth:`FakeIfpa.release` or the end, so the client times out).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from pss_core import ifpa
from pss_core.jobs import Runtime, registry
from pss_core.jobs.queue import RUNTIME_INFO
from pss_core.mail.settings import MailSettings
from pss_core.services.ifpa import RETRY_TASK

__all__ = ["FakeIfpa", "IfpaFault", "IfpaJobs", "fake_ifpa", "running_fake_ifpa"]

IfpaFault = Literal["server_error", "drop", "hang"]
#: Seconds a hanging answer waits at most for its release.
HANG_TIMEOUT = 60.0


@dataclass
class _Player:
    player_id: int
    first_name: str
    last_name: str
    rank: int | None

    def summary(self) -> dict[str, Any]:
        return {
            "player_id": str(self.player_id),
            "first_name": self.first_name,
            "last_name": self.last_name,
            "city": "",
            "stateprov": "",
            "country_code": "US",
            "country_name": "United States",
            "wppr_rank": str(self.rank) if self.rank else "Not Ranked",
        }

    def detail(self) -> dict[str, Any]:
        return {
            "player_id": self.player_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "country_code": "US",
            "player_stats": {
                "system": {"open": {"current_rank": str(self.rank) if self.rank else "0"}}
            },
        }


class FakeIfpa:
    def __init__(self, api_key: str = "ifpa-test-key") -> None:
        self.api_key = api_key
        self.players: dict[int, _Player] = {}
        #: Every request: (path with query, the key it carried).
        self.requests: list[tuple[str, str | None]] = []
        self._faults: list[IfpaFault] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- the data and the controls -----------------------------------------------------------

    def add_player(
        self, player_id: int, first_name: str, last_name: str, rank: int | None = None
    ) -> None:
        self.players[player_id] = _Player(player_id, first_name, last_name, rank)

    def fail(self, times: int = 1, kind: IfpaFault = "server_error") -> None:
        """The next ``times`` requests fail that way."""
        with self._lock:
            self._faults.extend([kind] * times)

    def recover(self) -> None:
        with self._lock:
            self._faults.clear()

    def release(self) -> None:
        """Let hanging answers go (as errors: their clients gave up already)."""
        self._released.set()

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- serving ------------------------------------------------------------------------------

    def start(self) -> FakeIfpa:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        key = handler.headers.get("X-API-Key")
        with self._lock:
            self.requests.append((handler.path, key))
            fault = self._faults.pop(0) if self._faults else None
        if fault == "drop":
            handler.close_connection = True
            handler.connection.close()
            return
        if fault == "hang":
            self._released.wait(HANG_TIMEOUT)
            self._send(handler, 503, {"message": "Service unavailable", "code": "503"})
            return
        if fault == "server_error":
            self._send(handler, 500, {"message": "Internal error", "code": "500"})
            return
        if key != self.api_key:
            self._send(handler, 401, {"message": "Invalid API key", "code": "401"})
            return
        parts = urlsplit(handler.path)
        if parts.path == "/player/search":
            name = " ".join((parse_qs(parts.query).get("name") or [""])[0].casefold().split())
            found = [
                p.summary()
                for p in self.players.values()
                if name and name in f"{p.first_name} {p.last_name}".casefold()
            ]
            self._send(
                handler,
                200,
                {"query": name, "total_results": str(len(found)), "results": found},
            )
            return
        if parts.path.startswith("/player/") and parts.path[8:].isdigit():
            player = self.players.get(int(parts.path[8:]))
            if player is None:
                self._send(handler, 404, {"message": "Player not found", "code": "404"})
            else:
                self._send(handler, 200, {"player": [player.detail()]})
            return
        self._send(handler, 404, {"message": "Not found", "code": "404"})

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (a hanging answer)


@contextmanager
def running_fake_ifpa(api_key: str = "ifpa-test-key") -> Iterator[FakeIfpa]:
    fake = FakeIfpa(api_key).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_ifpa(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIfpa]:
    """A fresh fake IFPA that :class:`pss_core.ifpa.IfpaClient` talks to (``PSS_IFPA_API_BASE``),
    with a short client timeout so that a hanging answer is given up quickly."""
    with running_fake_ifpa() as fake:
        monkeypatch.setenv(ifpa.API_BASE_ENV, fake.url)
        monkeypatch.setenv(ifpa.TIMEOUT_ENV, "2")
        yield fake


class IfpaJobs:
    """Runs the IFPA look-ups the commits deferred: SQLite runs them in this process after each
    commit; on PostgreSQL :meth:`run` runs the committed job rows as ``pss worker`` would."""

    def __init__(self, session: Session, pss: Any) -> None:
        self.session = session
        self.runtime = Runtime(bind=session.get_bind(), pss=pss, payments=None, mail=MailSettings())
        self.done: set[int] = set()
        session.info[RUNTIME_INFO] = self.runtime

    def commit(self) -> None:
        self.session.commit()
        self.run()

    def run(self) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            rows = self.session.execute(
                text(
                    "SELECT id, task_name, args FROM procrastinate_jobs "
                    "WHERE task_name LIKE 'pss.ifpa.%' ORDER BY id"
                )
            ).all()
            for job_id, name, args in rows:
                if job_id not in self.done:
                    self.done.add(job_id)
                    registry.TASKS[name].function(self.runtime, **args)
        self.session.expire_all()

    def retry_pass(self, at: Any) -> dict[str, int]:
        """The minutely pass of ``pss worker``, as of ``at``."""
        result: dict[str, int] = registry.TASKS[RETRY_TASK].function(
            self.runtime, now=at.isoformat()
        )
        self.session.expire_all()
        return result
