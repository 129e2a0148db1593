"""The built-in points curves: ``papa``, ``linear``, ``papa_circuit`` and ``percent_of_top``."""

from __future__ import annotations

from fractions import Fraction

from pss_core import hookimpl
from pss_core.contract import Place, PointsCurve, Registry

#: The PAPA circuit's points for the top 24 of an event; 25th-32nd get 4, 33rd-40th 3.
CIRCUIT = (
    100,
    75,
    60,
    50,
    45,
    40,
    35,
    30,
    28,
    26,
    24,
    22,
    20,
    18,
    16,
    14,
    12,
    11,
    10,
    9,
    8,
    7,
    6,
    5,
)


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


def circuit_points(rank: int) -> int:
    """The PAPA circuit: 100, 75, 60, 50, 45 … 5 for the top 24, 4 to 32nd, 3 to 40th, then 0."""
    if rank < 1:
        raise ValueError("ranks start at 1")
    if rank <= len(CIRCUIT):
        return CIRCUIT[rank - 1]
    return 4 if rank <= 32 else 3 if rank <= 40 else 0


def percent_of_top(place: Place) -> Fraction:
    """100 * your score / the top score on the machine, exactly (0 where the top score is 0)."""
    return Fraction(100 * place.score, place.top) if place.top else Fraction(0)


@hookimpl
def pss_register_points_curves(registry: Registry[PointsCurve]) -> None:
    registry.add(
        PointsCurve(
            "papa",
            "PAPA (100, 90, 85, 84 …)",
            papa_points,
            "Rank 1 = 100, 2 = 90, 3 = 85, then 88 - rank down to 1.",
        )
    )
    registry.add(
        PointsCurve(
            "linear",
            "Linear (100, 99, 98 …)",
            linear_points,
            "Rank 1 = 100 and one point less per place, down to 0.",
        )
    )
    registry.add(
        PointsCurve(
            "papa_circuit",
            "PAPA circuit (100, 75, 60, 50 …)",
            circuit_points,
            "The PAPA circuit's event points: 100, 75, 60, 50, 45, 40 … down "
            "to 3 for 40th, 0 below.",
        )
    )
    registry.add(
        PointsCurve(
            "percent_of_top",
            "Percent of the top score",
            percent_of_top,
            "Your score as a percentage of the best score on the machine.",
            by_place=True,
        )
    )
