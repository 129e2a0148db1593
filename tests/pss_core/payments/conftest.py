"""Online purchases against the local fake Stripe server, through the real stripe library."""

from __future__ import annotations

from typing import Any

import pytest

from pss_core.payments.providers import Payments
from pss_testing.fakestripe import FakeStripe


@pytest.fixture
def fake(fake_stripe: FakeStripe) -> FakeStripe:
    return fake_stripe


@pytest.fixture
def payments(stripe_shop: Any) -> Payments:
    payments: Payments = stripe_shop.payments
    return payments


@pytest.fixture
def shop(stripe_shop: Any) -> Any:
    """The demo event connected to the fake Stripe account, with its players and tournaments."""
    return stripe_shop
