"""Online purchases against the local fake Stripe server, through the real stripe library."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.models import Event, EventPlayer, Tournament
from pss_core.payments.stripe_gateway import StripeGateway
from pss_core.testing.fakestripe import FakeStripe

PUBLISHABLE_KEY = "pk_test_fake_publishable"
WEBHOOK_SECRET = "whsec_test_pss_secret"


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[FakeStripe]:
    with FakeStripe(api_key="sk_test_pss_event_secret_0123456789") as fake:
        yield fake


@pytest.fixture
def fake(stripe_server: FakeStripe) -> FakeStripe:
    stripe_server.reset()
    return stripe_server


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's staff passwords and player PINs are hashed with argon2's cheapest settings here:
    these tests are about money, not about hashing, and run a fresh demo event each."""
    from argon2 import PasswordHasher

    from pss_core import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                            parallelism=1))


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """stripe-python waits 0.5 s and more between retries; the fake answers at once."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.005)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.01)


@pytest.fixture
def gateway(fake: FakeStripe) -> StripeGateway:
    return StripeGateway(api_base=fake.url, max_network_retries=2, timeout=5)


@pytest.fixture
def shop(dbsession: Session, demo_event: Event, fake: FakeStripe) -> Any:
    """The demo event connected to the fake Stripe account, with its players and tournaments."""
    demo_event.stripe_secret_key = fake.api_key
    demo_event.stripe_publishable_key = PUBLISHABLE_KEY
    demo_event.stripe_webhook_secret = WEBHOOK_SECRET
    dbsession.flush()
    players = dbsession.scalars(
        select(EventPlayer).where(EventPlayer.event_id == demo_event.id)
        .order_by(EventPlayer.number)
    ).all()
    main = dbsession.scalars(select(Tournament).where(
        Tournament.event_id == demo_event.id, Tournament.slug == "main")).one()
    classics = dbsession.scalars(select(Tournament).where(
        Tournament.event_id == demo_event.id, Tournament.slug == "classics")).one()

    return SimpleNamespace(event=demo_event, session=dbsession, players=list(players),
                           main=main, classics=classics)
