"""The player's purchase page in a real browser (Chromium through Playwright) on a phone-sized
screen, against pss served by waitress and the fake Stripe server (its Stripe.js stand-in in the
page): log in, pick a count, see the live price, hold, pay with a declined card, then a good one.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pss_core.demo import DEMO_PIN, create_demo
from pss_core.models import PaymentTransaction, Purchase, PurchaseStatus, Token
from pss_core.testing.fakestripe import FakeStripe

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}


def _need_browser() -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("PSS_REQUIRE_BROWSER"):
        pytest.fail(f"PSS_REQUIRE_BROWSER is set but {CHROMIUM} is missing")
    pytest.skip(f"{CHROMIUM} is not installed")


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe(api_key="sk_test_browser_0123456789") as server:
        yield server


@pytest.fixture
def served(committed_engine: Engine, pss: Any, fake: FakeStripe,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The demo event on the fake Stripe account, served by waitress on 127.0.0.1."""
    import waitress
    from argon2 import PasswordHasher

    from pss_core import security
    from pss_web import make_app

    _need_browser()
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))
    with Session(committed_engine, expire_on_commit=False) as s:
        event = create_demo(s, pss)
        event.stripe_secret_key = fake.api_key
        event.stripe_publishable_key = "pk_test_browser"
        event.stripe_webhook_secret = "whsec_browser"
        s.commit()
    app = make_app({
        "pss.engine": committed_engine, "pss.plugins": pss,
        "pss.stripe_api_base": fake.url, "pss.stripe_js_url": fake.js_url,
        "pss.stripe_test_cards": "true",
    })
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def phone() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    _need_browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                      device_scale_factor=2)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shot(page: Any, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"purchase-{backend}-{name}.png"), full_page=True)


def test_player_buys_on_a_phone(served, phone, committed_engine, fake, db_backend):
    page = phone
    page.goto(f"{served}/events/demo/player-login")
    page.fill("#f-number", "101")
    page.fill("#f-pin", DEMO_PIN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/events/demo/**")

    page.goto(f"{served}/events/demo/purchases/")
    page.select_option("#f-scope", "tournament:main")
    page.fill("#f-tickets", "3")
    page.wait_for_function(
        "document.getElementById('price').textContent.includes('Total: $8.00')")
    shot(page, "1-price", db_backend)
    page.click("#hold-button")
    page.wait_for_url(f"{served}/events/demo/purchases/*/")
    assert "3 tickets for Main (HERB)" in page.inner_text("h1")
    assert "left" in page.inner_text("#countdown")

    # A declined card: the page says so in plain words and nothing is paid.
    page.select_option("#f-card", "pm_card_chargeDeclined")
    page.click("#pay-button")
    # First what Stripe.js told the browser, then what pss read from Stripe itself.
    page.wait_for_function("document.getElementById('pay-message').textContent"
                           ".includes('The last payment attempt failed')")
    assert "declined" in page.inner_text("#pay-message")
    page.wait_for_selector("#pay-button:enabled")
    assert page.inner_text("#status-word") == "pending"
    shot(page, "2-declined", db_backend)

    page.select_option("#f-card", "pm_card_visa")
    page.click("#pay-button")
    page.wait_for_function(
        "document.getElementById('pay-message').textContent.includes('ready to play')"
        " || document.getElementById('pay-message').textContent.includes('Paid')")
    assert page.inner_text("#status-word") == "completed"
    shot(page, "3-paid", db_backend)

    # The page was told by pss, which asked Stripe: the database and Stripe agree.
    with Session(committed_engine) as s:
        purchase = s.scalars(select(Purchase)).one()
        assert (purchase.status, purchase.amount_cents) == (PurchaseStatus.COMPLETED, 800)
        assert s.scalar(select(func.count(Token.id)).where(
            Token.purchase_id == purchase.id, Token.paid_at.is_not(None))) == 3
        failed = s.scalars(select(PaymentTransaction).where(
            PaymentTransaction.action == "payment_failed")).all()
        assert [f.error_code for f in failed] == ["generic_decline"]
    [pi] = fake.payment_intents.values()
    assert (pi["status"], pi["amount"]) == ("succeeded", 800)
