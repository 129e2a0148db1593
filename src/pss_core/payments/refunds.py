"""Refunds of unused paid tokens: in cash at the desk, or to the card through the payment's
provider.

A refund is worked out and written first — the tokens are marked refunded at once, so they can no
longer be used — and committed; a card refund is then sent to the payment's provider with an
idempotency key derived from the stored refund, so retrying it (after a lost connection, by the
worker) refunds exactly once. The provider's answer is applied afterwards: on success the
purchase's ``refunded_cents`` and the refund's provider id are set; if the provider refused it for
good, the tokens become usable again and the refund is withdrawn; if the provider could not be
reached, it stays pending and the worker retries it.

Partial refunds are priced pro rata by tokens, so refunding every token of a purchase, in any steps,
gives back exactly what was paid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import attrs
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import audit, mail
from pss_core.audit import Actor
from pss_core.contract import PaymentError, ProviderRefund
from pss_core.errors import Busy, DomainError, InvalidInput, NotFound, Refused
from pss_core.models import (
    Channel,
    Event,
    Purchase,
    PurchaseStatus,
    Refund,
    Token,
    TournamentMachine,
    utcnow,
)
from pss_core.payments.providers import Payments
from pss_core.services import locking
from pss_core.services import tickets as tickets_svc

Commit = Callable[[], None]


@attrs.frozen
class RefundOutcome:
    """``ok``: the money is back (or was handed over at the desk); ``pending``: waiting for the
    provider (retried by the worker); neither: the provider refused it and the tokens are usable
    again."""

    refund_id: int | None
    ok: bool
    pending: bool
    amount_cents: int
    tokens: int
    message: str
    error: DomainError | None = None


def unused_tokens(session: Session, purchase: Purchase) -> list[Token]:
    """Paid tokens of ``purchase`` that are not used, voided, refunded, in an entry or in play,
    newest first (refunds take the newest)."""
    in_play = select(TournamentMachine.token_id).where(TournamentMachine.token_id.is_not(None))
    return list(
        session.scalars(
            select(Token)
            .where(
                Token.purchase_id == purchase.id,
                Token.paid_at.is_not(None),
                Token.used_at.is_(None),
                Token.voided_at.is_(None),
                Token.refunded_at.is_(None),
                Token.entry_id.is_(None),
                Token.id.not_in(in_play),
            )
            .order_by(Token.id.desc())
        ).all()
    )


def _token_counts(session: Session, purchase: Purchase) -> tuple[int, int]:
    total, refunded = session.execute(
        select(func.count(Token.id), func.count(Token.refunded_at)).where(
            Token.purchase_id == purchase.id
        )
    ).one()
    return int(total), int(refunded)


def prorated_cents(amount_cents: int, total_tokens: int, refunded_before: int, tokens: int) -> int:
    """The share of ``amount_cents`` for ``tokens`` more tokens when ``refunded_before`` of
    ``total_tokens`` were refunded already; the shares of any sequence of refunds add up to the
    whole amount."""
    if total_tokens <= 0:
        return 0
    after = refunded_before + tokens
    return amount_cents * after // total_tokens - amount_cents * refunded_before // total_tokens


def _lock(session: Session, purchase: Purchase) -> Purchase:
    # The token owner first (a game start holds it while choosing a token), then the purchase.
    locking.lock_in_order(session, teams=[purchase.team_id], players=[purchase.player_id])
    locking.lock_rows(session, Purchase, [purchase.id])
    session.refresh(purchase)
    return purchase


def request_refund(
    session: Session,
    purchase_id: int,
    *,
    tokens: int,
    actor: Actor,
    reason: str = "",
    event_id: int | None = None,
    refunded_by_id: int | None = None,
    now: datetime | None = None,
) -> Refund:
    """Refund ``tokens`` unused games of a purchase. Desk and comp purchases (and free online ones)
    are refunded at once — the desk hands the cash back; an online purchase's refund is pending
    until :func:`execute_refund` has sent it to the provider. The tokens are unusable from now
    on."""
    now = now or utcnow()
    purchase = session.get(Purchase, purchase_id)
    if purchase is None or (event_id is not None and purchase.event_id != event_id):
        raise NotFound("There is no such purchase.", code="unknown_purchase")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise InvalidInput("Refund at least one game.", code="invalid_count")
    purchase = _lock(session, purchase)
    if purchase.status == PurchaseStatus.REFUNDED:
        raise Refused("This purchase has been refunded in full already.", code="already_refunded")
    if purchase.status != PurchaseStatus.COMPLETED:
        raise Refused(
            f"Only paid purchases can be refunded; this one is {purchase.status.value}.",
            code="not_paid",
        )
    unused = unused_tokens(session, purchase)
    if tokens > len(unused):
        raise Refused(
            f"Only {len(unused)} game{'s' if len(unused) != 1 else ''} of this purchase "
            f"{'are' if len(unused) != 1 else 'is'} unused and can be refunded.",
            code="not_enough_unused",
            unused=len(unused),
        )
    total, refunded_before = _token_counts(session, purchase)
    amount = prorated_cents(purchase.amount_cents, total, refunded_before, tokens)
    # Never more than is left of the payment: a refund made at the provider's dashboard may have
    # given back more than the games it covered (see :func:`sync_refunds`).
    waiting = (
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
                Refund.id.in_(pending_refund_ids(session, purchase.id))
            )
        )
        or 0
    )
    amount = max(0, min(amount, purchase.amount_cents - purchase.refunded_cents - int(waiting)))
    chosen = unused[:tokens]
    for token in chosen:
        token.refunded_at = now
    channel = purchase.channel
    refund = Refund(
        purchase_id=purchase.id,
        amount_cents=amount,
        tokens=tokens,
        channel=channel,
        reason=(reason or "").strip()[:200],
        refunded_by_id=refunded_by_id,
        created_at=now,
    )
    session.add(refund)
    session.flush()
    at_once = channel != Channel.ONLINE or amount == 0
    if at_once:
        _settle(session, purchase, refund)
    tickets_svc.audit_for_player(
        session,
        actor,
        "refund.done" if at_once else "refund.request",
        event_id=purchase.event_id,
        player_id=purchase.player_id,
        subject=refund,
        now=now,
        purchase_id=purchase.id,
        channel=channel.value,
        amount_cents=amount,
        tokens=tokens,
        token_ids=[t.id for t in chosen],
        reason=refund.reason,
    )
    return refund


def _settle(session: Session, purchase: Purchase, refund: Refund) -> None:
    """The refund's money is back: count it, and call the purchase refunded once every token (or,
    for a late payment, the whole amount) is back with no card refund still on its way."""
    purchase.refunded_cents += refund.amount_cents
    session.flush()
    unrefunded = session.scalar(
        select(func.count(Token.id)).where(
            Token.purchase_id == purchase.id, Token.refunded_at.is_(None)
        )
    )
    waiting = [rid for rid in pending_refund_ids(session, purchase.id) if rid != refund.id]
    if (refund.tokens == 0 or not unrefunded) and not waiting:
        purchase.status = PurchaseStatus.REFUNDED
    mail.refund_done(session, purchase, refund)


def begin_late_refund(
    session: Session, purchase: Purchase, *, reason: str, now: datetime | None = None
) -> Refund:
    """Queue a refund of everything paid for a purchase whose payment came after its hold
    expired with no room left. Its tokens were never paid and stay so. Call under the purchase
    lock; the caller commits and then runs :func:`execute_refund`."""
    now = now or utcnow()
    if purchase.status == PurchaseStatus.PENDING:
        purchase.status = PurchaseStatus.CANCELLED
    refund = Refund(
        purchase_id=purchase.id,
        amount_cents=purchase.amount_cents,
        tokens=0,
        channel=Channel.ONLINE,
        reason=f"late payment: {reason}"[:200],
        created_at=now,
    )
    session.add(refund)
    session.flush()
    tickets_svc.audit_for_player(
        session,
        Actor.system("payments"),
        "refund.late_payment",
        event_id=purchase.event_id,
        player_id=purchase.player_id,
        subject=refund,
        now=now,
        purchase_id=purchase.id,
        amount_cents=refund.amount_cents,
        reason=reason,
        payment_intent=purchase.stripe_payment_intent_id,
    )
    return refund


def pending_refund_ids(session: Session, purchase_id: int | None = None) -> Sequence[int]:
    """Card refunds written but not yet confirmed by their provider."""
    stmt = select(Refund.id).where(
        Refund.channel == Channel.ONLINE, Refund.stripe_refund_id.is_(None), Refund.amount_cents > 0
    )
    if purchase_id is not None:
        stmt = stmt.where(Refund.purchase_id == purchase_id)
    return session.scalars(stmt.order_by(Refund.id)).all()


def idempotency_key(refund: Refund) -> str:
    """Derived from the stored refund alone, so every retry of it sends the same key."""
    return f"pss-refund-{refund.purchase_id}-{refund.id}-{refund.created_at:%Y%m%d%H%M%S%f}"


def execute_refund(
    session: Session,
    payments: Payments,
    refund_id: int,
    *,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> RefundOutcome:
    """Send a pending card refund to the payment's provider (idempotently) and apply the answer.
    Commit after."""
    now = now or utcnow()
    actor = actor or Actor.system("payments")
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFound("There is no such refund.", code="unknown_refund")
    purchase = session.get(Purchase, refund.purchase_id)
    assert purchase is not None
    event = session.get(Event, purchase.event_id)
    assert event is not None

    def outcome(
        ok: bool,
        pending: bool,
        message: str,
        error: DomainError | None = None,
        rid: int | None = refund_id,
    ) -> RefundOutcome:
        return RefundOutcome(rid, ok, pending, refund.amount_cents, refund.tokens, message, error)

    if refund.stripe_refund_id is not None or refund.channel != Channel.ONLINE:
        return outcome(True, False, "This refund is done.")
    if purchase.stripe_payment_intent_id is None:
        raise Refused("This purchase was not paid online.", code="not_a_card_payment")
    try:
        state = payments.for_event(event).refund(
            session,
            event,
            purchase,
            purchase.stripe_payment_intent_id,
            amount_cents=refund.amount_cents,
            idempotency_key=idempotency_key(refund),
            metadata={
                "pss_purchase_id": str(purchase.id),
                "pss_refund_id": str(refund.id),
                "pss_tokens": str(refund.tokens),
            },
        )
    except PaymentError as err:
        if isinstance(err, Busy):
            audit.record(
                session,
                actor,
                "refund.retry_later",
                event_id=event.id,
                subject=refund,
                player_id=purchase.player_id,
                error=err.code,
            )
            return outcome(
                False,
                True,
                "The refund is recorded but the payment service could "
                "not be reached; it will be sent again automatically.",
                err,
            )
        _withdraw(session, purchase, refund, err, actor, now)
        return outcome(
            False,
            False,
            f"The card refund failed: {err.message} The games are usable again.",
            err,
            rid=None,
        )
    purchase = _lock(session, purchase)
    session.refresh(refund)
    if refund.stripe_refund_id is not None:
        # The provider's webhook told of this refund while we were waiting for the answer, and
        # :func:`sync_refunds` settled it already.
        return outcome(
            True, False, f"{_money(refund.amount_cents, event.currency)} was refunded to the card."
        )
    refund.stripe_refund_id = state.id
    _settle(session, purchase, refund)
    tickets_svc.audit_for_player(
        session,
        actor,
        "refund.done",
        event_id=event.id,
        player_id=purchase.player_id,
        subject=refund,
        now=now,
        purchase_id=purchase.id,
        channel="online",
        amount_cents=refund.amount_cents,
        tokens=refund.tokens,
        stripe_refund=state.id,
        refunded_cents=purchase.refunded_cents,
    )
    return outcome(
        True, False, f"{_money(refund.amount_cents, event.currency)} was refunded to the card."
    )


# --- refunds made outside pss ---------------------------------------------------------------


@attrs.frozen
class RefundSync:
    """What :func:`sync_refunds` found at the provider and did about it.

    ``external``: refunds made outside pss (the provider's dashboard) now recorded; ``settled``:
    pss's own refunds whose answer had been lost, now confirmed by the provider; ``tokens``: unused
    paid games marked refunded for the external ones; ``excess_cents``: money the provider gave back
    beyond what the unused games were worth (flagged for the desk in the audit log)."""

    purchase_id: int
    external: int = 0
    settled: int = 0
    tokens: int = 0
    amount_cents: int = 0
    excess_cents: int = 0
    error: DomainError | None = None


def games_covered(
    purchase: Purchase, total: int, refunded_before: int, unused: int, credit_cents: int
) -> int:
    """How many of ``unused`` games ``credit_cents`` pays back, each priced pro rata by games
    exactly as :func:`request_refund` prices them (:func:`prorated_cents`)."""
    games = 0
    while (
        games < unused
        and prorated_cents(purchase.amount_cents, total, refunded_before, games + 1) <= credit_cents
    ):
        games += 1
    return games


def sync_refunds(
    session: Session,
    payments: Payments,
    purchase_id: int,
    *,
    commit: Commit,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> RefundSync:
    """Make the purchase agree with the refunds its provider has for its payment, read from the
    API (a webhook's word is not taken). Commits.

    * A refund pss asked for whose answer was lost (its ``pss_refund_id`` metadata names a
      pending refund of this purchase) is settled as if the answer had come.
    * A refund made outside pss (at the provider's dashboard), once the provider calls it done, is
      recorded as a ``refunds`` row with its provider id, added to ``refunded_cents``, and as many
      unused paid games as it pays back, priced pro rata as pss prices its own refunds, are
      marked refunded (the newest first). Money beyond what the unused games are worth is
      recorded too, and flagged for the desk (``refund.external_excess``); no game is invented.

    Refunds already recorded (by their provider id) are skipped, so hearing of one again changes
    nothing. A provider error comes back in ``error`` (recorded on the purchase)."""
    now = now or utcnow()
    actor = actor or Actor.system("payments")
    purchase = session.get(Purchase, purchase_id)
    if purchase is None:
        raise NotFound("There is no such purchase.", code="unknown_purchase")
    event = session.get(Event, purchase.event_id)
    assert event is not None
    intent_id = purchase.stripe_payment_intent_id
    if intent_id is None:
        return RefundSync(purchase_id)
    try:
        at_provider = payments.for_event(event).refunds_of(session, event, purchase, intent_id)
    except PaymentError as err:
        commit()
        return RefundSync(purchase_id, error=err)

    purchase = _lock(session, purchase)
    rows = session.scalars(
        select(Refund)
        .where(Refund.purchase_id == purchase.id)
        .execution_options(populate_existing=True)
    ).all()
    known = {r.stripe_refund_id for r in rows if r.stripe_refund_id is not None}
    pending = {
        str(r.id): r for r in rows if r.stripe_refund_id is None and r.channel == Channel.ONLINE
    }
    result = RefundSync(purchase_id)
    for found in at_provider:
        if found.id in known:
            continue
        ours = pending.get(found.metadata.get("pss_refund_id", ""))
        if ours is not None and found.metadata.get("pss_purchase_id") == str(purchase.id):
            if found.status in ("done", "pending"):
                _settle_found(session, purchase, ours, found, actor, now)
                del pending[str(ours.id)]
                result = attrs.evolve(result, settled=result.settled + 1)
            continue
        if found.status != "done":
            continue  # a pending refund is recorded once the provider says it went through
        tokens, amount, excess = _record_external(session, purchase, event, found, actor, now)
        result = attrs.evolve(
            result,
            external=result.external + 1,
            tokens=result.tokens + tokens,
            amount_cents=result.amount_cents + amount,
            excess_cents=result.excess_cents + excess,
        )
    commit()
    return result


def _settle_found(
    session: Session,
    purchase: Purchase,
    refund: Refund,
    found: ProviderRefund,
    actor: Actor,
    now: datetime,
) -> None:
    refund.stripe_refund_id = found.id
    _settle(session, purchase, refund)
    tickets_svc.audit_for_player(
        session,
        actor,
        "refund.done",
        event_id=purchase.event_id,
        player_id=purchase.player_id,
        subject=refund,
        now=now,
        purchase_id=purchase.id,
        channel="online",
        amount_cents=refund.amount_cents,
        tokens=refund.tokens,
        stripe_refund=found.id,
        refunded_cents=purchase.refunded_cents,
        source="webhook",
    )


def _record_external(
    session: Session,
    purchase: Purchase,
    event: Event,
    found: ProviderRefund,
    actor: Actor,
    now: datetime,
) -> tuple[int, int, int]:
    """Record one refund made outside pss; returns (games marked refunded, cents recorded,
    cents beyond what the unused games were worth). Call under the purchase's lock."""
    room = purchase.amount_cents - purchase.refunded_cents
    amount = min(found.amount, room)
    total, refunded_before = _token_counts(session, purchase)
    completed = purchase.status == PurchaseStatus.COMPLETED
    unused = unused_tokens(session, purchase) if completed else []
    # Money refunded beyond the games refunded so far (an earlier partial refund included).
    worth_before = purchase.amount_cents * refunded_before // total if total else 0
    credit = purchase.refunded_cents + amount - worth_before
    games = games_covered(purchase, total, refunded_before, len(unused), credit)
    chosen = unused[:games]
    for token in chosen:
        token.refunded_at = now
    leftover = credit - prorated_cents(purchase.amount_cents, total, refunded_before, games)
    # Beyond the unused games' worth: every unused game is refunded and money is left over (or
    # the purchase's tokens were never paid, or the provider gave back more than pss has room for).
    excess = (leftover if games == len(unused) and leftover > 0 else 0) + (found.amount - amount)
    reason = "refunded at the payment service"
    if excess:
        reason += f"; {_money(excess, event.currency)} more than the unused games were worth"
    refund = Refund(
        purchase_id=purchase.id,
        amount_cents=amount,
        tokens=games,
        channel=Channel.ONLINE,
        stripe_refund_id=found.id,
        reason=reason[:200],
        created_at=now,
    )
    session.add(refund)
    purchase.refunded_cents += amount
    session.flush()
    unrefunded = session.scalar(
        select(func.count(Token.id)).where(
            Token.purchase_id == purchase.id, Token.refunded_at.is_(None)
        )
    )
    if purchase.status == PurchaseStatus.COMPLETED and not unrefunded:
        purchase.status = PurchaseStatus.REFUNDED
    tickets_svc.audit_for_player(
        session,
        actor,
        "refund.external",
        event_id=purchase.event_id,
        player_id=purchase.player_id,
        subject=refund,
        now=now,
        purchase_id=purchase.id,
        channel="online",
        amount_cents=amount,
        tokens=games,
        token_ids=[t.id for t in chosen],
        stripe_refund=found.id,
        refunded_cents=purchase.refunded_cents,
        unmatched_cents=max(leftover, 0),
        reason="refunded at the payment service",
    )
    if excess:
        audit.record(
            session,
            actor,
            "refund.external_excess",
            event_id=purchase.event_id,
            subject=purchase,
            player_id=purchase.player_id,
            needs_attention=True,
            stripe_refund=found.id,
            stripe_amount_cents=found.amount,
            excess_cents=excess,
            unused_games_left=len(unused) - games,
            reason=f"{_money(excess, event.currency)} more than the unused games were worth",
            message=(
                f"The payment service refunded {_money(found.amount, event.currency)} of "
                f"purchase {purchase.id} outside pss, {_money(excess, event.currency)} more "
                "than its unused games were worth. Check with the player: games may have been "
                "played that are now paid back."
            ),
        )
    return games, amount, excess


def _withdraw(
    session: Session,
    purchase: Purchase,
    refund: Refund,
    err: PaymentError,
    actor: Actor,
    now: datetime,
) -> None:
    purchase = _lock(session, purchase)
    restored = 0
    for token in session.scalars(
        select(Token).where(
            Token.purchase_id == purchase.id, Token.refunded_at == refund.created_at
        )
    ):
        token.refunded_at = None
        restored += 1
    tickets_svc.audit_for_player(
        session,
        actor,
        "refund.failed",
        event_id=purchase.event_id,
        player_id=purchase.player_id,
        subject=purchase,
        now=now,
        refund_id=refund.id,
        amount_cents=refund.amount_cents,
        tokens_restored=restored,
        error=err.code,
    )
    session.delete(refund)
    session.flush()


def refund_purchase(
    session: Session,
    payments: Payments | None,
    purchase_id: int,
    *,
    tokens: int,
    commit: Commit,
    actor: Actor,
    reason: str = "",
    event_id: int | None = None,
    refunded_by_id: int | None = None,
    now: datetime | None = None,
) -> RefundOutcome:
    """Refund ``tokens`` unused games: write the refund (committed), then for a card payment send
    it to the payment's provider and apply the answer (committed)."""
    refund = request_refund(
        session,
        purchase_id,
        tokens=tokens,
        actor=actor,
        reason=reason,
        event_id=event_id,
        refunded_by_id=refunded_by_id,
        now=now,
    )
    refund_id, amount, count = refund.id, refund.amount_cents, refund.tokens
    done = refund.channel != Channel.ONLINE or amount == 0
    event = session.get(Event, session.get(Purchase, purchase_id).event_id)  # type: ignore[union-attr]
    assert event is not None
    currency = event.currency
    commit()
    if done:
        message = (
            f"Hand back {_money(amount, currency)} in cash."
            if refund.channel == Channel.DESK
            else "Refunded; nothing was paid."
        )
        return RefundOutcome(refund_id, True, False, amount, count, message)
    if payments is None:
        raise Refused("Card refunds need the payment service.", code="payment_not_configured")
    result = execute_refund(session, payments, refund_id, now=now, actor=actor)
    commit()
    return result


def _money(cents: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "cad": "$", "aud": "$"}.get(currency.lower(), "")
    text = f"{cents // 100}.{cents % 100:02d}"
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}".strip()
