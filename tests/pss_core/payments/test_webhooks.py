"""Signed Stripe webhooks: verified with the stripe library, deduplicated by event id, and safe to
receive twice or out of order because pss re-reads the PaymentIntent from the API."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe
from sqlalchemy import func, select

from pss_core.contract import PaymentNotConfigured
from pss_core.errors import InvalidInput, PermissionDenied
from pss_core.models import PaymentTransaction, Purchase, PurchaseStatus, StripeWebhookEvent, Token
from pss_core.payments import online
from pss_testing.fakestripe import sign_webhook

WEBHOOK_SECRET = "whsec_test_pss_secret"


def start(shop: Any, pss: Any, payments: Any, player: Any = None) -> online.Checkout:
    return online.start_online_purchase(
        shop.session,
        pss,
        payments,
        commit=shop.session.commit,
        event=shop.event,
        player=player or shop.players[0],
        tickets=2,
        tournament=shop.main,
    )


def deliver(
    shop: Any,
    pss: Any,
    payments: Any,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> online.WebhookResult:
    from pss_testing.fakestripe import FakeStripe

    payload = FakeStripe.webhook_payload(event)
    return online.handle_webhook(
        shop.session,
        pss,
        payments,
        shop.event,
        payload,
        {"Stripe-Signature": sign_webhook(payload, secret, timestamp)},
        commit=shop.session.commit,
    )


def events_of(fake: Any, type_: str, pi_id: str) -> list[dict[str, Any]]:
    return [e for e in fake.events if e["type"] == type_ and e["data"]["object"]["id"] == pi_id]


def paid_tokens(session: Any, purchase_id: int) -> int:
    return session.scalar(
        select(func.count(Token.id)).where(
            Token.purchase_id == purchase_id, Token.paid_at.is_not(None)
        )
    )


def test_signed_succeeded_webhook_marks_paid_and_a_replay_changes_nothing(
    shop, pss, payments, fake
):
    checkout = start(shop, pss, payments)
    fake.succeed(checkout.payment_intent_id)
    [succeeded] = events_of(fake, "payment_intent.succeeded", checkout.payment_intent_id)

    result = deliver(shop, pss, payments, succeeded)
    assert result.outcome == "handled"
    assert result.settlement.outcome == "paid"
    assert paid_tokens(shop.session, checkout.purchase_id) == 2
    seen = shop.session.get(StripeWebhookEvent, (shop.event.id, succeeded["id"]))
    assert seen.type == "payment_intent.succeeded"
    rows = shop.session.scalar(select(func.count(PaymentTransaction.id)))

    # Stripe delivers the same event again (and again): deduplicated by its id.
    for _ in range(2):
        assert deliver(shop, pss, payments, succeeded).outcome == "duplicate"
    assert paid_tokens(shop.session, checkout.purchase_id) == 2
    assert shop.session.scalar(select(func.count(PaymentTransaction.id))) == rows


def test_events_out_of_order_are_harmless(shop, pss, payments, fake):
    checkout = start(shop, pss, payments)
    http = stripe.RequestsClient()
    browser = stripe.StripeClient("pk_test_x", base_addresses={"api": fake.url}, http_client=http)
    try:
        with pytest.raises(stripe.CardError):
            browser.v1.payment_intents.confirm(
                checkout.payment_intent_id,
                {
                    "payment_method": "pm_card_chargeDeclined",
                    "client_secret": checkout.client_secret,
                },
            )
        browser.v1.payment_intents.confirm(
            checkout.payment_intent_id,
            {"payment_method": "pm_card_visa", "client_secret": checkout.client_secret},
        )
    finally:
        http.close()
    [created] = events_of(fake, "payment_intent.created", checkout.payment_intent_id)
    [failed] = events_of(fake, "payment_intent.payment_failed", checkout.payment_intent_id)
    [succeeded] = events_of(fake, "payment_intent.succeeded", checkout.payment_intent_id)

    # The failure arrives first but Stripe already says succeeded: the purchase is paid.
    assert deliver(shop, pss, payments, failed).settlement.outcome == "paid"
    # Then the older events, in any order: nothing changes.
    assert deliver(shop, pss, payments, succeeded).settlement.outcome == "already"
    assert deliver(shop, pss, payments, created).settlement.outcome == "already"
    assert shop.session.get(Purchase, checkout.purchase_id).status == PurchaseStatus.COMPLETED
    assert paid_tokens(shop.session, checkout.purchase_id) == 2
    verified = shop.session.scalars(
        select(PaymentTransaction).where(PaymentTransaction.action == "payment_verified")
    ).all()
    assert [v.message for v in verified] == ["verified from webhook"]


def test_a_succeeded_event_is_not_taken_on_its_word(shop, pss, payments, fake):
    # A correctly signed event whose PaymentIntent Stripe does not (yet) call succeeded.
    checkout = start(shop, pss, payments)
    claim = fake.event_for(
        "payment_intent.succeeded",
        {**fake.payment_intents[checkout.payment_intent_id], "status": "succeeded"},
    )
    result = deliver(shop, pss, payments, claim)
    assert result.settlement.outcome == "waiting"
    assert paid_tokens(shop.session, checkout.purchase_id) == 0


@pytest.mark.parametrize("tamper", ["secret", "body", "stale"])
def test_bad_signatures_are_refused_and_nothing_is_recorded(shop, pss, payments, fake, tamper):
    checkout = start(shop, pss, payments)
    fake.succeed(checkout.payment_intent_id)
    [succeeded] = events_of(fake, "payment_intent.succeeded", checkout.payment_intent_id)
    payload = fake.webhook_payload(succeeded)
    header = sign_webhook(payload, WEBHOOK_SECRET)
    if tamper == "secret":
        header = sign_webhook(payload, "whsec_someone_else")
    elif tamper == "body":
        payload = payload.replace(b'"succeeded"', b'"canceled"')
    else:
        header = sign_webhook(payload, WEBHOOK_SECRET, int(time.time()) - 3600)
    with pytest.raises(PermissionDenied) as refused:
        online.handle_webhook(
            shop.session,
            pss,
            payments,
            shop.event,
            payload,
            {"Stripe-Signature": header},
            commit=shop.session.commit,
        )
    assert refused.value.code == "bad_signature"
    assert shop.session.scalar(select(func.count(StripeWebhookEvent.stripe_event_id))) == 0
    assert paid_tokens(shop.session, checkout.purchase_id) == 0


def test_events_about_other_payments_are_ignored(shop, pss, payments, fake):
    stranger = fake.event_for(
        "payment_intent.succeeded",
        {"id": "pi_not_ours", "object": "payment_intent", "status": "succeeded"},
    )
    result = deliver(shop, pss, payments, stranger)
    assert result.outcome == "ignored"
    assert fake.requests == []  # nothing to ask Stripe about


def test_stripe_unreachable_asks_for_a_redelivery(shop, pss, payments, fake):
    checkout = start(shop, pss, payments)
    fake.succeed(checkout.payment_intent_id)
    [succeeded] = events_of(fake, "payment_intent.succeeded", checkout.payment_intent_id)
    fake.fail_next("server_error", times=3, path_contains=checkout.payment_intent_id)
    result = deliver(shop, pss, payments, succeeded)
    assert result.retry
    assert shop.session.get(StripeWebhookEvent, (shop.event.id, succeeded["id"])) is None
    assert paid_tokens(shop.session, checkout.purchase_id) == 0
    # Stripe sends it again later; now it is applied.
    assert deliver(shop, pss, payments, succeeded).settlement.outcome == "paid"


def test_an_event_without_a_signing_secret_takes_no_webhooks(shop, pss, payments, fake):
    shop.event.stripe_webhook_secret = None
    with pytest.raises(PaymentNotConfigured):
        deliver(shop, pss, payments, fake.event_for("payment_intent.created", {"id": "pi_x"}))


def deliver_raw(shop: Any, pss: Any, payments: Any, payload: bytes) -> online.WebhookResult:
    """A body signed with the event's webhook secret, as Stripe (and the fake) signs them."""
    return online.handle_webhook(
        shop.session,
        pss,
        payments,
        shop.event,
        payload,
        {"Stripe-Signature": sign_webhook(payload, WEBHOOK_SECRET)},
        commit=shop.session.commit,
    )


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": "evt_malformed",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_x", "object": "payment_intent"}},
    }
    for key, value in changes.items():
        if value is _DROP:
            event.pop(key)
        else:
            event[key] = value
    return event


_DROP = object()
MALFORMED: dict[str, Any] = {
    "a list": [],
    "null": None,
    "a number": 7,
    "a string": "evt_1",
    "a null type": _event(type=None),
    "no type": _event(type=_DROP),
    "a numeric type": _event(type=12),
    "a list type": _event(type=["charge.refunded"]),
    "a type of 300 characters": _event(type="charge." + "x" * 300),
    "an id of 300 characters": _event(id="evt_" + "x" * 296),
    "a null id": _event(id=None),
    "no id": _event(id=_DROP),
    "a numeric id": _event(id=42),
    "an empty id": _event(id=""),
    "an id with a NUL": _event(id="evt_\u0000x"),
    "an id with spaces": _event(id="evt 1"),
    "no data": _event(data=_DROP),
    "null data": _event(data=None),
    "data as a list": _event(data=[{"object": {}}]),
    "no data.object": _event(data={}),
    "a null data.object": _event(data={"object": None}),
    "data.object as a string": _event(data={"object": "pi_x"}),
    "data.object as a list": _event(data={"object": [{"id": "pi_x"}]}),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_signed_bodies_that_are_no_stripe_event_are_refused(shop, pss, payments, fake, body):
    """Correctly signed, these bodies made the handler raise (AttributeError, TypeError, a
    value too long for its column): each is an InvalidInput, and nothing is recorded."""
    import json

    with pytest.raises(InvalidInput) as refused:
        deliver_raw(shop, pss, payments, json.dumps(body).encode())
    assert refused.value.code == "invalid_webhook"
    assert shop.session.scalar(select(func.count(StripeWebhookEvent.stripe_event_id))) == 0


@pytest.mark.parametrize(
    "payload",
    [b"", b"not json", b"[" * 100_000, b"\xff\xfe{}"],
    ids=["empty", "not json", "too deep", "not utf-8"],
)
def test_signed_bodies_that_are_not_json_are_refused(shop, pss, payments, fake, payload):
    with pytest.raises((InvalidInput, PermissionDenied)):
        deliver_raw(shop, pss, payments, payload)
    assert shop.session.scalar(select(func.count(StripeWebhookEvent.stripe_event_id))) == 0


def test_a_well_formed_event_with_odd_object_fields_is_ignored(shop, pss, payments, fake):
    """Fields pss does not rely on may be anything: an object id that is no string names no
    purchase, so the event is recorded as ignored."""
    for i, obj in enumerate(
        (
            {"id": 5, "object": "payment_intent"},
            {"object": ["charge"], "payment_intent": {"id": "pi_x"}},
            {"object": "charge", "payment_intent": 12},
        )
    ):
        import json

        payload = json.dumps(
            {
                "id": f"evt_odd_{i}",
                "type": "payment_intent.succeeded" if i == 0 else "charge.refunded",
                "data": {"object": obj},
            }
        )
        assert deliver_raw(shop, pss, payments, payload.encode()).outcome == "ignored"
