"""League night: on each machine the best score gets one point per player there and each place
below one fewer (N - rank + 1); tied players share their places' points evenly, so two tied for
3rd of 20 get 17.5 each. A player's best machines are added up."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from pss_core import Format, FormatSpec, OptionSpec, PointsCurve, hookimpl
from pss_core.contract import Ranking, Registry, ScoreRow, Standings
from pss_core.models import Tournament

#: N - rank + 1, where N is how many played the machine.
FIELD = PointsCurve(
    "field",
    "Field size (N, N - 1 … 1)",
    lambda place: place.players - place.rank + 1,
    "The winner gets one point per player on the machine, each place one fewer.",
    by_place=True,
)


class LeagueNight(Format):
    def standings_from_sql(
        self, session: Session, tournament: Tournament, options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        return ranking.sql_herb(
            session,
            tournament,
            machines_counted=options["machines_counted"],
            curve=ranking.curve(options),
            ties=options["ties"],
        )

    def standings_from_rows(
        self, rows: Sequence[ScoreRow], options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        return ranking.herb(
            rows,
            machines_counted=options["machines_counted"],
            curve=ranking.curve(options),
            ties=options["ties"],
        )


@hookimpl
def pss_register_points_curves(registry: Registry[PointsCurve]) -> None:
    registry.add(FIELD)


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(
        FormatSpec(
            "league_night",
            "League night",
            "Field-size points on every machine, ties averaged.",
            options=(
                OptionSpec("machines_counted", "int", 5, "Machines counted", minimum=1),
                OptionSpec("points_curve", "points_curve", "field", "Points curve"),
                OptionSpec(
                    "ties",
                    "choice",
                    "average",
                    "Ties",
                    "Average: tied players share their "
                    "places' points; share: each gets the higher place's.",
                    choices=("average", "share"),
                ),
            ),
            format=LeagueNight(),
        )
    )
