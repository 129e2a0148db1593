"""An event's own Stripe account: its keys are set by the owner and never logged or shown back."""

from __future__ import annotations

import attrs
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import InvalidInput
from pss_core.models import Event


@attrs.frozen
class StripeAccountStatus:
    """What may be shown about an event's Stripe account: which keys are set, never the keys."""

    secret_key_set: bool
    publishable_key_set: bool
    webhook_secret_set: bool
    test_mode: bool

    @property
    def online_payments(self) -> bool:
        return self.secret_key_set and self.publishable_key_set


def status(event: Event) -> StripeAccountStatus:
    return StripeAccountStatus(
        secret_key_set=bool(event.stripe_secret_key),
        publishable_key_set=bool(event.stripe_publishable_key),
        webhook_secret_set=bool(event.stripe_webhook_secret),
        test_mode=(event.stripe_secret_key or "").startswith(("sk_test_", "rk_test_")),
    )


def online_payments_enabled(event: Event) -> bool:
    return status(event).online_payments


def _check(value: str | None, prefixes: tuple[str, ...], what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if not value.startswith(prefixes) or len(value) > 255 or any(c.isspace() for c in value):
        raise InvalidInput(
            f"That does not look like a Stripe {what} (it starts with {' or '.join(prefixes)}).",
            code="invalid_stripe_key",
        )
    return value


def set_stripe_keys(
    session: Session,
    event: Event,
    *,
    secret_key: str | None = None,
    publishable_key: str | None = None,
    webhook_secret: str | None = None,
    clear: bool = False,
    actor: Actor = audit.SYSTEM,
) -> StripeAccountStatus:
    """Connect the event to its owner's Stripe account. Keys left ``None`` (or blank) are kept;
    ``clear`` removes all three. The audit row says which keys changed, not what they are."""
    changed: list[str] = []
    if clear:
        event.stripe_secret_key = event.stripe_publishable_key = event.stripe_webhook_secret = None
        changed = ["secret_key", "publishable_key", "webhook_secret"]
    else:
        secret = _check(secret_key, ("sk_", "rk_"), "secret key")
        publishable = _check(publishable_key, ("pk_",), "publishable key")
        webhook = _check(webhook_secret, ("whsec_",), "webhook signing secret")
        if secret is not None:
            event.stripe_secret_key = secret
            changed.append("secret_key")
        if publishable is not None:
            event.stripe_publishable_key = publishable
            changed.append("publishable_key")
        if webhook is not None:
            event.stripe_webhook_secret = webhook
            changed.append("webhook_secret")
    result = status(event)
    audit.record(
        session,
        actor,
        "event.stripe_account",
        event_id=event.id,
        subject=event,
        changed=changed,
        cleared=clear,
        test_mode=result.test_mode,
    )
    return result
