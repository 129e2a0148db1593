"""The test kit's fixtures, built with this plugin: ``board`` plays tournaments through the desk
and scorekeeper services with the formats of ``pss_plugins``."""

import pss_pingolf
import pytest


@pytest.fixture
def pss_plugins():
    return [pss_pingolf]
