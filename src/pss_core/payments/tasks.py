"""The payment passes as periodic jobs of ``pss worker``: reconcile payments with their providers,
retry refunds, expire holds. They share one lock, so on any number of workers they run one at a
time, as the single loop they replace did; each is safe to run again at any time."""

from __future__ import annotations

from datetime import datetime

from pss_core.jobs.registry import Runtime, session_for, task
from pss_core.payments import online

PAYMENTS_LOCK = "pss.payments"
EVERY_MINUTE = "* * * * *"


def _when(now: str | None) -> datetime | None:
    return datetime.fromisoformat(now) if now else None


@task("pss.payments.reconcile", cron=EVERY_MINUTE, lock=PAYMENTS_LOCK)
def reconcile_payments(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Settle open online payments with their providers
    (:func:`pss_core.payments.online.reconcile_pass`)."""
    with session_for(runtime) as session:
        return online.reconcile_pass(
            session, runtime.pss, runtime.payments, commit=session.commit, now=_when(now)
        )


@task("pss.payments.retry_refunds", cron=EVERY_MINUTE, lock=PAYMENTS_LOCK)
def retry_refunds(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Send again the card refunds that could not reach their provider."""
    with session_for(runtime) as session:
        return online.refund_pass(session, runtime.payments, commit=session.commit, now=_when(now))


@task("pss.payments.sweep_holds", cron=EVERY_MINUTE, lock=PAYMENTS_LOCK)
def sweep_holds(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Mark expired holds cancelled (their players are told by e-mail) and cancel their
    payments at their provider so they can no longer be paid."""
    with session_for(runtime) as session:
        return online.hold_pass(
            session, runtime.pss, runtime.payments, commit=session.commit, now=_when(now)
        )
