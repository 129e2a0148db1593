"""The only place pss talks to Stripe: one client per event's own account, every outcome recorded.

Each call records a ``PaymentTransaction`` row in the caller's session (errors always, successful
changes too) and logs errors to the ``pss.payments`` logger. A Stripe error becomes a
:class:`PaymentError` — a :class:`~pss_core.errors.DomainError` with plain words for the player —
after it was recorded; callers that keep the record commit before showing the error. Secret keys are
never logged, stored in a record or put in a message.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs
from sqlalchemy.orm import Session

from pss_core.errors import Busy, DomainError, Refused
from pss_core.models import Event, PaymentTransaction, Purchase

if TYPE_CHECKING:
    import stripe

log = logging.getLogger("pss.payments")

#: Environment variable naming another Stripe API base (a local fake in tests).
API_BASE_ENV = "PSS_STRIPE_API_BASE"
#: Stripe.js on a real deployment; tests point the page at the fake server's shim instead.
STRIPE_JS_URL = "https://js.stripe.com/v3"

_KEY_RE = re.compile(r"\b(sk|rk|pk|whsec)_(test|live)?_?[A-Za-z0-9_*]*")

T = TypeVar("T")


def stripe_library() -> Any:
    """The stripe library, imported only when a payment is actually made: pss without the
    ``stripe`` extra does everything else."""
    try:
        import stripe
    except ImportError as exc:
        raise ImportError("Online payments need the stripe library: "
                          "pip install 'pss[stripe]'") from exc
    return stripe


def redact(text: str | None) -> str:
    """``text`` with anything that looks like a Stripe key replaced, for records and logs."""
    return _KEY_RE.sub("[key]", text or "")


class _RedactKeys(logging.Filter):
    """The stripe library logs error bodies, which name (masked) keys; pss logs no key at all."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _KEY_RE.search(message):
            record.msg, record.args = redact(message), None
        return True


logging.getLogger("stripe").addFilter(_RedactKeys())


# --- errors ---------------------------------------------------------------------------------


class PaymentError(DomainError):
    """A Stripe call failed. ``stripe_type`` is the library's error class; ``indeterminate`` means
    Stripe may have done it anyway (the connection was lost, or Stripe failed while answering)."""

    stripe_type: str = ""
    indeterminate: ClassVar[bool] = False


class PaymentDeclined(PaymentError, Refused):
    default_code = "card_declined"


class PaymentNotConfigured(PaymentError, Refused):
    default_code = "payment_not_configured"


class PaymentRefused(PaymentError, Refused):
    default_code = "payment_refused"


class PaymentBusy(PaymentError, Busy):
    default_code = "payment_busy"


class PaymentUnavailable(PaymentError, Busy):
    default_code = "payment_unavailable"
    indeterminate = True


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
    import stripe

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
    err.stripe_type = type(exc).__name__
    return err


def not_configured(event: Event) -> PaymentNotConfigured:
    err = PaymentNotConfigured(
        f"{event.name} does not take online payments. Please buy your tickets at the desk."
    )
    err.stripe_type = "not_configured"
    return err


# --- what pss reads from Stripe ---------------------------------------------------------------


@attrs.frozen
class IntentState:
    """The parts of a PaymentIntent pss decides on, read from the API (never from the browser)."""

    id: str
    status: str
    amount: int
    amount_received: int
    currency: str
    metadata: Mapping[str, str]
    client_secret: str | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None
    #: The failed attempt's charge, which tells two failed attempts apart.
    last_error_charge: str | None = None

    @classmethod
    def from_api(cls, obj: Any) -> IntentState:
        data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        last = data.get("last_payment_error") or {}
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            amount=int(data.get("amount") or 0),
            amount_received=int(data.get("amount_received") or 0),
            currency=str(data.get("currency") or ""),
            metadata=dict(data.get("metadata") or {}),
            client_secret=data.get("client_secret"),
            last_error_code=last.get("decline_code") or last.get("code"),
            last_error_message=last.get("message"),
            last_error_charge=last.get("charge"),
        )


@attrs.frozen
class RefundState:
    """A refund as Stripe has it."""

    id: str
    status: str
    amount: int
    #: What pss put on it (``pss_refund_id``, ``pss_purchase_id``); empty for a refund made
    #: elsewhere (the Stripe dashboard).
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    created: int = 0

    @classmethod
    def from_api(cls, obj: Any) -> RefundState:
        data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        return cls(id=str(data["id"]), status=str(data.get("status") or ""),
                   amount=int(data.get("amount") or 0),
                   metadata=dict(data.get("metadata") or {}),
                   created=int(data.get("created") or 0))


# --- the gateway ------------------------------------------------------------------------------


@attrs.define
class StripeGateway:
    """Talks to Stripe for one pss installation; the account (secret key) is the event's own.

    ``api_base`` is Stripe's unless given (or set in ``PSS_STRIPE_API_BASE``); the library retries
    connection errors and 5xx answers ``max_network_retries`` times with the same idempotency key.
    """

    api_base: str | None = None
    max_network_retries: int = 2
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None = None) -> StripeGateway:
        settings = settings or {}
        base = settings.get("pss.stripe_api_base") or os.environ.get(API_BASE_ENV) or None
        retries = int(settings.get("pss.stripe_max_network_retries", 2))
        return cls(api_base=base, max_network_retries=retries)

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
            record(session, purchase, action, ok=True, amount_cents=amount_cents,
                   stripe_object_id=object_id(result))
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
            session, purchase, action, ok=False, error_type=err.stripe_type,
            error_code=decline or code or err.code, message=detail, amount_cents=amount_cents,
        )
        log.warning(
            "stripe %s failed for purchase %s: %s %s (%s)", action, purchase.id,
            err.stripe_type, decline or code or err.code,
            getattr(exc, "request_id", None) or "no request id",
        )

    # --- PaymentIntents ------------------------------------------------------------------

    def create_payment_intent(
        self, session: Session, event: Event, purchase: Purchase, *, description: str,
        idempotency_key: str,
    ) -> IntentState:
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
            session, event, purchase, "create_intent",
            lambda c: c.v1.payment_intents.create(params, {"idempotency_key": idempotency_key}),
            amount_cents=purchase.amount_cents,
        )
        return IntentState.from_api(pi)

    def retrieve_payment_intent(
        self, session: Session, event: Event, purchase: Purchase, intent_id: str
    ) -> IntentState:
        """The PaymentIntent as Stripe has it now (errors are recorded; a plain read is not)."""
        pi = self._call(
            session, event, purchase, "retrieve",
            lambda c: c.v1.payment_intents.retrieve(intent_id), record_success=False,
        )
        return IntentState.from_api(pi)

    def cancel_payment_intent(
        self, session: Session, event: Event, purchase: Purchase, intent_id: str, *,
        idempotency_key: str,
    ) -> IntentState:
        """Cancel an abandoned PaymentIntent (the same key always: a retry after a lost answer
        cancels once). One that can no longer be cancelled — it succeeded, or is cancelled
        already — is not an error: its state as Stripe has it comes back, to act on."""
        params: Any = {"cancellation_reason": "abandoned"}
        unexpected: list[Any] = []

        def cancel(c: stripe.StripeClient) -> Any:
            import stripe

            try:
                return c.v1.payment_intents.cancel(
                    intent_id, params, {"idempotency_key": idempotency_key})
            except stripe.InvalidRequestError as exc:
                if exc.code != "payment_intent_unexpected_state":
                    raise
                unexpected.append(exc)
                # Stripe names the PaymentIntent in the error; ask for it if it did not.
                embedded = getattr(exc.error, "payment_intent", None) if exc.error else None
                return embedded or c.v1.payment_intents.retrieve(intent_id)

        pi = self._call(session, event, purchase, "cancel_intent", cancel,
                        record_success=False)
        state = IntentState.from_api(pi)
        if unexpected:
            record(session, purchase, "cancel_intent", ok=False,
                   error_type="InvalidRequestError", error_code="payment_intent_unexpected_state",
                   message=f"not cancelled: the payment intent is {state.status}",
                   stripe_object_id=state.id)
        else:
            record(session, purchase, "cancel_intent", ok=True, stripe_object_id=state.id,
                   message="cancelled at Stripe")
        return state

    # --- refunds -------------------------------------------------------------------------

    def create_refund(
        self, session: Session, event: Event, purchase: Purchase, intent_id: str, *,
        amount_cents: int, idempotency_key: str, metadata: Mapping[str, str],
    ) -> RefundState:
        params: Any = {
            "payment_intent": intent_id,
            "amount": amount_cents,
            "reason": "requested_by_customer",
            "metadata": dict(metadata),
        }
        refund = self._call(
            session, event, purchase, "refund",
            lambda c: c.v1.refunds.create(params, {"idempotency_key": idempotency_key}),
            amount_cents=amount_cents,
        )
        return RefundState.from_api(refund)

    def list_refunds(
        self, session: Session, event: Event, purchase: Purchase, intent_id: str,
    ) -> list[RefundState]:
        """Every refund of a PaymentIntent as Stripe has it, oldest first (errors are recorded;
        a plain read is not)."""

        def read(c: stripe.StripeClient) -> list[RefundState]:
            found: list[RefundState] = []
            params: Any = {"payment_intent": intent_id, "limit": 100}
            while True:
                page = c.v1.refunds.list(params)
                found.extend(RefundState.from_api(r) for r in page.data)
                if not page.has_more or not page.data:
                    break
                params = {**params, "starting_after": page.data[-1].id}
            found.reverse()  # Stripe lists newest first
            return found

        return self._call(session, event, purchase, "list_refunds", read, record_success=False)


def record(
    session: Session,
    purchase: Purchase,
    action: str,
    *,
    ok: bool,
    error_type: str | None = None,
    error_code: str | None = None,
    message: str | None = None,
    amount_cents: int | None = None,
    stripe_object_id: str | None = None,
) -> PaymentTransaction:
    """Add one ``PaymentTransaction`` for ``purchase`` (flushed, in the caller's transaction)."""
    row = PaymentTransaction(
        purchase_id=purchase.id,
        action=action,
        ok=ok,
        error_type=error_type,
        error_code=(error_code or None) and str(error_code)[:64],
        message=redact(message) if message else None,
        amount_cents=amount_cents,
        stripe_object_id=stripe_object_id,
    )
    session.add(row)
    session.flush()
    return row
