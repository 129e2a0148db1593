"""Fixtures from the pss test kit: the demo event connected to a fake Stripe server, and the plugin
manager with every installed plugin (this one found through its entry point)."""

import pytest


@pytest.fixture
def installed(installed_pss):
    return installed_pss


@pytest.fixture
def shop(stripe_shop):
    return stripe_shop


@pytest.fixture
def fake(fake_stripe):
    return fake_stripe
