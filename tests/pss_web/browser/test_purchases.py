"""The player's purchase page in a real browser (Chromium through Playwright) on a phone-sized
screen, against pss served by waitress and the fake Stripe server (its Stripe.js stand-in in the
page): log in, pick a count, see the live price, hold, pay with a declined card, then a good one.
Runs on each database backend; screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pss_core.demo import DEMO_PIN, create_demo
from pss_core.models import PaymentTransaction, Purchase, PurchaseStatus, Token
from pss_testing.fakestripe import FakeStripe

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(
    committed_engine: Engine,
    pss: Any,
    fake_stripe: FakeStripe,
    serve: Callable[[dict[str, Any]], str],
) -> str:
    """The demo event on the fake Stripe account, really committed, served on 127.0.0.1 (the
    server stops before the tables are emptied); its base URL."""
    with Session(committed_engine, expire_on_commit=False) as s:
        event = create_demo(s, pss)
        event.stripe_secret_key = fake_stripe.api_key
        event.stripe_publishable_key = "pk_test_browser"
        event.stripe_webhook_secret = "whsec_browser"
        s.commit()
    return serve(
        {
            "pss.engine": committed_engine,
            "pss.plugins": pss,
            "pss.stripe_api_base": fake_stripe.url,
            "pss.stripe_js_url": fake_stripe.js_url,
            "pss.stripe_test_cards": "true",
        }
    )


def test_player_buys_on_a_phone(
    shop: str,
    new_page: Callable[..., Any],
    shot: Callable[[Any, str], None],
    committed_engine: Engine,
    fake_stripe: FakeStripe,
) -> None:
    page = new_page(phone=True)
    page.goto(f"{shop}/events/demo/player-login")
    page.fill("#f-number", "101")
    page.fill("#f-pin", DEMO_PIN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{shop}/events/demo/**")

    page.goto(f"{shop}/events/demo/purchases/")
    page.select_option("#f-scope", "tournament:main")
    page.fill("#f-tickets", "3")
    page.wait_for_function("document.getElementById('price').textContent.includes('Total: $8.00')")
    shot(page, "price")
    page.click("#hold-button")
    page.wait_for_url(f"{shop}/events/demo/purchases/*/")
    assert "3 tickets for Main (HERB)" in page.inner_text("h1")
    assert "left" in page.inner_text("#countdown")

    # A declined card: the page says so in plain words and nothing is paid.
    page.select_option("#f-card", "pm_card_chargeDeclined")
    page.click("#pay-button")
    # First what Stripe.js told the browser, then what pss read from Stripe itself.
    page.wait_for_function(
        "document.getElementById('pay-message').textContent"
        ".includes('The last payment attempt failed')"
    )
    assert "declined" in page.inner_text("#pay-message")
    page.wait_for_selector("#pay-button:enabled")
    assert page.inner_text("#status-word") == "pending"
    shot(page, "declined")

    page.select_option("#f-card", "pm_card_visa")
    page.click("#pay-button")
    page.wait_for_function(
        "document.getElementById('pay-message').textContent.includes('ready to play')"
        " || document.getElementById('pay-message').textContent.includes('Paid')"
    )
    assert page.inner_text("#status-word") == "completed"
    shot(page, "paid")

    # The page was told by pss, which asked Stripe: the database and Stripe agree.
    with Session(committed_engine) as s:
        purchase = s.scalars(select(Purchase)).one()
        assert (purchase.status, purchase.amount_cents) == (PurchaseStatus.COMPLETED, 800)
        assert (
            s.scalar(
                select(func.count(Token.id)).where(
                    Token.purchase_id == purchase.id, Token.paid_at.is_not(None)
                )
            )
            == 3
        )
        failed = s.scalars(
            select(PaymentTransaction).where(PaymentTransaction.action == "payment_failed")
        ).all()
        assert [f.error_code for f in failed] == ["generic_decline"]
    [pi] = fake_stripe.payment_intents.values()
    assert (pi["status"], pi["amount"]) == ("succeeded", 800)
