"""A database that refuses connections (nothing listens on its port) is a typed 503 with
Retry-After for people and API clients alike, never a 500."""

from __future__ import annotations

import pytest
from webtest import TestApp

from pss_web import make_app

from .harness import free_port


@pytest.fixture(scope="module")
def unreachable() -> TestApp:
    # A real psycopg2 connection attempt to a port nobody listens on: refused at once.
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/pss"
    return TestApp(make_app({"pss.database_url": url, "pss.raise_errors": "true"}))


def test_json_clients_get_a_typed_503(unreachable: TestApp) -> None:
    r = unreachable.get("/events/any/board", headers={"Accept": "application/json"}, status=503)
    assert r.json["error"] == "database_unavailable"
    assert "may not have been saved" in r.json["message"]
    assert r.headers["Retry-After"] == "5"


def test_people_get_a_503_page(unreachable: TestApp) -> None:
    r = unreachable.get("/events/any/board", status=503)
    assert r.content_type == "text/html"
    assert r.headers["Retry-After"] == "5"
    assert "Try again shortly" in r.text
    assert "cannot be reached right now" in r.text
