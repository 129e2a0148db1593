"""Builds the plugin manager: hookspecs, then the plugins of entry point group ``pss`` (pss's own
first, so that they load exactly like outside plugins), then ``check_pending()``."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from pss_core import hookspecs
from pss_core.contract import (
    Format,
    FormatSpec,
    PaymentProviderSpec,
    PointsCurve,
    Registry,
    RestrictionKind,
)
from pss_core.errors import Refused

if TYPE_CHECKING:
    from pss_core.models import Tournament

ENTRY_POINT_GROUP = "pss"
#: The distribution whose ``pss`` entry points are the built-in plugins.
OWN_DISTRIBUTION = "pss"


@attrs.define
class Pss:
    """A ready plugin manager with the registries its plugins filled."""

    pm: pluggy.PluginManager
    formats: Registry[FormatSpec]
    curves: Registry[PointsCurve]
    restrictions: Registry[RestrictionKind]
    payment_providers: Registry[PaymentProviderSpec]

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def format_for(self, tournament: Tournament) -> tuple[Format, dict[str, Any]]:
        """The tournament's own format object and its resolved options: what pss calls instead
        of asking every plugin whether the tournament is theirs."""
        if tournament.format not in self.formats:
            raise Refused(
                f"The format of {tournament.name} ({tournament.format}) is not installed.",
                code="unknown_format",
            )
        spec = self.formats[tournament.format]
        return spec.format, spec.resolve_options(tournament.format_options or {})


def builtin_entry_points() -> list[EntryPoint]:
    """pss's own ``pss`` entry points (the built-in formats, curves, notifications and the
    Stripe payment provider), by name."""
    return sorted(
        (
            ep
            for ep in entry_points(group=ENTRY_POINT_GROUP)
            if ep.dist is not None and ep.dist.name == OWN_DISTRIBUTION
        ),
        key=lambda ep: ep.name,
    )


def get_plugin_manager(
    plugins: Iterable[object] = (),
    *,
    builtins: bool = True,
    load_entrypoints: bool = True,
) -> Pss:
    """Build the manager. Tests pass ``load_entrypoints=False`` and the plugins they want; the
    built-ins (pss's own entry points) still load unless ``builtins`` is false."""
    pm = pluggy.PluginManager("pss")
    pm.add_hookspecs(hookspecs)
    if builtins:
        # Before the given plugins, so a duplicate name is blamed on the later plugin.
        for ep in builtin_entry_points():
            if pm.get_plugin(ep.name) is None:
                pm.register(ep.load(), name=ep.name)
    for plugin in plugins:
        pm.register(plugin)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    pm.check_pending()
    formats: Registry[FormatSpec] = Registry("format")
    curves: Registry[PointsCurve] = Registry("points curve")
    restrictions: Registry[RestrictionKind] = Registry("restriction kind")
    providers: Registry[PaymentProviderSpec] = Registry("payment provider")
    _fill(pm, "pss_register_formats", formats)
    _fill(pm, "pss_register_points_curves", curves)
    _fill(pm, "pss_register_restrictions", restrictions)
    _fill(pm, "pss_register_payment_providers", providers)
    return Pss(
        pm=pm,
        formats=formats,
        curves=curves,
        restrictions=restrictions,
        payment_providers=providers,
    )


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
