"""pss: pinball tournament scoring — the domain, the hooks, and the plugin manager."""

import pluggy

hookimpl = pluggy.HookimplMarker("pss")

__all__ = ["hookimpl"]
