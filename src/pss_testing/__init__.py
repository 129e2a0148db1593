"""The pss test kit for pss itself and for plugin authors: a pytest plugin with databases on SQLite
and PostgreSQL (a rolled-back session per test), a plugin manager with your plugins, the demo
event, the fake Stripe server, a local SMTP server, a seeded event builder and a WebTest app
with login helpers.

It is registered through the ``pytest11`` entry point ``pss_testing`` and does nothing to a test
that asks for none of its fixtures. Where plugin autoloading is off, opt in from your top-level
``conftest.py`` with ``pytest_plugins = ["pss_testing"]``. Install it with ``pip install
'pss[test]'``.
"""

from __future__ import annotations

from pss_testing.board import board, plugin_pss, pss_plugins
from pss_testing.database import (
    committed_engine,
    database_url,
    db_backend,
    dbsession,
    demo_event,
    engine,
    fake_stripe,
    fake_stripe_server,
    fast_hashing,
    installed_pss,
    make_pss,
    pss,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_logreport,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_terminal_summary,
    stripe_shop,
)
from pss_testing.fakeifpa import fake_ifpa
from pss_testing.mail import inbox
from pss_testing.web import make_webapp, two_events, webapp

__all__ = [
    "board",
    "committed_engine",
    "database_url",
    "db_backend",
    "dbsession",
    "demo_event",
    "engine",
    "fake_ifpa",
    "fake_stripe",
    "fake_stripe_server",
    "fast_hashing",
    "inbox",
    "installed_pss",
    "make_pss",
    "make_webapp",
    "plugin_pss",
    "pss",
    "pss_plugins",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_logreport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "stripe_shop",
    "two_events",
    "webapp",
]
