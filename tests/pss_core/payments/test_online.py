"""The player's online purchase end to end: hold, PaymentIntent, verified payment, errors, expiry,
late payments — the real stripe library against the local fake Stripe server."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import func, select

from pss_core.contract import PaymentNotConfigured
from pss_core.errors import Refused
from pss_core.models import (
    AuditLog,
    PaymentTransaction,
    Purchase,
    PurchaseStatus,
    Refund,
    Token,
    utcnow,
)
from pss_core.payments import online
from pss_core.payments.providers import Payments
from pss_core.services import quotas


def buy(
    shop: Any,
    pss: Any,
    payments: Payments,
    *,
    player: Any = None,
    tickets: int = 1,
    tournament: Any = None,
    now: Any = None,
    code: str | None = None,
) -> online.Checkout:
    return online.start_online_purchase(
        shop.session,
        pss,
        payments,
        commit=shop.session.commit,
        event=shop.event,
        player=player or shop.players[0],
        tickets=tickets,
        tournament=tournament or shop.main,
        now=now,
        code=code,
    )


def confirm(
    shop: Any,
    pss: Any,
    payments: Payments,
    purchase_id: int,
    now: Any = None,
    source: str = "return page",
) -> online.Settlement:
    return online.confirm_from_payment_intent(
        shop.session,
        pss,
        payments,
        purchase_id,
        commit=shop.session.commit,
        now=now,
        source=source,
    )


def tokens_of(session: Any, purchase_id: int) -> list[Token]:
    return list(session.scalars(select(Token).where(Token.purchase_id == purchase_id)).all())


def transactions(session: Any, purchase_id: int) -> list[PaymentTransaction]:
    return list(
        session.scalars(
            select(PaymentTransaction)
            .where(PaymentTransaction.purchase_id == purchase_id)
            .order_by(PaymentTransaction.id)
        ).all()
    )


def actions(session: Any, purchase_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditLog.action)
            .where(AuditLog.subject_type == "Purchase", AuditLog.subject_id == purchase_id)
            .order_by(AuditLog.id)
        ).all()
    )


# --- the happy path -------------------------------------------------------------------------


def test_hold_then_payment_verified_with_stripe_marks_tokens_paid(shop, pss, payments, fake):
    now = utcnow()
    checkout = buy(shop, pss, payments, tickets=3, now=now)
    assert checkout.error is None
    assert checkout.ready_to_pay
    # 3 tickets of main are the "3 for $8" bundle; the PaymentIntent is for exactly that.
    assert checkout.amount_cents == 800
    pi = fake.payment_intents[checkout.payment_intent_id]
    assert (pi["amount"], pi["currency"], pi["status"]) == (800, "usd", "requires_payment_method")
    assert pi["metadata"]["pss_purchase_id"] == str(checkout.purchase_id)
    assert checkout.client_secret == pi["client_secret"]
    assert checkout.client["publishable_key"] == "pk_test_fake_publishable"

    purchase = shop.session.get(Purchase, checkout.purchase_id)
    assert purchase.status == PurchaseStatus.PENDING
    assert purchase.hold_expires_at == now + timedelta(minutes=15)
    assert [t.paid_at for t in tokens_of(shop.session, purchase.id)] == [None] * 3
    # The PaymentIntent was created with the purchase's own deterministic key, exactly once.
    create = next(r for r in fake.requests if r.path == "/v1/payment_intents")
    assert create.idempotency_key == f"{purchase.idempotency_key}-create"
    assert create.idempotency_key.startswith(f"pss-purchase-{purchase.id}-")

    # Before the customer pays, asking Stripe changes nothing.
    assert confirm(shop, pss, payments, purchase.id, now=now).outcome == "waiting"
    assert purchase.status == PurchaseStatus.PENDING

    fake.succeed(checkout.payment_intent_id)
    settled = confirm(shop, pss, payments, purchase.id, now=now + timedelta(minutes=2))
    assert (settled.outcome, settled.status) == ("paid", "completed")
    shop.session.refresh(purchase)
    assert purchase.completed_at == now + timedelta(minutes=2)
    assert all(t.paid_at is not None for t in tokens_of(shop.session, purchase.id))
    assert actions(shop.session, purchase.id) == [
        "purchase.hold",
        "purchase.payment_intent",
        "purchase.paid",
    ]
    assert [(t.action, t.ok) for t in transactions(shop.session, purchase.id)] == [
        ("create_intent", True),
        ("payment_verified", True),
    ]

    # Asking again (the page polls, a webhook arrives) is harmless.
    assert confirm(shop, pss, payments, purchase.id).outcome == "already"
    assert sum(t.paid_at is not None for t in tokens_of(shop.session, purchase.id)) == 3


def test_hold_minutes_come_from_the_event(shop, pss, payments):
    shop.event.hold_minutes = 5
    now = utcnow()
    checkout = buy(shop, pss, payments, now=now)
    assert checkout.hold_expires_at == now + timedelta(minutes=5)


def test_checkout_again_reads_back_the_same_payment_intent(shop, pss, payments, fake):
    first = buy(shop, pss, payments)
    again = online.checkout(shop.session, payments, first.purchase_id)
    assert again.payment_intent_id == first.payment_intent_id
    assert again.client_secret == first.client_secret
    assert len(fake.payment_intents) == 1


def test_papa_style_tickets_hold_their_games_unpaid(shop, pss, payments, fake):
    # A PAPA-style ticket is 3 games; the purchase holds 3 unpaid tokens per ticket.
    checkout = buy(shop, pss, payments, tickets=2, tournament=shop.classics)
    assert checkout.amount_cents == 1000
    assert len(tokens_of(shop.session, checkout.purchase_id)) == 6


def test_metatournament_tickets_and_their_quota(shop, pss, payments, fake):
    from pss_core.services import setup

    meta = setup.create_metatournament(
        shop.session, shop.event, "Classics pass", [shop.classics], price_cents=400
    )
    meta.ticket_quota = 3
    shop.session.flush()
    checkout = online.start_online_purchase(
        shop.session,
        pss,
        payments,
        commit=shop.session.commit,
        event=shop.event,
        player=shop.players[0],
        tickets=2,
        metatournament=meta,
    )
    purchase = shop.session.get(Purchase, checkout.purchase_id)
    assert (purchase.metatournament_id, purchase.tournament_id) == (meta.id, None)
    assert checkout.amount_cents == 800
    assert {t.metatournament_id for t in tokens_of(shop.session, purchase.id)} == {meta.id}
    with pytest.raises(Refused, match="Only 1 ticket left for Classics pass"):
        online.start_online_purchase(
            shop.session,
            pss,
            payments,
            commit=shop.session.commit,
            event=shop.event,
            player=shop.players[1],
            tickets=2,
            metatournament=meta,
        )
    fake.succeed(checkout.payment_intent_id)
    assert confirm(shop, pss, payments, purchase.id).outcome == "paid"
    assert quotas.sold_or_held(shop.session, meta, utcnow()) == 2


# --- never paid without Stripe's word ---------------------------------------------------------


def test_a_payment_intent_that_does_not_match_is_not_accepted(shop, pss, payments, fake, caplog):
    checkout = buy(shop, pss, payments, tickets=1)
    client = stripe.StripeClient(
        fake.api_key,
        base_addresses={"api": fake.url},
        http_client=(http := stripe.RequestsClient()),
    )
    try:
        client.v1.payment_intents.update(checkout.payment_intent_id, {"amount": 1})
    finally:
        http.close()
    fake.succeed(checkout.payment_intent_id)
    with caplog.at_level(logging.ERROR, logger="pss.payments"):
        settled = confirm(shop, pss, payments, checkout.purchase_id)
    assert settled.outcome == "mismatch"
    assert settled.status == "pending"
    assert all(t.paid_at is None for t in tokens_of(shop.session, checkout.purchase_id))
    last = transactions(shop.session, checkout.purchase_id)[-1]
    assert (last.action, last.ok, last.error_type) == ("verify", False, "mismatch")
    assert "amount 1 instead of 300" in last.message
    assert "does not match" in caplog.text


def test_declined_card_is_recorded_once_per_attempt_and_leaves_tokens_unpaid(
    shop, pss, payments, fake
):
    checkout = buy(shop, pss, payments)
    http = stripe.RequestsClient()
    # What Stripe.js does in the player's browser, with the publishable key and client secret.
    browser = stripe.StripeClient(
        "pk_test_browser", base_addresses={"api": fake.url}, http_client=http
    )
    try:
        with pytest.raises(stripe.CardError):
            browser.v1.payment_intents.confirm(
                checkout.payment_intent_id,
                {
                    "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                    "client_secret": checkout.client_secret,
                },
            )
        for _ in range(3):  # the return page polls
            settled = confirm(shop, pss, payments, checkout.purchase_id)
        assert settled.outcome == "declined"
        assert "insufficient funds" in settled.message
        failed = [t for t in transactions(shop.session, checkout.purchase_id) if not t.ok]
        assert [(t.action, t.error_type, t.error_code) for t in failed] == [
            ("payment_failed", "declined", "insufficient_funds")
        ]
        assert all(t.paid_at is None for t in tokens_of(shop.session, checkout.purchase_id))

        # A second card that is declined too is a second record; a good card then pays.
        with pytest.raises(stripe.CardError):
            browser.v1.payment_intents.confirm(
                checkout.payment_intent_id,
                {
                    "payment_method": "pm_card_chargeDeclined",
                    "client_secret": checkout.client_secret,
                },
            )
        confirm(shop, pss, payments, checkout.purchase_id)
        browser.v1.payment_intents.confirm(
            checkout.payment_intent_id,
            {"payment_method": "pm_card_visa", "client_secret": checkout.client_secret},
        )
    finally:
        http.close()
    assert confirm(shop, pss, payments, checkout.purchase_id).outcome == "paid"
    failed = [t for t in transactions(shop.session, checkout.purchase_id) if not t.ok]
    assert [t.error_code for t in failed] == ["insufficient_funds", "generic_decline"]


# --- Stripe errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "times", "error_type", "code", "words"),
    [
        ("rate_limit", 1, "RateLimitError", "payment_busy", "busy"),
        ("server_error", 3, "APIError", "payment_service_error", "had a problem"),
        ("drop_before", 3, "APIConnectionError", "payment_connection_lost", "lost the connection"),
    ],
)
def test_stripe_errors_leave_tokens_unpaid_recorded_with_type_and_plain_words(
    shop, pss, payments, fake, fault, times, error_type, code, words
):
    fake.fail_next(fault, times=times, path_contains="/v1/payment_intents")
    checkout = buy(shop, pss, payments)
    assert checkout.error is not None
    assert checkout.error.code == code
    assert words in checkout.error.message
    assert checkout.client_secret is None
    purchase = shop.session.get(Purchase, checkout.purchase_id)
    assert purchase.status == PurchaseStatus.PENDING
    assert purchase.stripe_payment_intent_id is None
    assert all(t.paid_at is None for t in tokens_of(shop.session, purchase.id))
    [row] = transactions(shop.session, purchase.id)
    assert (row.action, row.ok, row.error_type) == ("create_intent", False, error_type)
    # The library retried 5xx and lost connections (2 retries); a plain 429 it does not retry.
    assert len(fake.requests) == times
    assert fake.payment_intents == {}

    # Trying again once Stripe is back creates the PaymentIntent, with the same key.
    again = online.checkout(shop.session, payments, purchase.id)
    assert again.ready_to_pay
    assert len(fake.payment_intents) == 1
    assert fake.requests[-1].idempotency_key == fake.requests[0].idempotency_key


def test_lost_connection_after_stripe_acted_is_reconciled_with_one_payment_intent(
    shop, pss, payments, fake
):
    # Stripe creates the PaymentIntent but every answer is lost, retries included.
    fake.fail_next("drop_after", times=3, path_contains="/v1/payment_intents")
    checkout = buy(shop, pss, payments)
    assert checkout.error is not None
    assert checkout.error.code == "payment_connection_lost"
    assert len(fake.payment_intents) == 1
    [created] = fake.payment_intents
    assert [r.executed for r in fake.requests] == [True, False, False]

    # Reconciling asks again with the same key: Stripe answers with the one it made.
    again = online.checkout(shop.session, payments, checkout.purchase_id)
    assert again.payment_intent_id == created
    assert len(fake.payment_intents) == 1
    fake.succeed(created)
    assert confirm(shop, pss, payments, checkout.purchase_id).outcome == "paid"


def test_lost_connection_while_checking_a_payment_is_reconciled_later(shop, pss, payments, fake):
    checkout = buy(shop, pss, payments)
    fake.succeed(checkout.payment_intent_id)
    fake.fail_next("drop_before", times=3, path_contains="/v1/payment_intents/")
    settled = confirm(shop, pss, payments, checkout.purchase_id)
    assert settled.outcome == "error"
    assert settled.error.code == "payment_connection_lost"
    assert settled.status == "pending"
    assert all(t.paid_at is None for t in tokens_of(shop.session, checkout.purchase_id))
    assert transactions(shop.session, checkout.purchase_id)[-1].error_type == "APIConnectionError"
    assert confirm(shop, pss, payments, checkout.purchase_id).outcome == "paid"


def test_wrong_key_is_not_configured_and_the_key_never_appears(shop, pss, payments, fake, caplog):
    wrong = "sk_test_not_the_right_key_987654321"
    shop.event.stripe_secret_key = wrong
    with caplog.at_level(logging.DEBUG):
        checkout = buy(shop, pss, payments)
    assert isinstance(checkout.error, PaymentNotConfigured)
    assert "buy your tickets at the desk" in checkout.error.message
    [row] = transactions(shop.session, checkout.purchase_id)
    assert row.error_type == "AuthenticationError"
    texts = [caplog.text, row.message or "", checkout.error.message]
    texts += [str(a.details) for a in shop.session.scalars(select(AuditLog)).all()]
    for text in texts:
        assert wrong not in text
        assert wrong[-4:] not in text
        assert fake.api_key not in text


def test_an_event_without_stripe_keys_does_not_sell_online(shop, pss, payments):
    shop.event.stripe_secret_key = None
    with pytest.raises(PaymentNotConfigured, match="does not take online payments"):
        buy(shop, pss, payments)
    assert shop.session.scalar(select(func.count(Purchase.id))) == 0


# --- quotas and holds -----------------------------------------------------------------------


def test_holds_count_against_the_quota_until_they_expire_by_themselves(shop, pss, payments):
    shop.main.ticket_quota = 2
    now = utcnow()
    first = buy(shop, pss, payments, tickets=2, player=shop.players[0], now=now)
    assert quotas.sold_or_held(shop.session, shop.main, now) == 2
    with pytest.raises(Refused, match="sold out") as refused:
        buy(shop, pss, payments, player=shop.players[1], now=now + timedelta(minutes=14))
    assert refused.value.code == "sold_out"

    # At the expiry the hold no longer counts, with no sweeper having run.
    expiry = first.hold_expires_at
    assert quotas.sold_or_held(shop.session, shop.main, expiry) == 0
    second = buy(shop, pss, payments, player=shop.players[1], tickets=2, now=expiry)
    assert second.ready_to_pay
    assert shop.session.get(Purchase, first.purchase_id).status == PurchaseStatus.PENDING


def test_sweeper_marks_expired_holds_cancelled_for_the_record(shop, pss, payments):
    now = utcnow()
    old = buy(shop, pss, payments, now=now - timedelta(minutes=20))
    live = buy(shop, pss, payments, player=shop.players[1], now=now)
    swept = online.sweep_expired_holds(shop.session, now=now)
    assert swept == [old.purchase_id]
    assert shop.session.get(Purchase, old.purchase_id).status == PurchaseStatus.CANCELLED
    assert shop.session.get(Purchase, live.purchase_id).status == PurchaseStatus.PENDING
    assert actions(shop.session, old.purchase_id)[-1] == "purchase.cancel"
    assert online.sweep_expired_holds(shop.session, now=now) == []


def test_an_expired_hold_cannot_start_paying(shop, pss, payments, fake):
    now = utcnow()
    purchase = online.reserve(
        shop.session,
        pss,
        event=shop.event,
        player=shop.players[0],
        tickets=1,
        tournament=shop.main,
        now=now,
    )
    result = online.checkout(shop.session, payments, purchase.id, now=now + timedelta(minutes=16))
    assert result.error is not None
    assert result.error.code == "hold_expired"
    assert fake.payment_intents == {}


# --- late payments ----------------------------------------------------------------------------


def test_late_payment_is_accepted_while_capacity_allows(shop, pss, payments, fake):
    shop.main.ticket_quota = 2
    now = utcnow()
    checkout = buy(shop, pss, payments, tickets=2, now=now)
    fake.succeed(checkout.payment_intent_id)
    settled = confirm(shop, pss, payments, checkout.purchase_id, now=now + timedelta(minutes=16))
    assert (settled.outcome, settled.status) == ("late_paid", "completed")
    assert all(t.paid_at is not None for t in tokens_of(shop.session, checkout.purchase_id))
    assert "purchase.late_paid" in actions(shop.session, checkout.purchase_id)
    assert fake.refunds == {}


def test_late_payment_after_the_sweep_is_accepted_too(shop, pss, payments, fake):
    now = utcnow()
    checkout = buy(shop, pss, payments, now=now)
    online.sweep_expired_holds(shop.session, now=now + timedelta(minutes=15))
    shop.session.commit()
    fake.succeed(checkout.payment_intent_id)
    settled = confirm(shop, pss, payments, checkout.purchase_id, now=now + timedelta(minutes=30))
    assert (settled.outcome, settled.status) == ("late_paid", "completed")


def test_late_payment_with_no_room_left_is_refunded_in_full(shop, pss, payments, fake):
    shop.main.ticket_quota = 1
    now = utcnow()
    late = buy(shop, pss, payments, player=shop.players[0], now=now)
    # The hold expires; someone else buys the last ticket and pays in time.
    later = now + timedelta(minutes=16)
    other = buy(shop, pss, payments, player=shop.players[1], now=later)
    fake.succeed(other.payment_intent_id)
    assert confirm(shop, pss, payments, other.purchase_id, now=later).outcome == "paid"

    fake.succeed(late.payment_intent_id)
    settled = confirm(shop, pss, payments, late.purchase_id, now=later + timedelta(minutes=1))
    assert settled.outcome == "late_refund"
    assert settled.status == "refunded"
    assert "refunded to your card" in settled.message
    purchase = shop.session.get(Purchase, late.purchase_id)
    assert purchase.refunded_cents == purchase.amount_cents == 300
    assert fake.amount_refunded(late.payment_intent_id) == 300
    [refund] = shop.session.scalars(select(Refund).where(Refund.purchase_id == purchase.id)).all()
    assert refund.stripe_refund_id in fake.refunds
    assert all(t.paid_at is None for t in tokens_of(shop.session, purchase.id))
    assert quotas.sold_or_held(shop.session, shop.main, later) == 1
    audit_actions = shop.session.scalars(
        select(AuditLog.action)
        .where(AuditLog.player_id == purchase.player_id)
        .order_by(AuditLog.id)
    ).all()
    assert audit_actions[-2:] == ["refund.late_payment", "refund.done"]
    # Hearing about the payment again refunds nothing twice.
    assert confirm(shop, pss, payments, late.purchase_id).outcome == "already"
    assert len(fake.refunds) == 1


def test_late_refund_that_cannot_reach_stripe_is_retried_by_the_worker(shop, pss, payments, fake):
    shop.main.ticket_quota = 1
    now = utcnow()
    late = buy(shop, pss, payments, player=shop.players[0], now=now)
    later = now + timedelta(minutes=16)
    other = buy(shop, pss, payments, player=shop.players[1], now=later)
    fake.succeed(other.payment_intent_id)
    fake.succeed(late.payment_intent_id)
    fake.fail_next("server_error", times=3, path_contains="/v1/refunds")
    settled = confirm(shop, pss, payments, late.purchase_id, now=later)
    assert settled.outcome == "late_refund"
    assert settled.error is not None
    assert fake.refunds == {}
    assert shop.session.get(Purchase, late.purchase_id).status == PurchaseStatus.CANCELLED

    done = online.run_worker_pass(
        shop.session, pss, payments, commit=shop.session.commit, now=later
    )
    assert done["late_refund"] == 1
    assert shop.session.get(Purchase, late.purchase_id).status == PurchaseStatus.REFUNDED
    assert fake.amount_refunded(late.payment_intent_id) == 300
    assert len(fake.refunds) == 1


def test_worker_reconciles_payments_nobody_reported_and_sweeps(shop, pss, payments, fake):
    now = utcnow()
    paid = buy(shop, pss, payments, player=shop.players[0], now=now)
    abandoned = buy(shop, pss, payments, player=shop.players[1], now=now - timedelta(minutes=30))
    fake.succeed(paid.payment_intent_id)
    outcomes = online.run_worker_pass(
        shop.session, pss, payments, commit=shop.session.commit, now=now
    )
    assert outcomes["paid"] == 1
    assert outcomes["expired"] == 1
    assert shop.session.get(Purchase, paid.purchase_id).status == PurchaseStatus.COMPLETED
    assert shop.session.get(Purchase, abandoned.purchase_id).status == PurchaseStatus.CANCELLED


def test_an_abandoned_hold_does_not_count_against_an_entry_cap(shop, pss, payments):
    from pss_core.services import setup

    limited = setup.create_tournament(
        shop.session,
        pss,
        shop.event,
        "Limited",
        "limited_herb",
        options={"max_entries": 2},
        price_cents=100,
    )
    now = utcnow()
    online.reserve(
        shop.session,
        pss,
        event=shop.event,
        player=shop.players[0],
        tickets=2,
        tournament=limited,
        now=now - timedelta(minutes=30),
    )
    again = online.reserve(
        shop.session,
        pss,
        event=shop.event,
        player=shop.players[0],
        tickets=2,
        tournament=limited,
        now=now,
    )
    assert again.status == PurchaseStatus.PENDING
