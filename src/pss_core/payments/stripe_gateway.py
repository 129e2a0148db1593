"""Stripe, the built-in payment provider (:class:`~pss_core.contract.PaymentProvider`) and the
only place pss talks to Stripe: one client per event's own account, every outcome recorded.

Each call records a ``PaymentTransaction`` row in the caller's session (errors always, successful
changes too) and logs errors to the ``pss.payments`` logger. A Stripe error becomes a
:class:`~pss_core.contract.PaymentError` — a :class:`~pss_core.errors.DomainError` with plain
words for the player — after it was recorded; callers that keep the record commit before showing
the error. Secret keys are never logged, stored in a record or put in a message.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.contract import (
    PaymentBusy,
    PaymentDeclined,
    PaymentError,
    PaymentNotConfigured,
    PaymentProvider,
    PaymentProviderSpec,
    PaymentRefused,
    PaymentState,
    PaymentUnavailable,
    ProviderRefund,
    Registry,
    WebhookNotice,
)
from pss_core.errors import InvalidInput, PermissionDenied
from pss_core.models import Event, Purchase
from pss_core.payments import accounts
from pss_core.payments.records import KEY_PATTERN, record, redact

if TYPE_CHECKING:
    import stripe

log = logging.getLogger("pss.payments")

#: Environment variable naming another Stripe API base (a local fake in tests).
API_BASE_ENV = "PSS_STRIPE_API_BASE"
#: Stripe.js on a real deployment; tests point the page at the fake server's shim instead.
STRIPE_JS_URL = "https://js.stripe.com/v3"

T = TypeVar("T")


def stripe_library() -> Any:
    """The stripe library, imported only when a payment is actually made: pss without the
    ``stripe`` extra does everything else."""
    try:
        import stripe  # noqa: PLC0415  stripe is an extra
    except ImportError as exc:
        raise ImportError(
            "Online payments need the stripe library: pip install 'pss[stripe]'"
        ) from exc
    return stripe


class _RedactKeys(logging.Filter):
    """The stripe library logs error bodies, which name (masked) keys; pss logs no key at all."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if KEY_PATTERN.search(message):
            record.msg, record.args = redact(message), None
        return True


logging.getLogger("stripe").addFilter(_RedactKeys())


# --- errors ---------------------------------------------------------------------------------


_DECLINE_WORDS = {
    "insufficient_funds": "the card has insufficient funds",
    "lost_card": "the card was reported lost",
    "stolen_card": "the card was reported stolen",
    "expired_card": "the card has expired",
    "incorrect_cvc": "the security code is wrong",
    "fraudulent": "the bank suspects fraud",
    "generic_decline": "the bank gave no reason",
}


def payment_error(exc: stripe.StripeError) -> PaymentError:
    """Plain words for a Stripe error (the technical details go to the transaction record)."""
    import stripe  # noqa: PLC0415  stripe is an extra

    err: PaymentError
    if isinstance(exc, stripe.CardError):
        decline = getattr(exc.error, "decline_code", None) if exc.error else None
        words = _DECLINE_WORDS.get(decline or "", "the bank gave no reason")
        err = PaymentDeclined(
            f"Your card was declined ({words}). Nothing was charged; you can try another card.",
            decline_code=decline,
        )
    elif isinstance(exc, stripe.RateLimitError):
        err = PaymentBusy(
            "The payment service is busy right now. Nothing was charged; please try again in a "
            "minute."
        )
    elif isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        err = PaymentNotConfigured(
            "Online payment is not set up correctly for this event, so nothing was charged. "
            "Please buy your tickets at the desk and tell the tournament director."
        )
    elif isinstance(exc, stripe.APIConnectionError):
        err = PaymentUnavailable(
            "We lost the connection to the payment service before it answered. Nothing is marked "
            "paid until we have checked with it: please don't pay again; this page checks for "
            "you.",
            code="payment_connection_lost",
        )
    elif isinstance(exc, stripe.APIError):
        err = PaymentUnavailable(
            "The payment service had a problem. Nothing is marked paid until we have checked "
            "with it; please try again in a minute.",
            code="payment_service_error",
        )
    elif isinstance(exc, stripe.IdempotencyError):
        err = PaymentRefused(
            "This payment conflicts with an earlier attempt; please reload the page.",
            code="payment_conflict",
        )
    else:
        err = PaymentRefused(
            f"The payment service refused the request: {redact(exc.user_message or str(exc))}",
        )
    err.error_type = type(exc).__name__
    return err


def not_configured(event: Event) -> PaymentNotConfigured:
    err = PaymentNotConfigured(
        f"{event.name} does not take online payments. Please buy your tickets at the desk."
    )
    err.error_type = "not_configured"
    return err


# --- what pss reads from Stripe ---------------------------------------------------------------


def _data(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def payment_state(obj: Any) -> PaymentState:
    """A PaymentIntent from the API in pss's words: ``succeeded`` is paid, ``canceled``
    cancelled, a failed attempt (``requires_payment_method`` with an error) failed; anything
    else (``processing``, ``requires_action``, ...) is still waiting."""
    data = _data(obj)
    last = data.get("last_payment_error") or {}
    raw = str(data["status"])
    code = last.get("decline_code") or last.get("code")
    if raw == "succeeded":
        status = "paid"
    elif raw == "canceled":
        status = "cancelled"
    elif raw == "requires_payment_method" and code:
        status = "failed"
    else:
        status = "waiting"
    return PaymentState(
        id=str(data["id"]),
        status=status,
        provider_status=raw,
        amount=int(data.get("amount") or 0),
        amount_received=int(data.get("amount_received") or 0),
        currency=str(data.get("currency") or ""),
        metadata=dict(data.get("metadata") or {}),
        client_secret=data.get("client_secret"),
        last_error_code=code,
        last_error_message=last.get("message"),
        last_error_attempt=last.get("charge"),
    )


_REFUND_STATES = {"succeeded": "done", "pending": "pending", "requires_action": "pending"}


def provider_refund(obj: Any) -> ProviderRefund:
    """A Stripe refund in pss's words (``succeeded`` is done; ``failed``, ``canceled`` failed)."""
    data = _data(obj)
    return ProviderRefund(
        id=str(data["id"]),
        status=_REFUND_STATES.get(str(data.get("status") or ""), "failed"),
        amount=int(data.get("amount") or 0),
        metadata=dict(data.get("metadata") or {}),
        created=int(data.get("created") or 0),
    )


#: PaymentIntent events: the payment's state may have changed.
_PAYMENT_INTENT_TYPES = ("payment_intent.",)
#: Events that may tell of a refund made outside pss (in the Stripe dashboard, say).
_REFUND_TYPES = ("charge.refunded", "charge.refund.updated", "refund.created", "refund.updated")


#: Stripe's ids and event types: printable ASCII without spaces, short enough for their columns
#: (``stripe_event_id`` holds 255 characters, ``type`` 100).
_STRIPE_ID = re.compile(r"[\x21-\x7e]{1,255}")
_STRIPE_TYPE = re.compile(r"[\x21-\x7e]{1,100}")


def _stripe_event(payload: bytes) -> tuple[str, str, dict[str, Any]]:
    """The id, type and ``data.object`` of a signed webhook body; a body that is no Stripe event
    (not a JSON object, an id or type that is not a short string, no object) is refused, as a
    400 and not recorded, whoever signed it."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise InvalidInput(
            "The webhook body is not a Stripe event (a JSON object).", code="invalid_webhook"
        )
    evt_id, evt_type = data.get("id"), data.get("type")
    if not isinstance(evt_id, str) or not _STRIPE_ID.fullmatch(evt_id):
        raise InvalidInput(
            "The webhook's event id is missing or not a Stripe id.",
            code="invalid_webhook",
            field="id",
        )
    if not isinstance(evt_type, str) or not _STRIPE_TYPE.fullmatch(evt_type):
        raise InvalidInput(
            "The webhook's event type is missing or not a Stripe event type.",
            code="invalid_webhook",
            field="type",
        )
    body = data.get("data")
    obj = body.get("object") if isinstance(body, dict) else None
    if not isinstance(obj, dict):
        raise InvalidInput(
            "The webhook has no data.object.", code="invalid_webhook", field="data.object"
        )
    return evt_id, evt_type, obj


# --- the provider -----------------------------------------------------------------------------


@attrs.define
class StripeProvider(PaymentProvider):
    """Talks to Stripe for one pss installation; the account (secret key) is the event's own.

    ``api_base`` is Stripe's unless given (or set in ``PSS_STRIPE_API_BASE``); the library retries
    connection errors and 5xx answers ``max_network_retries`` times with the same idempotency key.
    ``js_url`` is where the purchase page loads Stripe.js from.
    """

    name: ClassVar[str] = "stripe"
    checkout_template: ClassVar[str | None] = "purchases/stripe_checkout.html"
    signature_header: ClassVar[str | None] = "Stripe-Signature"

    api_base: str | None = None
    max_network_retries: int = 2
    timeout: float = 30.0
    js_url: str = STRIPE_JS_URL
    #: The purchase page offers Stripe's test cards instead of a card field (the fake Stripe.js).
    test_cards: bool = False

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None = None) -> StripeProvider:
        settings = settings or {}
        base = settings.get("pss.stripe_api_base") or os.environ.get(API_BASE_ENV) or None
        retries = int(settings.get("pss.stripe_max_network_retries", 2))
        return cls(
            api_base=base,
            max_network_retries=retries,
            js_url=settings.get("pss.stripe_js_url") or STRIPE_JS_URL,
            test_cards=settings.get("pss.stripe_test_cards") in (True, "true", "1"),
        )

    def configured(self, event: Event) -> bool:
        return accounts.online_payments_enabled(event)

    def checkout_page(self, event: Event) -> dict[str, Any]:
        return {
            "js_url": self.js_url,
            "publishable_key": event.stripe_publishable_key,
            "test_cards": self.test_cards,
        }

    def checkout_data(self, event: Event, state: PaymentState) -> dict[str, Any]:
        return {
            "client_secret": state.client_secret,
            "publishable_key": event.stripe_publishable_key,
            "js_url": self.js_url,
        }

    def verify_webhook(
        self, event: Event, body: bytes, headers: Mapping[str, str]
    ) -> WebhookNotice:
        """Verify the ``Stripe-Signature`` with the stripe library and the event's signing
        secret; PaymentIntent events are about a payment, charge and refund events about its
        refunds."""
        if not event.stripe_webhook_secret:
            raise not_configured(event)
        stripe = stripe_library()
        try:
            stripe.WebhookSignature.verify_header(
                body,
                headers.get("Stripe-Signature"),
                event.stripe_webhook_secret,
                stripe.Webhook.DEFAULT_TOLERANCE,
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            log.warning("rejected a webhook for event %s: %s", event.slug, type(exc).__name__)
            raise PermissionDenied(
                "The webhook signature is not valid.", code="bad_signature"
            ) from None
        evt_id, evt_type, obj = _stripe_event(body)
        subject = "other"
        payment_id = (
            obj.get("payment_intent") if obj.get("object") in ("charge", "refund") else None
        )
        if evt_type.startswith(_PAYMENT_INTENT_TYPES):
            subject, payment_id = "payment", obj.get("id")
        elif evt_type in _REFUND_TYPES and payment_id is not None:
            subject = "refund"
        return WebhookNotice(
            id=evt_id,
            type=evt_type,
            subject=subject,
            payment_id=payment_id if isinstance(payment_id, str) else None,
        )

    @contextmanager
    def _client(self, event: Event) -> Iterator[stripe.StripeClient]:
        key = event.stripe_secret_key
        if not key:
            raise not_configured(event)
        stripe = stripe_library()
        # One HTTP session per call: safe across threads, and closed (no leaked sockets).
        http = stripe.RequestsClient(timeout=self.timeout)
        try:
            yield stripe.StripeClient(
                key,
                base_addresses={"api": self.api_base} if self.api_base else None,
                max_network_retries=self.max_network_retries,
                http_client=http,
            )
        finally:
            http.close()

    def _call(
        self,
        session: Session,
        event: Event,
        purchase: Purchase,
        action: str,
        fn: Callable[[stripe.StripeClient], T],
        *,
        amount_cents: int | None = None,
        record_success: bool = True,
        object_id: Callable[[T], str | None] = lambda obj: getattr(obj, "id", None),
    ) -> T:
        stripe = stripe_library()
        try:
            with self._client(event) as client:
                result = fn(client)
        except stripe.StripeError as exc:
            err = payment_error(exc)
            self._record_error(session, purchase, action, err, exc, amount_cents)
            raise err from exc
        except PaymentNotConfigured as err:
            self._record_error(session, purchase, action, err, None, amount_cents)
            raise
        if record_success:
            record(
                session,
                purchase,
                action,
                ok=True,
                amount_cents=amount_cents,
                stripe_object_id=object_id(result),
            )
        return result

    def _record_error(
        self,
        session: Session,
        purchase: Purchase,
        action: str,
        err: PaymentError,
        exc: stripe.StripeError | None,
        amount_cents: int | None,
    ) -> None:
        code = getattr(exc, "code", None) if exc is not None else err.code
        decline = err.details.get("decline_code")
        detail = redact(str(exc)) if exc is not None else err.message
        record(
            session,
            purchase,
            action,
            ok=False,
            error_type=err.error_type,
            error_code=decline or code or err.code,
            message=detail,
            amount_cents=amount_cents,
        )
        log.warning(
            "stripe %s failed for purchase %s: %s %s (%s)",
            action,
            purchase.id,
            err.error_type,
            decline or code or err.code,
            getattr(exc, "request_id", None) or "no request id",
        )

    # --- PaymentIntents ------------------------------------------------------------------

    def start_payment(
        self,
        session: Session,
        event: Event,
        purchase: Purchase,
        *,
        description: str,
        idempotency_key: str,
    ) -> PaymentState:
        """Create the PaymentIntent for exactly ``purchase.amount_cents``, once: the same key
        always answers with the same PaymentIntent."""
        params: Any = {
            "amount": purchase.amount_cents,
            "currency": event.currency,
            "payment_method_types": ["card"],
            "description": description[:500],
            "metadata": {
                "pss_event": event.slug,
                "pss_purchase_id": str(purchase.id),
                "pss_tickets": str(purchase.tickets),
            },
        }
        pi = self._call(
            session,
            event,
            purchase,
            "create_intent",
            lambda c: c.v1.payment_intents.create(params, {"idempotency_key": idempotency_key}),
            amount_cents=purchase.amount_cents,
        )
        return payment_state(pi)

    def payment_state(
        self, session: Session, event: Event, purchase: Purchase, payment_id: str
    ) -> PaymentState:
        """The PaymentIntent as Stripe has it now (errors are recorded; a plain read is not)."""
        pi = self._call(
            session,
            event,
            purchase,
            "retrieve",
            lambda c: c.v1.payment_intents.retrieve(payment_id),
            record_success=False,
        )
        return payment_state(pi)

    def cancel_payment(
        self,
        session: Session,
        event: Event,
        purchase: Purchase,
        payment_id: str,
        *,
        idempotency_key: str,
    ) -> PaymentState:
        """Cancel an abandoned PaymentIntent (the same key always: a retry after a lost answer
        cancels once). One that can no longer be cancelled — it succeeded, or is cancelled
        already — is not an error: its state as Stripe has it comes back, to act on."""
        params: Any = {"cancellation_reason": "abandoned"}
        unexpected: list[Any] = []

        def cancel(c: stripe.StripeClient) -> Any:
            import stripe  # noqa: PLC0415  stripe is an extra

            try:
                return c.v1.payment_intents.cancel(
                    payment_id, params, {"idempotency_key": idempotency_key}
                )
            except stripe.InvalidRequestError as exc:
                if exc.code != "payment_intent_unexpected_state":
                    raise
                unexpected.append(exc)
                # Stripe names the PaymentIntent in the error; ask for it if it did not.
                embedded = getattr(exc.error, "payment_intent", None) if exc.error else None
                return embedded or c.v1.payment_intents.retrieve(payment_id)

        pi = self._call(session, event, purchase, "cancel_intent", cancel, record_success=False)
        state = payment_state(pi)
        if unexpected:
            record(
                session,
                purchase,
                "cancel_intent",
                ok=False,
                error_type="InvalidRequestError",
                error_code="payment_intent_unexpected_state",
                message=f"not cancelled: the payment intent is {state.provider_status}",
                stripe_object_id=state.id,
            )
        else:
            record(
                session,
                purchase,
                "cancel_intent",
                ok=True,
                stripe_object_id=state.id,
                message="cancelled at Stripe",
            )
        return state

    # --- refunds -------------------------------------------------------------------------

    def refund(
        self,
        session: Session,
        event: Event,
        purchase: Purchase,
        payment_id: str,
        *,
        amount_cents: int,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> ProviderRefund:
        params: Any = {
            "payment_intent": payment_id,
            "amount": amount_cents,
            "reason": "requested_by_customer",
            "metadata": dict(metadata),
        }
        refund = self._call(
            session,
            event,
            purchase,
            "refund",
            lambda c: c.v1.refunds.create(params, {"idempotency_key": idempotency_key}),
            amount_cents=amount_cents,
        )
        return provider_refund(refund)

    def refunds_of(
        self,
        session: Session,
        event: Event,
        purchase: Purchase,
        payment_id: str,
    ) -> list[ProviderRefund]:
        """Every refund of a PaymentIntent as Stripe has it, oldest first (errors are recorded;
        a plain read is not)."""

        def read(c: stripe.StripeClient) -> list[ProviderRefund]:
            found: list[ProviderRefund] = []
            params: Any = {"payment_intent": payment_id, "limit": 100}
            while True:
                page = c.v1.refunds.list(params)
                found.extend(provider_refund(r) for r in page.data)
                if not page.has_more or not page.data:
                    break
                params = {**params, "starting_after": page.data[-1].id}
            found.reverse()  # Stripe lists newest first
            return found

        return self._call(session, event, purchase, "list_refunds", read, record_success=False)


@hookimpl
def pss_register_payment_providers(registry: Registry[PaymentProviderSpec]) -> None:
    registry.add(
        PaymentProviderSpec(
            name=StripeProvider.name, factory=StripeProvider.from_settings, label="Card (Stripe)"
        )
    )
