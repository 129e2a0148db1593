"""Web Push through the web: a player turns notifications on for their phone (the subscription
their browser made, as push.js hands it over), and a score the scorekeeper records reaches that
phone through a local push service, decrypted and signed as a browser vendor's would check it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import demo
from pss_core.models import Event, EventPlayer, PushSubscription, Token, TournamentMachine
from pss_core.plugins import Pss
from pss_testing.fakepush import FakePush
from pss_testing.web import CLIENT_ADDR, JSON, login_as, login_player, post_json


@pytest.fixture
def fake_push() -> Iterator[FakePush]:
    with FakePush() as fake:
        yield fake


def _flat(sub: dict[str, Any]) -> dict[str, str]:
    return {"endpoint": sub["endpoint"], **sub["keys"]}


@pytest.fixture
def live(committed_engine: Engine, pss: Pss) -> TestApp:
    """The demo with play, committed, and an app with its own transactions (its jobs run after
    each commit on SQLite), told that a push service on this machine is fine."""
    from pss_web import make_app

    with Session(committed_engine) as session:
        demo.create_demo(session, pss, play=True)
        session.commit()
    return TestApp(
        make_app(
            {
                "pss.engine": committed_engine,
                "pss.plugins": pss,
                "pss.push.allow_http_endpoints": "true",
            }
        ),
        extra_environ={"REMOTE_ADDR": CLIENT_ADDR},
    )


def _event(engine: Engine) -> Event:
    with Session(engine, expire_on_commit=False) as session:
        return session.scalars(select(Event).where(Event.slug == demo.DEMO_SLUG)).one()


def _playing(engine: Engine) -> tuple[int, int, int]:
    """(machine id, token id, player number) of a game in progress."""
    with Session(engine) as session:
        machine = session.scalars(
            select(TournamentMachine)
            .where(TournamentMachine.token_id.is_not(None))
            .order_by(TournamentMachine.id)
        ).first()
        assert machine is not None
        token = session.get(Token, machine.token_id)
        assert token is not None
        player = session.get(EventPlayer, token.player_id)
        assert player is not None
        return machine.id, token.id, player.number


def test_a_recorded_score_reaches_the_players_phone(
    live: TestApp, committed_engine: Engine, fake_push: FakePush
) -> None:
    machine, token, number = _playing(committed_engine)
    phone = TestApp(live.app, extra_environ={"REMOTE_ADDR": CLIENT_ADDR})
    event = demo.DEMO_SLUG
    ev = _event(committed_engine)
    login_player(phone, ev, number, demo.DEMO_PIN)
    state = phone.get(f"/events/{event}/players/{number}/push", headers=JSON).json
    assert state["available"] is True
    assert state["subscriptions"] == 0
    assert state["public_key"] is None  # a GET makes nothing; the first push-key request does
    key = post_json(phone, f"/events/{event}/players/{number}/push-key").json["public_key"]
    assert len(key) == 87  # 65 bytes, base64url
    assert (
        phone.get(f"/events/{event}/players/{number}/push", headers=JSON).json["public_key"] == key
    )
    res = post_json(
        phone,
        f"/events/{event}/players/{number}/push-subscribe",
        _flat(fake_push.subscription()),
        status=201,
    )
    assert res.json["subscribed"] is True
    login_as(live, ev, "scorekeeper", username="scorekeeper", password="scorekeeper-pass")
    post_json(
        live,
        f"/events/{event}/machines/{machine}/score",
        {"score": "4,200,000", "token_id": token},
    )
    if committed_engine.dialect.name != "sqlite":
        # On PostgreSQL the delivery waits for ``pss worker``; the job engine's tests run it.
        return
    (message,) = fake_push.wait_for(1)
    assert fake_push.rejected == []
    assert message.data["title"] == "Game recorded"
    assert "was recorded: 4,200,000." in message.data["body"]
    assert message.sender_key == key


def test_a_subscription_is_checked_and_only_for_oneself(
    live: TestApp, committed_engine: Engine, fake_push: FakePush
) -> None:
    event = demo.DEMO_SLUG
    login_player(live, _event(committed_engine), 101, demo.DEMO_PIN)
    bad = post_json(
        live,
        f"/events/{event}/players/101/push-subscribe",
        {**_flat(fake_push.subscription()), "p256dh": "AAAA"},
        status=400,
    ).json
    assert bad["error"] == "invalid_push_subscription"
    assert "allow notifications again" in bad["message"]
    other = post_json(
        live,
        f"/events/{event}/players/102/push-subscribe",
        _flat(fake_push.subscription()),
        status=403,
    ).json
    assert other["error"] in ("not_yourself", "forbidden")
    sub = fake_push.subscription()
    post_json(live, f"/events/{event}/players/101/push-subscribe", _flat(sub), status=201)
    post_json(live, f"/events/{event}/players/101/push-unsubscribe", {"endpoint": sub["endpoint"]})
    with Session(committed_engine) as session:
        assert session.scalar(select(func.count(PushSubscription.id))) == 0


def test_the_service_worker_is_served_from_the_root(live: TestApp) -> None:
    res = live.get("/push-sw.js")
    assert res.content_type == "application/javascript"
    assert "showNotification" in res.text
