"""Extra points curves for pss, a separate distribution found through the ``pss`` entry point."""

from __future__ import annotations

from pss_core import hookimpl
from pss_core.contract import PointsCurve, Registry

TOP_TEN = (25, 18, 15, 12, 10, 8, 6, 4, 2, 1)


def geometric_points(rank: int) -> int:
    """100 for first, each place 10% fewer points than the one above, rounded."""
    return round(100 * 0.9 ** (rank - 1))


def top_ten_points(rank: int) -> int:
    """25, 18, 15, 12, 10, 8, 6, 4, 2, 1 for the top ten places, 0 below."""
    return TOP_TEN[rank - 1] if rank <= len(TOP_TEN) else 0


@hookimpl
def pss_register_points_curves(registry: Registry[PointsCurve]) -> None:
    registry.add(PointsCurve("geometric", "Geometric (100, 90, 81 …)", geometric_points))
    registry.add(PointsCurve("top10", "Top ten (25, 18, 15 …)", top_ten_points))
