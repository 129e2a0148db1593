"""Refunds of unused tickets: cash at the desk, and to the card through Stripe's Refunds API, in
part or in full; the purchase record, the refunds, the audit log and Stripe agree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from pss_core.audit import Actor
from pss_core.errors import InvalidInput, Refused
from pss_core.models import (
    AuditLog,
    Channel,
    Purchase,
    PurchaseStatus,
    Refund,
    Token,
    utcnow,
)
from pss_core.payments import online, refunds
from pss_core.services import tickets as tickets_svc

DESK = Actor("desk", user_id=None)


def paid_online(
    shop: Any, pss: Any, payments: Any, fake: Any, tickets: int = 3, player: Any = None
) -> Purchase:
    checkout = online.start_online_purchase(
        shop.session,
        pss,
        payments,
        commit=shop.session.commit,
        event=shop.event,
        player=player or shop.players[0],
        tickets=tickets,
        tournament=shop.main,
    )
    fake.succeed(checkout.payment_intent_id)
    settled = online.confirm_from_payment_intent(
        shop.session, pss, payments, checkout.purchase_id, commit=shop.session.commit
    )
    assert settled.outcome == "paid"
    return shop.session.get(Purchase, checkout.purchase_id)


def refund(shop: Any, payments: Any, purchase: Purchase, tokens: int) -> refunds.RefundOutcome:
    return refunds.refund_purchase(
        shop.session,
        payments,
        purchase.id,
        tokens=tokens,
        commit=shop.session.commit,
        actor=DESK,
        reason="went home",
    )


def refund_rows(session: Any, purchase: Purchase) -> list[Refund]:
    return list(
        session.scalars(
            select(Refund).where(Refund.purchase_id == purchase.id).order_by(Refund.id)
        ).all()
    )


def unused(session: Any, purchase: Purchase) -> int:
    return len(refunds.unused_tokens(session, purchase))


def test_prorated_shares_always_add_up_to_the_amount():
    for amount in (0, 1, 299, 800, 1001):
        for total in (1, 3, 7):
            for steps in ([1] * total, [total], [2, total - 2] if total > 2 else [total]):
                refunded, shares = 0, []
                for step in steps:
                    shares.append(refunds.prorated_cents(amount, total, refunded, step))
                    refunded += step
                assert sum(shares) == amount
                assert all(s >= 0 for s in shares)


def test_desk_refund_in_parts_gives_back_exactly_what_was_paid(shop, pss):
    purchase = tickets_svc.sell_tickets(
        shop.session, pss, player=shop.players[0], count=3, tournament=shop.main, actor=DESK
    )
    assert purchase.amount_cents == 800
    first = refund(shop, None, purchase, 1)
    assert (first.ok, first.amount_cents, first.message) == (True, 266, "Hand back $2.66 in cash.")
    assert purchase.status == PurchaseStatus.COMPLETED
    assert unused(shop.session, purchase) == 2
    second = refund(shop, None, purchase, 2)
    assert second.amount_cents == 534
    shop.session.refresh(purchase)
    assert (purchase.status, purchase.refunded_cents) == (PurchaseStatus.REFUNDED, 800)
    assert [r.channel for r in refund_rows(shop.session, purchase)] == [Channel.DESK] * 2
    assert sum(r.amount_cents for r in refund_rows(shop.session, purchase)) == 800
    details = shop.session.scalars(
        select(AuditLog.details).where(AuditLog.action == "refund.done")
    ).all()
    assert [d["amount_cents"] for d in details] == [266, 534]
    with pytest.raises(Refused, match="refunded in full already"):
        refund(shop, None, purchase, 1)


def test_only_unused_tokens_can_be_refunded(shop, pss):
    purchase = tickets_svc.sell_tickets(
        shop.session, pss, player=shop.players[0], count=2, tournament=shop.main, actor=DESK
    )
    token = shop.session.scalars(
        select(Token).where(Token.purchase_id == purchase.id).order_by(Token.id)
    ).first()
    token.used_at = utcnow()
    shop.session.flush()
    with pytest.raises(Refused, match="Only 1 game of this purchase is unused") as refused:
        refund(shop, None, purchase, 2)
    assert refused.value.code == "not_enough_unused"
    with pytest.raises(InvalidInput):
        refund(shop, None, purchase, 0)
    assert refund(shop, None, purchase, 1).ok
    # The used token stays used; the purchase is not wholly refunded.
    assert purchase.status == PurchaseStatus.COMPLETED


def test_refunded_tokens_can_no_longer_be_used(shop, pss):
    player = shop.players[0]
    purchase = tickets_svc.sell_tickets(
        shop.session, pss, player=player, count=2, tournament=shop.main, actor=DESK
    )
    refund(shop, None, purchase, 1)
    usable = tickets_svc.usable_tokens(shop.session, pss, shop.main, player_id=player.id)
    assert len(usable) == 1
    assert usable[0].refunded_at is None


def test_stripe_partial_refunds_agree_with_stripe(shop, pss, payments, fake):
    purchase = paid_online(shop, pss, payments, fake, tickets=3)
    intent = purchase.stripe_payment_intent_id
    first = refund(shop, payments, purchase, 1)
    assert (first.ok, first.pending, first.amount_cents) == (True, False, 266)
    assert "$2.66 was refunded to the card" in first.message
    assert fake.amount_refunded(intent) == 266
    assert unused(shop.session, purchase) == 2

    second = refund(shop, payments, purchase, 2)
    assert second.amount_cents == 534
    shop.session.refresh(purchase)
    rows = refund_rows(shop.session, purchase)
    assert purchase.status == PurchaseStatus.REFUNDED
    assert purchase.refunded_cents == fake.amount_refunded(intent) == 800
    assert sorted(r.stripe_refund_id or "" for r in rows) == sorted(fake.refunds)
    assert {r.stripe_refund_id: r.amount_cents for r in rows} == {
        rid: r["amount"] for rid, r in fake.refunds.items()
    }
    assert all(r["metadata"]["pss_purchase_id"] == str(purchase.id) for r in fake.refunds.values())
    audited = shop.session.scalars(
        select(AuditLog)
        .where(AuditLog.action.in_(("refund.request", "refund.done")))
        .order_by(AuditLog.id)
    ).all()
    assert [(a.action, a.details["amount_cents"]) for a in audited] == [
        ("refund.request", 266),
        ("refund.done", 266),
        ("refund.request", 534),
        ("refund.done", 534),
    ]
    assert audited[-1].details["stripe_refund"] in fake.refunds


def test_refund_answer_lost_is_retried_with_the_same_key_and_refunds_once(
    shop, pss, payments, fake
):
    purchase = paid_online(shop, pss, payments, fake, tickets=2)
    # Stripe refunds, but none of the answers arrive (the library's retries included).
    fake.fail_next("drop_after", times=3, path_contains="/v1/refunds")
    outcome = refund(shop, payments, purchase, 1)
    assert (outcome.ok, outcome.pending) == (False, True)
    assert outcome.error is not None
    assert outcome.error.code == "payment_connection_lost"
    assert len(fake.refunds) == 1  # Stripe did it once
    assert purchase.refunded_cents == 0
    assert unused(shop.session, purchase) == 1  # the refunded game cannot be played meanwhile
    assert refunds.pending_refund_ids(shop.session) == [outcome.refund_id]

    done = online.run_worker_pass(shop.session, pss, payments, commit=shop.session.commit)
    assert done["refund_done"] == 1
    assert len(fake.refunds) == 1
    shop.session.refresh(purchase)
    assert purchase.amount_cents == 600
    assert purchase.refunded_cents == fake.amount_refunded(purchase.stripe_payment_intent_id) == 300
    keys = {r.idempotency_key for r in fake.requests if r.path == "/v1/refunds"}
    assert len(keys) == 1
    assert refunds.pending_refund_ids(shop.session) == []


def test_refund_refused_by_stripe_is_withdrawn_and_the_games_are_usable_again(
    shop, pss, payments, fake
):
    purchase = paid_online(shop, pss, payments, fake, tickets=2)
    shop.event.stripe_secret_key = "sk_test_revoked_key_000000000000"
    outcome = refund(shop, payments, purchase, 2)
    assert (outcome.ok, outcome.pending, outcome.refund_id) == (False, False, None)
    assert outcome.error is not None
    assert outcome.error.code == "payment_not_configured"
    assert "usable again" in outcome.message
    assert refund_rows(shop.session, purchase) == []
    assert unused(shop.session, purchase) == 2
    assert purchase.status == PurchaseStatus.COMPLETED
    assert (
        shop.session.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.action == "refund.failed")
        )
        == 1
    )
    assert fake.refunds == {}


def test_only_paid_purchases_are_refunded(shop, pss, payments, fake):
    checkout = online.start_online_purchase(
        shop.session,
        pss,
        payments,
        commit=shop.session.commit,
        event=shop.event,
        player=shop.players[0],
        tickets=1,
        tournament=shop.main,
        now=utcnow() - timedelta(minutes=1),
    )
    with pytest.raises(Refused, match="Only paid purchases") as refused:
        refund(shop, payments, shop.session.get(Purchase, checkout.purchase_id), 1)
    assert refused.value.code == "not_paid"
