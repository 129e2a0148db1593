"""E-mail to players: rendered from templates (HTML and plain text) in the transaction of what
caused it, kept in ``outgoing_mails``, and sent through SMTP by the worker after commit."""

from __future__ import annotations

from pss_core.mail.notices import (
    TOURNAMENT_CANCELLED,
    hold_expired,
    payment_failed,
    purchase_completed,
    refund_done,
    up_next,
)
from pss_core.mail.settings import MailSettings

__all__ = [
    "TOURNAMENT_CANCELLED",
    "MailSettings",
    "hold_expired",
    "payment_failed",
    "purchase_completed",
    "refund_done",
    "up_next",
]
