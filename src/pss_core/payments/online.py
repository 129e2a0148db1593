"""The player's online purchase: a hold on unpaid tokens, a payment at the event's payment provider
(:class:`~pss_core.contract.PaymentProvider`) for exactly the price, and tokens marked paid only
after pss read from the provider that the payment succeeded — from a signed webhook or from the
return page asking, never from the browser's word.

Transactions: the hold is written under the owner, quota and offer locks and committed before any
network call; the provider is called with no lock held; what it said is applied under the locks
again.
Functions that must commit between those steps take a ``commit`` callable (``session.commit`` in a
script, the transaction manager's commit in the web app) and reload rows by id afterwards. Payment
errors are returned (and recorded) rather than raised, so their record is committed with the rest.

A hold stops counting at ``hold_expires_at`` by itself (the quota counts only live holds); the
sweeper only marks expired holds CANCELLED for the record. A payment that succeeds after its hold
expired is accepted if the quota, the buyer's caps and any capped offer still allow it, and
otherwise refunded in full automatically.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pss_core import audit, mail
from pss_core.audit import Actor
from pss_core.contract import PaymentError, PaymentNotConfigured, PaymentState
from pss_core.errors import DomainError, InvalidInput, NotFound, PermissionDenied, Refused
from pss_core.models import (
    Channel,
    Event,
    EventPlayer,
    Metatournament,
    PaymentTransaction,
    PriceRestriction,
    Purchase,
    PurchaseStatus,
    Refund,
    RestrictionUse,
    StripeWebhookEvent,
    Tournament,
    utcnow,
)
from pss_core.payments import refunds
from pss_core.payments.providers import Payments, provider_name, takes_online_payments
from pss_core.payments.records import record
from pss_core.plugins import Pss
from pss_core.services import locking, restrictions
from pss_core.services import tickets as tickets_svc

log = logging.getLogger("pss.payments")

Commit = Callable[[], None]
SYSTEM_ACTOR = Actor.system("payments")


class HoldExpired(Refused):
    default_code = "hold_expired"


@attrs.frozen
class Checkout:
    """What the purchase page needs to take the payment (or to say why it cannot)."""

    purchase_id: int
    status: str
    tickets: int
    amount_cents: int
    currency: str
    hold_expires_at: datetime | None
    payment_intent_id: str | None = None
    #: What the provider's payment step in the browser needs (public values only); never
    #: stored by pss.
    client: dict[str, Any] = attrs.field(factory=dict)
    #: The provider taking the payment.
    provider: str = ""
    error: DomainError | None = None

    @property
    def ready_to_pay(self) -> bool:
        return bool(self.client) and self.error is None

    @property
    def client_secret(self) -> str | None:
        """The browser's secret for the payment, where the provider gives one."""
        value = self.client.get("client_secret")
        return str(value) if value else None


@attrs.frozen
class Settlement:
    """What pss did with a payment's state, as the provider has it.

    ``outcome`` is one of: ``paid``, ``late_paid``, ``late_refund`` (paid after the hold expired
    with no room left: refunded), ``already`` (nothing left to do), ``waiting`` (not paid yet),
    ``declined``, ``cancelled``, ``mismatch`` (the provider's amount or metadata disagree: not
    paid), ``error`` (the provider could not be asked; see ``error``) or ``no_intent``."""

    purchase_id: int
    outcome: str
    status: str
    message: str = ""
    refund_id: int | None = None
    error: DomainError | None = None

    @property
    def paid(self) -> bool:
        return self.status == PurchaseStatus.COMPLETED.value


# --- the hold -------------------------------------------------------------------------------


def _scope_of(purchase: Purchase, session: Session) -> Tournament | Metatournament:
    scope: Tournament | Metatournament | None
    if purchase.tournament_id is not None:
        scope = session.get(Tournament, purchase.tournament_id)
    else:
        scope = session.get(Metatournament, purchase.metatournament_id)
    assert scope is not None
    return scope


def _online_sale(
    session: Session,
    pss: Pss,
    player: EventPlayer,
    tickets: int,
    tournament: Tournament | None,
    metatournament: Metatournament | None,
) -> tickets_svc.SaleQuote:
    """The sale worked out as an online one: the live price, the hold and a late payment's
    second look all count and price the tickets alike."""
    return tickets_svc.prepare_sale(
        session,
        pss,
        player=player,
        count=tickets,
        tournament=tournament,
        metatournament=metatournament,
        channel=Channel.ONLINE,
    )


def _price_request(
    event: Event, quote: tickets_svc.SaleQuote, code: str | None, now: datetime
) -> restrictions.PriceRequest:
    """What the offers are asked about an online sale, for the live price and for the hold."""
    return restrictions.PriceRequest(
        event_id=event.id,
        scope=quote.scope,
        player_id=quote.player.id,
        tickets=quote.tickets,
        base_cents=quote.price.total_cents,
        now=now,
        code=restrictions.normalise_code(code),
        channel="online",
    )


def reserve(
    session: Session,
    pss: Pss,
    *,
    event: Event,
    player: EventPlayer,
    tickets: int,
    tournament: Tournament | None = None,
    metatournament: Metatournament | None = None,
    code: str | None = None,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> Purchase:
    """Price ``tickets`` (bundles, restrictions) and hold them: a PENDING purchase with unpaid
    tokens until ``hold_expires_at`` (``event.hold_minutes`` from now). Checks sales, the buyer's
    caps, the quota and capped offers under their locks; the caller commits to release them.

    A purchase that costs nothing (a 100% coupon) is completed at once, without a payment."""
    now = now or utcnow()
    if player.event_id != event.id:
        raise InvalidInput(f"{player.name} is not registered in {event.name}.", code="wrong_event")
    if not takes_online_payments(pss, event):
        raise not_configured(event)
    actor = actor or Actor(f"player {player.number}", player_id=player.id)
    quote = _online_sale(session, pss, player, tickets, tournament, metatournament)
    tickets_svc.lock_for_sale(session, quote)
    offers = restrictions.restrictions_for(session, quote.scope)
    restrictions.lock_counted(session, offers)
    tickets_svc.check_sale(session, pss, quote, now=now)
    price = restrictions.evaluate(
        session,
        pss,
        _price_request(event, quote, code, now),
        rows=offers,
    ).require_available()

    free = price.amount_cents == 0
    purchase = tickets_svc.new_purchase(
        quote,
        status=PurchaseStatus.COMPLETED if free else PurchaseStatus.PENDING,
        now=now,
        hold_expires_at=None if free else now + timedelta(minutes=event.hold_minutes),
    )
    purchase.amount_cents = price.amount_cents
    purchase.breakdown = {**purchase.breakdown, "pricing": price.breakdown()}
    session.add(purchase)
    session.flush()
    # Stored, so every retry for this purchase sends the same keys; the random part keeps keys
    # from two databases (a test install, a restored backup) apart on one provider account.
    purchase.idempotency_key = f"pss-purchase-{purchase.id}-{secrets.token_hex(4)}"
    tickets_svc.issue_tokens(session, purchase, quote, paid_at=now if free else None)
    restrictions.record_uses(session, price, purchase)
    tickets_svc.audit_for_player(
        session,
        actor,
        "purchase.complete" if free else "purchase.hold",
        event_id=event.id,
        player_id=player.id,
        subject=purchase,
        now=now,
        scope=f"{'tournament' if tournament else 'metatournament'}:{quote.scope.slug}",
        tickets=tickets,
        tokens=quote.tokens,
        amount_cents=price.amount_cents,
        base_cents=price.base_cents,
        price_rule=price.breakdown()["price_rule"],
        hold_expires_at=purchase.hold_expires_at,
        channel="online",
    )
    if free:
        mail.purchase_completed(session, purchase)
    return purchase


def quote_online(
    session: Session,
    pss: Pss,
    *,
    event: Event,
    player: EventPlayer,
    tickets: int,
    tournament: Tournament | None = None,
    metatournament: Metatournament | None = None,
    code: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The live price for the purchase page, without locks or writes: base price, restrictions,
    the price to pay, and whether (and why not) the tickets can be bought now."""
    now = now or utcnow()
    quote = _online_sale(session, pss, player, tickets, tournament, metatournament)
    refusal = ""
    try:
        tickets_svc.check_sale(session, pss, quote, now=now)
    except Refused as exc:
        refusal = exc.message
    price = restrictions.evaluate(session, pss, _price_request(event, quote, code, now))
    winner = price.winner
    return {
        "tickets": tickets,
        "tokens": quote.tokens,
        "base_cents": price.base_cents,
        "amount_cents": price.amount_cents,
        "currency": event.currency,
        "lines": [line.as_dict() for line in quote.price.lines],
        "price_rule": winner.label if winner else None,
        "available": price.available and not refusal,
        "message": refusal or price.refusal,
    }


# --- the payment ------------------------------------------------------------------------------


def not_configured(event: Event) -> PaymentNotConfigured:
    err = PaymentNotConfigured(
        f"{event.name} does not take online payments. Please buy your tickets at the desk."
    )
    err.error_type = "not_configured"
    return err


def _checkout(purchase: Purchase, event: Event, **extra: Any) -> Checkout:
    return Checkout(
        purchase_id=purchase.id,
        status=purchase.status.value,
        tickets=purchase.tickets,
        amount_cents=purchase.amount_cents,
        currency=event.currency,
        hold_expires_at=purchase.hold_expires_at,
        payment_intent_id=purchase.stripe_payment_intent_id,
        provider=provider_name(event),
        **extra,
    )


def get_purchase(session: Session, purchase_id: int, *, event_id: int | None = None) -> Purchase:
    purchase = session.get(Purchase, purchase_id)
    if purchase is None or (event_id is not None and purchase.event_id != event_id):
        raise NotFound("There is no such purchase.", code="unknown_purchase")
    return purchase


def _description(session: Session, purchase: Purchase, event: Event) -> str:
    scope = _scope_of(purchase, session)
    s = "s" if purchase.tickets != 1 else ""
    return f"{event.name}: {purchase.tickets} ticket{s} for {scope.name}"


def checkout(
    session: Session,
    payments: Payments,
    purchase_id: int,
    *,
    now: datetime | None = None,
) -> Checkout:
    """The payment for a held purchase at the event's provider: started once (the purchase's
    stored idempotency key), or read back if it exists. Holds no lock; commit afterwards to keep
    the record."""
    now = now or utcnow()
    purchase = get_purchase(session, purchase_id)
    event = session.get(Event, purchase.event_id)
    assert event is not None
    if purchase.status != PurchaseStatus.PENDING:
        return _checkout(purchase, event)
    if purchase.hold_expires_at is not None and purchase.hold_expires_at <= now:
        return _checkout(
            purchase,
            event,
            error=HoldExpired(
                "Your hold on these tickets has expired, so they may have gone to someone else. "
                "Nothing was charged; please start a new purchase."
            ),
        )
    try:
        provider = payments.for_event(event)
        if purchase.stripe_payment_intent_id is not None:
            state = provider.payment_state(
                session, event, purchase, purchase.stripe_payment_intent_id
            )
        else:
            state = provider.start_payment(
                session,
                event,
                purchase,
                description=_description(session, purchase, event),
                idempotency_key=f"{purchase.idempotency_key}-create",
            )
            purchase.stripe_payment_intent_id = state.id
            audit.record(
                session,
                SYSTEM_ACTOR,
                "purchase.payment_intent",
                event_id=event.id,
                subject=purchase,
                player_id=purchase.player_id,
                payment_intent=state.id,
                amount_cents=state.amount,
                provider=provider_name(event),
            )
    except PaymentError as err:
        return _checkout(purchase, event, error=err)
    except Refused as err:  # the event's provider is not installed
        return _checkout(purchase, event, error=err)
    return _checkout(purchase, event, client=provider.checkout_data(event, state))


def start_online_purchase(
    session: Session,
    pss: Pss,
    payments: Payments,
    *,
    commit: Commit,
    event: Event,
    player: EventPlayer,
    tickets: int,
    tournament: Tournament | None = None,
    metatournament: Metatournament | None = None,
    code: str | None = None,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> Checkout:
    """Hold the tickets (committed, locks released), then start the payment (committed with its
    record). Refusals before the hold raise; payment errors come back in ``error``."""
    purchase = reserve(
        session,
        pss,
        event=event,
        player=player,
        tickets=tickets,
        tournament=tournament,
        metatournament=metatournament,
        code=code,
        now=now,
        actor=actor,
    )
    purchase_id = purchase.id
    commit()
    result = checkout(session, payments, purchase_id, now=now)
    commit()
    return result


# --- applying what the provider says------------------------------------------------------------


def _mismatches(purchase: Purchase, event: Event, state: PaymentState) -> list[str]:
    problems = []
    if state.id != purchase.stripe_payment_intent_id:
        problems.append(f"payment intent {state.id} is not this purchase's")
    if state.metadata.get("pss_purchase_id") != str(purchase.id):
        problems.append("metadata names another purchase")
    if state.currency.lower() != event.currency.lower():
        problems.append(f"currency {state.currency} instead of {event.currency}")
    if state.amount != purchase.amount_cents:
        problems.append(f"amount {state.amount} instead of {purchase.amount_cents}")
    if state.status == "paid" and state.amount_received < purchase.amount_cents:
        problems.append(f"received {state.amount_received} of {purchase.amount_cents}")
    return problems


def _lock_for_settlement(session: Session, purchase: Purchase) -> Purchase:
    """Owner, scope and the capped offers the purchase used, then the purchase itself (the lock
    order of :mod:`pss_core.services.locking`, then offers, then purchases)."""
    locking.lock_in_order(
        session,
        teams=[purchase.team_id],
        players=[purchase.player_id],
        tournaments=[purchase.tournament_id],
        metatournaments=[purchase.metatournament_id],
    )
    used = session.scalars(
        select(RestrictionUse.restriction_id).where(RestrictionUse.purchase_id == purchase.id)
    ).all()
    locking.lock_rows(session, PriceRestriction, used)
    locking.lock_rows(session, Purchase, [purchase.id])
    session.refresh(purchase)
    return purchase


def _late_room(session: Session, pss: Pss, purchase: Purchase, now: datetime) -> str:
    """Why an expired hold's payment cannot be accepted now ("" if it can). Call under locks."""
    player = session.get(EventPlayer, purchase.player_id)
    assert player is not None
    scope = _scope_of(purchase, session)
    try:
        quote = _online_sale(
            session,
            pss,
            player,
            purchase.tickets,
            scope if isinstance(scope, Tournament) else None,
            scope if isinstance(scope, Metatournament) else None,
        )
        # The purchase's own hold has expired, so it is not counted against anything here.
        tickets_svc.check_sale(session, pss, quote, now=now)
    except DomainError as exc:
        return exc.message
    used = session.scalars(
        select(PriceRestriction)
        .join(RestrictionUse, RestrictionUse.restriction_id == PriceRestriction.id)
        .where(RestrictionUse.purchase_id == purchase.id, PriceRestriction.max_uses.is_not(None))
    ).all()
    uses = restrictions.live_uses(
        session, [r.id for r in used], now, exclude_purchase_id=purchase.id
    )
    for row in used:
        if row.max_uses is not None and uses[row.id] >= row.max_uses:
            return f"The offer {row.name!r} has been used up in the meantime."
    return ""


def _complete(
    session: Session,
    purchase: Purchase,
    event: Event,
    state: PaymentState,
    now: datetime,
    *,
    late: bool,
    source: str,
) -> None:
    purchase.status = PurchaseStatus.COMPLETED
    purchase.completed_at = now
    paid = tickets_svc.pay_tokens(session, purchase, now)
    record(
        session,
        purchase,
        "payment_verified",
        ok=True,
        amount_cents=state.amount_received,
        stripe_object_id=state.id,
        message=f"verified from {source}",
    )
    tickets_svc.audit_for_player(
        session,
        SYSTEM_ACTOR,
        "purchase.late_paid" if late else "purchase.paid",
        event_id=event.id,
        player_id=purchase.player_id,
        subject=purchase,
        now=now,
        payment_intent=state.id,
        amount_cents=state.amount_received,
        tokens=paid,
        source=source,
        hold_expires_at=purchase.hold_expires_at,
    )
    mail.purchase_completed(session, purchase)


def apply_payment_intent(
    session: Session,
    pss: Pss,
    purchase_id: int,
    state: PaymentState,
    *,
    now: datetime | None = None,
    source: str = "return page",
) -> Settlement:
    """Apply a payment's state read from its provider (never from the browser) to its
    purchase, under the locks. No network call; the caller commits, then runs the refund this
    may have queued (``Settlement.refund_id``) with
    :func:`~pss_core.payments.refunds.execute_refund`."""
    now = now or utcnow()
    purchase = _lock_for_settlement(session, get_purchase(session, purchase_id))
    event = session.get(Event, purchase.event_id)
    assert event is not None

    def result(outcome: str, message: str = "", **kw: Any) -> Settlement:
        return Settlement(purchase.id, outcome, purchase.status.value, message, **kw)

    problems = _mismatches(purchase, event, state)
    if problems:
        text = "; ".join(problems)
        record(
            session,
            purchase,
            "verify",
            ok=False,
            error_type="mismatch",
            error_code="intent_mismatch",
            message=text,
            stripe_object_id=state.id,
        )
        log.error("payment intent %s does not match purchase %s: %s", state.id, purchase.id, text)
        return result(
            "mismatch",
            "The payment does not match this purchase; it was not "
            "accepted. Please ask at the desk.",
        )

    if state.status == "paid":
        if purchase.status in (PurchaseStatus.COMPLETED, PurchaseStatus.REFUNDED):
            return result("already")
        if session.scalar(select(Refund.id).where(Refund.purchase_id == purchase.id)):
            return result("already")  # a late payment already on its way back
        live = (
            purchase.status == PurchaseStatus.PENDING
            and purchase.hold_expires_at is not None
            and purchase.hold_expires_at > now
        )
        if live:
            _complete(session, purchase, event, state, now, late=False, source=source)
            return result("paid")
        why_not = _late_room(session, pss, purchase, now)
        if not why_not:
            _complete(session, purchase, event, state, now, late=True, source=source)
            return result(
                "late_paid",
                "Your payment arrived after your hold expired, but the tickets were "
                "still available: they are yours.",
            )
        refund = refunds.begin_late_refund(session, purchase, reason=why_not, now=now)
        return result(
            "late_refund",
            "Your payment arrived after your hold expired and the tickets were gone "
            f"({why_not}). The full amount is being refunded to your card.",
            refund_id=refund.id,
        )

    if state.status == "cancelled":
        if purchase.status == PurchaseStatus.PENDING:
            _cancel(session, purchase, now, reason="payment cancelled at the payment service")
        return result("cancelled", "This payment was cancelled. Nothing was charged.")

    if state.status == "failed":
        _record_decline(session, purchase, state)
        reason = (state.last_error_message or "The card was declined.").rstrip(".")
        return result(
            "declined",
            f"The last payment attempt failed: {reason}. Nothing was "
            "charged; you can try another card.",
        )
    return result("waiting", "Waiting for the payment to be confirmed.")


def _record_decline(session: Session, purchase: Purchase, state: PaymentState) -> None:
    # One row per failed attempt (its charge), however often the page or the provider tells us.
    attempt = state.last_error_attempt or state.id
    seen = session.scalar(
        select(PaymentTransaction.id).where(
            PaymentTransaction.purchase_id == purchase.id,
            PaymentTransaction.action == "payment_failed",
            PaymentTransaction.stripe_object_id == attempt,
        )
    )
    if seen is not None:
        return
    record(
        session,
        purchase,
        "payment_failed",
        ok=False,
        error_type="declined",
        error_code=state.last_error_code,
        message=state.last_error_message,
        amount_cents=state.amount,
        stripe_object_id=attempt,
    )
    log.warning("payment for purchase %s failed: %s", purchase.id, state.last_error_code)
    mail.payment_failed(
        session, purchase, (state.last_error_message or "The card was declined.").rstrip(".") + "."
    )


def _cancel(
    session: Session, purchase: Purchase, now: datetime, *, reason: str, actor: Actor = SYSTEM_ACTOR
) -> None:
    purchase.status = PurchaseStatus.CANCELLED
    tickets_svc.audit_for_player(
        session,
        actor,
        "purchase.cancel",
        event_id=purchase.event_id,
        player_id=purchase.player_id,
        subject=purchase,
        now=now,
        reason=reason,
        hold_expires_at=purchase.hold_expires_at,
        tickets=purchase.tickets,
    )


def cancel_by_player(
    session: Session, purchase_id: int, *, player_id: int, actor: Actor, now: datetime | None = None
) -> Purchase:
    """The buyer gives up a pending online purchase: its hold ends at once (its tickets are
    free for others) and it is cancelled; the worker then cancels its PaymentIntent at Stripe.
    A payment that still arrives is a late payment, as after an expired hold. Refused for
    someone else's purchase and for one that is no longer pending."""
    now = now or utcnow()
    purchase = get_purchase(session, purchase_id)
    if purchase.player_id != player_id:
        raise PermissionDenied("Only the buyer can cancel a purchase.", code="not_the_buyer")
    purchase = _lock_for_settlement(session, purchase)
    if purchase.channel != Channel.ONLINE or purchase.status != PurchaseStatus.PENDING:
        words = {
            PurchaseStatus.COMPLETED: "it is paid already (the desk can refund unused games)",
            PurchaseStatus.CANCELLED: "it was cancelled already",
            PurchaseStatus.REFUNDED: "it was refunded",
        }.get(purchase.status, "it is not an online purchase")
        raise Refused(f"This purchase cannot be cancelled: {words}.", code="purchase_not_pending")
    if purchase.hold_expires_at is None or purchase.hold_expires_at > now:
        purchase.hold_expires_at = now
    _cancel(session, purchase, now, reason="cancelled by the player", actor=actor)
    session.flush()
    return purchase


def confirm_from_payment_intent(
    session: Session,
    pss: Pss,
    payments: Payments,
    purchase_id: int,
    *,
    commit: Commit,
    now: datetime | None = None,
    source: str = "return page",
) -> Settlement:
    """Ask the provider for the purchase's payment and apply it (commits; then runs any
    automatic refund and commits again). Used by the return page, webhooks and the worker, and
    to reconcile after a lost connection."""
    now = now or utcnow()
    purchase = get_purchase(session, purchase_id)
    event = session.get(Event, purchase.event_id)
    assert event is not None
    pending_refund = refunds.pending_refund_ids(session, purchase.id)
    if pending_refund:
        outcome = refunds.execute_refund(session, payments, pending_refund[0], now=now)
        commit()
        return Settlement(
            purchase_id,
            "late_refund" if outcome.ok else "error",
            purchase.status.value,
            outcome.message,
            refund_id=pending_refund[0],
            error=outcome.error,
        )
    if purchase.status in (PurchaseStatus.COMPLETED, PurchaseStatus.REFUNDED):
        return Settlement(purchase_id, "already", purchase.status.value)
    if purchase.stripe_payment_intent_id is None:
        return Settlement(purchase_id, "no_intent", purchase.status.value)
    try:
        state = payments.for_event(event).payment_state(
            session, event, purchase, purchase.stripe_payment_intent_id
        )
    except PaymentError as err:
        commit()
        return Settlement(purchase_id, "error", purchase.status.value, err.message, error=err)
    settlement = apply_payment_intent(session, pss, purchase_id, state, now=now, source=source)
    commit()
    if settlement.refund_id is not None:
        outcome = refunds.execute_refund(session, payments, settlement.refund_id, now=now)
        commit()
        if not outcome.ok:
            return attrs.evolve(settlement, error=outcome.error)
        purchase = get_purchase(session, purchase_id)
        return attrs.evolve(settlement, status=purchase.status.value)
    return settlement


# --- webhooks ---------------------------------------------------------------------------------


@attrs.frozen
class WebhookResult:
    """``handled``: applied; ``duplicate``: seen before; ``ignored``: not about a purchase of this
    event; ``retry``: the provider could not be asked now, so the webhook should be answered with
    an error and the provider will send it again."""

    outcome: str
    #: The provider's id of the notice (the column keeps its first provider's name).
    stripe_event_id: str
    type: str
    settlement: Settlement | None = None
    #: What a refund notice changed.
    refunds: refunds.RefundSync | None = None

    @property
    def retry(self) -> bool:
        return self.outcome == "retry"


def handle_webhook(
    session: Session,
    pss: Pss,
    payments: Payments,
    event: Event,
    payload: bytes,
    headers: Mapping[str, str],
    *,
    commit: Commit,
    now: datetime | None = None,
) -> WebhookResult:
    """Have the event's provider verify the webhook (its signature, with the event's secret; a
    body that is no notice of the provider's is ``InvalidInput``), skip notices this pss event
    already handled (by the provider's id: other pss events on the same account get the same
    notice, and handle it for themselves), and for a payment of one of this event's purchases
    re-read it from the provider and apply it — so duplicates and notices arriving out of order
    change nothing. Commits."""
    now = now or utcnow()
    notice = payments.for_event(event).verify_webhook(event, payload, headers)
    evt_id, evt_type = notice.id, notice.type
    if session.get(StripeWebhookEvent, (event.id, evt_id)) is not None:
        return WebhookResult("duplicate", evt_id, evt_type)
    purchase = None
    if notice.payment_id is not None:
        purchase = session.scalars(
            select(Purchase).where(
                Purchase.stripe_payment_intent_id == notice.payment_id,
                Purchase.event_id == event.id,
            )
        ).first()
    settlement = None
    synced = None
    if purchase is not None and notice.subject == "payment":
        settlement = confirm_from_payment_intent(
            session, pss, payments, purchase.id, commit=commit, now=now, source="webhook"
        )
        if settlement.outcome == "error":
            return WebhookResult("retry", evt_id, evt_type, settlement)
    elif purchase is not None and notice.subject == "refund":
        purchase_id = purchase.id
        if purchase.status == PurchaseStatus.PENDING:
            # Paid and refunded before pss heard of the payment: take the payment first.
            settlement = confirm_from_payment_intent(
                session, pss, payments, purchase_id, commit=commit, now=now, source="webhook"
            )
            if settlement.outcome == "error":
                return WebhookResult("retry", evt_id, evt_type, settlement)
        synced = refunds.sync_refunds(session, payments, purchase_id, commit=commit, now=now)
        if synced.error is not None:
            return WebhookResult("retry", evt_id, evt_type, settlement, synced)
    _mark_seen(session, event, evt_id, evt_type, now)
    commit()
    return WebhookResult(
        "handled" if purchase is not None else "ignored", evt_id, evt_type, settlement, synced
    )


def _mark_seen(session: Session, event: Event, evt_id: str, evt_type: str, now: datetime) -> None:
    savepoint = session.begin_nested()
    try:
        session.add(
            StripeWebhookEvent(
                stripe_event_id=evt_id, event_id=event.id, type=evt_type, received_at=now
            )
        )
        session.flush()
    except IntegrityError:
        savepoint.rollback()  # the same event delivered twice at once: the other one recorded it
    else:
        savepoint.commit()


# --- holds that expire ------------------------------------------------------------------------


def sweep_expired_holds(
    session: Session,
    *,
    now: datetime | None = None,
    limit: int = 500,
    actor: Actor = SYSTEM_ACTOR,
) -> list[int]:
    """Mark PENDING purchases whose hold has expired CANCELLED, for the record (they stopped
    counting at their expiry already). A payment that still arrives is handled as a late payment.
    Purchases locked by someone settling them right now are left for the next sweep."""
    now = now or utcnow()
    stmt = (
        select(Purchase)
        .where(Purchase.status == PurchaseStatus.PENDING, Purchase.hold_expires_at <= now)
        .order_by(Purchase.id)
        .limit(limit)
    )
    if locking.is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=Purchase)
    swept = []
    for purchase in session.scalars(stmt).all():
        _cancel(session, purchase, now, reason="hold expired", actor=actor)
        mail.hold_expired(session, purchase)
        swept.append(purchase.id)
    return swept


def purchases_to_reconcile(
    session: Session, *, now: datetime | None = None, window: timedelta = timedelta(days=1)
) -> Sequence[int]:
    """Purchases whose payment may still change: pending ones with a PaymentIntent, and ones
    cancelled within ``window`` (a late payment may arrive)."""
    now = now or utcnow()
    return session.scalars(
        select(Purchase.id)
        .where(
            Purchase.channel == Channel.ONLINE,
            Purchase.stripe_payment_intent_id.is_not(None),
            (Purchase.status == PurchaseStatus.PENDING)
            | (
                (Purchase.status == PurchaseStatus.CANCELLED)
                & (Purchase.hold_expires_at > now - window)
            ),
        )
        .order_by(Purchase.id)
    ).all()


def intents_to_cancel(
    session: Session, *, now: datetime | None = None, window: timedelta = timedelta(days=1)
) -> Sequence[int]:
    """Cancelled purchases (their hold expired) whose PaymentIntent is not known to be settled
    at the provider: no successful ``cancel_intent`` recorded and no refund of a late payment. Those
    whose hold expired more than ``window`` ago are left alone."""
    now = now or utcnow()
    cancelled = select(PaymentTransaction.id).where(
        PaymentTransaction.purchase_id == Purchase.id,
        PaymentTransaction.action == "cancel_intent",
        PaymentTransaction.ok.is_(True),
    )
    refunded = select(Refund.id).where(Refund.purchase_id == Purchase.id)
    return session.scalars(
        select(Purchase.id)
        .where(
            Purchase.channel == Channel.ONLINE,
            Purchase.status == PurchaseStatus.CANCELLED,
            Purchase.stripe_payment_intent_id.is_not(None),
            Purchase.hold_expires_at > now - window,
            ~cancelled.exists(),
            ~refunded.exists(),
        )
        .order_by(Purchase.id)
    ).all()


def cancel_abandoned_intent(
    session: Session,
    pss: Pss,
    payments: Payments,
    purchase_id: int,
    *,
    commit: Commit,
    now: datetime | None = None,
) -> str:
    """Cancel a cancelled purchase's payment at its provider, so it can no longer be paid.

    The cancel is sent with a key derived from the stored purchase, so a retry after a lost
    answer cancels once. A PaymentIntent that succeeded in the meantime is not cancelled: the
    payment is handled as a late payment (accepted if there is still room, else refunded). A
    provider error is kept on the purchase's transaction record and the worker tries again.
    Commits. Returns ``intent_cancelled``, ``cancel_retry`` or the late payment's outcome."""
    now = now or utcnow()
    purchase = get_purchase(session, purchase_id)
    event = session.get(Event, purchase.event_id)
    assert event is not None
    intent_id = purchase.stripe_payment_intent_id
    if purchase.status != PurchaseStatus.CANCELLED or intent_id is None:
        return "skipped"
    try:
        state = payments.for_event(event).cancel_payment(
            session,
            event,
            purchase,
            intent_id,
            idempotency_key=f"{purchase.idempotency_key}-cancel",
        )
    except PaymentError:
        commit()  # the error's record
        return "cancel_retry"
    if state.status == "cancelled":
        if not session.scalar(
            select(PaymentTransaction.id).where(
                PaymentTransaction.purchase_id == purchase.id,
                PaymentTransaction.action == "cancel_intent",
                PaymentTransaction.ok.is_(True),
            )
        ):
            # Cancelled already (by the provider, or by an earlier attempt whose answer was lost).
            record(
                session,
                purchase,
                "cancel_intent",
                ok=True,
                stripe_object_id=state.id,
                message="cancelled at the payment service already",
            )
        audit.record(
            session,
            SYSTEM_ACTOR,
            "purchase.cancel_intent",
            event_id=event.id,
            subject=purchase,
            player_id=purchase.player_id,
            payment_intent=state.id,
        )
        commit()
        return "intent_cancelled"
    commit()
    if state.status == "paid":
        settlement = confirm_from_payment_intent(
            session, pss, payments, purchase_id, commit=commit, now=now, source="worker"
        )
        return settlement.outcome
    return "cancel_retry"  # processing, say: asked again on the next pass


def cancel_abandoned_intents(
    session: Session,
    pss: Pss,
    payments: Payments,
    *,
    commit: Commit,
    now: datetime | None = None,
) -> dict[str, int]:
    """:func:`cancel_abandoned_intent` for every purchase :func:`intents_to_cancel` names."""
    outcomes: dict[str, int] = {}
    for purchase_id in intents_to_cancel(session, now=now):
        outcome = cancel_abandoned_intent(
            session, pss, payments, purchase_id, commit=commit, now=now
        )
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def reconcile_pass(
    session: Session,
    pss: Pss,
    payments: Payments,
    *,
    commit: Commit,
    now: datetime | None = None,
) -> dict[str, int]:
    """Ask the providers about every payment that may still change (:func:`purchases_to_reconcile`)
    and apply what it says: what a lost connection or webhook left unsettled is settled here."""
    outcomes: dict[str, int] = {}
    for purchase_id in purchases_to_reconcile(session, now=now):
        settlement = confirm_from_payment_intent(
            session, pss, payments, purchase_id, commit=commit, now=now, source="worker"
        )
        outcomes[settlement.outcome] = outcomes.get(settlement.outcome, 0) + 1
    return outcomes


def refund_pass(
    session: Session,
    payments: Payments,
    *,
    commit: Commit,
    now: datetime | None = None,
) -> dict[str, int]:
    """Send again every card refund that could not reach its provider."""
    outcomes: dict[str, int] = {}
    for refund_id in refunds.pending_refund_ids(session):
        outcome = refunds.execute_refund(session, payments, refund_id, now=now)
        commit()
        key = "refund_done" if outcome.ok else "refund_pending"
        outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


def hold_pass(
    session: Session,
    pss: Pss,
    payments: Payments,
    *,
    commit: Commit,
    now: datetime | None = None,
) -> dict[str, int]:
    """Mark expired holds CANCELLED, then cancel their payments at the provider (and retry
    cancels that failed before)."""
    outcomes = {"expired": len(sweep_expired_holds(session, now=now))}
    commit()
    for key, count in cancel_abandoned_intents(
        session, pss, payments, commit=commit, now=now
    ).items():
        outcomes[key] = outcomes.get(key, 0) + count
    return outcomes


def run_worker_pass(
    session: Session,
    pss: Pss,
    payments: Payments,
    *,
    commit: Commit,
    now: datetime | None = None,
) -> dict[str, int]:
    """The three payment passes in order, as one periodic run of ``pss worker`` does them:
    reconcile open payments with their providers, retry refunds that could not reach them, mark
    expired holds CANCELLED and cancel their PaymentIntents. Commits as it goes."""
    now = now or utcnow()
    outcomes: dict[str, int] = {}
    for part in (
        reconcile_pass(session, pss, payments, commit=commit, now=now),
        refund_pass(session, payments, commit=commit, now=now),
        hold_pass(session, pss, payments, commit=commit, now=now),
    ):
        for key, count in part.items():
            outcomes[key] = outcomes.get(key, 0) + count
    return outcomes
