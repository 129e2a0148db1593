"""The event's outgoing mail, for the desk and the tournament director: every mail pss wrote to a
player, whether it went out, why not, and "send again" once the cause is put right.

    /events/<slug>/mail                    GET: the mails, newest first (``?status=failed``)
    /events/<slug>/mail/<id>               GET: one mail with its text
    /events/<slug>/mail/<id>/send-again    POST: due again at once
"""

from __future__ import annotations

from typing import Any

from pyramid.response import Response

from pss_core.errors import InvalidInput
from pss_core.mail import outbox
from pss_core.models import MailStatus, OutgoingMail
from pss_web.layout import add_event_nav
from pss_web.present import event_json
from pss_web.resources import EventChild, add_event_child
from pss_web.security import Permission
from pss_web.viewkit import action, done, page
from pss_web.views.public import pagination

P = Permission
MAILS_PER_PAGE = 50


class MailContainer(EventChild):
    api_paths = ("/events/{event}/mail",)
    title = "Outgoing mail"

    def __getitem__(self, name: str) -> MailResource:
        return MailResource(self.request, name, self, self.event_row(OutgoingMail, name))


class MailResource(EventChild):
    api_paths = ("/events/{event}/mail/{mail}",)

    def __init__(self, request: Any, name: str, parent: Any, mail: OutgoingMail) -> None:
        super().__init__(request, name, parent)
        self.mail = mail
        self.title = f"Mail {mail.id}"


add_event_child("mail", MailContainer)
add_event_nav("Mail", "mail", "", permission=P.SELL, order=75)


def mail_json(request: Any, mail: OutgoingMail, *, bodies: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": mail.id,
        "kind": mail.kind,
        "to": mail.to_address,
        "subject": mail.subject,
        "player_id": mail.player_id,
        "status": mail.status.value,
        "attempts": mail.attempts,
        "last_error": mail.last_error,
        "created_at": mail.created_at,
        "next_attempt_at": mail.next_attempt_at if mail.status == MailStatus.PENDING else None,
        "sent_at": mail.sent_at,
        "can_send_again": mail.status != MailStatus.SENT,
        "url": request.resource_url(request.context, str(mail.id))
        if isinstance(request.context, MailContainer)
        else request.resource_url(request.context),
    }
    if bodies:
        data["text"] = mail.text_body
    return data


def _status_filter(request: Any) -> MailStatus | None:
    raw = (request.GET.get("status") or "").strip().lower()
    if not raw:
        return None
    try:
        return MailStatus(raw)
    except ValueError:
        raise InvalidInput(
            f"There is no mail status {raw!r}: use pending, sent or failed.",
            code="invalid_status",
            field="status",
        ) from None


@page(context=MailContainer, permission=P.SELL, template="manage/mail.html")
def mail_list(context: MailContainer, request: Any) -> dict[str, Any]:
    """The event's outgoing mail, newest first, ``?status=pending|sent|failed`` for one kind:
    who it went to, whether it was sent, how many attempts and the last error."""
    status = _status_filter(request)
    session = request.dbsession
    first = outbox.event_mail(session, context.event.id, status=status, limit=0)
    pages = pagination(request, first.total, MAILS_PER_PAGE)
    listing = outbox.event_mail(
        session,
        context.event.id,
        status=status,
        offset=pages["offset"],
        limit=MAILS_PER_PAGE,
    )
    return {
        "event": event_json(request, context.event),
        "status": status.value if status else None,
        "counts": listing.by_status,
        "total": listing.total,
        "mails": [mail_json(request, m) for m in listing.mails],
        "pagination": pages,
    }


@page(context=MailResource, permission=P.SELL, template="manage/mail_one.html")
def mail_one(context: MailResource, request: Any) -> dict[str, Any]:
    """One outgoing mail: its status, attempts, last error and plain text."""
    return {
        "event": event_json(request, context.event),
        "mail": mail_json(request, context.mail, bodies=True),
        "list_url": request.resource_url(context.__parent__),
    }


@action(context=MailResource, name="send-again", permission=P.SELL)
def send_again(context: MailResource, request: Any) -> Response:
    """Send a failed or waiting mail again now (refused with ``mail_already_sent``, 409, for a
    sent one)."""
    mail = context.mail
    outbox.send_again(request.dbsession, mail, actor=request.actor)
    request.dbsession.flush()
    return done(
        request,
        request.resource_url(context),
        {"mail": mail_json(request, mail)},
        message=f"The mail to {mail.to_address} goes out again now.",
    )
