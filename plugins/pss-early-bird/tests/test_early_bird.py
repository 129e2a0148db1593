"""The time_window restriction, installed through its entry point: early-bird prices, sales windows,
and the early price charged through Stripe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points

import pytest
from pss_early_bird import KIND

from pss_core.errors import InvalidInput, Refused
from pss_core.models import Purchase, PurchaseStatus
from pss_core.payments import online
from pss_core.services.restrictions import PriceRequest, create_restriction, evaluate

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def window(shop, pss, name="Early bird", **config):
    return create_restriction(
        shop.session,
        pss,
        event_id=shop.event.id,
        kind=KIND,
        name=name,
        config=config,
        tournament=shop.main,
    )


def quote(shop, pss, now, tickets=2):
    return evaluate(
        shop.session,
        pss,
        PriceRequest(
            event_id=shop.event.id,
            scope=shop.main,
            player_id=None,
            tickets=tickets,
            base_cents=600,
            now=now,
        ),
    )


def test_installed_through_its_entry_point(installed):
    assert "early_bird" in {ep.name for ep in entry_points(group="pss")}
    assert installed.restrictions.owner(KIND) == "early_bird"


def test_config_is_checked_and_stored_in_utc(shop, installed):
    row = window(
        shop,
        installed,
        starts_at="2026-05-01T08:00-04:00",
        ends_at="2026-05-02T00:00Z",
        price_cents="200",
    )
    assert row.config == {
        "starts_at": "2026-05-01T12:00:00+00:00",
        "ends_at": "2026-05-02T00:00:00+00:00",
        "price_cents": 200,
        "closed_outside": False,
    }
    with pytest.raises(InvalidInput, match="needs a time zone"):
        window(shop, installed, ends_at="2026-05-02T00:00")
    with pytest.raises(InvalidInput, match="must end after it starts"):
        window(shop, installed, starts_at="2026-05-02T00:00Z", ends_at="2026-05-01T00:00Z")
    with pytest.raises(InvalidInput, match="a start, an end, or both"):
        window(shop, installed, price_cents=100)
    with pytest.raises(InvalidInput, match="not 'soon'"):
        window(shop, installed, ends_at="soon")
    for out_of_range in ("0001-01-01T00:00+01:00", "9999-12-31T23:59-01:00"):
        with pytest.raises(InvalidInput, match="between the years 1 and 9999"):
            window(shop, installed, ends_at=out_of_range)


def test_early_price_inside_the_window_and_the_usual_price_after(shop, installed):
    window(shop, installed, ends_at=T0.isoformat(), price_cents=200)
    early = quote(shop, installed, T0 - timedelta(seconds=1))
    assert (early.available, early.amount_cents, early.winner.label) == (True, 400, "Early bird")
    late = quote(shop, installed, T0)  # the end is not part of the window
    assert (late.available, late.amount_cents, late.winner) == (True, 600, None)


def test_windows_that_close_sales_are_ored_and_the_cheapest_price_wins(shop, installed):
    window(shop, installed, "Early", ends_at=T0.isoformat(), price_cents=200, closed_outside=True)
    window(
        shop,
        installed,
        "Regular",
        starts_at=(T0 + timedelta(days=1)).isoformat(),
        ends_at=(T0 + timedelta(days=3)).isoformat(),
        closed_outside=True,
    )
    window(
        shop,
        installed,
        "Happy hour",
        starts_at=(T0 - timedelta(hours=1)).isoformat(),
        ends_at=(T0 + timedelta(hours=1)).isoformat(),
        price_cents=150,
    )

    assert quote(shop, installed, T0 - timedelta(days=1)).amount_cents == 400
    happy = quote(shop, installed, T0 - timedelta(minutes=30))
    assert (happy.amount_cents, happy.winner.label) == (300, "Happy hour")
    # Between the early window and the regular one: closed, and the buyer is told why.
    gap = quote(shop, installed, T0 + timedelta(hours=12))
    assert not gap.available
    assert "go on sale on 02 May 2026 12:00 UTC" in gap.refusal
    assert "closed on 01 May 2026 12:00 UTC" in gap.refusal
    with pytest.raises(Refused) as refused:
        gap.require_available()
    assert refused.value.code == "not_for_sale"
    regular = quote(shop, installed, T0 + timedelta(days=2))
    assert (regular.available, regular.amount_cents) == (True, 600)


def test_online_purchase_charges_the_early_price_through_stripe(shop, installed, fake):
    now = datetime.now(UTC)
    window(shop, installed, ends_at=(now + timedelta(days=1)).isoformat(), price_cents=250)
    purchase = online.reserve(
        shop.session,
        installed,
        event=shop.event,
        player=shop.players[0],
        tickets=3,
        tournament=shop.main,
        now=now,
    )
    # Three tickets are a $8 bundle usually; the early bird's $2.50 each is cheaper.
    assert purchase.amount_cents == 750
    assert purchase.breakdown["pricing"]["price_rule"]["label"] == "Early bird"
    checkout = online.checkout(shop.session, shop.payments, purchase.id, now=now)
    assert fake.payment_intents[checkout.payment_intent_id]["amount"] == 750
    fake.succeed(checkout.payment_intent_id)
    settled = online.confirm_from_payment_intent(
        shop.session, installed, shop.payments, purchase.id, commit=shop.session.flush, now=now
    )
    assert settled.outcome == "paid"
    assert shop.session.get(Purchase, purchase.id).status == PurchaseStatus.COMPLETED


def test_sales_closed_by_a_window_are_refused_before_any_hold(shop, installed, fake):
    now = datetime.now(UTC)
    window(shop, installed, starts_at=(now + timedelta(days=1)).isoformat(), closed_outside=True)
    with pytest.raises(Refused, match="go on sale on"):
        online.reserve(
            shop.session,
            installed,
            event=shop.event,
            player=shop.players[0],
            tickets=1,
            tournament=shop.main,
            now=now,
        )
    assert shop.session.query(Purchase).count() == 0
    assert fake.requests == []
