"""Points curves: how a rank on a machine turns into points, registered by plugins and chosen by a
format's ``points_curve`` option."""

from __future__ import annotations

from collections.abc import Callable

import attrs


@attrs.frozen
class PointsCurve:
    """Turns a 1-based rank on a machine into points; registered in
    ``pss_register_points_curves`` and chosen by a ``points_curve`` option."""

    #: The name stored in the tournament's options (``papa``).
    name: str
    #: What organizers read in the options form.
    title: str
    #: A pure function of the rank (pss works out a table of it once per process).
    points: Callable[[int], int]
    #: One sentence on how the points fall.
    description: str = ""

    def table(self, ranks: int) -> list[int]:
        """Points for ranks 1..``ranks`` (used to build SQL lookups)."""
        return [self.points(r) for r in range(1, ranks + 1)]
