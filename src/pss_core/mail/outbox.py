"""The outbox: a mail is rendered and written with its cause, and its sending deferred in the same
transaction; :func:`send` delivers it through SMTP and keeps every attempt's outcome."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Any

import attrs
import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import audit, jobs
from pss_core.audit import Actor
from pss_core.errors import Refused
from pss_core.mail.settings import MailSettings
from pss_core.models import Event, EventPlayer, MailStatus, OutgoingMail, utcnow

#: The longest wait between two attempts at one mail.
MAX_BACKOFF = timedelta(hours=6)


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pss_core.mail", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(kind: str, **context: Any) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the mail ``kind`` (templates ``kind.txt`` and
    ``kind.html``; the subject is the text template's first line)."""
    env = environment()
    text = env.get_template(f"{kind}.txt").render(**context)
    subject, _, body = text.partition("\n")
    html = env.get_template(f"{kind}.html").render(subject=subject, **context)
    return subject.strip(), body.lstrip("\n"), html


def queue(
    session: Session, *, event: Event, player: EventPlayer, kind: str, **context: Any
) -> OutgoingMail | None:
    """Write the mail for ``player`` (nothing if they gave no address) and defer its sending in
    the session's transaction: it is sent after commit, and never if the change rolls back."""
    address = (player.player.email or "").strip()
    if not address:
        return None
    subject, text, html = render(kind, event=event, player=player, **context)
    mail = OutgoingMail(
        event_id=event.id,
        player_id=player.id,
        kind=kind,
        to_address=address,
        subject=subject[:300],
        text_body=text,
        html_body=html,
        status=MailStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(mail)
    session.flush()
    jobs.defer(session, "pss.mail.send", lock=f"pss.mail.{mail.id}", mail_id=mail.id)
    return mail


def message(mail: OutgoingMail, settings: MailSettings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    msg["From"] = settings.from_address
    msg["To"] = mail.to_address
    msg["Date"] = format_datetime(mail.created_at)
    msg["Message-ID"] = make_msgid(idstring=f"pss-mail-{mail.id}")
    msg.set_content(mail.text_body)
    msg.add_alternative(mail.html_body, subtype="html")
    return msg


def deliver(msg: EmailMessage, settings: MailSettings) -> None:
    """Hand one message to the SMTP server; raises what smtplib or the network raise."""
    assert settings.host
    smtp: smtplib.SMTP
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.host,
            settings.smtp_port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.smtp_port, timeout=settings.timeout)
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(msg)


def backoff(attempts: int) -> timedelta:
    """One minute after the first failure, doubling each time, at most :data:`MAX_BACKOFF`."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"the mail server refused it: {exc.smtp_code} {detail}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the mail server refused the address: {exc.recipients}"
    return f"the mail server could not be reached: {type(exc).__name__}: {exc}"


def send(
    session: Session, settings: MailSettings, mail_id: int, *, now: datetime | None = None
) -> str:
    """Send a pending mail and record the outcome (the caller commits): ``sent``, ``retry``
    (the error is kept in ``last_error`` and the mail is due again later), ``failed`` (the last
    attempt failed), ``waiting`` (no SMTP server configured) or ``skipped`` (sent already, or
    another worker is sending it right now)."""
    now = now or utcnow()
    stmt = select(OutgoingMail).where(OutgoingMail.id == mail_id)
    if session.get_bind().dialect.name == "postgresql":
        # Whoever holds the row sends it; a second worker skips it instead of sending it twice.
        stmt = stmt.with_for_update(skip_locked=True)
    mail = session.scalars(stmt).first()
    if mail is None or mail.status != MailStatus.PENDING:
        return "skipped"
    if not settings.configured:
        mail.last_error = "no SMTP server is configured (pss.mail.smtp_host)"
        return "waiting"
    mail.attempts += 1
    try:
        deliver(message(mail, settings), settings)
    except (OSError, smtplib.SMTPException) as exc:
        mail.last_error = _describe(exc)[:2000]
        if mail.attempts >= settings.max_attempts:
            mail.status = MailStatus.FAILED
            return "failed"
        mail.next_attempt_at = now + backoff(mail.attempts)
        return "retry"
    mail.status = MailStatus.SENT
    mail.sent_at = now
    mail.last_error = None
    return "sent"


def due(session: Session, *, now: datetime | None = None, limit: int = 200) -> Sequence[int]:
    """Pending mails whose next attempt is due, oldest first."""
    now = now or utcnow()
    return session.scalars(
        select(OutgoingMail.id)
        .where(OutgoingMail.status == MailStatus.PENDING, OutgoingMail.next_attempt_at <= now)
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(limit)
    ).all()


def retry_now(session: Session, mail_id: int) -> None:
    """Make a pending or failed mail due again at once (a desk's "send again")."""
    mail = session.get(OutgoingMail, mail_id)
    if mail is None:
        return
    mail.status = MailStatus.PENDING
    mail.next_attempt_at = utcnow()
    if mail.attempts:
        mail.attempts = 0
    session.flush()
    jobs.defer(session, "pss.mail.send", lock=f"pss.mail.{mail.id}", mail_id=mail.id)


@attrs.frozen
class MailPage:
    """One page of an event's outgoing mail, newest first, and how many match in all."""

    mails: Sequence[OutgoingMail]
    total: int
    #: How many of the event's mails are in each status (for the filter's counts).
    by_status: dict[str, int]


def event_mail(
    session: Session,
    event_id: int,
    *,
    status: MailStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> MailPage:
    """The event's mails (only those in ``status`` if given), newest first."""
    where = [OutgoingMail.event_id == event_id]
    if status is not None:
        where.append(OutgoingMail.status == status)
    mails = session.scalars(
        select(OutgoingMail)
        .where(*where)
        .order_by(OutgoingMail.created_at.desc(), OutgoingMail.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count(OutgoingMail.id)).where(*where)) or 0
    counts = dict(
        session.execute(
            select(OutgoingMail.status, func.count(OutgoingMail.id))
            .where(OutgoingMail.event_id == event_id)
            .group_by(OutgoingMail.status)
        ).all()
    )
    return MailPage(mails, int(total), {s.value: int(counts.get(s, 0)) for s in MailStatus})


def send_again(session: Session, mail: OutgoingMail, *, actor: Actor) -> None:
    """The desk's "send again" for a mail that failed or still waits (after the address or the
    mail server was put right): due at once, with a fresh count of attempts. A sent mail is
    refused (``mail_already_sent``): the player has it."""
    if mail.status == MailStatus.SENT:
        raise Refused(
            f"This mail to {mail.to_address} was sent already; it is not sent twice.",
            code="mail_already_sent",
        )
    audit.record(
        session,
        actor,
        "mail.send_again",
        event_id=mail.event_id,
        subject=mail,
        player_id=mail.player_id,
        kind=mail.kind,
        status=mail.status.value,
        attempts=mail.attempts,
        last_error=mail.last_error,
    )
    retry_now(session, mail.id)
