"""The coupon restriction, installed through its entry point: percentage or amount off, codes typed
any way, maximum uses, and the cheapest price winning over other offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points

import pytest
from pss_coupons import KIND, discounted
from sqlalchemy import func, select

from pss_core.errors import InvalidInput, Refused
from pss_core.models import PurchaseStatus, RestrictionUse, Token
from pss_core.payments import online
from pss_core.services.restrictions import create_restriction


def hold(shop, pss, code=None, tickets=2, player=0, now=None):
    return online.reserve(
        shop.session,
        pss,
        event=shop.event,
        player=shop.players[player],
        tickets=tickets,
        tournament=shop.main,
        code=code,
        now=now,
    )


def uses(shop, coupon):
    return shop.session.scalar(
        select(func.count(RestrictionUse.id)).where(RestrictionUse.restriction_id == coupon.id)
    )


def test_installed_through_its_entry_point(installed):
    assert "coupons" in {ep.name for ep in entry_points(group="pss")}
    assert installed.restrictions.owner(KIND) == "coupons"
    assert installed.restrictions[KIND].takes_code


def test_discounts():
    assert discounted(600, {"percent_off": 25}) == 450
    assert discounted(599, {"percent_off": 50}) == 300  # the half cent stays with the organizer
    assert discounted(600, {"percent_off": None, "amount_off_cents": 150}) == 450
    assert discounted(100, {"percent_off": None, "amount_off_cents": 150}) == 0


def test_config_is_checked(shop, installed, create_coupon):
    coupon = create_coupon(
        shop.session, installed, event_id=shop.event.id, code=" spring-24 ", percent_off=20
    )
    assert coupon.config["code"] == "SPRING-24"
    with pytest.raises(InvalidInput, match="not both"):
        create_coupon(
            shop.session,
            installed,
            event_id=shop.event.id,
            code="X",
            percent_off=10,
            amount_off_cents=100,
        )
    with pytest.raises(InvalidInput, match="not both"):
        create_coupon(shop.session, installed, event_id=shop.event.id, code="X")
    with pytest.raises(InvalidInput, match="letters, digits or dashes"):
        create_coupon(
            shop.session, installed, event_id=shop.event.id, code="NO SPACES", percent_off=10
        )
    with pytest.raises(InvalidInput, match="at most 100"):
        create_coupon(shop.session, installed, event_id=shop.event.id, code="X", percent_off=150)


def test_a_coupon_takes_its_discount_when_its_code_is_entered(shop, installed, create_coupon):
    create_coupon(
        shop.session,
        installed,
        event_id=shop.event.id,
        code="HALF",
        percent_off=50,
        tournament=shop.main,
    )
    assert hold(shop, installed, code=None).amount_cents == 600
    half = hold(shop, installed, code="  half ", player=1)
    assert half.amount_cents == 300
    assert half.breakdown["pricing"]["price_rule"]["label"] == "Coupon HALF"
    with pytest.raises(Refused, match="The code 'WHOLE' is not valid here") as refused:
        hold(shop, installed, code="whole", player=2)
    assert refused.value.code == "invalid_code"


def test_max_uses_count_live_purchases_only(shop, installed, create_coupon):
    coupon = create_coupon(
        shop.session,
        installed,
        event_id=shop.event.id,
        code="TWO",
        amount_off_cents=100,
        max_uses=2,
        tournament=shop.main,
    )
    now = datetime.now(UTC)
    first = hold(shop, installed, code="two", player=0, now=now - timedelta(minutes=20))
    hold(shop, installed, code="two", player=1, now=now)
    # The first hold expired, so its use no longer counts: one more buyer may use the code.
    third = hold(shop, installed, code="two", player=2, now=now)
    assert third.amount_cents == 500
    assert uses(shop, coupon) == 3
    with pytest.raises(Refused, match="The code 'TWO' has been used up") as refused:
        hold(shop, installed, code="two", player=3, now=now)
    assert refused.value.code == "code_not_available"
    assert first.status == PurchaseStatus.PENDING


def test_cheapest_price_wins_and_a_losing_coupon_is_not_used(shop, installed, create_coupon):
    create_restriction(
        shop.session,
        installed,
        event_id=shop.event.id,
        kind="time_window",
        name="Early bird",
        config={"ends_at": "2999-01-01T00:00Z", "price_cents": 200},
        tournament=shop.main,
    )
    small = create_coupon(
        shop.session, installed, event_id=shop.event.id, code="TENOFF", percent_off=10, max_uses=5
    )
    big = create_coupon(
        shop.session, installed, event_id=shop.event.id, code="BIG", percent_off=60, max_uses=5
    )
    early = hold(shop, installed, code="tenoff", player=0)
    assert early.amount_cents == 400  # 2 x $2 early bird beats $6 - 10%
    assert uses(shop, small) == 0
    coupon = hold(shop, installed, code="big", player=1)
    assert coupon.amount_cents == 240  # $6 - 60% beats the early bird
    assert uses(shop, big) == 1


def test_a_free_purchase_needs_no_payment(shop, installed, fake, create_coupon):
    create_coupon(shop.session, installed, event_id=shop.event.id, code="FREE", percent_off=100)
    purchase = hold(shop, installed, code="free")
    assert (purchase.status, purchase.amount_cents) == (PurchaseStatus.COMPLETED, 0)
    assert (
        shop.session.scalar(
            select(func.count(Token.id)).where(
                Token.purchase_id == purchase.id, Token.paid_at.is_not(None)
            )
        )
        == 2
    )
    assert fake.requests == []
