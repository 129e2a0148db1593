"""Request bodies past their limit are a 413 before anything reads them, and ``pss serve``'s
waitress, with its limits, answers over real sockets on 127.0.0.1 while many idle half-open
connections are open and while a huge body is being sent."""

from __future__ import annotations

import io
import json
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from webtest import TestApp

from pss_testing.database import migrated_sqlite
from pss_testing.web import JSON, csrf_token
from pss_web import limits
from pss_web.serving import SERVE_OPTIONS, create_server

#: Generous: the machine may be loaded; nothing here is a speed measurement.
WAIT_SECONDS = 60


class CountingInput(io.RawIOBase):
    """A request body of ``size`` bytes that counts how many of them anything read."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"{" * n
        self.left -= n
        self.read_bytes += n
        return n


def _post_raw(app: TestApp, path: str, body: CountingInput, *, length: int | None) -> Any:
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/json",
        "HTTP_ACCEPT": "application/json",
        "HTTP_X_CSRF_TOKEN": csrf_token(app),
        "HTTP_COOKIE": f"csrf_token={csrf_token(app)}",
        "wsgi.input": io.BufferedReader(body),
        "wsgi.errors": io.StringIO(),
    }
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    else:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    from webob import Request  # type: ignore[import-untyped]

    return Request(environ).get_response(app.app)


def test_a_body_past_the_limit_is_refused_before_it_is_read(
    webapp: TestApp, demo_event: Any
) -> None:
    """The player login once read and parsed a 50 MB body. Now its Content-Length is enough
    for a 413, and a body without one is read one byte past the limit, no further."""
    size = 50 * 1024 * 1024
    said = CountingInput(size)
    res = _post_raw(webapp, "/events/demo/player-login", said, length=size)
    assert res.status_code == 413
    assert json.loads(res.body)["error"] == "body_too_large"
    assert said.read_bytes == 0
    streamed = CountingInput(size)
    res = _post_raw(webapp, "/events/demo/player-login", streamed, length=None)
    assert res.status_code == 413
    assert 0 < streamed.read_bytes <= limits.DEFAULT_MAX_BODY_BYTES + io.DEFAULT_BUFFER_SIZE


def test_bodies_within_the_limit_are_read_as_usual(webapp: TestApp, demo_event: Any) -> None:
    token = csrf_token(webapp)
    body = json.dumps({"number": 101, "pin": "4321", "padding": "x" * 50_000})
    res = webapp.post(
        "/events/demo/player-login",
        body,
        content_type="application/json",
        headers={**JSON, "X-CSRF-Token": token},
    )
    assert res.status_code == 200
    big = json.dumps({"number": 101, "pin": "4321", "padding": "x" * limits.DEFAULT_MAX_BODY_BYTES})
    res = webapp.post(
        "/events/demo/player-login",
        big,
        content_type="application/json",
        headers={**JSON, "X-CSRF-Token": token},
        status=413,
    )
    assert res.json["limit"] == limits.DEFAULT_MAX_BODY_BYTES
    # A browser's form gets the message as text.
    res = webapp.post("/events/demo/player-login", {"pin": "x" * 70_000}, status=413)
    assert res.content_type == "text/html"
    assert "The request is too large: at most 65,536 bytes" in res.text


def test_a_route_may_take_larger_bodies(webapp: TestApp, demo_event: Any) -> None:
    """Stripe's webhook is the one route with its own, larger limit: a 200 KB event reaches the
    signature check (refused there, unsigned), a body past the route's limit does not."""
    hook = "/events/demo/stripe/webhook"
    body = json.dumps({"id": "evt_1", "padding": "x" * 200_000})
    demo_event.stripe_webhook_secret = "whsec_x"
    res = webapp.post(hook, body, content_type="application/json", status=400)
    assert res.json["error"] == "bad_signature"
    webapp.post(
        hook, "x" * (limits.WEBHOOK_MAX_BODY_BYTES + 1), content_type="application/json", status=413
    )


def test_no_route_may_allow_more_than_the_server_reads() -> None:
    from pyramid.config import Configurator

    config = Configurator(settings={})
    with pytest.raises(ValueError, match="a body limit is 1 to"):
        limits.add_body_limit(config, "^/upload$", limits.SERVER_MAX_BODY_BYTES + 1)
    limits.add_body_limit(config, "^/upload$", 100)
    assert limits.body_limit(config.registry, "/upload") == 100
    assert limits.body_limit(config.registry, "/other") == limits.DEFAULT_MAX_BODY_BYTES


# --- served by waitress, as `pss serve` serves ------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, pss: Any) -> Iterator[tuple[str, int]]:
    """The app over a fresh SQLite file, served with ``pss serve``'s waitress options on
    127.0.0.1 at a free port."""
    from pss_web import make_app

    url = migrated_sqlite(tmp_path / "served.sqlite")
    server = create_server(
        make_app({"pss.database_url": url, "pss.plugins": pss}), host="127.0.0.1", port=0
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.effective_port
    finally:
        server.close()
        thread.join(timeout=WAIT_SECONDS)


def _status_line(sock: socket.socket) -> bytes:
    sock.settimeout(WAIT_SECONDS)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]


def test_the_served_app_answers_a_huge_body_without_reading_it(served: tuple[str, int]) -> None:
    """50 MB announced to the player login: the 413 comes after a small part was sent; the
    rest is never needed."""
    host, port = served
    with socket.create_connection((host, port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(
            b"POST /events/demo/player-login HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nAccept: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n" + b"{" * 65536
        )
        assert b" 413 " in _status_line(sock)
    # Within what the server reads, the app's own limit answers, before any parsing.
    body = b"{" * (limits.DEFAULT_MAX_BODY_BYTES + 1)
    request = urllib.request.Request(
        f"http://{host}:{port}/events/demo/player-login",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=WAIT_SECONDS)
    assert refused.value.code == 413
    assert json.loads(refused.value.read())["error"] == "body_too_large"


def test_many_idle_half_open_connections_do_not_stop_the_server(served: tuple[str, int]) -> None:
    """Slowloris: more sockets than waitress's default connection limit (100), each having sent
    half a request and then nothing. A normal request is still answered."""
    host, port = served
    assert SERVE_OPTIONS["connection_limit"] > 150
    idle: list[socket.socket] = []
    try:
        for _ in range(150):
            sock = socket.create_connection((host, port), timeout=WAIT_SECONDS)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            idle.append(sock)
        answer = _get(f"http://{host}:{port}/", lambda r: r.status)
        assert answer == 200
    finally:
        for sock in idle:
            sock.close()


def _get(url: str, what: Callable[[Any], Any]) -> Any:
    with urllib.request.urlopen(url, timeout=WAIT_SECONDS) as response:
        return what(response)
