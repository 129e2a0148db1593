"""Shared fixtures come from the pss test kit, ``pss_core.testing.pytest_plugin``."""
