"""The event's outgoing mail through the web: mails the app's own jobs send with the SMTP settings
of its ini file, the desk's list of what went out and what did not, and "send again"."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import demo
from pss_core.models import AuditLog, Event, EventPlayer, MailStatus, OutgoingMail
from pss_core.plugins import Pss
from pss_testing.mail import Inbox
from pss_testing.web import CLIENT_ADDR, JSON, login_as, post_form, post_json


def _with_address(session: Session, event: Event, number: int = 102) -> EventPlayer:
    ep = session.scalars(
        select(EventPlayer).where(EventPlayer.event_id == event.id, EventPlayer.number == number)
    ).one()
    ep.player.email = f"player{number}@example.org"
    session.flush()
    return ep


def _sell(app: TestApp, number: int = 102) -> Any:
    return post_json(
        app,
        f"/events/demo/players/{number}/sell",
        {"scope": "tournament:classics", "tickets": 1},
        status=201,
    )


def _live_app(engine: Engine, pss: Pss, **settings: Any) -> TestApp:
    """The demo event, committed, and an app with its own sessions and transactions (so the jobs
    a request defers run after it commits, as in production), logged in as the demo's desk."""
    from pss_web import make_app

    with Session(engine) as session:
        event = demo.create_demo(session, pss)
        _with_address(session, event)
        session.commit()
    app = TestApp(
        make_app({"pss.engine": engine, "pss.plugins": pss, **settings}),
        extra_environ={"REMOTE_ADDR": CLIENT_ADDR},
    )
    post_json(app, "/events/demo/login", {"username": "desk", "password": "desk-pass"})
    return app


def _mails(engine: Engine) -> list[OutgoingMail]:
    with Session(engine) as session:
        return list(session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


def _in_process(engine: Engine) -> bool:
    # On SQLite a deferred job runs in the app's process after the commit; on PostgreSQL it
    # waits for a worker (``pss worker``, whose SMTP settings come from ``--config``).
    return engine.dialect.name == "sqlite"


def test_the_apps_jobs_send_with_the_smtp_settings_of_its_ini_file(
    committed_engine: Engine, pss: Pss, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PSS_SMTP_HOST", raising=False)
    app = _live_app(committed_engine, pss, **inbox.ini())
    _sell(app)
    (mail,) = _mails(committed_engine)
    if not _in_process(committed_engine):
        assert mail.status == MailStatus.PENDING
        assert inbox.messages == []
        return
    (receipt,) = inbox.wait_for(1)
    assert receipt["To"] == "player102@example.org"
    assert receipt["From"] == "desk@pss.example"
    assert "Classics" in receipt["Subject"]
    assert mail.status == MailStatus.SENT


def test_without_smtp_settings_the_mail_waits_and_says_why(
    committed_engine: Engine, pss: Pss, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PSS_SMTP_HOST", raising=False)
    app = _live_app(committed_engine, pss)
    _sell(app)
    (mail,) = app.get("/events/demo/mail", headers=JSON).json["mails"]
    assert mail["status"] == "pending"
    assert mail["to"] == "player102@example.org"
    assert mail["can_send_again"] is True
    if _in_process(committed_engine):
        assert mail["attempts"] == 0
        assert mail["last_error"] == "no SMTP server is configured (pss.mail.smtp_host)"


def test_a_failed_mail_is_listed_with_its_error_and_sent_again_once_put_right(
    committed_engine: Engine, pss: Pss, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _in_process(committed_engine):
        pytest.skip("the sending job runs in the app's process on SQLite only")
    monkeypatch.delenv("PSS_SMTP_HOST", raising=False)
    app = _live_app(committed_engine, pss, **inbox.ini())
    inbox.refuse = True
    _sell(app)
    listing = app.get("/events/demo/mail?status=pending", headers=JSON).json
    (mail,) = listing["mails"]
    assert mail["attempts"] == 1
    assert mail["last_error"].startswith("the mail server refused it: 554")
    assert mail["next_attempt_at"] is not None
    assert listing["counts"] == {"pending": 1, "sent": 0, "failed": 0}
    assert app.get("/events/demo/mail?status=sent", headers=JSON).json["mails"] == []
    html = app.get("/events/demo/mail")
    assert "the mail server refused it: 554" in html.text
    assert "Send again" in html.text

    inbox.refuse = False
    res = post_form(app, f"/events/demo/mail/{mail['id']}/send-again", status=303)
    assert "goes out again now" in res.follow().text
    assert len(inbox.wait_for(1)) == 1
    one = app.get(f"/events/demo/mail/{mail['id']}", headers=JSON).json["mail"]
    assert one["status"] == "sent"
    assert one["can_send_again"] is False
    assert "T0" in one["text"]  # the receipt names each ticket
    with Session(committed_engine) as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "mail.send_again")).one()
        assert audit.subject_id == mail["id"]
        assert audit.details["last_error"].startswith("the mail server refused it")

    again = post_json(app, f"/events/demo/mail/{mail['id']}/send-again", status=409).json
    assert again["error"] == "mail_already_sent"
    assert len(inbox.messages) == 1


def _failed_mail(session: Session, event: Event) -> OutgoingMail:
    """A mail of ``event`` that failed its last attempt."""
    mail = OutgoingMail(
        event_id=event.id,
        kind="up_next",
        to_address="x@example.org",
        subject="You're up next",
        text_body="t",
        html_body="h",
        status=MailStatus.FAILED,
        attempts=10,
    )
    session.add(mail)
    session.flush()
    return mail


def test_an_unknown_status_filter_is_a_clear_400(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    res = webapp.get("/events/demo/mail?status=lost", headers=JSON, status=400).json
    assert res["error"] == "invalid_status"
    assert "pending, sent or failed" in res["message"]


@pytest.mark.parametrize(
    ("role", "status"), [("scorekeeper", 403), ("desk", 200), ("td", 200), (None, 403)]
)
def test_who_sees_the_mail(
    webapp: TestApp, dbsession: Session, demo_event: Event, role: str | None, status: int
) -> None:
    _with_address(dbsession, demo_event)
    mail = _failed_mail(dbsession, demo_event)
    if role:
        login_as(webapp, demo_event, role)
    got = webapp.get("/events/demo/mail", headers=JSON, status="*")
    assert got.status_int in ((status,) if role else (401, 403))
    post = post_json(webapp, f"/events/demo/mail/{mail.id}/send-again", status="*")
    assert post.status_int in ((200,) if status == 200 else (401, 403))
    dbsession.refresh(mail)
    assert mail.status == (MailStatus.PENDING if status == 200 else MailStatus.FAILED)


def test_another_events_mail_is_not_found(
    webapp: TestApp, dbsession: Session, two_events: dict[str, Event]
) -> None:
    other = two_events["b"]
    mail = _failed_mail(dbsession, other)
    login_as(webapp, two_events["a"], "td")
    webapp.get(f"/events/demo/mail/{mail.id}", headers=JSON, status=404)
    post_json(webapp, f"/events/demo/mail/{mail.id}/send-again", status=404)
    assert webapp.get("/events/demo/mail", headers=JSON).json["mails"] == []
