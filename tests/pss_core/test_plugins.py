"""The plugin manager: built-ins, duplicate names refused, installed entry points found."""

import pytest

from pss_core import hookimpl
from pss_core.contract import FormatSpec, PointsCurve
from pss_core.errors import DuplicateRegistration, NotFound
from pss_core.plugins import builtin_entry_points, get_plugin_manager


def test_builtin_formats_and_curves(pss):
    assert {f.name for f in pss.formats} >= {"herb", "limited_herb", "papa", "team"}
    assert {c.name for c in pss.curves} >= {"papa", "linear"}
    assert pss.formats.owner("herb") == "pss_formats.herb"


class DuplicateHerb:
    @hookimpl
    def pss_register_formats(self, registry):
        registry.add(FormatSpec("herb", "Another HERB"))


def test_duplicate_format_is_refused_naming_both_plugins(make_pss):
    with pytest.raises(DuplicateRegistration, match=r"'herb'.*pss_formats\.herb"):
        make_pss(DuplicateHerb())


class NewCurve:
    @hookimpl
    def pss_register_points_curves(self, registry):
        registry.add(PointsCurve("flat", "Flat", lambda rank: 1))


def test_plugin_adds_curve(make_pss):
    pss = make_pss(NewCurve())
    assert pss.curves["flat"].points(50) == 1


def test_unknown_format_is_a_clear_error(pss):
    with pytest.raises(NotFound, match="There is no format called 'chess'"):
        pss.formats["chess"]


def test_unknown_hook_is_refused():
    class Typo:
        @hookimpl
        def pss_register_formatz(self, registry):
            pass

    from pluggy import PluginValidationError

    with pytest.raises(PluginValidationError):
        get_plugin_manager([Typo()], load_entrypoints=False)


def test_entry_point_plugin_installed_with_pip_is_found():
    # plugins/pss-extra-curves is pip-installed by the test setup; its entry point registers it.
    pss = get_plugin_manager()
    assert "geometric" in pss.curves
    assert pss.curves.owner("geometric") == "extra_curves"
    assert {ep.name for ep in builtin_entry_points()} <= {
        name for name, _ in pss.pm.list_name_plugin()
    }


def test_builtins_are_entry_points_of_pss_itself():
    # The built-in formats load the way an outside plugin does, not from a list inside pss.
    names = {ep.name for ep in builtin_entry_points()}
    assert names == {
        "pss_core.notify",
        "pss_core.push",
        "pss_core.payments.stripe_gateway",
        "pss_formats.curves",
        "pss_formats.herb",
        "pss_formats.papa",
        "pss_formats.team",
        "pss_formats.meta",
        "pss_formats.finals",
    }
    # Named after the module (or the package) that registers them.
    assert all(
        ep.value == ep.name or ep.value.startswith(ep.name + ".") for ep in builtin_entry_points()
    )
    assert {
        f.name for f in get_plugin_manager(builtins=False, load_entrypoints=False).formats
    } == set()


def test_test_managers_skip_entry_points(pss):
    assert "geometric" not in pss.curves
