"""``Idempotency-Key`` on unsafe actions through WebTest: a desk sale sent twice with one key is
sold once and answered twice alike, the key with another body is refused, HTML forms carry a key
per form; and, on PostgreSQL with real threads, two copies of one sale at the same moment sell
once (the same two without a key sell twice: the negative control)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import hookimpl
from pss_core.models import Event, Purchase
from pss_core.plugins import Pss
from pss_testing.web import (
    JSON,
    TEST_PASSWORD,
    csrf_token,
    ensure_staff,
    login_as,
    post_json,
)

SELL = "/events/demo/players/101/sell"
SALE = {"scope": "tournament:main", "tickets": 3}


def purchases(session: Session) -> int:
    return session.scalar(select(func.count(Purchase.id))) or 0


def keyed(app: TestApp, data: dict[str, Any], key: str, *, status: int | None = None) -> Any:
    return app.post_json(
        SELL,
        data,
        status=status,
        headers={**JSON, "X-CSRF-Token": csrf_token(app), "Idempotency-Key": key},
    )


def test_a_sale_sent_twice_is_sold_once(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    first = keyed(webapp, SALE, "sale-1", status=201)
    again = keyed(webapp, SALE, "sale-1", status=201)
    assert purchases(dbsession) == 1
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    # A new key is a new sale.
    keyed(webapp, SALE, "sale-2", status=201)
    assert purchases(dbsession) == 2


def test_without_a_key_a_repeat_sells_again(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    post_json(webapp, SELL, SALE, status=201)
    post_json(webapp, SELL, SALE, status=201)
    assert purchases(dbsession) == 2


def test_the_key_with_another_body_is_refused(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    keyed(webapp, SALE, "sale-1", status=201)
    res = keyed(webapp, {**SALE, "tickets": 4}, "sale-1", status=409)
    assert res.json["error"] == "idempotency_key_reused"
    assert purchases(dbsession) == 1


def test_a_refused_request_is_not_remembered(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    bad = {**SALE, "tickets": "three"}
    assert keyed(webapp, bad, "sale-1", status=400).json["error"] == "invalid_field"
    # Tried again, it is refused for its own reason again (not "in progress", not replayed).
    assert keyed(webapp, bad, "sale-1", status=400).json["error"] == "invalid_field"
    assert purchases(dbsession) == 0


def test_keys_belong_to_one_login(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    keyed(webapp, SALE, "sale-1", status=201)
    other = make_webapp()
    login_as(other, demo_event, "td")
    res = keyed(other, SALE, "sale-1", status=201)
    assert "Idempotent-Replayed" not in res.headers
    assert purchases(dbsession) == 2


def test_an_unusable_key_is_refused(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    res = keyed(webapp, SALE, "x" * 201, status=400)
    assert res.json["error"] == "invalid_idempotency_key"
    assert purchases(dbsession) == 0


def test_the_sale_form_sent_twice_sells_once(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    page = webapp.get(SELL)
    form = page.forms["sell-form"]
    key = form["idempotency_key"].value
    assert len(key) >= 20
    form["scope"] = "tournament:main"
    form["tickets"] = "4"
    first = form.submit(status=303)
    again = form.submit(status=303)  # a double click, or the browser resending the form
    assert purchases(dbsession) == 1
    assert again.location == first.location
    # The repeat still tells the desk what to take.
    assert "take $11.00" in again.follow().text
    # Each rendering of the form has its own key: the next sale goes through.
    fresh = webapp.get(SELL).forms["sell-form"]
    assert fresh["idempotency_key"].value != key
    fresh["scope"] = "tournament:main"
    fresh["tickets"] = "4"
    fresh.submit(status=303)
    assert purchases(dbsession) == 2


def test_every_post_form_carries_a_key(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    page = webapp.get(SELL)
    posts = [
        f for f in page.forms.values() if f.method.upper() == "POST" and "csrf_token" in f.fields
    ]
    assert posts
    assert all("idempotency_key" in f.fields for f in posts)


# --- two copies of one sale at the same moment (PostgreSQL, real threads) --------------------


class SlowSale:
    """Widens the race window: a pause after each sale's checks, before it commits (what the
    tests assert holds however the two requests interleave)."""

    @hookimpl(trylast=True)
    def pss_check_ticket_sale(self, session: Session, sale: Any) -> None:
        time.sleep(0.3)


@pytest.fixture
def racing_app(committed_engine: Engine, make_pss: Any, pss: Pss) -> TestApp:
    from pss_core.demo import create_demo
    from pss_web import make_app

    with Session(committed_engine) as session:
        event = create_demo(session, pss)
        ensure_staff(session, event, "desk")
        session.commit()
    app = make_app(
        {
            "pss.engine": committed_engine,
            "pss.plugins": make_pss(SlowSale()),
            "pss.raise_errors": "true",
        }
    )
    return TestApp(app, extra_environ={"REMOTE_ADDR": "192.0.2.10"})


def sell_twice_at_once(app: TestApp, headers: dict[str, str]) -> list[Any]:
    cookie = "; ".join(f"{k}={v}" for k, v in app.cookies.items())
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def sell(i: int) -> None:
        own = TestApp(app.app, extra_environ=app.extra_environ)
        barrier.wait(30)
        answers[i] = own.post_json(
            SELL, SALE, headers={**headers, "Cookie": cookie}, expect_errors=True
        )

    threads = [threading.Thread(target=sell, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(a is not None for a in answers), "a sale hung"
    return answers


def login(app: TestApp) -> dict[str, str]:
    app.post_json(
        "/events/demo/login",
        {"username": "desk-demo", "password": TEST_PASSWORD},
        headers={**JSON, "X-CSRF-Token": csrf_token(app)},
    )
    return {**JSON, "X-CSRF-Token": csrf_token(app)}


@pytest.mark.postgres_only
def test_two_copies_at_once_sell_once(racing_app: TestApp, committed_engine: Engine) -> None:
    headers = login(racing_app)
    answers = sell_twice_at_once(racing_app, {**headers, "Idempotency-Key": "race-1"})
    with Session(committed_engine) as session:
        assert purchases(session) == 1
    for answer in answers:
        assert answer.status_int in (201, 409), answer.text
        if answer.status_int == 409:
            assert answer.json["error"] == "idempotency_in_progress"
    ok = [a for a in answers if a.status_int == 201]
    assert ok
    assert all(a.json["purchase"]["id"] == ok[0].json["purchase"]["id"] for a in ok)


@pytest.mark.postgres_only
def test_negative_control_two_copies_without_a_key_sell_twice(
    racing_app: TestApp, committed_engine: Engine
) -> None:
    headers = login(racing_app)
    answers = sell_twice_at_once(racing_app, headers)
    assert [a.status_int for a in answers] == [201, 201]
    with Session(committed_engine) as session:
        assert purchases(session) == 2
