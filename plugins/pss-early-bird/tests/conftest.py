"""A demo event connected to a local fake Stripe server, with the installed plugins loaded."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import stripe
from sqlalchemy import select

from pss_core.models import EventPlayer, Tournament
from pss_core.payments.stripe_gateway import StripeGateway
from pss_core.testing.fakestripe import FakeStripe


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    """The demo's passwords and PINs hashed with argon2's cheapest settings (not tested here)."""
    from argon2 import PasswordHasher

    from pss_core import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8,
                                                            parallelism=1))


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def fake(stripe_server, monkeypatch):
    stripe_server.reset()
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.005)
    return stripe_server


@pytest.fixture
def installed(make_pss):
    """The plugin manager with every installed plugin, found through its entry point."""
    return make_pss(load_entrypoints=True)


@pytest.fixture
def shop(dbsession, demo_event, fake):
    demo_event.stripe_secret_key = fake.api_key
    demo_event.stripe_publishable_key = "pk_test_plugin"
    dbsession.flush()
    main = dbsession.scalars(select(Tournament).where(
        Tournament.event_id == demo_event.id, Tournament.slug == "main")).one()
    players = dbsession.scalars(select(EventPlayer).where(
        EventPlayer.event_id == demo_event.id).order_by(EventPlayer.number)).all()
    gateway = StripeGateway(api_base=fake.url, timeout=5)
    return SimpleNamespace(session=dbsession, event=demo_event, main=main, players=players,
                           gateway=gateway)
