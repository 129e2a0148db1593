"""Each e-mail kind, queued with its cause and sent after commit to a local SMTP server; a
rolled-back change sends nothing; a failed send is retried and its error kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import select

from pss_core import jobs, mail
from pss_core.audit import Actor
from pss_core.mail import notices, outbox
from pss_core.mail import tasks as mail_tasks
from pss_core.models import MailStatus, OutgoingMail, Token, utcnow
from pss_core.payments import online, refunds
from pss_core.payments import tasks as payment_tasks
from pss_core.services import tickets as tickets_svc

from .conftest import parts

DESK = Actor("desk", user_id=None)


def deliver(session: Any, runtime: Any) -> None:
    """Commit, then let the worker do its part: on SQLite the mail went out in-process after the
    commit; on PostgreSQL the job waits for a worker, which this runs in-process here (worker
    processes are tested in tests/pss_core/jobs)."""
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        mail_tasks.resend_due_mail(runtime)


def mails(session: Any, kind: str | None = None) -> list[OutgoingMail]:
    stmt = select(OutgoingMail).order_by(OutgoingMail.id)
    if kind:
        stmt = stmt.where(OutgoingMail.kind == kind)
    session.expire_all()
    return list(session.scalars(stmt))


@pytest.fixture
def player(stripe_shop: Any) -> Any:
    p = stripe_shop.players[0]
    p.player.email = "alice@players.example"
    stripe_shop.session.flush()
    return p


def ticket_ids(session: Any, purchase_id: int) -> list[str]:
    return [
        notices.ticket_id(t)
        for t in session.scalars(
            select(Token.id).where(Token.purchase_id == purchase_id).order_by(Token.id)
        )
    ]


def only(inbox: Any) -> Any:
    assert len(inbox.messages) == 1, [m["Subject"] for m in inbox.messages]
    return inbox.messages[0]


def test_desk_sale_sends_a_confirmation_with_every_ticket_id(
    stripe_shop, pss, player, inbox, mail_runtime
):
    s = stripe_shop.session
    purchase = tickets_svc.sell_tickets(
        s, pss, player=player, count=3, tournament=stripe_shop.main, actor=DESK
    )
    ids = ticket_ids(s, purchase.id)
    deliver(s, mail_runtime)
    msg = only(inbox)
    assert msg["To"] == "alice@players.example"
    assert stripe_shop.event.name in msg["Subject"]
    text, html = parts(msg)
    assert len(ids) == 3
    for body in (text, html):
        assert stripe_shop.event.name in body
        assert all(tid in body for tid in ids)
    assert [m.status for m in mails(s)] == [MailStatus.SENT]


def test_online_payment_completed(stripe_shop, pss, payments, fake, player, inbox, mail_runtime):
    s = stripe_shop.session
    checkout = online.start_online_purchase(
        s,
        pss,
        payments,
        commit=s.commit,
        event=stripe_shop.event,
        player=player,
        tickets=2,
        tournament=stripe_shop.main,
    )
    assert mails(s) == []  # a hold is not a purchase yet
    fake.succeed(checkout.payment_intent_id)
    online.confirm_from_payment_intent(s, pss, payments, checkout.purchase_id, commit=s.commit)
    deliver(s, mail_runtime)
    text, html = parts(only(inbox))
    assert "payment of" in text
    assert "was received" in text
    assert all(tid in html for tid in ticket_ids(s, checkout.purchase_id))


def test_payment_failed(stripe_shop, pss, payments, fake, player, inbox, mail_runtime):
    s = stripe_shop.session
    checkout = online.start_online_purchase(
        s,
        pss,
        payments,
        commit=s.commit,
        event=stripe_shop.event,
        player=player,
        tickets=1,
        tournament=stripe_shop.main,
    )
    browser = stripe.StripeClient(
        "pk_test_browser", base_addresses={"api": fake.url}, http_client=stripe.RequestsClient()
    )
    with pytest.raises(stripe.CardError):
        browser.v1.payment_intents.confirm(
            checkout.payment_intent_id,
            {
                "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                "client_secret": checkout.client_secret,
            },
        )
    online.confirm_from_payment_intent(s, pss, payments, checkout.purchase_id, commit=s.commit)
    deliver(s, mail_runtime)
    msg = only(inbox)
    assert "did not go through" in msg["Subject"]
    text, html = parts(msg)
    assert "insufficient funds" in text.lower()
    assert stripe_shop.event.name in html


def test_refund_and_cancelled_tournament_refund(stripe_shop, pss, player, inbox, mail_runtime):
    s = stripe_shop.session
    purchase = tickets_svc.sell_tickets(
        s, pss, player=player, count=3, tournament=stripe_shop.main, actor=DESK
    )
    deliver(s, mail_runtime)
    refunds.request_refund(s, purchase.id, tokens=1, actor=DESK, reason="went home")
    deliver(s, mail_runtime)
    refunds.request_refund(
        s,
        purchase.id,
        tokens=2,
        actor=DESK,
        reason=f"{mail.TOURNAMENT_CANCELLED}: {stripe_shop.main.name}",
    )
    deliver(s, mail_runtime)
    assert [m.kind for m in mails(s)] == [
        "purchase_confirmation",
        "payment_refunded",
        "tournament_refund",
    ]
    refunded, cancelled = inbox.messages[1:]
    assert "refunded" in refunded["Subject"]
    assert f"{stripe_shop.main.name} was cancelled" in cancelled["Subject"]
    text, html = parts(cancelled)
    assert "has been cancelled" in text
    assert stripe_shop.event.name in html


def test_hold_expired(stripe_shop, pss, payments, player, inbox, mail_runtime):
    s = stripe_shop.session
    online.start_online_purchase(
        s,
        pss,
        payments,
        commit=s.commit,
        event=stripe_shop.event,
        player=player,
        tickets=1,
        tournament=stripe_shop.main,
        now=utcnow() - timedelta(hours=1),
    )
    payment_tasks.sweep_holds(mail_runtime)
    deliver(s, mail_runtime)
    msg = only(inbox)
    assert "expired" in msg["Subject"]
    assert "Nothing was charged" in parts(msg)[0]


def test_up_next_only_for_players_who_asked(stripe_shop, player, inbox, mail_runtime):
    s = stripe_shop.session
    other = stripe_shop.players[1]
    other.player.email = "bob@players.example"
    player.email_when_next = True
    assert mail.up_next(s, other, machine="Attack from Mars", tournament="Main") is None
    mail.up_next(s, player, machine="Attack from Mars", tournament="Main")
    deliver(s, mail_runtime)
    msg = only(inbox)
    assert msg["To"] == "alice@players.example"
    assert "up next on Attack from Mars" in msg["Subject"]
    assert "Attack from Mars" in parts(msg)[1]


def test_no_mail_for_a_change_that_rolled_back(stripe_shop, pss, player, inbox, mail_runtime):
    s = stripe_shop.session
    savepoint = s.begin_nested()
    tickets_svc.sell_tickets(
        s, pss, player=player, count=1, tournament=stripe_shop.main, actor=DESK
    )
    savepoint.rollback()
    deliver(s, mail_runtime)
    assert mails(s) == []
    assert inbox.messages == []


def test_a_failed_send_is_retried_with_its_error_visible(
    stripe_shop, pss, player, inbox, mail_runtime
):
    s = stripe_shop.session
    inbox.refuse = True
    tickets_svc.sell_tickets(
        s, pss, player=player, count=1, tournament=stripe_shop.main, actor=DESK
    )
    deliver(s, mail_runtime)
    [queued] = mails(s)
    assert (queued.status, queued.attempts) == (MailStatus.PENDING, 1)
    assert "refused" in queued.last_error
    assert "554" in queued.last_error
    assert inbox.messages == []

    # Server down: not due yet, then due (as if the wait had passed) and unreachable.
    later = (queued.next_attempt_at + timedelta(seconds=1)).isoformat()
    assert mail_tasks.resend_due_mail(mail_runtime) == {}
    down = jobs.Runtime(
        bind=mail_runtime.bind,
        pss=pss,
        payments=mail_runtime.payments,
        mail=outbox.MailSettings(host="127.0.0.1", port=_closed_port()),
    )
    assert mail_tasks.resend_due_mail(down, now=later) == {"retry": 1}
    [queued] = mails(s)
    assert queued.attempts == 2
    assert "could not be reached" in queued.last_error

    inbox.refuse = False
    evenlater = (queued.next_attempt_at + timedelta(seconds=1)).isoformat()
    assert mail_tasks.resend_due_mail(mail_runtime, now=evenlater) == {"sent": 1}
    [queued] = mails(s)
    assert (queued.status, queued.attempts, queued.last_error) == (MailStatus.SENT, 3, None)
    assert len(inbox.messages) == 1


def test_the_last_failed_attempt_marks_the_mail_failed(
    stripe_shop, pss, player, inbox, mail_runtime
):
    s = stripe_shop.session
    inbox.refuse = True
    tickets_svc.sell_tickets(
        s, pss, player=player, count=1, tournament=stripe_shop.main, actor=DESK
    )
    s.flush()
    [queued] = mails(s)
    assert outbox.send(s, inbox.settings(max_attempts=1), queued.id) == "failed"
    assert queued.status == MailStatus.FAILED
    assert "554" in queued.last_error


def test_no_address_no_mail(stripe_shop, pss, inbox, mail_runtime):
    s = stripe_shop.session
    tickets_svc.sell_tickets(
        s, pss, player=stripe_shop.players[2], count=1, tournament=stripe_shop.main, actor=DESK
    )
    deliver(s, mail_runtime)
    assert mails(s) == []
    assert inbox.messages == []


def _closed_port() -> int:
    from pss_testing.mail import free_port

    return free_port()  # bound and released: nothing listens there
