"""A coupon with 10 uses raced by 100 buyers on PostgreSQL, through the whole online purchase;
and the negative control without the locks, which over-uses it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core.models import RestrictionUse
from pss_core.payments.providers import Payments
from pss_core.payments.stripe_gateway import StripeProvider
from pss_core.services import locking
from pss_testing.loadtest import build_shop, race

pytestmark = pytest.mark.postgres_only


def coupon_race(engine, pss, fake, create_coupon):
    with Session(engine, expire_on_commit=False) as s:
        shop = build_shop(s, players=100, secret_key=fake.api_key)
        coupon = create_coupon(
            s, pss, event_id=shop.event_id, code="TEN", percent_off=50, max_uses=10
        )
        s.commit()
    payments = Payments.only(StripeProvider(api_base=fake.url, timeout=10))
    result = race(
        engine,
        pss,
        payments,
        shop,
        buyers=shop.player_ids,
        succeed=fake.succeed,
        pays=lambda i: i % 2 == 0,
        code="ten",
        threads=20,
    )
    with Session(engine) as s:
        used = s.scalar(
            select(func.count(RestrictionUse.id)).where(RestrictionUse.restriction_id == coupon.id)
        )
    return result, used


def test_a_coupon_with_10_uses_raced_by_100_buyers_is_used_exactly_10_times(
    committed_engine, installed, fake, create_coupon
):
    result, used = coupon_race(committed_engine, installed, fake, create_coupon)
    assert used == 10
    assert result.outcomes["paid"] + result.outcomes["held"] == 10
    assert set(result.outcomes) - {"paid", "held"} <= {"code_not_available", "busy"}
    assert result.outcomes["code_not_available"] >= 80
    assert all(pi["amount"] == 250 for pi in fake.payment_intents.values())


def test_negative_control_without_the_coupon_lock_over_uses_it(
    committed_engine, installed, fake, create_coupon
):
    seen = []
    with locking.unprotected():
        for _ in range(3):
            _, used = coupon_race(committed_engine, installed, fake, create_coupon)
            seen.append(used)
            if used > 10:
                break
    assert any(n > 10 for n in seen), f"no over-use observed without locks: {seen}"
