from importlib.metadata import entry_points

from pss_extra_curves import geometric_points, top_ten_points

from pss_core.plugins import get_plugin_manager


def test_entry_point_is_installed_and_loaded():
    names = {ep.name for ep in entry_points(group="pss")}
    assert "extra_curves" in names
    pss = get_plugin_manager()
    assert "geometric" in pss.curves
    assert pss.curves.owner("top10") == "extra_curves"


def test_curves():
    assert [geometric_points(r) for r in (1, 2, 3)] == [100, 90, 81]
    assert [top_ten_points(r) for r in (1, 2, 10, 11)] == [25, 18, 1, 0]
