"""Pingolf: every machine is a hole with a target score. A hole takes the games (strokes) up to the
first that reaches its target, or ``max_strokes`` if none does; a hole not finished counts
``max_strokes``. The fewest strokes over all holes wins."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import Format, FormatSpec, OptionSpec, PointsCurve, ScoreRow, hookimpl
from pss_core.contract import GameStart, Ranking, Registry, Standings
from pss_core.errors import InvalidInput, Refused
from pss_core.models import Entry, EntryStatus, Score

#: A hole is worth its strokes.
STROKES = PointsCurve("strokes", "Strokes", lambda place: place.score, by_place=True)


def strokes(scores: Sequence[int], target: int, most: int) -> int | None:
    """The strokes a hole took, or ``None`` while it is not finished."""
    for n, score in enumerate(scores, 1):
        if score >= target:
            return n
    return most if len(scores) >= most else None


class Pingolf(Format):
    def check_options(self, options: Mapping[str, Any], machines: Sequence[str]) -> None:
        missing = [m for m in machines if m not in options["targets"]]
        if missing:
            raise InvalidInput(f"Every hole needs a target: {', '.join(missing)} has none.")

    def check_game_start(
        self, session: Session, game: GameStart, options: Mapping[str, Any]
    ) -> None:
        hole = game.machine.machine.name
        if hole not in options["targets"]:
            raise Refused(f"{hole} has no target yet.", code="no_target")
        scores = session.scalars(
            select(Score.score)
            .join(Entry)
            .where(
                Entry.player_id == game.player.id,
                Entry.status == EntryStatus.COMPLETE,
                Score.tournament_machine_id == game.machine.id,
            )
            .order_by(Score.id)
        ).all()
        if strokes(scores, options["targets"][hole], options["max_strokes"]) is not None:
            raise Refused(f"{game.player.name} has finished {hole}.", code="hole_finished")

    def standings_from_rows(
        self, rows: Sequence[ScoreRow], options: Mapping[str, Any], ranking: Ranking
    ) -> Standings:
        games: defaultdict[tuple[str, int | None, str], list[int]] = defaultdict(list)
        for row in rows:
            games[row.player, row.player_id, row.machine].append(row.score)
        most = options["max_strokes"]
        holes = [
            ScoreRow(p, hole, strokes(games[p, pid, hole], target, most) or most, player_id=pid)
            for p, pid in {(p, pid) for p, pid, _ in games}
            for hole, target in options["targets"].items()
        ]
        return ranking.herb(
            holes,
            machines_counted=max(len(options["targets"]), 1),
            curve=STROKES,
            lowest_wins=True,
            fewest_points_win=True,
        )


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(
        FormatSpec(
            "pingolf",
            "Pingolf",
            "Reach each machine's target in as few games as you can.",
            options=(
                OptionSpec(
                    "targets",
                    "per_machine",
                    {},
                    "Targets",
                    "The score to reach on each machine.",
                    minimum=1,
                ),
                OptionSpec(
                    "max_strokes", "int", 5, "Most strokes", "Games a hole may take.", minimum=1
                ),
            ),
            format=Pingolf(),
            points_label="Strokes",
            score_label="Strokes",
        )
    )
