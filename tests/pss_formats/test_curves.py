"""The built-in points curves."""

import pytest

from pss_formats.curves import linear_points, papa_points


@pytest.mark.parametrize(
    ("rank", "points"),
    [
        (1, 100),
        (2, 90),
        (3, 85),
        (4, 84),
        (5, 83),
        (10, 78),
        (86, 2),
        (87, 1),
        (88, 0),
        (89, 0),
        (1000, 0),
    ],
)
def test_papa_curve(rank, points):
    assert papa_points(rank) == points


@pytest.mark.parametrize(
    ("rank", "points"),
    [
        (1, 100),
        (2, 99),
        (3, 98),
        (50, 51),
        (100, 1),
        (101, 0),
        (102, 0),
        (5000, 0),
    ],
)
def test_linear_curve(rank, points):
    assert linear_points(rank) == points


@pytest.mark.parametrize("curve", [papa_points, linear_points])
def test_curves_never_rise_and_start_at_rank_one(curve):
    values = [curve(r) for r in range(1, 300)]
    assert values == sorted(values, reverse=True)
    with pytest.raises(ValueError, match="ranks start at 1"):
        curve(0)


def test_curves_are_registered_with_titles(pss):
    assert pss.curves["papa"].table(4) == [100, 90, 85, 84]
    assert pss.curves["linear"].table(3) == [100, 99, 98]
    assert pss.curves.owner("papa") == "pss_formats.curves"
