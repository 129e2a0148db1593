"""Web Push: subscriptions checked when kept, every message to a subscribed player pushed to a
local push service that verifies the VAPID signature and decrypts the body, subscriptions the
service says are gone dropped, and "your game was recorded" for subscribed players."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import notify, push
from pss_core.audit import Actor
from pss_core.contract import PlayerNotification
from pss_core.errors import InvalidInput
from pss_core.models import Notification, PushKeys, PushSubscription
from pss_testing.fakepush import FakePush

from .services.conftest import World, build_world

ME = Actor("player")


@pytest.fixture
def fake_push() -> Iterator[FakePush]:
    with FakePush() as fake:
        yield fake


@pytest.fixture
def world(dbsession: Session, pss: Any) -> World:
    return build_world(dbsession, pss)


def _subscribe(world: World, player: Any, sub: dict[str, Any]) -> PushSubscription:
    return push.subscribe(
        world.session,
        player,
        endpoint=sub["endpoint"],
        p256dh=sub["keys"]["p256dh"],
        auth=sub["keys"]["auth"],
        actor=ME,
        allow_http=True,
    )


def _tell(world: World, player: Any, kind: str = "queue_next", message: str = "Go") -> str:
    row = notify.tell(
        world.session,
        PlayerNotification(
            event_id=world.event.id, player_id=player.id, kind=kind, message=message
        ),
    )
    return notify.deliver(world.session, world.pss, row.id)


def test_a_message_is_pushed_encrypted_and_signed(world: World, fake_push: FakePush) -> None:
    ada = world.player()
    _subscribe(world, ada, fake_push.subscription())
    assert _tell(world, ada, message="You are next on Godzilla.") == "delivered"
    (got,) = fake_push.wait_for(1)
    assert fake_push.rejected == []
    assert got.data["body"] == "You are next on Godzilla."
    assert got.data["title"] == "You're up next"
    assert got.ttl == push.TTL
    keys = world.session.scalars(select(PushKeys)).one()
    assert got.sender_key == keys.public_key  # signed with the instance's VAPID key
    assert got.claims["sub"].startswith("mailto:")


def test_each_browser_of_the_player_gets_it_and_nobody_else(
    world: World, fake_push: FakePush
) -> None:
    ada, bo = world.player(), world.player()
    _subscribe(world, ada, fake_push.subscription())
    _subscribe(world, ada, fake_push.subscription())
    _subscribe(world, bo, fake_push.subscription())
    _tell(world, ada)
    assert len(fake_push.wait_for(2)) == 2
    assert {m.subscription for m in fake_push.messages} == {
        s.endpoint.rsplit("/", 1)[-1]
        for s in world.session.scalars(
            select(PushSubscription).where(PushSubscription.player_id == ada.id)
        )
    }


def test_without_a_subscription_the_next_delivery_is_asked(world: World) -> None:
    ada = world.player()
    assert _tell(world, ada, kind="your_turn") == "recorded"


def test_a_subscription_the_push_service_says_is_gone_is_dropped(
    world: World, fake_push: FakePush
) -> None:
    ada = world.player()
    sub = fake_push.subscription()
    _subscribe(world, ada, sub)
    fake_push.answer_next(sub["endpoint"], 410)
    assert _tell(world, ada) == "recorded"
    assert world.session.scalar(select(func.count(PushSubscription.id))) == 0


def test_failures_are_kept_and_too_many_drop_the_subscription(
    world: World, fake_push: FakePush
) -> None:
    ada = world.player()
    sub = fake_push.subscription()
    row = _subscribe(world, ada, sub)
    for _ in range(push.MAX_FAILURES - 1):
        fake_push.answer_next(sub["endpoint"], 500)
        assert _tell(world, ada) == "recorded"
    assert row.failures == push.MAX_FAILURES - 1
    assert row.last_error is not None
    assert row.last_error.startswith("the push service refused it: 500")
    fake_push.answer_next(sub["endpoint"], 500)
    _tell(world, ada)
    assert world.session.scalar(select(func.count(PushSubscription.id))) == 0


def test_a_recorded_game_is_pushed_to_subscribed_players_only(
    world: World, fake_push: FakePush
) -> None:
    ada, bo = world.player("Ada"), world.player("Bo")
    _subscribe(world, ada, fake_push.subscription())
    world.sell(ada, 1)
    world.sell(bo, 1)
    world.start(ada, world.m(i=0))
    world.record(world.m(i=0), 1_234_567)
    world.start(bo, world.m(i=0))
    world.record(world.m(i=0), 7_654_321)
    recorded = world.session.scalars(
        select(Notification).where(Notification.kind == "game_recorded")
    ).all()
    assert [(n.player_id, n.message) for n in recorded] == [
        (ada.id, f"Your game on {world.m(i=0).machine.name} was recorded: 1,234,567.")
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "http://push.example.org/x"}, "endpoint"),
        ({"endpoint": "ftp://127.0.0.1/x"}, "endpoint"),
        ({"p256dh": "not-a-key"}, "p256dh"),
        ({"p256dh": "AAAA"}, "p256dh"),
        ({"auth": "c2hvcnQ"}, "auth"),
    ],
)
def test_a_bad_subscription_is_refused_clearly(
    world: World, fake_push: FakePush, change: dict[str, str], field: str
) -> None:
    sub = fake_push.subscription()
    values = {"endpoint": sub["endpoint"], **sub["keys"], **change}
    with pytest.raises(InvalidInput) as err:
        push.subscribe(
            world.session,
            world.player(),
            actor=ME,
            allow_http=not change.get("endpoint", "").startswith("http://push"),
            **values,
        )
    assert err.value.code == "invalid_push_subscription"
    assert err.value.details["field"] == field
    assert "allow notifications again" in err.value.message


def test_plain_http_is_refused_unless_allowed(world: World, fake_push: FakePush) -> None:
    sub = fake_push.subscription()
    with pytest.raises(InvalidInput):
        push.subscribe(
            world.session,
            world.player(),
            endpoint=sub["endpoint"],
            p256dh=sub["keys"]["p256dh"],
            auth=sub["keys"]["auth"],
            actor=ME,
        )


def test_the_same_browser_subscribing_again_replaces_its_subscription(
    world: World, fake_push: FakePush
) -> None:
    ada, bo = world.player(), world.player()
    sub = fake_push.subscription()
    _subscribe(world, ada, sub)
    _subscribe(world, bo, sub)  # the phone was handed on and Bo logged in
    rows = world.session.scalars(select(PushSubscription)).all()
    assert [(r.player_id, r.endpoint) for r in rows] == [(bo.id, sub["endpoint"])]
    assert push.unsubscribe(world.session, ada, endpoint=sub["endpoint"], actor=ME) is False
    assert push.unsubscribe(world.session, bo, endpoint=sub["endpoint"], actor=ME) is True
