"""The test kit's fixtures, built with this plugin (``pss_plugins``)."""

import pss_league_night
import pytest


@pytest.fixture
def pss_plugins():
    return [pss_league_night]
