"""The payment provider interface, proven by a second provider: "test-pay", a plugin that uses only
the contract and settles a payment when the test says so. It goes through the real online
purchase (hold → payment → confirmation from the provider's word) and a card refund."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import select

from pss_core import (
    PaymentProvider,
    PaymentProviderSpec,
    PaymentState,
    PaymentUnavailable,
    ProviderRefund,
    Registry,
    hookimpl,
)
from pss_core.audit import Actor
from pss_core.errors import DuplicateRegistration, Refused
from pss_core.models import (
    Event,
    EventPlayer,
    PaymentTransaction,
    Purchase,
    PurchaseStatus,
    Token,
    Tournament,
)
from pss_core.payments import online, refunds
from pss_core.payments.providers import Payments, takes_online_payments

DESK = Actor("desk", user_id=None)


class CounterPay(PaymentProvider):
    """Keeps its payments in memory; a payment is paid once the test calls :meth:`settle`."""

    name = "test-pay"

    def __init__(self) -> None:
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, ProviderRefund] = {}
        self.keys: dict[str, str] = {}
        self.down = False

    def configured(self, event: Event) -> bool:
        return True

    def _state(self, payment_id: str) -> PaymentState:
        p = self.payments[payment_id]
        return PaymentState(
            id=payment_id,
            status=p["status"],
            amount=p["amount"],
            amount_received=p["amount"] if p["status"] == "paid" else 0,
            currency=p["currency"],
            metadata=p["metadata"],
            provider_status=p["status"],
        )

    def start_payment(
        self,
        session: Any,
        event: Event,
        purchase: Purchase,
        *,
        description: str,
        idempotency_key: str,
    ) -> PaymentState:
        if self.down:
            raise PaymentUnavailable("The test payment service is down.")
        payment_id = self.keys.setdefault(idempotency_key, f"tp_{len(self.keys) + 1}")
        self.payments.setdefault(
            payment_id,
            {
                "status": "waiting",
                "amount": purchase.amount_cents,
                "currency": event.currency,
                "metadata": {"pss_purchase_id": str(purchase.id)},
            },
        )
        return self._state(payment_id)

    def payment_state(
        self, session: Any, event: Event, purchase: Purchase, payment_id: str
    ) -> PaymentState:
        if self.down:
            raise PaymentUnavailable("The test payment service is down.")
        return self._state(payment_id)

    def cancel_payment(
        self,
        session: Any,
        event: Event,
        purchase: Purchase,
        payment_id: str,
        *,
        idempotency_key: str,
    ) -> PaymentState:
        if self.payments[payment_id]["status"] == "waiting":
            self.payments[payment_id]["status"] = "cancelled"
        return self._state(payment_id)

    def refund(
        self,
        session: Any,
        event: Event,
        purchase: Purchase,
        payment_id: str,
        *,
        amount_cents: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> ProviderRefund:
        if idempotency_key not in self.refunds:
            self.refunds[idempotency_key] = ProviderRefund(
                id=f"tr_{len(self.refunds) + 1}",
                status="done",
                amount=amount_cents,
                metadata=dict(metadata),
            )
        return self.refunds[idempotency_key]

    def checkout_data(self, event: Event, state: PaymentState) -> dict[str, Any]:
        return {"pay_at_counter": state.id}

    def settle(self, payment_id: str) -> None:
        self.payments[payment_id]["status"] = "paid"


class CounterPayPlugin:
    def __init__(self) -> None:
        self.provider = CounterPay()

    @hookimpl
    def pss_register_payment_providers(self, registry: Registry[PaymentProviderSpec]) -> None:
        registry.add(
            PaymentProviderSpec(
                name="test-pay",
                factory=lambda settings: self.provider,
                label="Pay at the test counter",
            )
        )


@pytest.fixture
def plugin() -> CounterPayPlugin:
    return CounterPayPlugin()


@pytest.fixture
def with_test_pay(make_pss: Any, plugin: CounterPayPlugin) -> Any:
    return make_pss(plugin)


@pytest.fixture
def shop(dbsession: Any, demo_event: Event) -> Any:
    from types import SimpleNamespace

    demo_event.payment_provider = "test-pay"
    dbsession.flush()
    players = dbsession.scalars(
        select(EventPlayer)
        .where(EventPlayer.event_id == demo_event.id)
        .order_by(EventPlayer.number)
    ).all()
    main = dbsession.scalars(
        select(Tournament).where(Tournament.event_id == demo_event.id, Tournament.slug == "main")
    ).one()
    return SimpleNamespace(session=dbsession, event=demo_event, players=list(players), main=main)


def paid_tokens(session: Any, purchase_id: int) -> int:
    return len(
        session.scalars(
            select(Token).where(Token.purchase_id == purchase_id, Token.paid_at.is_not(None))
        ).all()
    )


def test_a_second_provider_takes_a_purchase_and_refunds_it(shop, with_test_pay, plugin):
    s = shop.session
    payments = Payments.of(with_test_pay)
    assert takes_online_payments(with_test_pay, shop.event)
    checkout = online.start_online_purchase(
        s,
        with_test_pay,
        payments,
        commit=s.commit,
        event=shop.event,
        player=shop.players[0],
        tickets=3,
        tournament=shop.main,
    )
    assert checkout.error is None
    assert checkout.provider == "test-pay"
    assert checkout.client == {"pay_at_counter": checkout.payment_intent_id}
    assert plugin.provider.payments[checkout.payment_intent_id]["amount"] == 800

    # Not paid until the provider says so; the browser's word is never asked for.
    waiting = online.confirm_from_payment_intent(
        s, with_test_pay, payments, checkout.purchase_id, commit=s.commit
    )
    assert (waiting.outcome, paid_tokens(s, checkout.purchase_id)) == ("waiting", 0)
    plugin.provider.settle(checkout.payment_intent_id)
    paid = online.confirm_from_payment_intent(
        s, with_test_pay, payments, checkout.purchase_id, commit=s.commit
    )
    assert (paid.outcome, paid.paid) == ("paid", True)
    assert paid_tokens(s, checkout.purchase_id) == 3
    verified = s.scalars(
        select(PaymentTransaction).where(
            PaymentTransaction.purchase_id == checkout.purchase_id,
            PaymentTransaction.action == "payment_verified",
        )
    ).one()
    assert verified.stripe_object_id == checkout.payment_intent_id

    outcome = refunds.refund_purchase(
        s, payments, checkout.purchase_id, tokens=1, commit=s.commit, actor=DESK, reason="went home"
    )
    assert outcome.ok
    assert not outcome.pending
    [sent] = plugin.provider.refunds.values()
    purchase = s.get(Purchase, checkout.purchase_id)
    assert sent.amount == outcome.amount_cents == purchase.refunded_cents > 0
    assert sent.metadata["pss_purchase_id"] == str(purchase.id)
    assert purchase.status == PurchaseStatus.COMPLETED


def test_a_provider_that_is_down_marks_nothing_paid(shop, with_test_pay, plugin):
    s = shop.session
    payments = Payments.of(with_test_pay)
    checkout = online.start_online_purchase(
        s,
        with_test_pay,
        payments,
        commit=s.commit,
        event=shop.event,
        player=shop.players[0],
        tickets=1,
        tournament=shop.main,
    )
    plugin.provider.settle(checkout.payment_intent_id)
    plugin.provider.down = True
    settled = online.confirm_from_payment_intent(
        s, with_test_pay, payments, checkout.purchase_id, commit=s.commit
    )
    assert settled.outcome == "error"
    assert settled.error is not None
    assert settled.error.code == "payment_unavailable"
    assert paid_tokens(s, checkout.purchase_id) == 0
    plugin.provider.down = False
    assert (
        online.confirm_from_payment_intent(
            s, with_test_pay, payments, checkout.purchase_id, commit=s.commit
        ).outcome
        == "paid"
    )


def test_an_event_whose_provider_is_not_installed_sells_nothing_online(shop, pss):
    # ``pss`` has the built-ins only: Stripe, not test-pay.
    assert "stripe" in pss.payment_providers
    assert "test-pay" not in pss.payment_providers
    assert not takes_online_payments(pss, shop.event)
    with pytest.raises(Refused) as refused:
        online.reserve(
            shop.session,
            pss,
            event=shop.event,
            player=shop.players[0],
            tickets=1,
            tournament=shop.main,
        )
    assert refused.value.code == "payment_not_configured"
    with pytest.raises(Refused) as unknown:
        Payments.of(pss).for_event(shop.event)
    assert unknown.value.code == "unknown_payment_provider"


def test_two_providers_of_one_name_are_refused(make_pss):
    class AnotherStripe:
        @hookimpl
        def pss_register_payment_providers(self, registry: Registry[PaymentProviderSpec]) -> None:
            registry.add(PaymentProviderSpec(name="stripe", factory=lambda settings: CounterPay()))

    with pytest.raises(DuplicateRegistration, match=r"'stripe'.*stripe_gateway"):
        make_pss(AnotherStripe())
