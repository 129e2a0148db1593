"""The purchase pages through WebTest: a player buys and pays (the fake Stripe server standing in
for Stripe and the browser's Stripe.js), payment errors in plain words and kept on the record, the
desk refunds, Stripe's webhook, and the owner's Stripe settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import stripe
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import (
    PaymentProvider,
    PaymentProviderSpec,
    PaymentState,
    Registry,
    hookimpl,
)
from pss_core.models import (
    AuditLog,
    Event,
    PaymentTransaction,
    Purchase,
    PurchaseStatus,
    StripeWebhookEvent,
    Token,
)
from pss_core.payments.providers import Payments
from pss_core.payments.stripe_gateway import StripeProvider
from pss_testing.fakestripe import FakeStripe, sign_webhook
from pss_testing.web import (
    JSON,
    app_for,
    login_admin,
    login_as,
    login_player,
    post_form,
    post_json,
)

PIN = "4321"
WEBHOOK_SECRET = "whsec_web_test"


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[FakeStripe]:
    with FakeStripe(api_key="sk_test_web_0123456789") as fake:
        yield fake


@pytest.fixture
def fake(stripe_server: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    stripe_server.reset()
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.005)
    return stripe_server


@pytest.fixture
def shop(webapp: TestApp, dbsession: Session, demo_event: Event, fake: FakeStripe) -> Event:
    demo_event.stripe_secret_key = fake.api_key
    demo_event.stripe_publishable_key = "pk_test_web"
    demo_event.stripe_webhook_secret = WEBHOOK_SECRET
    dbsession.flush()
    webapp.app.registry["pss.payments"] = Payments.only(
        StripeProvider(api_base=fake.url, timeout=5)
    )
    return demo_event


def buy(
    app: TestApp,
    event: Event,
    tickets: int = 1,
    scope: str = "tournament:main",
    status: int = 201,
    **extra: Any,
) -> Any:
    return post_json(
        app,
        f"/events/{event.slug}/purchases/",
        {"scope": scope, "tickets": tickets, **extra},
        status=status,
    )


def test_player_buys_and_pays(webapp, dbsession, shop, fake):
    login_player(webapp, shop, 101, PIN)
    page = webapp.get("/events/demo/purchases/")
    assert "Main (HERB)" in page.text
    assert "3 for $8.00" in page.text
    quote = webapp.get(
        "/events/demo/purchases/quote", {"scope": "tournament:main", "tickets": "3"}, headers=JSON
    ).json
    assert (quote["amount_cents"], quote["amount"], quote["available"]) == (800, "$8.00", True)

    held = buy(webapp, shop, tickets=3).json["purchase"]
    assert (held["status"], held["amount_cents"], held["paid_games"]) == ("pending", 800, 0)
    intent = post_json(webapp, held["intent_url"]).json
    assert intent["publishable_key"] == "pk_test_web"
    [pi_id] = fake.payment_intents
    assert intent["client_secret"] == fake.payment_intents[pi_id]["client_secret"]
    assert fake.payment_intents[pi_id]["amount"] == 800

    # Not paid yet: asking changes nothing.
    assert post_json(webapp, held["status_url"]).json["outcome"] == "waiting"
    fake.succeed(pi_id)  # what Stripe.js does in the browser
    status = post_json(webapp, held["status_url"]).json
    assert (status["outcome"], status["status"], status["paid"]) == ("paid", "completed", True)
    assert status["purchase"]["paid_games"] == 3
    page = webapp.get(held["url"])
    assert "completed" in page.text


def test_a_payment_error_is_shown_in_plain_words_and_kept(webapp, dbsession, shop, fake):
    login_player(webapp, shop, 101, PIN)
    held = buy(webapp, shop).json["purchase"]
    fake.fail_next("rate_limit", path_contains="/v1/payment_intents")
    refused = post_json(webapp, held["intent_url"], status=429).json
    assert refused["error"] == "payment_busy"
    assert "Nothing was charged" in refused["message"]
    [row] = dbsession.scalars(
        select(PaymentTransaction).where(PaymentTransaction.purchase_id == held["id"])
    ).all()
    assert (row.action, row.ok, row.error_type) == ("create_intent", False, "RateLimitError")
    # Trying again works, and the tokens were never paid in between.
    assert post_json(webapp, held["intent_url"]).json["ok"]
    assert (
        dbsession.scalar(
            select(func.count(Token.id)).where(
                Token.purchase_id == held["id"], Token.paid_at.is_not(None)
            )
        )
        == 0
    )


def test_refusals_come_back_in_plain_words(webapp, dbsession, shop):
    login_player(webapp, shop, 101, PIN)
    main = shop.tournaments[0]
    main.ticket_quota = 1
    dbsession.flush()
    buy(webapp, shop)
    sold_out = buy(webapp, shop, status=409).json
    assert (sold_out["error"], sold_out["message"]) == ("sold_out", "Main (HERB) is sold out.")
    bad = buy(webapp, shop, tickets=0, status=400).json
    assert bad["error"] == "invalid_field"
    # A browser form post re-renders the page with the message.
    page = post_form(
        webapp, "/events/demo/purchases/", {"scope": "tournament:main", "tickets": "1"}, status=409
    )
    assert "Main (HERB) is sold out." in page.text
    assert "Buy tickets" in page.text


def test_only_the_buyer_and_staff_see_a_purchase(webapp, make_webapp, shop):
    login_player(webapp, shop, 101, PIN)
    held = buy(webapp, shop).json["purchase"]
    other = make_webapp()
    login_player(other, shop, 102, PIN)
    other.get(held["url"], status=403)
    post_json(other, held["intent_url"], status=403)
    anonymous = make_webapp()
    anonymous.get(held["url"], headers=JSON, status=401)
    desk = make_webapp()
    login_as(desk, shop, "desk")
    assert desk.get(held["url"], headers=JSON).json["purchase"]["id"] == held["id"]
    # Staff may look, but only the buyer pays.
    post_json(desk, held["intent_url"], status=403)
    webapp.get("/events/demo/purchases/999999/", status=404)


def test_desk_refunds_part_of_an_online_purchase_to_the_card(
    webapp, make_webapp, dbsession, shop, fake
):
    login_player(webapp, shop, 101, PIN)
    held = buy(webapp, shop, tickets=3).json["purchase"]
    post_json(webapp, held["intent_url"])
    [pi_id] = fake.payment_intents
    fake.succeed(pi_id)
    assert post_json(webapp, held["status_url"]).json["paid"]

    desk = make_webapp()
    login_as(desk, shop, "desk")
    page = desk.get(held["url"])
    assert "3 unused games can be refunded to the card" in page.text
    res = post_form(desk, held["refund_url"], {"games": "1", "reason": "left early"}, status=303)
    assert "$2.66 was refunded to the card" in res.follow().text
    purchase = dbsession.get(Purchase, held["id"])
    dbsession.refresh(purchase)
    assert purchase.refunded_cents == fake.amount_refunded(pi_id) == 266
    # The player's own view agrees; a player cannot refund.
    post_form(webapp, held["refund_url"], {"games": "1"}, status=403)
    listing = desk.get("/events/demo/players/101/purchases", headers=JSON).json
    assert [p["refunded_cents"] for p in listing["purchases"]] == [266]
    too_many = post_json(desk, held["refund_url"], {"games": 5}, status=409).json
    assert too_many["error"] == "not_enough_unused"


def test_stripe_webhook_is_signature_checked_and_deduplicated(webapp, dbsession, shop, fake):
    login_player(webapp, shop, 101, PIN)
    held = buy(webapp, shop).json["purchase"]
    post_json(webapp, held["intent_url"])
    [pi_id] = fake.payment_intents
    fake.succeed(pi_id)
    event = next(e for e in fake.events if e["type"] == "payment_intent.succeeded")
    payload = fake.webhook_payload(event)
    hook = "/events/demo/stripe/webhook"
    headers = {"Content-Type": "application/json"}

    bad = webapp.post(
        hook,
        payload,
        headers={**headers, "Stripe-Signature": sign_webhook(payload, "whsec_wrong")},
        status=400,
    ).json
    assert bad["error"] == "bad_signature"
    # No CSRF token: Stripe has none; the signature is the check.
    signed = {**headers, "Stripe-Signature": sign_webhook(payload, WEBHOOK_SECRET)}
    assert webapp.post(hook, payload, headers=signed).json["outcome"] == "handled"
    assert dbsession.get(Purchase, held["id"]).status == PurchaseStatus.COMPLETED
    assert webapp.post(hook, payload, headers=signed).json["outcome"] == "duplicate"
    assert dbsession.scalar(select(func.count(StripeWebhookEvent.stripe_event_id))) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"null",
        b'{"id": "evt_1", "type": null}',
        b'{"id": "evt_' + b"x" * 296 + b'", "type": "charge.refunded", "data": {"object": {}}}',
        b'{"id": "evt_1", "type": "charge.refunded"}',
        b'{"id": 1, "type": 2, "data": "x"}',
    ],
    ids=["list", "null", "null type", "300-char id", "no data.object", "wrong types"],
)
def test_a_signed_webhook_that_is_no_stripe_event_is_a_400(webapp, dbsession, shop, body):
    """Signed with the event's webhook secret, as Stripe signs, these bodies were a 500 (an
    AttributeError in the stripe library, a value too long for the id column)."""
    res = webapp.post(
        "/events/demo/stripe/webhook",
        body,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign_webhook(body, WEBHOOK_SECRET),
        },
        status=400,
    )
    assert res.json["error"] == "invalid_webhook"
    assert dbsession.scalar(select(func.count(StripeWebhookEvent.stripe_event_id))) == 0


def test_webhook_asks_for_a_retry_when_stripe_cannot_be_reached(webapp, dbsession, shop, fake):
    login_player(webapp, shop, 101, PIN)
    held = buy(webapp, shop).json["purchase"]
    post_json(webapp, held["intent_url"])
    [pi_id] = fake.payment_intents
    fake.succeed(pi_id)
    event = next(e for e in fake.events if e["type"] == "payment_intent.succeeded")
    payload = fake.webhook_payload(event)
    fake.fail_next("drop_before", times=3, path_contains=pi_id)
    res = webapp.post(
        "/events/demo/stripe/webhook",
        payload,
        status=503,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign_webhook(payload, WEBHOOK_SECRET),
        },
    )
    assert res.json["outcome"] == "retry"
    failed = dbsession.scalars(
        select(PaymentTransaction).where(
            PaymentTransaction.purchase_id == held["id"], PaymentTransaction.ok.is_(False)
        )
    ).one()
    assert failed.error_type == "APIConnectionError"


def test_owner_connects_the_events_stripe_account_and_never_sees_the_keys(
    webapp, dbsession, demo_event
):
    login_admin(webapp)
    page = webapp.get("/admin/events/demo/stripe")
    assert "Secret key: <strong>not set</strong>" in page.text
    secret = "sk_test_owner_own_account_1234567890"
    res = post_form(
        webapp,
        "/admin/events/demo/stripe",
        {
            "secret_key": secret,
            "publishable_key": "pk_test_owner",
            "webhook_secret": "whsec_owner_secret",
            "clear": "off",
        },
        status=303,
    )
    page = res.follow()
    assert "Secret key: <strong>set</strong>" in page.text
    assert "/events/demo/stripe/webhook" in page.text
    assert secret not in page.text
    assert "whsec_owner_secret" not in page.text
    assert demo_event.stripe_secret_key == secret
    audit = dbsession.scalars(
        select(AuditLog).where(AuditLog.action == "event.stripe_account")
    ).one()
    assert secret not in str(audit.details)
    assert audit.details["changed"] == ["secret_key", "publishable_key", "webhook_secret"]
    bad = post_json(webapp, "/admin/events/demo/stripe", {"secret_key": "pk_oops"}, status=400)
    assert bad.json["error"] == "invalid_stripe_key"


def test_without_stripe_keys_the_page_says_to_buy_at_the_desk(webapp, demo_event):
    login_player(webapp, demo_event, 101, PIN)
    page = webapp.get("/events/demo/purchases/")
    assert "does not take online payments" in page.text
    refused = buy(webapp, demo_event, status=409).json
    assert refused["error"] == "payment_not_configured"


def test_commits_through_the_transaction_manager(committed_engine, pss, stripe_server, monkeypatch):
    """Without a test's own session the views commit through pyramid_tm mid-request: the hold,
    what Stripe said, the webhook and a refund are all really stored."""
    from argon2 import PasswordHasher

    from pss_core import security
    from pss_core.demo import create_demo
    from pss_web import make_app

    fake = stripe_server
    fake.reset()
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.005)
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    with Session(committed_engine, expire_on_commit=False) as s:
        event = create_demo(s, pss)
        event.stripe_secret_key = fake.api_key
        event.stripe_publishable_key = "pk_test_tm"
        event.stripe_webhook_secret = WEBHOOK_SECRET
        s.commit()
    app = TestApp(
        make_app(
            {
                "pss.engine": committed_engine,
                "pss.plugins": pss,
                "pss.stripe_api_base": fake.url,
                "pss.raise_errors": "true",
            }
        )
    )
    login_player(app, event, 101, PIN)
    held = buy(app, event, tickets=2).json["purchase"]
    post_json(app, held["intent_url"])
    [pi_id] = fake.payment_intents
    fake.succeed(pi_id)
    payload = fake.webhook_payload(
        next(e for e in fake.events if e["type"] == "payment_intent.succeeded")
    )
    res = app.post(
        "/events/demo/stripe/webhook",
        payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign_webhook(payload, WEBHOOK_SECRET),
        },
    )
    assert res.json["outcome"] == "handled"

    desk = TestApp(app.app)
    login_as(desk, event, "desk", username="desk", password="desk-pass")
    refunded = post_json(desk, held["refund_url"], {"games": 1}).json
    assert (refunded["ok"], refunded["amount_cents"]) == (True, 300)
    with Session(committed_engine) as s:
        purchase = s.get(Purchase, held["id"])
        assert (purchase.status, purchase.refunded_cents) == (PurchaseStatus.COMPLETED, 300)
        assert s.scalar(select(func.count(StripeWebhookEvent.stripe_event_id))) == 1
        assert (
            s.scalar(
                select(func.count(Token.id)).where(
                    Token.purchase_id == purchase.id,
                    Token.paid_at.is_not(None),
                    Token.refunded_at.is_(None),
                )
            )
            == 1
        )
    assert fake.amount_refunded(pi_id) == 300


class CounterProvider(PaymentProvider):
    """A provider with no payment step of its own and no webhooks: paid at a counter."""

    name = "counter"

    def configured(self, event: Event) -> bool:
        return True

    def start_payment(
        self,
        session: Any,
        event: Event,
        purchase: Purchase,
        *,
        description: str,
        idempotency_key: str,
    ) -> PaymentState:
        return PaymentState(
            id=f"counter-{purchase.id}",
            status="waiting",
            amount=purchase.amount_cents,
            amount_received=0,
            currency=event.currency,
            metadata={"pss_purchase_id": str(purchase.id)},
        )

    def checkout_data(self, event: Event, state: PaymentState) -> dict[str, Any]:
        return {"counter_code": state.id}


class CounterPlugin:
    @hookimpl
    def pss_register_payment_providers(self, registry: Registry[PaymentProviderSpec]) -> None:
        registry.add(
            PaymentProviderSpec(name="counter", factory=lambda settings: CounterProvider())
        )


def test_another_providers_purchase_page_names_no_stripe(dbsession, demo_event, engine, make_pss):
    demo_event.payment_provider = "counter"
    dbsession.flush()
    app = app_for(dbsession, engine, make_pss(CounterPlugin()))
    login_player(app, demo_event, 101, PIN)
    held = buy(app, demo_event, tickets=1).json["purchase"]
    page = app.get(held["url"])
    assert "Pay " in page.text
    assert "stripe" not in page.text.lower()
    intent = post_json(app, held["intent_url"]).json
    assert (intent["provider"], intent["counter_code"]) == ("counter", f"counter-{held['id']}")
    assert "client_secret" not in intent
    # Stripe's webhook address is not this event's; the counter takes no webhooks.
    wrong = app.post("/events/demo/stripe/webhook", b"{}", status=400).json
    assert wrong["error"] == "wrong_payment_provider"
    assert (
        app.post("/events/demo/counter/webhook", b"{}", status=400).json["error"] == "no_webhooks"
    )
    app.post("/events/demo/cash/webhook", b"{}", status=404)
