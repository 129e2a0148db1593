"""Online purchases: the player's purchase page (count → live price → hold → the payment
provider's payment step → the return page asking pss, which asks the provider), the providers'
webhooks, desk and TD refunds.

    /events/<slug>/purchases/               buy (players): the form, and POST to hold tickets
    /events/<slug>/purchases/quote          the live price (JSON)
    /events/<slug>/purchases/<id>/          a purchase: pay, its status, refunds (staff)
    /events/<slug>/purchases/<id>/intent    POST: start the payment; what the browser needs to pay
    /events/<slug>/purchases/<id>/status    POST: ask the provider whether it is paid, and apply it
    /events/<slug>/purchases/<id>/refund    POST (desk, TD): refund unused games
    /events/<slug>/players/<n>/purchases    a player's purchases (the player, staff)
    /events/<slug>/<provider>/webhook       POST from the provider (signature-checked, no CSRF)

Views that talk to a provider commit what they learned before answering, also when the answer is
a payment error, so every error is kept on the purchase's transaction record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.authorization import Allow
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from pss_core.errors import DomainError, InvalidInput, PermissionDenied
from pss_core.models import (
    Event,
    EventPlayer,
    EventUser,
    Metatournament,
    PaymentTransaction,
    PriceRestriction,
    Purchase,
    PurchaseStatus,
    Refund,
    Token,
    Tournament,
    TournamentStatus,
    utcnow,
)
from pss_core.payments import online, refunds
from pss_core.payments.providers import (
    provider_name,
    sells_online,
    takes_online_payments,
)
from pss_core.services import quotas
from pss_web import security as sec
from pss_web.forms import Field, parse
from pss_web.layout import add_event_nav
from pss_web.present import event_json, event_url, money
from pss_web.resources import (
    EventChild,
    PlayerResource,
    add_event_child,
    add_event_child_lookup,
)
from pss_web.runtime import payments_of
from pss_web.sanity import plain_number
from pss_web.security import Permission
from pss_web.viewkit import action, done, json_response, page
from pss_web.views.errors import STATUS_BY_KIND

P = Permission


# --- the tree -----------------------------------------------------------------------------------


class PurchasesContainer(EventChild):
    api_paths = ("/events/{event}/purchases",)
    title = "Buy tickets"

    def __getitem__(self, name: str) -> PurchaseResource:
        return PurchaseResource(self.request, name, self, self.event_row(Purchase, name))


class PurchaseResource(EventChild):
    """One purchase: its buyer and the event's staff may see it (``SEE_PLAYER``)."""

    api_paths = ("/events/{event}/purchases/{purchase}",)

    def __init__(self, request: Any, name: str, parent: Any, purchase: Purchase) -> None:
        super().__init__(request, name, parent)
        self.purchase = purchase
        self.title = f"Purchase {purchase.id}"
        self.__acl__ = [
            (Allow, sec.event_player(purchase.event_id, purchase.player_id), P.SEE_PLAYER)
        ]


class ProviderContainer(EventChild):
    """Where a payment provider sends the event's webhooks: ``/events/<slug>/<provider name>``."""

    api_paths = ("/events/{event}/{provider}",)

    def __init__(self, request: Any, name: str, parent: Any) -> None:
        super().__init__(request, name, parent)
        self.title = f"Payments ({name})"


def _provider_child(request: Any, name: str, parent: Any) -> ProviderContainer | None:
    return ProviderContainer(request, name, parent) if name in payments_of(request) else None


add_event_child("purchases", PurchasesContainer)
add_event_child_lookup(_provider_child)
add_event_nav(
    "Buy tickets",
    "purchases",
    "",
    permission=P.PLAY,
    order=30,
    when=lambda request, event: sells_online(request.dbsession, request.pss, event),
)


# --- helpers ----------------------------------------------------------------------------------


def committer(request: Any) -> Callable[[], None]:
    """Commit what is done so far and carry on in a new transaction (the services reload their
    rows by id afterwards)."""
    if request.environ.get("app.dbsession") is not None:
        # A test's own session (pss_testing.web): its commits are savepoints inside the test.
        return request.dbsession.commit

    def commit() -> None:
        request.tm.commit()
        request.tm.begin()

    return commit


def _player(request: Any) -> EventPlayer:
    identity = request.identity
    player = (
        request.dbsession.get(EventPlayer, identity.player_id)
        if identity is not None and identity.player_id is not None
        else None
    )
    if player is None:
        raise PermissionDenied("Log in as a player to buy tickets.", code="player_login_required")
    return player


def _scopes(request: Any, event: Event) -> list[Tournament | Metatournament]:
    session = request.dbsession
    tournaments = session.scalars(
        select(Tournament)
        .where(
            Tournament.event_id == event.id,
            Tournament.status.not_in((TournamentStatus.FINALIZED, TournamentStatus.CANCELLED)),
            Tournament.status != TournamentStatus.DRAFT,
        )
        .order_by(Tournament.name)
    ).all()
    metas = session.scalars(
        select(Metatournament)
        .where(Metatournament.event_id == event.id)
        .order_by(Metatournament.name)
    ).all()
    return [*tournaments, *metas]


def scope_key(scope: Tournament | Metatournament) -> str:
    kind = "tournament" if isinstance(scope, Tournament) else "metatournament"
    return f"{kind}:{scope.slug}"


def _find_scope(request: Any, event: Event, key: str | None) -> dict[str, Any]:
    kind, _, slug = (key or "").partition(":")
    scope: Tournament | Metatournament | None = None
    if kind == "tournament":
        scope = request.dbsession.scalars(
            select(Tournament).where(Tournament.event_id == event.id, Tournament.slug == slug)
        ).first()
    elif kind == "metatournament":
        scope = request.dbsession.scalars(
            select(Metatournament).where(
                Metatournament.event_id == event.id, Metatournament.slug == slug
            )
        ).first()
    if scope is None:
        raise InvalidInput("Choose what to buy tickets for.", code="invalid_field", field="scope")
    if isinstance(scope, Tournament):
        return {"tournament": scope}
    return {"metatournament": scope}


def _scope_json(request: Any, event: Event, scope: Tournament | Metatournament) -> dict[str, Any]:
    now = utcnow()
    bundles = [
        f"{b['count']} for {money(b['price_cents'], event.currency)}" for b in scope.bundles or ()
    ]
    return {
        "key": scope_key(scope),
        "name": scope.name,
        "kind": "tournament" if isinstance(scope, Tournament) else "metatournament",
        "price_cents": scope.price_cents,
        "price": money(scope.price_cents, event.currency),
        "bundles": bundles,
        "min_purchase": scope.min_purchase or 1,
        "increment": scope.purchase_increment or 1,
        "on_sale": bool(scope.allow_ticket_purchases),
        "left": quotas.available(request.dbsession, scope, now),
    }


def _takes_code(request: Any, event: Event) -> bool:
    kinds = {k.name for k in request.pss.restrictions if k.takes_code}
    if not kinds:
        return False
    return (
        request.dbsession.scalar(
            select(PriceRestriction.id)
            .where(
                PriceRestriction.event_id == event.id,
                PriceRestriction.active.is_(True),
                PriceRestriction.kind.in_(kinds),
            )
            .limit(1)
        )
        is not None
    )


def purchase_json(request: Any, purchase: Purchase, event: Event) -> dict[str, Any]:
    session = request.dbsession
    scope: Tournament | Metatournament | None = (
        session.get(Tournament, purchase.tournament_id)
        if purchase.tournament_id is not None
        else session.get(Metatournament, purchase.metatournament_id)
    )
    assert scope is not None
    tokens = session.scalars(select(Token).where(Token.purchase_id == purchase.id)).all()
    pricing = (purchase.breakdown or {}).get("pricing") or {}
    rule = pricing.get("price_rule")
    now = utcnow()
    live = (
        purchase.status == PurchaseStatus.PENDING
        and purchase.hold_expires_at is not None
        and purchase.hold_expires_at > now
    )
    base = event_url(request, event, "purchases", purchase.id, "")
    return {
        "id": purchase.id,
        "url": base,
        "status": purchase.status,
        "channel": purchase.channel,
        "scope": scope.name,
        "tickets": purchase.tickets,
        "games": len(tokens),
        "paid_games": sum(t.paid_at is not None for t in tokens),
        "unused_games": len(refunds.unused_tokens(session, purchase)),
        "refunded_games": sum(t.refunded_at is not None for t in tokens),
        "amount_cents": purchase.amount_cents,
        "amount": money(purchase.amount_cents, event.currency),
        "refunded_cents": purchase.refunded_cents,
        "refunded": money(purchase.refunded_cents, event.currency),
        "lines": (purchase.breakdown or {}).get("lines", []),
        "price_rule": rule.get("label") if rule else None,
        "base": money(pricing["base_cents"], event.currency) if "base_cents" in pricing else None,
        "hold_expires_at": purchase.hold_expires_at,
        "hold_live": live,
        "created_at": purchase.created_at,
        "completed_at": purchase.completed_at,
        "player_id": purchase.player_id,
        "intent_url": base + "intent",
        "status_url": base + "status",
        "refund_url": base + "refund",
    }


def _error_json(err: DomainError) -> Response:
    return json_response({"ok": False, **err.as_dict()}, status=STATUS_BY_KIND.get(err.kind, 400))


# --- buying -----------------------------------------------------------------------------------

BUY_FIELDS = (
    Field(
        "scope",
        required=True,
        label="Tickets for",
        help="tournament:<slug> or metatournament:<slug>",
    ),
    Field("tickets", "int", required=True, label="Number of tickets", minimum=1, maximum=1000),
    Field("code", label="Coupon code", max_length=40),
)


@page(context=PurchasesContainer, permission=P.PLAY, template="purchases/buy.html")
def buy_page(context: PurchasesContainer, request: Any) -> dict[str, Any]:
    """Buy tickets: what is on sale, at what price, and the player's own purchases."""
    event = context.event
    player = _player(request)
    mine = request.dbsession.scalars(
        select(Purchase)
        .where(
            Purchase.event_id == event.id,
            Purchase.player_id == player.id,
        )
        .order_by(Purchase.id.desc())
        .limit(20)
    ).all()
    base = event_url(request, event, "purchases", "")
    return {
        "event": event_json(request, event),
        "online": takes_online_payments(request.pss, event),
        "scopes": [_scope_json(request, event, s) for s in _scopes(request, event)],
        "takes_code": _takes_code(request, event),
        "purchases": [purchase_json(request, p, event) for p in mine],
        "quote_url": base + "quote",
        "action_url": base,
        "hold_minutes": event.hold_minutes,
    }


@view_config(
    context=PurchasesContainer, name="quote", permission=P.PLAY, request_method=("GET", "HEAD")
)
def price_quote(context: PurchasesContainer, request: Any) -> Response:
    """The live price for a number of tickets (bundles and offers applied), and whether they can
    be bought now. Query: scope, tickets, code."""
    event = context.event
    player = _player(request)
    scope = _find_scope(request, event, request.params.get("scope"))
    count = plain_number((request.params.get("tickets") or "").strip())
    if count is None:
        raise InvalidInput(
            "The number of tickets must be a whole number.", code="invalid_field", field="tickets"
        )
    quote = online.quote_online(
        request.dbsession,
        request.pss,
        event=event,
        player=player,
        tickets=count,
        code=request.params.get("code") or None,
        **scope,
    )
    return json_response(
        {
            **quote,
            "amount": money(quote["amount_cents"], event.currency),
            "base": money(quote["base_cents"], event.currency),
        }
    )


@action(context=PurchasesContainer, permission=P.PLAY, fields=BUY_FIELDS)
def start_purchase(context: PurchasesContainer, request: Any) -> Response:
    """Hold tickets for the logged-in player (unpaid until the payment provider confirms the
    payment) and go to the payment page."""
    event = context.event
    player = _player(request)
    values = parse(request, BUY_FIELDS)
    scope = _find_scope(request, event, values["scope"])
    purchase = online.reserve(
        request.dbsession,
        request.pss,
        event=event,
        player=player,
        tickets=values["tickets"],
        code=values["code"],
        actor=request.identity.actor,
        **scope,
    )
    data = purchase_json(request, purchase, event)
    return done(request, data["url"], {"purchase": data}, status=201)


# --- one purchase -------------------------------------------------------------------------------


def _is_buyer(request: Any, purchase: Purchase) -> bool:
    identity = request.identity
    return identity is not None and identity.player_id == purchase.player_id


@page(context=PurchaseResource, permission=P.SEE_PLAYER, template="purchases/purchase.html")
@page(
    context=PurchaseResource,
    name="return",
    permission=P.SEE_PLAYER,
    template="purchases/purchase.html",
)
def purchase_page(context: PurchaseResource, request: Any) -> dict[str, Any]:
    """A purchase: what it is for, its status, paying for it (its buyer, while the hold lasts),
    and refunding unused games (desk, TD). ``return`` is where the payment provider sends the
    player back."""
    event = context.event
    purchase = context.purchase
    staff = request.has_permission(P.REFUND, context)
    can_pay = _is_buyer(request, purchase) and purchase.status == PurchaseStatus.PENDING
    provider = payments_of(request).for_event(event) if can_pay else None
    data: dict[str, Any] = {
        "event": event_json(request, event),
        "purchase": purchase_json(request, purchase, event),
        "can_pay": can_pay,
        "checking": request.view_name == "return",
        "can_refund": bool(staff) and purchase.status == PurchaseStatus.COMPLETED,
        "buy_url": event_url(request, event, "purchases", ""),
        "checkout_template": provider.checkout_template if provider else None,
        "checkout": provider.checkout_page(event) if provider else {},
    }
    if staff:
        session = request.dbsession
        data["refunds"] = [
            {
                "amount": money(r.amount_cents, event.currency),
                "games": r.tokens,
                "channel": r.channel,
                "reason": r.reason,
                "created_at": r.created_at,
                "pending": r.channel == "online"
                and r.stripe_refund_id is None
                and r.amount_cents > 0,
            }
            for r in session.scalars(
                select(Refund).where(Refund.purchase_id == purchase.id).order_by(Refund.id)
            )
        ]
        data["transactions"] = [
            {
                "action": t.action,
                "ok": t.ok,
                "error_type": t.error_type,
                "error_code": t.error_code,
                "message": t.message,
                "created_at": t.created_at,
            }
            for t in session.scalars(
                select(PaymentTransaction)
                .where(PaymentTransaction.purchase_id == purchase.id)
                .order_by(PaymentTransaction.id)
            )
        ]
    return data


@view_config(
    context=PurchaseResource, name="intent", permission=P.SEE_PLAYER, request_method="POST"
)
def payment_intent(context: PurchaseResource, request: Any) -> Response:
    """Start paying: the payment at the event's provider for exactly the purchase's amount
    (started once) and what the browser needs to pay it. A payment error is kept on the
    purchase's record and answered in plain words."""
    if not _is_buyer(request, context.purchase):
        raise PermissionDenied("Only the buyer can pay for a purchase.", code="not_the_buyer")
    result = online.checkout(request.dbsession, payments_of(request), context.purchase.id)
    if result.error is not None:
        return _error_json(result.error)
    return json_response(
        {
            "ok": True,
            "purchase_id": result.purchase_id,
            "status": result.status,
            "amount_cents": result.amount_cents,
            "currency": result.currency,
            "hold_expires_at": result.hold_expires_at,
            "provider": result.provider,
            **result.client,
        },
        headers={"Cache-Control": "no-store"},
    )


@view_config(
    context=PurchaseResource, name="status", permission=P.SEE_PLAYER, request_method="POST"
)
def payment_status(context: PurchaseResource, request: Any) -> Response:
    """Ask the provider about the purchase's payment and apply what it says (paid, declined, a
    late payment accepted or refunded). The browser's word is never taken."""
    purchase_id = context.purchase.id
    event_id = context.event.id
    settlement = online.confirm_from_payment_intent(
        request.dbsession,
        request.pss,
        payments_of(request),
        purchase_id,
        commit=committer(request),
        source="return page",
    )
    session = request.dbsession
    event = session.get(Event, event_id)
    purchase = session.get(Purchase, purchase_id)
    assert event is not None
    assert purchase is not None
    payload = {
        "ok": settlement.error is None,
        "outcome": settlement.outcome,
        "status": settlement.status,
        "paid": settlement.paid,
        "message": settlement.message or _status_words(purchase),
        "purchase": purchase_json(request, purchase, event),
    }
    if settlement.error is not None:
        payload["error"] = settlement.error.as_dict()
        payload["message"] = settlement.error.message
    return json_response(payload, headers={"Cache-Control": "no-store"})


@action(context=PurchaseResource, name="cancel", permission=P.SEE_PLAYER)
def cancel_purchase(context: PurchaseResource, request: Any) -> Response:
    """The buyer cancels their pending online purchase: the hold ends at once and nothing is
    charged."""
    identity = request.identity
    purchase = online.cancel_by_player(
        request.dbsession,
        context.purchase.id,
        actor=request.actor,
        player_id=identity.player_id if identity is not None and identity.player_id else -1,
    )
    return done(
        request,
        request.resource_url(context),
        {"purchase": purchase_json(request, purchase, context.event)},
        message="Purchase cancelled: the tickets are no longer held and nothing was charged.",
    )


def _status_words(purchase: Purchase) -> str:
    return {
        PurchaseStatus.COMPLETED: "Paid: your tickets are ready to play.",
        PurchaseStatus.PENDING: "Waiting for the payment.",
        PurchaseStatus.CANCELLED: "This purchase was cancelled; nothing was charged.",
        PurchaseStatus.REFUNDED: "This purchase was refunded.",
    }[purchase.status]


REFUND_FIELDS = (
    Field("games", "int", required=True, label="Games to refund", minimum=1),
    Field("reason", label="Reason", max_length=200),
)


@view_config(
    context=PurchaseResource,
    name="refund",
    permission=P.REFUND,
    request_method="POST",
    fields=REFUND_FIELDS,
)
def refund_purchase(context: PurchaseResource, request: Any) -> Response:
    """Refund unused games of a paid purchase: handed back in cash for a desk sale, to the card
    through the payment's provider for an online one (partial refunds allowed)."""
    values = parse(request, REFUND_FIELDS)
    purchase_id, event_id = context.purchase.id, context.event.id
    location = request.resource_url(context)
    outcome = refunds.refund_purchase(
        request.dbsession,
        payments_of(request),
        purchase_id,
        tokens=values["games"],
        commit=committer(request),
        actor=request.identity.actor,
        reason=values["reason"] or "",
        event_id=event_id,
        refunded_by_id=_event_user_id(request, event_id),
    )
    data: dict[str, Any] = {
        "ok": outcome.ok,
        "pending": outcome.pending,
        "refund_id": outcome.refund_id,
        "amount_cents": outcome.amount_cents,
        "games": outcome.tokens,
    }
    if outcome.error is not None:
        data["error"] = outcome.error.as_dict()
    return done(request, location, data, message=outcome.message)


def _event_user_id(request: Any, event_id: int) -> int | None:
    identity = request.identity
    if identity is None or identity.user_id is None:
        return None
    return request.dbsession.scalar(
        select(EventUser.id).where(
            EventUser.event_id == event_id, EventUser.user_id == identity.user_id
        )
    )


@page(
    context=PlayerResource,
    name="purchases",
    permission=P.SEE_PLAYER,
    template="purchases/list.html",
)
def player_purchases(context: PlayerResource, request: Any) -> dict[str, Any]:
    """A player's purchases (desk, comp and online), newest first, for the player and staff."""
    event = context.event
    rows = request.dbsession.scalars(
        select(Purchase)
        .where(
            Purchase.event_id == event.id,
            Purchase.player_id == context.player.id,
        )
        .order_by(Purchase.id.desc())
    ).all()
    return {
        "event": event_json(request, event),
        "player": {"name": context.player.name, "number": context.player.number},
        "purchases": [purchase_json(request, p, event) for p in rows],
    }


# --- the providers' webhooks -------------------------------------------------------------------


@view_config(
    context=ProviderContainer,
    name="webhook",
    permission=P.VIEW,
    request_method="POST",
    require_csrf=False,
)
def provider_webhook(context: ProviderContainer, request: Any) -> Response:
    """The provider's notices for this event's account, checked against its signing secret;
    duplicates and notices out of order are harmless. Answers 503 when the provider itself could
    not be asked, so it sends the notice again. A notice for another provider than the event's
    is refused (400)."""
    event_id = context.event.id
    session = request.dbsession
    event = session.get(Event, event_id)
    assert event is not None
    if provider_name(event) != context.__name__:
        return json_response(
            PermissionDenied(
                "This event does not take payments through that service.",
                code="wrong_payment_provider",
            ).as_dict(),
            status=400,
        )
    try:
        result = online.handle_webhook(
            session,
            request.pss,
            payments_of(request),
            event,
            request.body,
            dict(request.headers),
            commit=committer(request),
        )
    except (PermissionDenied, InvalidInput) as err:
        return json_response(err.as_dict(), status=400)
    return json_response(
        {"received": True, "outcome": result.outcome}, status=503 if result.retry else 200
    )
