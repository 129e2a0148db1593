"""Fixtures and helpers come from the pss test kit, :mod:`pss_testing` (a pytest plugin).

Hypothesis measures time in two places, and CI runs on a loaded machine: no example has a
deadline, and slow data generation is no failure (a busy core is not a bug). Each test's own
``settings`` still choose how many examples it runs.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "pss", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("pss")
