"""The built-in tasks: the payment passes (reconcile, refunds, expired holds) and e-mail.

The payment passes share one lock, so on any number of workers they run one at a time, as the
single loop they replace did; each is safe to run again at any time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pss_core.jobs.registry import Runtime, app, task

PAYMENTS_LOCK = "pss.payments"
EVERY_MINUTE = "* * * * *"


def session_for(runtime: Runtime) -> Session:
    """A session of its own for a task (a savepoint inside the caller's transaction when the
    runtime is bound to a connection, as in tests)."""
    return Session(bind=runtime.bind, expire_on_commit=False,
                   join_transaction_mode="create_savepoint")


def _when(now: str | None) -> datetime | None:
    return datetime.fromisoformat(now) if now else None


def _add(outcomes: dict[str, int], key: str) -> None:
    outcomes[key] = outcomes.get(key, 0) + 1


@task("pss.payments.reconcile", cron=EVERY_MINUTE, lock=PAYMENTS_LOCK)
def reconcile_payments(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Settle open online payments with Stripe (:func:`pss_core.payments.online.reconcile_pass`)."""
    from pss_core.payments import online

    with session_for(runtime) as session:
        return online.reconcile_pass(session, runtime.pss, runtime.gateway,
                                     commit=session.commit, now=_when(now))


@task("pss.payments.retry_refunds", cron=EVERY_MINUTE, lock=PAYMENTS_LOCK)
def retry_refunds(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Send again the card refunds that could not reach Stripe."""
    from pss_core.payments import online

    with session_for(runtime) as session:
        return online.refund_pass(session, runtime.gateway, commit=session.commit,
                                  now=_when(now))


@task("pss.payments.sweep_holds", cron=EVERY_MINUTE, lock=PAYMENTS_LOCK)
def sweep_holds(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Mark expired holds cancelled (their players are told by e-mail) and cancel their
    PaymentIntents at Stripe so they can no longer be paid."""
    from pss_core.payments import online

    with session_for(runtime) as session:
        return online.hold_pass(session, runtime.pss, runtime.gateway, commit=session.commit,
                                now=_when(now))


@task("pss.mail.send")
def send_mail(runtime: Runtime, mail_id: int) -> dict[str, int]:
    """Send one queued e-mail (right after the commit that queued it)."""
    from pss_core.mail import outbox

    with session_for(runtime) as session:
        outcome = outbox.send(session, runtime.mail, mail_id)
        session.commit()
    return {outcome: 1}


@task("pss.mail.resend_due", cron=EVERY_MINUTE, lock="pss.mail.resend")
def resend_due_mail(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Try again every e-mail whose last attempt failed (or whose first never ran) and is due."""
    from pss_core.mail import outbox

    outcomes: dict[str, int] = {}
    with session_for(runtime) as session:
        for mail_id in outbox.due(session, now=_when(now)):
            _add(outcomes, outbox.send(session, runtime.mail, mail_id, now=_when(now)))
            session.commit()
    return outcomes


@app.periodic(cron="*/5 * * * *")
@app.task(name="pss.jobs.retry_stalled", queueing_lock="pss.jobs.retry_stalled",
          pass_context=True)
async def retry_stalled_jobs(context: Any, timestamp: int) -> None:
    """Jobs left ``doing`` by a worker that stopped sending heartbeats (killed, its machine
    gone) are put back in the queue. PostgreSQL only: on SQLite nothing runs in the background."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs():
        await manager.retry_job(job)
