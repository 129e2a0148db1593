"""Builds the plugin manager: hookspecs, built-in plugins, then installed ``pss`` entry points."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType
from typing import Any

import attrs
import pluggy

from pss_core import hookspecs
from pss_core.formats import FormatSpec, PointsCurve
from pss_core.registry import Registry
from pss_core.restrictions import RestrictionKind

ENTRY_POINT_GROUP = "pss"

#: Built-in plugins, registered in this order before any installed one.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "pss_core.notify",
    "pss_formats.curves",
    "pss_formats.herb",
    "pss_formats.papa",
    "pss_formats.team",
    "pss_formats.meta",
)


@attrs.define
class Pss:
    """A ready plugin manager with the registries its plugins filled."""

    pm: pluggy.PluginManager
    formats: Registry[FormatSpec]
    curves: Registry[PointsCurve]
    restrictions: Registry[RestrictionKind]

    @property
    def hook(self) -> Any:
        return self.pm.hook


def _import(name: str) -> ModuleType:
    import importlib

    return importlib.import_module(name)


def get_plugin_manager(
    plugins: Iterable[object] = (),
    *,
    builtins: bool = True,
    load_entrypoints: bool = True,
) -> Pss:
    """Build the manager. Tests pass ``load_entrypoints=False`` and the plugins they want."""
    pm = pluggy.PluginManager("pss")
    pm.add_hookspecs(hookspecs)
    if builtins:
        for name in BUILTIN_PLUGINS:
            pm.register(_import(name), name=name)
    for plugin in plugins:
        pm.register(plugin)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    formats: Registry[FormatSpec] = Registry("format")
    curves: Registry[PointsCurve] = Registry("points curve")
    _fill(pm, "pss_register_formats", formats)
    _fill(pm, "pss_register_points_curves", curves)
    restrictions: Registry[RestrictionKind] = Registry("restriction kind")
    _fill(pm, "pss_register_restrictions", restrictions)
    return Pss(pm=pm, formats=formats, curves=curves, restrictions=restrictions)


def _fill(pm: pluggy.PluginManager, hook_name: str, registry: Registry[Any]) -> None:
    # Called plugin by plugin so a duplicate can name both plugins that claimed the name.
    caller = getattr(pm.hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        registry.current_plugin = impl.plugin_name
        impl.function(registry=registry)
    registry.current_plugin = "?"


_default: Pss | None = None


def default_pss() -> Pss:
    """The process-wide manager with everything installed (built lazily, once)."""
    global _default
    if _default is None:
        _default = get_plugin_manager()
    return _default
