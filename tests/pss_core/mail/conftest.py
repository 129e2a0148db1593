"""A local SMTP server (aiosmtpd on 127.0.0.1) that keeps what arrives, or refuses it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from pss_core import jobs
from pss_core.jobs.registry import Runtime
from pss_core.mail.settings import MailSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """What the server received, parsed; ``refuse`` makes it answer every message with a 554."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = False
        self.port = free_port()
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 5.7.1 Not accepting mail right now"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self._arrived:
            self.messages.append(msg)
            self._arrived.notify_all()
        return "250 OK"

    def settings(self, **overrides: Any) -> MailSettings:
        return MailSettings(
            host="127.0.0.1", port=self.port, from_address="desk@pss.example", **overrides
        )


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def mail_runtime(dbsession: Any, pss: Any, inbox: Inbox) -> Iterator[Runtime]:
    """Task functions in this process send to the local server (SQLite runs them after commit)."""
    from pss_core.payments.providers import Payments

    runtime = Runtime(
        bind=dbsession.connection(), pss=pss, payments=Payments.of(pss), mail=inbox.settings()
    )
    jobs.configure(runtime)
    try:
        yield runtime
    finally:
        jobs.configure(None)


def parts(msg: EmailMessage) -> tuple[str, str]:
    """The plain text and HTML parts of a message."""
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


@pytest.fixture
def payments(stripe_shop: Any) -> Any:
    return stripe_shop.payments


@pytest.fixture
def fake(fake_stripe: Any) -> Any:
    return fake_stripe
