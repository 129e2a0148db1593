"""The built-in points curves: ``papa`` and ``linear``."""

from __future__ import annotations

from pss_core import hookimpl
from pss_core.contract import PointsCurve, Registry


def papa_points(rank: int) -> int:
    """PAPA's curve: 100, 90, 85, then 88 - rank (84, 83 ... 1), and 0 from rank 88 on."""
    if rank < 1:
        raise ValueError("ranks start at 1")
    if rank == 1:
        return 100
    if rank == 2:
        return 90
    if rank == 3:
        return 85
    return max(88 - rank, 0)


def linear_points(rank: int) -> int:
    """100 for first, one less for each place below, never below 0."""
    if rank < 1:
        raise ValueError("ranks start at 1")
    return max(101 - rank, 0)


@hookimpl
def pss_register_points_curves(registry: Registry[PointsCurve]) -> None:
    registry.add(PointsCurve("papa", "PAPA (100, 90, 85, 84 …)", papa_points,
                             "Rank 1 = 100, 2 = 90, 3 = 85, then 88 - rank down to 1."))
    registry.add(PointsCurve("linear", "Linear (100, 99, 98 …)", linear_points,
                             "Rank 1 = 100 and one point less per place, down to 0."))
