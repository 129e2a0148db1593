"""Refunds made outside pss (in the Stripe dashboard) reach the purchase through Stripe's signed
``charge.refunded`` / ``refund.*`` webhooks: pss reads the PaymentIntent's refunds from the API,
records the money, marks as many unused games refunded as it pays back (pro rata, as pss's own
refunds), flags money beyond that for the desk, and never counts a refund twice — its own ones
included."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from sqlalchemy import func, select

from pss_core.audit import Actor
from pss_core.models import (
    AuditLog,
    Purchase,
    PurchaseStatus,
    Refund,
    StripeWebhookEvent,
    Token,
    utcnow,
)
from pss_core.payments import online, refunds
from pss_testing.fakestripe import FakeStripe, sign_webhook

WEBHOOK_SECRET = "whsec_test_pss_secret"
DESK = Actor("desk")


def paid(shop: Any, pss: Any, payments: Any, fake: Any, tickets: int = 3) -> Purchase:
    """An online purchase of ``tickets`` games of main, paid (3 are the "3 for $8" bundle)."""
    checkout = online.start_online_purchase(
        shop.session,
        pss,
        payments,
        commit=shop.session.commit,
        event=shop.event,
        player=shop.players[0],
        tickets=tickets,
        tournament=shop.main,
    )
    fake.succeed(checkout.payment_intent_id)
    settled = online.confirm_from_payment_intent(
        shop.session, pss, payments, checkout.purchase_id, commit=shop.session.commit
    )
    assert settled.outcome == "paid"
    return shop.session.get(Purchase, checkout.purchase_id)


def dashboard_refund(fake: FakeStripe, purchase: Purchase, amount: int | None = None) -> str:
    """What the event's owner does in the Stripe dashboard: a refund with the secret key."""
    http = stripe.RequestsClient()
    try:
        client = stripe.StripeClient(
            fake.api_key, base_addresses={"api": fake.url}, http_client=http
        )
        params: Any = {"payment_intent": purchase.stripe_payment_intent_id}
        if amount is not None:
            params["amount"] = amount
        return str(client.v1.refunds.create(params).id)
    finally:
        http.close()


def events(fake: FakeStripe, type_: str, object_id: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in fake.events
        if e["type"] == type_ and (object_id is None or e["data"]["object"]["id"] == object_id)
    ]


def deliver(shop: Any, pss: Any, payments: Any, event: dict[str, Any]) -> online.WebhookResult:
    payload = FakeStripe.webhook_payload(event)
    return online.handle_webhook(
        shop.session,
        pss,
        payments,
        shop.event,
        payload,
        {"Stripe-Signature": sign_webhook(payload, WEBHOOK_SECRET)},
        commit=shop.session.commit,
    )


def refunded_tokens(session: Any, purchase: Purchase) -> int:
    return session.scalar(
        select(func.count(Token.id)).where(
            Token.purchase_id == purchase.id, Token.refunded_at.is_not(None)
        )
    )


def refund_rows(session: Any, purchase: Purchase) -> list[Refund]:
    return list(
        session.scalars(
            select(Refund).where(Refund.purchase_id == purchase.id).order_by(Refund.id)
        ).all()
    )


def audit_rows(session: Any, action: str) -> list[AuditLog]:
    return list(
        session.scalars(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        ).all()
    )


def test_a_dashboard_refund_of_one_games_worth_refunds_one_game(shop, pss, payments, fake):
    purchase = paid(shop, pss, payments, fake)
    assert (purchase.amount_cents, len(purchase.tokens)) == (800, 3)
    one_game = refunds.prorated_cents(800, 3, 0, 1)  # 266, as pss prices its own refunds
    refund_id = dashboard_refund(fake, purchase, one_game)
    [created] = events(fake, "refund.created", refund_id)

    result = deliver(shop, pss, payments, created)
    assert result.outcome == "handled"
    assert (result.refunds.external, result.refunds.tokens, result.refunds.excess_cents) == (
        1,
        1,
        0,
    )
    shop.session.refresh(purchase)
    assert (
        purchase.refunded_cents
        == one_game
        == fake.amount_refunded(purchase.stripe_payment_intent_id)
    )
    assert purchase.status == PurchaseStatus.COMPLETED
    assert refunded_tokens(shop.session, purchase) == 1
    assert len(refunds.unused_tokens(shop.session, purchase)) == 2
    [row] = refund_rows(shop.session, purchase)
    assert (row.stripe_refund_id, row.amount_cents, row.tokens) == (refund_id, 266, 1)
    [logged] = audit_rows(shop.session, "refund.external")
    assert (logged.details["amount_cents"], logged.details["tokens"]) == (266, 1)
    assert audit_rows(shop.session, "refund.external_excess") == []

    # The same event again is a duplicate; Stripe's other event about it changes nothing.
    assert deliver(shop, pss, payments, created).outcome == "duplicate"
    [charge_refunded] = events(fake, "charge.refunded")
    again = deliver(shop, pss, payments, charge_refunded)
    assert again.outcome == "handled"
    assert again.refunds.external == 0
    shop.session.refresh(purchase)
    assert purchase.refunded_cents == 266
    assert len(refund_rows(shop.session, purchase)) == 1
    assert refunded_tokens(shop.session, purchase) == 1


def test_more_than_the_unused_games_are_worth_is_recorded_and_flagged(shop, pss, payments, fake):
    purchase = paid(shop, pss, payments, fake)
    played = purchase.tokens[0]
    played.used_at = utcnow()  # one game was played
    shop.session.commit()
    refund_id = dashboard_refund(fake, purchase)  # the whole payment
    [charge_refunded] = events(fake, "charge.refunded")

    result = deliver(shop, pss, payments, charge_refunded)
    two_games = refunds.prorated_cents(800, 3, 0, 2)
    assert (result.refunds.tokens, result.refunds.excess_cents) == (2, 800 - two_games)
    shop.session.refresh(purchase)
    assert purchase.refunded_cents == 800 == fake.amount_refunded(purchase.stripe_payment_intent_id)
    # Both unused games are refunded; the played one is not (no game is invented).
    assert refunded_tokens(shop.session, purchase) == 2
    assert shop.session.get(Token, played.id).refunded_at is None
    assert purchase.status == PurchaseStatus.COMPLETED
    [row] = refund_rows(shop.session, purchase)
    assert (row.stripe_refund_id, row.tokens, row.amount_cents) == (refund_id, 2, 800)
    assert "more than the unused games were worth" in row.reason
    [flag] = audit_rows(shop.session, "refund.external_excess")
    assert flag.details["needs_attention"] is True
    assert flag.details["excess_cents"] == 800 - two_games == 267
    assert flag.player_id == purchase.player_id
    assert "$2.67 more than its unused games were worth" in flag.details["message"]
    assert flag.details["reason"] == "$2.67 more than the unused games were worth"
    # pss refuses to refund the played game: nothing is left to pay back.
    assert refunds.unused_tokens(shop.session, purchase) == []


def test_small_refunds_add_up_to_games_and_pss_never_refunds_more_than_is_left(
    shop, pss, payments, fake
):
    purchase = paid(shop, pss, payments, fake)
    first = dashboard_refund(fake, purchase, 100)  # a goodwill refund, under a game's worth
    result = deliver(shop, pss, payments, events(fake, "refund.created", first)[0])
    assert (result.refunds.tokens, result.refunds.excess_cents) == (0, 0)
    shop.session.refresh(purchase)
    assert (purchase.refunded_cents, refunded_tokens(shop.session, purchase)) == (100, 0)
    assert audit_rows(shop.session, "refund.external")[-1].details["unmatched_cents"] == 100

    second = dashboard_refund(fake, purchase, 200)  # now 300 back: one game (266) and 34
    result = deliver(shop, pss, payments, events(fake, "refund.created", second)[0])
    assert (result.refunds.tokens, result.refunds.excess_cents) == (1, 0)
    shop.session.refresh(purchase)
    assert (purchase.refunded_cents, refunded_tokens(shop.session, purchase)) == (300, 1)

    # The desk refunds the other two games through pss: their pro rata share would be 534, but
    # only 500 is left of the payment, and that is what goes back.
    outcome = refunds.refund_purchase(
        shop.session, payments, purchase.id, tokens=2, commit=shop.session.commit, actor=DESK
    )
    assert (outcome.ok, outcome.amount_cents) == (True, 500)
    shop.session.refresh(purchase)
    assert purchase.refunded_cents == 800 == fake.amount_refunded(purchase.stripe_payment_intent_id)
    assert purchase.status == PurchaseStatus.REFUNDED


def test_pss_own_refunds_are_not_counted_again(shop, pss, payments, fake):
    purchase = paid(shop, pss, payments, fake)
    outcome = refunds.refund_purchase(
        shop.session, payments, purchase.id, tokens=1, commit=shop.session.commit, actor=DESK
    )
    assert outcome.ok
    for type_ in ("refund.created", "charge.refunded"):
        [event] = events(fake, type_)
        assert deliver(shop, pss, payments, event).refunds.external == 0
    shop.session.refresh(purchase)
    assert purchase.refunded_cents == 266
    assert len(refund_rows(shop.session, purchase)) == 1
    assert refunded_tokens(shop.session, purchase) == 1
    assert audit_rows(shop.session, "refund.external") == []


def test_the_webhook_settles_a_pss_refund_whose_answer_was_lost(shop, pss, payments, fake):
    purchase = paid(shop, pss, payments, fake)
    fake.fail_next("drop_after", times=3, path_contains="/v1/refunds")
    outcome = refunds.refund_purchase(
        shop.session, payments, purchase.id, tokens=1, commit=shop.session.commit, actor=DESK
    )
    assert outcome.pending
    [pending] = refund_rows(shop.session, purchase)
    assert pending.stripe_refund_id is None
    [stripe_refund] = fake.refunds.values()  # Stripe did it

    result = deliver(shop, pss, payments, events(fake, "refund.created")[0])
    assert (result.refunds.settled, result.refunds.external) == (1, 0)
    shop.session.refresh(pending)
    shop.session.refresh(purchase)
    assert pending.stripe_refund_id == stripe_refund["id"]
    assert purchase.refunded_cents == 266
    # The worker has nothing left to send, so Stripe refunds once.
    assert refunds.pending_refund_ids(shop.session) == []
    online.run_worker_pass(shop.session, pss, payments, commit=shop.session.commit)
    assert len(fake.refunds) == 1
    assert fake.amount_refunded(purchase.stripe_payment_intent_id) == 266


def test_refunding_every_unused_game_marks_the_purchase_refunded(shop, pss, payments, fake):
    purchase = paid(shop, pss, payments, fake)
    dashboard_refund(fake, purchase)
    deliver(shop, pss, payments, events(fake, "charge.refunded")[0])
    shop.session.refresh(purchase)
    assert purchase.status == PurchaseStatus.REFUNDED
    assert (purchase.refunded_cents, refunded_tokens(shop.session, purchase)) == (800, 3)
    assert audit_rows(shop.session, "refund.external_excess") == []


def test_paid_and_refunded_before_pss_heard_of_the_payment(shop, pss, payments, fake):
    checkout = online.start_online_purchase(
        shop.session,
        pss,
        payments,
        commit=shop.session.commit,
        event=shop.event,
        player=shop.players[0],
        tickets=3,
        tournament=shop.main,
    )
    fake.succeed(checkout.payment_intent_id)
    purchase = shop.session.get(Purchase, checkout.purchase_id)
    assert purchase.status == PurchaseStatus.PENDING
    dashboard_refund(fake, purchase)
    result = deliver(shop, pss, payments, events(fake, "charge.refunded")[0])
    assert result.settlement.outcome == "paid"
    assert result.refunds.tokens == 3
    shop.session.refresh(purchase)
    assert purchase.status == PurchaseStatus.REFUNDED
    assert purchase.refunded_cents == 800


def test_stripe_unreachable_asks_for_the_refund_event_again(shop, pss, payments, fake):
    purchase = paid(shop, pss, payments, fake)
    refund_id = dashboard_refund(fake, purchase, 266)
    [created] = events(fake, "refund.created", refund_id)
    fake.fail_next("server_error", times=3, path_contains="/v1/refunds", method="GET")
    result = deliver(shop, pss, payments, created)
    assert result.retry
    assert shop.session.get(StripeWebhookEvent, (shop.event.id, created["id"])) is None
    shop.session.refresh(purchase)
    assert purchase.refunded_cents == 0
    assert refunded_tokens(shop.session, purchase) == 0
    # Stripe sends it again; now it is applied.
    assert deliver(shop, pss, payments, created).refunds.tokens == 1


def test_a_refund_event_is_not_taken_on_its_word(shop, pss, payments, fake):
    purchase = paid(shop, pss, payments, fake)
    # Correctly signed, but Stripe has no such refund: pss asks the API, which says none.
    claim = fake.event_for(
        "refund.created",
        {
            "id": "re_made_up",
            "object": "refund",
            "amount": 800,
            "status": "succeeded",
            "payment_intent": purchase.stripe_payment_intent_id,
        },
    )
    result = deliver(shop, pss, payments, claim)
    assert result.outcome == "handled"
    assert result.refunds.external == 0
    shop.session.refresh(purchase)
    assert purchase.refunded_cents == 0
    assert refund_rows(shop.session, purchase) == []


@pytest.mark.parametrize("type_", ["refund.updated", "charge.refund.updated"])
def test_refund_updates_are_handled_like_the_others(shop, pss, payments, fake, type_):
    purchase = paid(shop, pss, payments, fake)
    refund_id = dashboard_refund(fake, purchase, 266)
    update = fake.event_for(type_, fake.refunds[refund_id])
    assert deliver(shop, pss, payments, update).refunds.tokens == 1


def test_two_pss_events_on_one_stripe_account_each_handle_the_same_stripe_event(
    shop, pss, payments, fake
):
    """Stripe sends one event, with one ``evt_`` id, to every endpoint of its account. Keyed on
    that id alone, the first pss event to hear of a refund (not its purchase: ignored) made the
    other one drop it as a duplicate, and the refunded games stayed playable."""
    from pss_core.models import User
    from pss_core.services import setup

    owner = shop.session.get(User, shop.event.owner_id)
    other = setup.create_event(shop.session, owner, "Second Event", slug="second")
    other.stripe_secret_key = shop.event.stripe_secret_key  # the same Stripe account
    other.stripe_publishable_key = shop.event.stripe_publishable_key
    other.stripe_webhook_secret = "whsec_second_endpoint"  # its own endpoint's secret
    shop.session.commit()
    purchase = paid(shop, pss, payments, fake)
    dashboard_refund(fake, purchase)
    [charge_refunded] = events(fake, "charge.refunded")
    payload = FakeStripe.webhook_payload(charge_refunded)

    at_other = online.handle_webhook(
        shop.session,
        pss,
        payments,
        other,
        payload,
        {"Stripe-Signature": sign_webhook(payload, "whsec_second_endpoint")},
        commit=shop.session.commit,
    )
    assert at_other.outcome == "ignored"
    ours = deliver(shop, pss, payments, charge_refunded)
    assert ours.outcome == "handled"
    shop.session.refresh(purchase)
    assert purchase.refunded_cents == 800
    assert refunded_tokens(shop.session, purchase) == 3
    assert refunds.unused_tokens(shop.session, purchase) == []
    # Each pss event deduplicates its own deliveries.
    assert deliver(shop, pss, payments, charge_refunded).outcome == "duplicate"
    assert (
        online.handle_webhook(
            shop.session,
            pss,
            payments,
            other,
            payload,
            {"Stripe-Signature": sign_webhook(payload, "whsec_second_endpoint")},
            commit=shop.session.commit,
        ).outcome
        == "duplicate"
    )
    assert sorted(
        shop.session.scalars(
            select(StripeWebhookEvent.event_id).where(
                StripeWebhookEvent.stripe_event_id == charge_refunded["id"]
            )
        )
    ) == sorted([shop.event.id, other.id])
