"""Fixtures and helpers come from the pss test kit, :mod:`pss_testing` (a pytest plugin)."""
