"""The web test kit's fixtures (``pss_web.testing``); imported here until it is registered as a
pytest11 entry point."""

from pss_web.testing import make_webapp, webapp  # noqa: F401
