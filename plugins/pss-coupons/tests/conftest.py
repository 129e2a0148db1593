"""Fixtures from the pss test kit: the demo event connected to a fake Stripe server, and the plugin
manager with every installed plugin (this one found through its entry point)."""

from typing import Any

import pytest
from pss_coupons import KIND, coupon_config

from pss_core.services.restrictions import create_restriction


@pytest.fixture
def installed(installed_pss):
    return installed_pss


@pytest.fixture
def shop(stripe_shop):
    return stripe_shop


@pytest.fixture
def fake(fake_stripe):
    return fake_stripe


@pytest.fixture
def create_coupon():
    """A coupon for one tournament, one metatournament, or (neither given) every ticket."""

    def create(
        session,
        pss,
        *,
        event_id,
        code,
        percent_off=None,
        amount_off_cents=None,
        max_uses=None,
        name=None,
        **scope: Any,
    ):
        return create_restriction(
            session,
            pss,
            event_id=event_id,
            kind=KIND,
            name=name or f"Coupon {code.strip()}",
            config=coupon_config(code, percent_off=percent_off, amount_off_cents=amount_off_cents),
            max_uses=max_uses,
            **scope,
        )

    return create
