"""A player cancels their own pending online purchase (WebTest, with the fake Stripe server): the
hold ends at once, so its tickets count for nobody; the audit trail says who; someone else's
purchase, a paid one and a second cancel are refused; the form on the purchase page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import AuditLog, Event, Purchase, PurchaseStatus, Tournament
from pss_core.payments import online
from pss_core.payments.providers import Payments
from pss_core.payments.stripe_gateway import StripeProvider
from pss_testing.fakestripe import FakeStripe
from pss_testing.web import JSON, login_as, login_player, post_json

PIN = "4321"


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[FakeStripe]:
    with FakeStripe(api_key="sk_test_cancel_0123456789") as fake:
        yield fake


@pytest.fixture
def shop(
    webapp: TestApp,
    dbsession: Session,
    demo_event: Event,
    stripe_server: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> Event:
    stripe_server.reset()
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.005)
    demo_event.stripe_secret_key = stripe_server.api_key
    demo_event.stripe_publishable_key = "pk_test_cancel"
    demo_event.stripe_webhook_secret = "whsec_cancel"
    main: Tournament = demo_event.tournaments[0]
    main.max_unused_tickets = 3
    dbsession.flush()
    webapp.app.registry["pss.payments"] = Payments.only(
        StripeProvider(api_base=stripe_server.url, timeout=5)
    )
    return demo_event


def buy(app: TestApp, tickets: int, status: int = 201) -> dict:
    res = post_json(
        app,
        "/events/demo/purchases/",
        {"scope": "tournament:main", "tickets": tickets},
        status=status,
    )
    return res.json


def test_cancelling_ends_the_hold_at_once(webapp: TestApp, dbsession: Session, shop: Event) -> None:
    login_player(webapp, shop, 101, PIN)
    held = buy(webapp, 3)["purchase"]
    post_json(webapp, held["intent_url"])  # paying had started
    # The hold counts: no room for more unused tickets.
    assert buy(webapp, 1, status=409)["error"]
    res = post_json(webapp, held["url"] + "cancel")
    assert res.json["purchase"]["status"] == "cancelled"
    assert "nothing was charged" in res.json["message"]
    purchase = dbsession.get(Purchase, held["id"])
    assert purchase is not None
    assert purchase.status == PurchaseStatus.CANCELLED
    # At once: the same tickets can be bought again right away.
    buy(webapp, 3)
    row = dbsession.scalars(select(AuditLog).where(AuditLog.action == "purchase.cancel")).one()
    assert row.details["reason"] == "cancelled by the player"
    assert row.actor_player_id == purchase.player_id
    # The worker cancels its PaymentIntent at Stripe, so it can no longer be paid.
    assert held["id"] in online.intents_to_cancel(dbsession)


def test_only_the_buyer_cancels_and_only_while_pending(
    webapp: TestApp, make_webapp, dbsession: Session, shop: Event
) -> None:
    login_player(webapp, shop, 101, PIN)
    held = buy(webapp, 1)["purchase"]
    other = make_webapp()
    login_player(other, shop, 102, PIN)
    assert post_json(other, held["url"] + "cancel", status=403).json["error"] in (
        "forbidden",
        "not_the_buyer",
    )
    desk = make_webapp()
    login_as(desk, shop, "desk")
    assert post_json(desk, held["url"] + "cancel", status=403).json["error"] == "not_the_buyer"
    assert dbsession.get(Purchase, held["id"]).status == PurchaseStatus.PENDING  # type: ignore[union-attr]
    post_json(webapp, held["url"] + "cancel")
    again = post_json(webapp, held["url"] + "cancel", status=409).json
    assert again["error"] == "purchase_not_pending"
    assert "cancelled already" in again["message"]


def test_the_cancel_form_on_the_purchase_page(
    webapp: TestApp, dbsession: Session, shop: Event
) -> None:
    login_player(webapp, shop, 101, PIN)
    held = buy(webapp, 2)["purchase"]
    page = webapp.get(held["url"])
    form = page.forms["cancel-form"]
    res = form.submit(status=303)
    assert "Purchase cancelled" in res.follow().text
    assert dbsession.get(Purchase, held["id"]).status == PurchaseStatus.CANCELLED  # type: ignore[union-attr]
    assert "cancel-form" not in webapp.get(held["url"]).text
    assert webapp.get(held["url"], headers=JSON).json["purchase"]["status"] == "cancelled"
