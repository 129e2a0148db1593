"""A player registers themselves on a phone before the event and buys a ticket online, in a real
browser (Chromium through Playwright) against pss served by waitress and the fake Stripe server:
the event's registration page with its question, the number and PIN shown once, then the purchase
page, paid with a test card. Screenshots go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pss_core.demo import create_demo
from pss_core.models import Purchase, PurchaseStatus
from pss_core.security import verify_secret
from pss_core.services import players, setup
from pss_testing.fakestripe import FakeStripe

pytestmark = pytest.mark.browser


@pytest.fixture
def open_event(
    committed_engine: Engine,
    pss: Any,
    fake_stripe: FakeStripe,
    serve: Callable[[dict[str, Any]], str],
) -> str:
    """The demo event taking registrations online, with a t-shirt question, on the fake Stripe
    account; its base URL."""
    with Session(committed_engine, expire_on_commit=False) as s:
        event = create_demo(s, pss)
        event.stripe_secret_key = fake_stripe.api_key
        event.stripe_publishable_key = "pk_test_browser"
        event.stripe_webhook_secret = "whsec_browser"
        players.set_self_registration(s, event, enabled=True)
        players.add_question(
            s, event, "T-shirt size", "choice", choices=["S", "M", "L"], required=True
        )
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


def test_player_registers_on_a_phone_and_buys_online(
    open_event: str,
    new_page: Callable[..., Any],
    shot: Callable[[Any, str], None],
    committed_engine: Engine,
    failed_requests: list[str],
) -> None:
    page = new_page(phone=True)
    page.goto(f"{open_event}/events/demo/")
    page.click("#register-link")
    page.wait_for_url(f"{open_event}/events/demo/register")
    page.fill("#f-first_name", "Pia")
    page.fill("#f-last_name", "Phone")
    page.fill("#f-email", "pia@example.org")
    shot(page, "form")
    # The shirt size is required: the browser itself asks for it before sending.
    page.click("#register-button")
    assert page.url == f"{open_event}/events/demo/register"
    [question] = [
        h for h in page.query_selector_all("select") if h.get_attribute("required") is not None
    ]
    question.select_option("M")
    page.click("#register-button")
    page.wait_for_url(f"{open_event}/events/demo/players/109/welcome")
    pin = page.inner_text("#welcome-pin")
    assert page.inner_text("#welcome-number") == "109"
    shot(page, "welcome")

    page.click("#buy-link")
    page.wait_for_url(f"{open_event}/events/demo/purchases/")
    page.select_option("#f-scope", "tournament:main")
    page.fill("#f-tickets", "1")
    page.wait_for_function("document.getElementById('price').textContent.includes('Total: $3.00')")
    page.click("#hold-button")
    page.wait_for_url(f"{open_event}/events/demo/purchases/*/")
    page.select_option("#f-card", "pm_card_visa")
    page.click("#pay-button")
    page.wait_for_function(
        "document.getElementById('pay-message').textContent.includes('ready to play')"
        " || document.getElementById('pay-message').textContent.includes('Paid')"
    )
    assert page.inner_text("#status-word") == "completed"
    shot(page, "paid")

    with Session(committed_engine) as s:
        event = setup.event_by_slug(s, "demo")
        assert event is not None
        ep = setup.player_by_number(s, event.id, 109)
        assert ep.name == "Pia Phone"
        assert verify_secret(ep.pin_hash, pin)
        assert list(players.answers_of(s, ep).values()) == ["M"]
        purchase = s.scalars(select(Purchase).where(Purchase.player_id == ep.id)).one()
        assert (purchase.status, purchase.amount_cents) == (PurchaseStatus.COMPLETED, 300)
    assert failed_requests == []
