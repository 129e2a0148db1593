"""Sending e-mail as jobs: each mail right after the commit that queued it, and every minute the
ones whose earlier attempt failed."""

from __future__ import annotations

from datetime import datetime

from pss_core.jobs.registry import Runtime, session_for, task
from pss_core.mail import outbox

EVERY_MINUTE = "* * * * *"


def _when(now: str | None) -> datetime | None:
    return datetime.fromisoformat(now) if now else None


def _add(outcomes: dict[str, int], key: str) -> None:
    outcomes[key] = outcomes.get(key, 0) + 1


@task("pss.mail.send")
def send_mail(runtime: Runtime, mail_id: int) -> dict[str, int]:
    """Send one queued e-mail (right after the commit that queued it)."""
    with session_for(runtime) as session:
        outcome = outbox.send(session, runtime.mail, mail_id)
        session.commit()
    return {outcome: 1}


@task("pss.mail.resend_due", cron=EVERY_MINUTE, lock="pss.mail.resend")
def resend_due_mail(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Try again every e-mail whose last attempt failed (or whose first never ran) and is due."""
    outcomes: dict[str, int] = {}
    with session_for(runtime) as session:
        for mail_id in outbox.due(session, now=_when(now)):
            _add(outcomes, outbox.send(session, runtime.mail, mail_id, now=_when(now)))
            session.commit()
    return outcomes
