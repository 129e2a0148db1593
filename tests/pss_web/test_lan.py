"""``pss serve --lan``: the address phones on the venue Wi-Fi open, found without the internet,
printed with a QR code, and shown (and encoded) on the TV page. Nothing here sends traffic
anywhere but 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import Event
from pss_core.plugins import Pss
from pss_testing.database import migrated_sqlite
from pss_web import lan


@pytest.mark.parametrize(
    ("address", "usable"),
    [
        ("192.168.1.20", True),
        ("10.0.0.7", True),
        ("172.16.5.1", True),
        ("169.254.3.4", True),
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("8.8.8.8", False),
        ("::1", False),
        ("not an address", False),
    ],
)
def test_which_addresses_phones_can_reach(address: str, usable: bool) -> None:
    assert lan.is_lan(address) is usable


def test_a_private_address_is_preferred() -> None:
    assert (
        lan.lan_address(lambda: ["127.0.0.1", "169.254.3.4", "8.8.8.8", "192.168.1.20"])
        == "192.168.1.20"
    )
    # The venue router gave no address: the link-local one the laptop took itself still works.
    assert lan.lan_address(lambda: ["127.0.0.1", "169.254.3.4"]) == "169.254.3.4"
    # No network at all.
    assert lan.lan_address(lambda: ["127.0.0.1"]) is None
    assert lan.lan_address(lambda: []) is None


def test_the_local_address_comes_from_the_socket_itself() -> None:
    # The route to the probe address names the interface; with 127.0.0.1 that is loopback.
    assert lan.local_addresses(probe="127.0.0.1")[0] == "127.0.0.1"


def test_the_terminal_qr_code() -> None:
    code = lan.terminal_qr("http://192.168.1.20:6543/")
    lines = code.splitlines()
    assert len(lines) >= 12
    assert any(ch in code for ch in "█▀▄")
    assert lan.terminal_qr("http://192.168.1.21:6543/") != code


def tv_app(dbsession: Session, engine: Engine, pss: Pss, lan_url: str | None) -> TestApp:
    from pss_web import make_app

    app = make_app(
        {
            "pss.engine": engine,
            "pss.plugins": pss,
            "pss.raise_errors": "true",
            "pss.lan_url": lan_url,
        }
    )
    return TestApp(app, extra_environ={"app.dbsession": dbsession})


def test_the_tv_shows_and_encodes_the_venue_address(
    dbsession: Session, engine: Engine, pss: Pss, demo_event: Event
) -> None:
    app = tv_app(dbsession, engine, pss, "http://192.168.1.20:6543/")
    page = app.get("/events/demo/tv")
    assert "On the venue Wi-Fi: <strong>http://192.168.1.20:6543/events/demo/</strong>" in page.text
    assert (
        app.get("/events/demo/tv", headers={"Accept": "application/json"}).json["lan_url"]
        == "http://192.168.1.20:6543/events/demo/"
    )
    svg = app.get("/events/demo/qr.svg").text
    assert "<title>http://192.168.1.20:6543/events/demo/</title>" in svg


def test_without_the_lan_the_tv_is_as_before(
    dbsession: Session, engine: Engine, pss: Pss, demo_event: Event
) -> None:
    app = tv_app(dbsession, engine, pss, None)
    assert "On the venue Wi-Fi" not in app.get("/events/demo/tv").text
    assert "<title>http://localhost/events/demo/</title>" in app.get("/events/demo/qr.svg").text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_prints_the_address_and_its_qr_code(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "PSS_DATABASE_URL"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pss_core.cli",
                "--db",
                migrated_sqlite(tmp_path / "p.sqlite"),
                "serve",
                "--demo",
                "--host",
                "127.0.0.1",
                "--lan-address",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 180
        while "pss is serving" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        text = log.read_text()
        assert f"Phones on the venue Wi-Fi open http://127.0.0.1:{port}/" in text
        assert "█" in text or "▀" in text
        page = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/events/demo/tv", timeout=30
                ) as res:
                    page = res.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert f"http://127.0.0.1:{port}/events/demo/" in page
    finally:
        proc.terminate()
        proc.wait(60)
