"""pss: pinball tournament scoring — the domain, the hooks, and the plugin manager.

The names here are the plugin contract (:mod:`pss_core.contract`) and ``hookimpl``, the marker
for hook implementations."""

from importlib.metadata import PackageNotFoundError, version

import pluggy

from pss_core import contract
from pss_core.contract import *  # noqa: F403 - the package's names are the whole contract

try:
    __version__ = version("pss")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

hookimpl = pluggy.HookimplMarker("pss")

__all__ = [*contract.__all__, "__version__", "hookimpl"]
