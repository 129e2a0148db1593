"""The job runtime that sends to the test's local SMTP server (:mod:`pss_testing.mail`)."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from pss_core import jobs
from pss_core.jobs.registry import Runtime
from pss_testing.mail import Inbox


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
