"""How ``pss serve`` runs the app: waitress with its limits set on purpose, so that slow or idle
clients (120 half-open connections stopped the default setup) and huge bodies cannot take the
server down. In production a reverse proxy sits in front (see docs/deployment.rst); these limits
still hold when it does not. ``pss serve --workers N`` runs N such servers in N processes on
one socket (:class:`Workers`), each with the same limits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from pss_web.limits import SERVER_MAX_BODY_BYTES

#: waitress's settings for ``pss serve``. Each is chosen, not inherited:
SERVE_OPTIONS: dict[str, Any] = {
    # Workers running views; a request waits for a free one, a connection does not hold one.
    "threads": 8,
    # Open connections before waitress stops accepting new ones (its default, 100, is what 120
    # idle sockets used up). Idle sockets cost a file descriptor and a little memory each.
    "connection_limit": 1000,
    # poll() instead of select(): select() cannot watch descriptors past 1024.
    "asyncore_use_poll": True,
    # A connection that sends nothing for this long is closed (its default is 120 seconds),
    # checked every ``cleanup_interval`` seconds.
    "channel_timeout": 20,
    "cleanup_interval": 5,
    # Request line and headers together (its default is 256 KiB; browsers send a few KiB).
    "max_request_header_size": 32 * 1024,
    # The outer bound on any body (its default is 1 GiB); the app's own limits are smaller.
    "max_request_body_size": SERVER_MAX_BODY_BYTES,
    # Pending connections the kernel queues while all are busy.
    "backlog": 1024,
    "ident": "pss",
}


def server_options(**overrides: Any) -> dict[str, Any]:
    """:data:`SERVE_OPTIONS` with ``overrides`` (host, port, trusted_proxy, ...)."""
    return {**SERVE_OPTIONS, **overrides}


def create_server(app: Any, **overrides: Any) -> Any:
    """A waitress server for ``app`` with pss's limits (not yet running: call ``.run()``)."""
    import waitress  # noqa: PLC0415  waitress loads when a server starts

    return waitress.create_server(app, **server_options(**overrides))


def serve(app: Any, **overrides: Any) -> None:
    """Serve ``app`` until interrupted."""
    import waitress  # noqa: PLC0415  waitress loads when a server starts

    waitress.serve(app, **server_options(**overrides))


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` and listening, for worker processes to share."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(SERVE_OPTIONS["backlog"])
    return sock


class Workers:
    """``pss serve --workers N``: N processes, each one waitress with pss's limits and its own
    app (its own database pool) made after the fork, accepting from one socket that this parent
    process bound. Python runs one thread at a time per process, so this is how pss uses more
    than one core; every process is stateless (sessions, caches' versions and locks live in
    the database), which tests/pss_web/test_scale_out.py checks with two servers.

    The parent only watches: a worker that dies is replaced (so one crashed request handler
    does not take a core away for the rest of the event), SIGTERM or SIGINT stops them all.
    A worker that keeps dying at once is not restarted forever: the parent gives up.
    """

    #: Restarts within :data:`RESTART_WINDOW` seconds after which the parent gives up.
    MAX_QUICK_RESTARTS = 5
    RESTART_WINDOW = 10.0

    def __init__(
        self,
        make_app: Callable[[], Any],
        workers: int,
        *,
        host: str,
        port: int,
        **overrides: Any,
    ) -> None:
        if workers < 1:
            raise ValueError(f"at least one worker, not {workers}")
        self.make_app = make_app
        self.workers = workers
        self.options = server_options(**overrides)
        self.options.pop("host", None)
        self.options.pop("port", None)
        self.sock = listening_socket(host, port)
        self.pids: dict[int, float] = {}  # pid -> when it started
        self.stopping = False

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                create_server(self.make_app(), sockets=[self.sock], **self.options).run()
                code = 0
            except BaseException:  # noqa: BLE001  a forked worker reports and exits, whatever it was
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.pids[pid] = time.monotonic()

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = True
        for pid in list(self.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self, after_start: Callable[[], None] = lambda: None) -> int:
        """Start the workers, then call ``after_start`` (in this process), and watch them until
        stopped; the exit status for ``pss serve``."""
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGTERM, signal.SIGINT)}
        quick: list[float] = []
        try:
            for _ in range(self.workers):
                self._spawn()
            after_start()
            while self.pids:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                except InterruptedError:  # pragma: no cover - PEP 475 retries os.wait
                    continue
                started = self.pids.pop(pid, None)
                if started is None or self.stopping:
                    continue
                now = time.monotonic()
                print(
                    f"pss: worker {pid} stopped ({_describe(status)}); starting another",
                    file=sys.stderr,
                    flush=True,
                )
                quick = [t for t in quick if now - t < self.RESTART_WINDOW] + [now]
                if len(quick) > self.MAX_QUICK_RESTARTS:
                    print(
                        "pss: the workers keep stopping right after they start; giving up "
                        "(see the errors above)",
                        file=sys.stderr,
                        flush=True,
                    )
                    self._stop(signal.SIGTERM, None)
                    for left in list(self.pids):
                        with contextlib.suppress(ChildProcessError):
                            os.waitpid(left, 0)
                    return 1
                self._spawn()
            return 0
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.sock.close()


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
