"""A local SMTP server for tests: aiosmtpd on 127.0.0.1 that keeps what arrives (parsed), or
refuses it. ``inbox`` starts one for a test; ``inbox.settings()`` are pss's SMTP settings for it,
and ``inbox.ini()`` the same as the ``pss.mail.*`` keys of an app's settings."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

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

    def wait_for(self, count: int, timeout: float = 60) -> list[EmailMessage]:
        """The messages once at least ``count`` have arrived (``timeout`` is only a safety net)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def ini(self) -> dict[str, str]:
        """The app settings (ini keys) that send through this server."""
        return {
            "pss.mail.smtp_host": "127.0.0.1",
            "pss.mail.smtp_port": str(self.port),
            "pss.mail.from": "desk@pss.example",
        }

    def settings(self, **overrides: Any) -> MailSettings:
        return MailSettings(
            host="127.0.0.1", port=self.port, from_address="desk@pss.example", **overrides
        )


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A local SMTP server for this test."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415  aiosmtpd loads only for tests that send mail

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
