"""The web test kit's fixtures (``pss_web.testing``); imported here until it is registered as a
pytest11 entry point."""

import pytest

from pss_web.testing import fast_hashing, make_webapp, webapp  # noqa: F401


@pytest.fixture(autouse=True)
def _fast_hashing(request: pytest.FixtureRequest) -> None:
    """Every web test hashes PINs and passwords with small argon2 parameters."""
    request.getfixturevalue("fast_hashing")
