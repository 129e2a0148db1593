"""The payment transaction record: one ``PaymentTransaction`` row per provider call that changed
something or failed, with anything that looks like a key removed."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from pss_core.models import PaymentTransaction, Purchase

#: What an API key or signing secret looks like (Stripe's ``sk_``, ``pk_``, ``whsec_``, ...).
KEY_PATTERN = re.compile(r"\b(sk|rk|pk|whsec)_(test|live)?_?[A-Za-z0-9_*]*")


def redact(text: str | None) -> str:
    """``text`` with anything that looks like a key replaced, for records and logs."""
    return KEY_PATTERN.sub("[key]", text or "")


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
    """Add one ``PaymentTransaction`` for ``purchase`` (flushed, in the caller's transaction).
    ``stripe_object_id`` is the provider's id of the object concerned (the column keeps its
    first provider's name)."""
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
