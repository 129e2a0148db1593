"""Payment providers: what takes an online purchase's money. A provider plugin registers a
:class:`PaymentProviderSpec` whose factory makes a :class:`PaymentProvider`; each event names
the provider it uses (``Event.payment_provider``, Stripe unless chosen otherwise).

pss never takes the browser's word for a payment: it asks the provider
(:meth:`PaymentProvider.payment_state`) and decides on the :class:`PaymentState` it answers. A
provider call that fails raises a :class:`PaymentError` subclass with words for the player.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from pss_core.errors import Busy, DomainError, PermissionDenied, Refused

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pss_core.models import Event, Purchase

#: The states of a payment, as pss decides on them.
PAYMENT_STATES = ("waiting", "paid", "failed", "cancelled")
#: The states of a refund at the provider.
REFUND_STATES = ("pending", "done", "failed")
#: What a webhook is about.
WEBHOOK_SUBJECTS = ("payment", "refund", "other")


# --- errors ---------------------------------------------------------------------------------


class PaymentError(DomainError):
    """A provider call failed. ``error_type`` names the failure for the purchase's transaction
    record (the provider's own error class, say); ``indeterminate`` means the provider may have
    done it anyway (the connection was lost while it answered)."""

    error_type: str = ""
    indeterminate: ClassVar[bool] = False


class PaymentDeclined(PaymentError, Refused):
    """The player's means of payment was refused; nothing was charged."""

    default_code = "card_declined"


class PaymentNotConfigured(PaymentError, Refused):
    """The event does not take payments through this provider (no account set up)."""

    default_code = "payment_not_configured"


class PaymentRefused(PaymentError, Refused):
    """The provider refused the request for good."""

    default_code = "payment_refused"


class PaymentBusy(PaymentError, Busy):
    """The provider asked pss to slow down; nothing happened, try again later."""

    default_code = "payment_busy"


class PaymentUnavailable(PaymentError, Busy):
    """The provider could not be reached or failed while answering: it may have done it."""

    default_code = "payment_unavailable"
    indeterminate = True


# --- values ---------------------------------------------------------------------------------


def _one_of(allowed: tuple[str, ...]) -> Callable[[Any, attrs.Attribute[Any], str], None]:
    def check(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in allowed:
            raise ValueError(f"{attribute.name} must be one of {allowed}, not {value!r}")

    return check


@attrs.frozen
class PaymentState:
    """A payment as its provider has it now, read from the provider (never from the browser)."""

    #: The provider's id of the payment (stored as the purchase's payment id).
    id: str
    #: ``waiting`` (not paid yet), ``paid``, ``failed`` (the last attempt failed; the player may
    #: try again) or ``cancelled`` (it can no longer be paid).
    status: str = attrs.field(validator=_one_of(PAYMENT_STATES))
    #: The amount asked for, in cents.
    amount: int
    #: The amount received, in cents (the amount once paid).
    amount_received: int
    #: ISO currency code, any case.
    currency: str
    #: What pss put on the payment when starting it; ``pss_purchase_id`` must name the purchase.
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    #: The provider's own word for the status, for the record.
    provider_status: str = ""
    #: What the browser needs to take the payment (Stripe's client secret); never stored.
    client_secret: str | None = None
    #: Why the last attempt failed (a decline code), for a ``failed`` payment.
    last_error_code: str | None = None
    #: The provider's words for the failure.
    last_error_message: str | None = None
    #: Tells two failed attempts apart (the failed charge's id), so each is recorded once.
    last_error_attempt: str | None = None


@attrs.frozen
class ProviderRefund:
    """A refund as the payment's provider has it."""

    #: The provider's id of the refund (stored as the refund's provider id).
    id: str
    #: ``pending``, ``done`` or ``failed``.
    status: str = attrs.field(validator=_one_of(REFUND_STATES))
    #: Cents refunded.
    amount: int
    #: What pss put on it (``pss_refund_id``, ``pss_purchase_id``); empty for a refund made at
    #: the provider directly (its dashboard).
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    #: When the provider made it (seconds since the epoch; 0 when unknown).
    created: int = 0


@attrs.frozen
class WebhookNotice:
    """A verified webhook: what the provider says changed. pss re-reads the payment from the
    provider before acting on it, so a notice only says where to look."""

    #: The provider's id of the notice; a notice seen before is skipped.
    id: str
    #: The provider's type of the notice (``payment_intent.succeeded``), for the record.
    type: str
    #: ``payment`` (a payment's state may have changed), ``refund`` (a refund was made or
    #: changed, perhaps at the provider's dashboard) or ``other`` (ignored).
    subject: str = attrs.field(validator=_one_of(WEBHOOK_SUBJECTS))
    #: The payment it concerns, by the provider's id (``None``: none of pss's).
    payment_id: str | None = None


class PaymentProvider:
    """Takes payments for purchases through one payment service. Subclass it and implement the
    methods that raise ``NotImplementedError``; the others have defaults.

    Every method that talks to the service gets the caller's ``session`` (a provider may keep
    its own records there; pss commits them with the rest), the event (whose account is used)
    and the purchase. pss holds no lock while it calls a provider and decides only on what the
    provider answers; calls are repeated with the same ``idempotency_key`` after a lost answer,
    so a provider must do each keyed action at most once.
    """

    #: The provider's name, as events name it in ``Event.payment_provider``.
    name: ClassVar[str] = ""
    #: The template of the purchase page's payment step (a Jinja2 template name the web app
    #: finds), imported with the page's context plus ``checkout`` (what :meth:`checkout_page`
    #: returned). It defines the macros ``head()``, ``fields()`` and ``script()``; the script
    #: sets ``window.pssPay(intent, form)``, which takes the payment the ``intent`` answer (with
    #: :meth:`checkout_data`) describes and returns a promise of ``{error: ...}`` or ``{}``.
    #: ``None``: the page only waits for the payment to be confirmed.
    checkout_template: ClassVar[str | None] = None
    #: The header that carries a webhook's signature, if the provider sends webhooks.
    signature_header: ClassVar[str | None] = None

    def configured(self, event: Event) -> bool:
        """Whether ``event`` takes online payments through this provider (its account is set
        up). Called before tickets are held; ``False`` refuses the purchase."""
        raise NotImplementedError

    def start_payment(
        self,
        session: Session,
        event: Event,
        purchase: Purchase,
        *,
        description: str,
        idempotency_key: str,
    ) -> PaymentState:
        """Start the payment of exactly ``purchase.amount_cents`` in ``event.currency``, with
        metadata ``pss_purchase_id`` naming the purchase. The same key answers with the same
        payment."""
        raise NotImplementedError

    def payment_state(
        self, session: Session, event: Event, purchase: Purchase, payment_id: str
    ) -> PaymentState:
        """The payment as the provider has it now: what pss confirms a purchase from (the return
        page, webhooks and the worker call this)."""
        raise NotImplementedError

    def cancel_payment(
        self,
        session: Session,
        event: Event,
        purchase: Purchase,
        payment_id: str,
        *,
        idempotency_key: str,
    ) -> PaymentState:
        """Make an abandoned payment impossible to pay (its hold expired). One that cannot be
        cancelled any more (it was paid meanwhile) is not an error: return its state."""
        raise NotImplementedError

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
        """Give back ``amount_cents`` of the payment, once per key, with ``metadata`` on it."""
        raise NotImplementedError

    def refunds_of(
        self, session: Session, event: Event, purchase: Purchase, payment_id: str
    ) -> list[ProviderRefund]:
        """Every refund of the payment as the provider has it, oldest first (refunds made at the
        provider's dashboard included). Default: none beyond pss's own."""
        return []

    def verify_webhook(
        self, event: Event, body: bytes, headers: Mapping[str, str]
    ) -> WebhookNotice:
        """Check a webhook's signature with the event's secret and say what it is about. Raise
        :class:`PaymentNotConfigured` when the event has no secret for it and
        :class:`~pss_core.errors.PermissionDenied` when the signature is not valid. Default:
        the provider takes no webhooks."""
        raise PermissionDenied("This payment service sends no webhooks.", code="no_webhooks")

    def checkout_page(self, event: Event) -> dict[str, Any]:
        """What :attr:`checkout_template` needs before any payment starts (a script's address, a
        public key). Public values only. Default: nothing."""
        return {}

    def checkout_data(self, event: Event, state: PaymentState) -> dict[str, Any]:
        """What the browser needs to pay a started payment, sent to it (public values and the
        payment's own client secret only: never an account's secret key). Default: nothing."""
        return {}


@attrs.frozen
class PaymentProviderSpec:
    """A payment provider as a plugin registers it."""

    #: The name events choose it by; unique among installed providers.
    name: str
    #: Makes the provider from the application's settings (``pss.*`` keys of the ini file).
    factory: Callable[[Mapping[str, Any]], PaymentProvider]
    #: What the event owner sees ("Card (Stripe)").
    label: str = ""
