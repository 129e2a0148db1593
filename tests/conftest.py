"""Fixtures come from the pss test kit (``pss_core.testing.pytest_plugin``, loaded by entry point)."""
