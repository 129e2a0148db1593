"""Web tests use the web test kit (``pss_web.testing``, a pytest11 entry point)."""

import pytest


@pytest.fixture(autouse=True)
def _fast_hashing(request: pytest.FixtureRequest) -> None:
    """Every web test hashes PINs and passwords with small argon2 parameters."""
    request.getfixturevalue("fast_hashing")
