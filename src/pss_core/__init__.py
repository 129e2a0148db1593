"""pss: pinball tournament scoring — the domain, the hooks, and the plugin manager."""

from importlib.metadata import PackageNotFoundError, version

import pluggy

try:
    __version__ = version("pss")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

hookimpl = pluggy.HookimplMarker("pss")

__all__ = ["__version__", "hookimpl"]
