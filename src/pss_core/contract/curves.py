"""Points curves: how a place on a machine turns into points, registered by plugins and chosen by
a format's ``points_curve`` option."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from pss_core.contract.points import Points, exact_points


@attrs.frozen
class Place:
    """Where one score landed on its machine: what a curve with ``by_place`` is handed."""

    #: 1-based rank on the machine (equal scores share it).
    rank: int
    #: How many competitors (or entries, PAPA-style) have a score on the machine.
    players: int
    #: The best score on the machine (the lowest when the lowest score wins).
    top: int
    #: The score being placed.
    score: int


@attrs.frozen
class PointsCurve:
    """Turns a place on a machine into points; registered in ``pss_register_points_curves`` and
    chosen by a ``points_curve`` option. Points may be whole numbers or exact fractions
    (:class:`fractions.Fraction`); a float is read by its shortest decimal form.

    A curve of the rank alone (the default) is worked out once per process and ranked inside the
    database. With ``by_place`` it is handed a :class:`Place` instead, so "N - rank + 1" is
    ``lambda p: p.players - p.rank + 1`` and "% of the top score" is
    ``lambda p: Fraction(100 * p.score, p.top)``; the database then ranks and pss adds up."""

    #: The name stored in the tournament's options (``papa``).
    name: str
    #: What organizers read in the options form.
    title: str
    #: A pure function of the rank (or, with ``by_place``, of a :class:`Place`).
    points: Callable[[Any], Any]
    #: One sentence on how the points fall.
    description: str = ""
    #: ``points`` takes a :class:`Place` (rank, players on the machine, top score, score).
    by_place: bool = False

    def at(self, place: Place) -> Points:
        """The exact points for ``place``."""
        return exact_points(self.points(place if self.by_place else place.rank))

    def of_rank(self, rank: int) -> Points:
        """The exact points for ``rank`` (curves of the rank alone)."""
        if self.by_place:
            raise TypeError(f"the {self.name} curve needs a Place, not a rank")
        return exact_points(self.points(rank))

    def table(self, ranks: int) -> list[Points]:
        """Points for ranks 1..``ranks`` (curves of the rank alone; used to build SQL lookups)."""
        return [self.of_rank(r) for r in range(1, ranks + 1)]
