"""Abandoned PaymentIntents are cancelled at Stripe once their hold expired: idempotently, never
one that succeeded (that is a late payment), and a failed cancel is recorded and retried by the
worker — the real stripe library against the local fake Stripe server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import select

from pss_core.models import (
    AuditLog,
    PaymentTransaction,
    Purchase,
    PurchaseStatus,
    Token,
    utcnow,
)
from pss_core.payments import online


def buy(
    shop: Any, pss: Any, payments: Any, *, at: Any, player: Any = None, tickets: int = 1
) -> online.Checkout:
    checkout = online.start_online_purchase(
        shop.session,
        pss,
        payments,
        commit=shop.session.commit,
        event=shop.event,
        player=player or shop.players[0],
        tickets=tickets,
        tournament=shop.main,
        now=at,
    )
    assert checkout.payment_intent_id is not None
    return checkout


def cancels(fake: Any) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/cancel")]


def cancel_records(session: Any, purchase_id: int) -> list[tuple[bool, str | None, str | None]]:
    rows = session.scalars(
        select(PaymentTransaction)
        .where(
            PaymentTransaction.purchase_id == purchase_id,
            PaymentTransaction.action == "cancel_intent",
        )
        .order_by(PaymentTransaction.id)
    ).all()
    return [(r.ok, r.error_type, r.error_code) for r in rows]


def worker(shop: Any, pss: Any, payments: Any, now: Any) -> dict[str, int]:
    return online.run_worker_pass(shop.session, pss, payments, commit=shop.session.commit, now=now)


def expire(shop: Any, now: Any) -> None:
    online.sweep_expired_holds(shop.session, now=now)
    shop.session.commit()


def test_the_worker_cancels_an_expired_holds_payment_intent_once(shop, pss, payments, fake):
    now = utcnow()
    abandoned = buy(shop, pss, payments, at=now - timedelta(minutes=30))
    live = buy(shop, pss, payments, at=now, player=shop.players[1])

    outcomes = worker(shop, pss, payments, now)
    assert (outcomes["expired"], outcomes["intent_cancelled"]) == (1, 1)
    pi = fake.payment_intents[abandoned.payment_intent_id]
    assert (pi["status"], pi["cancellation_reason"]) == ("canceled", "abandoned")
    assert fake.payment_intents[live.payment_intent_id]["status"] == "requires_payment_method"
    assert shop.session.get(Purchase, abandoned.purchase_id).status == PurchaseStatus.CANCELLED
    assert cancel_records(shop.session, abandoned.purchase_id) == [(True, None, None)]
    audit = shop.session.scalars(
        select(AuditLog.action)
        .where(AuditLog.subject_type == "Purchase", AuditLog.subject_id == abandoned.purchase_id)
        .order_by(AuditLog.id)
    ).all()
    assert audit[-2:] == ["purchase.cancel", "purchase.cancel_intent"]

    # Later passes leave it alone.
    worker(shop, pss, payments, now + timedelta(minutes=1))
    assert len(cancels(fake)) == 1
    # The player's page, left open, can no longer pay it.
    browser = stripe.StripeClient(
        "pk_test_x", base_addresses={"api": fake.url}, http_client=stripe.RequestsClient()
    )
    with pytest.raises(stripe.InvalidRequestError, match="status of canceled"):
        browser.v1.payment_intents.confirm(
            abandoned.payment_intent_id,
            {"payment_method": "pm_card_visa", "client_secret": abandoned.client_secret},
        )


def test_a_hold_that_never_reached_stripe_needs_no_cancel(shop, pss, payments, fake):
    now = utcnow()
    online.reserve(
        shop.session,
        pss,
        event=shop.event,
        player=shop.players[0],
        tickets=1,
        tournament=shop.main,
        now=now - timedelta(minutes=30),
    )
    outcomes = worker(shop, pss, payments, now)
    assert outcomes["expired"] == 1
    assert "intent_cancelled" not in outcomes
    assert fake.requests == []


@pytest.mark.parametrize("room", [True, False], ids=["room_left", "sold_out"])
def test_a_payment_that_went_through_is_not_cancelled_but_taken_as_late(
    shop, pss, payments, fake, room
):
    now = utcnow()
    shop.main.ticket_quota = 1
    late = buy(shop, pss, payments, at=now - timedelta(minutes=30))
    expire(shop, now)
    if not room:  # someone else bought the last ticket after the hold expired
        other = buy(shop, pss, payments, at=now, player=shop.players[1])
        fake.succeed(other.payment_intent_id)
        online.confirm_from_payment_intent(
            shop.session, pss, payments, other.purchase_id, commit=shop.session.commit, now=now
        )
    # The player's payment goes through just before the worker gets to it.
    fake.succeed(late.payment_intent_id)

    outcomes = online.cancel_abandoned_intents(
        shop.session, pss, payments, commit=shop.session.commit, now=now
    )
    assert outcomes == {"late_paid" if room else "late_refund": 1}
    pi = fake.payment_intents[late.payment_intent_id]
    assert pi["status"] == "succeeded"
    assert cancel_records(shop.session, late.purchase_id) == [
        (False, "InvalidRequestError", "payment_intent_unexpected_state")
    ]
    purchase = shop.session.get(Purchase, late.purchase_id)
    paid = shop.session.scalars(select(Token.paid_at).where(Token.purchase_id == purchase.id)).all()
    if room:
        assert purchase.status == PurchaseStatus.COMPLETED
        assert all(p is not None for p in paid)
        assert fake.amount_refunded(late.payment_intent_id) == 0
    else:
        assert purchase.status == PurchaseStatus.REFUNDED
        assert paid == [None]
        assert fake.amount_refunded(late.payment_intent_id) == purchase.amount_cents == 300
    # Nothing left to cancel, and nothing is asked of Stripe again.
    assert online.intents_to_cancel(shop.session, now=now) == []
    before = len(fake.requests)
    assert (
        online.cancel_abandoned_intents(
            shop.session, pss, payments, commit=shop.session.commit, now=now
        )
        == {}
    )
    assert len(fake.requests) == before


def test_a_lost_answer_is_recorded_and_the_retry_cancels_once(shop, pss, payments, fake):
    now = utcnow()
    checkout = buy(shop, pss, payments, at=now - timedelta(minutes=30))
    # Stripe cancels it, but every answer (the library's retries included) is lost.
    fake.fail_next("drop_after", times=3, path_contains="/cancel")
    outcomes = worker(shop, pss, payments, now)
    assert outcomes["cancel_retry"] == 1
    assert fake.payment_intents[checkout.payment_intent_id]["status"] == "canceled"
    assert cancel_records(shop.session, checkout.purchase_id) == [
        (False, "APIConnectionError", "payment_connection_lost")
    ]
    assert online.intents_to_cancel(shop.session, now=now) == [checkout.purchase_id]

    # The next pass sends the same key: Stripe answers with what it did, and cancels nothing
    # twice.
    outcomes = worker(shop, pss, payments, now + timedelta(seconds=30))
    assert outcomes["intent_cancelled"] == 1
    [key] = {r.idempotency_key for r in cancels(fake)}
    assert fake.idempotency[key].executed == 1
    assert fake.idempotency[key].replayed >= 3
    assert len([e for e in fake.events if e["type"] == "payment_intent.canceled"]) == 1
    # The failure stays on the record, with the success after it.
    assert cancel_records(shop.session, checkout.purchase_id) == [
        (False, "APIConnectionError", "payment_connection_lost"),
        (True, None, None),
    ]
    assert online.intents_to_cancel(shop.session, now=now) == []


def test_stripe_down_leaves_the_cancel_for_the_next_pass(shop, pss, payments, fake):
    now = utcnow()
    checkout = buy(shop, pss, payments, at=now - timedelta(minutes=30))
    fake.fail_next("server_error", times=3, path_contains="/cancel")
    assert worker(shop, pss, payments, now)["cancel_retry"] == 1
    assert fake.payment_intents[checkout.payment_intent_id]["status"] == "requires_payment_method"
    assert cancel_records(shop.session, checkout.purchase_id) == [
        (False, "APIError", "payment_service_error")
    ]
    assert worker(shop, pss, payments, now)["intent_cancelled"] == 1
    assert fake.payment_intents[checkout.payment_intent_id]["status"] == "canceled"


def test_one_cancelled_at_stripe_already_is_recorded_as_done(shop, pss, payments, fake):
    now = utcnow()
    checkout = buy(shop, pss, payments, at=now - timedelta(minutes=30))
    expire(shop, now)
    client = stripe.StripeClient(
        fake.api_key, base_addresses={"api": fake.url}, http_client=stripe.RequestsClient()
    )
    client.v1.payment_intents.cancel(checkout.payment_intent_id)
    outcomes = online.cancel_abandoned_intents(
        shop.session, pss, payments, commit=shop.session.commit, now=now
    )
    assert outcomes == {"intent_cancelled": 1}
    assert cancel_records(shop.session, checkout.purchase_id) == [
        (False, "InvalidRequestError", "payment_intent_unexpected_state"),
        (True, None, None),
    ]
    assert online.intents_to_cancel(shop.session, now=now) == []


def test_old_cancelled_purchases_are_left_alone(shop, pss, payments, fake):
    now = utcnow()
    checkout = buy(shop, pss, payments, at=now - timedelta(days=3))
    expire(shop, now)
    assert online.intents_to_cancel(shop.session, now=now) == []
    assert online.intents_to_cancel(shop.session, now=now, window=timedelta(days=7)) == [
        checkout.purchase_id
    ]
