"""Standings values: the score rows a format ranks, and the standings it returns. Pages, the TV
view, ``pss standings`` and the JSON API all render these."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from pss_core.contract.points import Points, exact_points, points_exact, points_json, points_text
from pss_core.errors import InvalidInput

if TYPE_CHECKING:
    from pss_core.contract.curves import PointsCurve
    from pss_core.contract.registry import Registry

#: The largest score a ``BIGINT`` column holds.
MAX_SCORE = 2**63 - 1


def natural_key(text_: str) -> tuple[Any, ...]:
    # "Entry 9" before "Entry 10", and numeric ids in numeric order.
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
        for part in re.split(r"(\d+)", text_)
        if part
    )


def _check_score(instance: Any, attribute: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a score is a whole number, not {value!r}")
    if not 0 <= value <= MAX_SCORE:
        raise ValueError(f"a score is between 0 and {MAX_SCORE}, not {value}")


# --- values ---------------------------------------------------------------------------------


@attrs.frozen
class ScoreRow:
    """One recorded game, as :meth:`~pss_core.contract.Format.standings_from_rows` sees it."""

    #: Who played the game (a name, or any string that tells players apart).
    player: str
    #: The machine it was played on.
    machine: str
    #: The score, a whole number from 0 to :data:`MAX_SCORE`.
    score: int = attrs.field(validator=_check_score)
    #: The entry the game belongs to (PAPA-style); ``None`` where every game is its own entry.
    entry: str | None = None
    #: The team the player played for (team formats); the team, not the player, is ranked.
    team: str | None = None
    #: ``EventPlayer.id`` for rows from the database (``player`` is then their name); ``None``
    #: from a CSV file. Where set, the engines tell players apart by it, not by name.
    player_id: int | None = None
    #: ``Team.id`` for rows from the database (``team`` is then its name).
    team_id: int | None = None
    #: ``TournamentMachine.id`` for rows from the database (``machine`` is then its name).
    machine_id: int | None = None
    #: ``Entry.id`` for rows from the database (``entry`` is then that id as text).
    entry_id: int | None = None
    #: Where the row came from (a CSV line), for error messages; not part of its value.
    line: int | None = attrs.field(default=None, eq=False)

    @property
    def owner(self) -> str:
        """Who the game counts for: the team in team play, otherwise the player."""
        return self.team if self.team is not None else self.player

    def owner_key(self, team: bool = False) -> tuple[Any, ...]:
        """What tells owners apart: the id where the row has one, otherwise the name."""
        if team:
            return ("team", self.team_id) if self.team_id is not None else ("name", self.team)
        return ("player", self.player_id) if self.player_id is not None else ("name", self.player)

    def invalid(self, problem: str) -> InvalidInput:
        """The error for a row a format cannot accept, naming its line: ``raise
        row.invalid("...")``."""
        where = f"Line {self.line}: " if self.line is not None else ""
        return InvalidInput(f"{where}{problem}", code="bad_score_row", line=self.line)


@attrs.frozen
class Competitor:
    """A player or a team as the standings show them."""

    #: The player's full name or the team's name.
    name: str
    #: ``EventPlayer.id`` or ``Team.id`` for standings from the database; ``None`` from rows.
    id: int | None = None
    #: The player number (players only).
    number: int | None = None
    #: Team members' names, in the order they joined (teams only).
    members: tuple[str, ...] = ()
    #: A team, not a player.
    team: bool = False

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Order among equal ranks: by player number, then by name (numbers first)."""
        if self.number is not None:
            return (0, self.number, self.name)
        return (1, 0, natural_key(self.name))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "id": self.id, "team": self.team}
        if self.team:
            data["members"] = list(self.members)
        else:
            data["number"] = self.number
        return data


@attrs.frozen
class MachineResult:
    """One score's place on its machine: in HERB a competitor's best score there, in PAPA-style one
    game of an entry."""

    #: The machine's name.
    machine: str
    #: The score placed (a whole number up to :data:`MAX_SCORE`).
    score: int
    #: 1-based rank on the machine; equal scores share a rank and the next one is skipped.
    rank: int
    #: The points the rank is worth by the tournament's curve: an ``int``, or an exact
    #: :class:`fractions.Fraction` (ties averaged, a percentage of the top score).
    points: Points = attrs.field(converter=exact_points)
    #: Whether the points are part of the competitor's total.
    counted: bool
    #: ``TournamentMachine.id`` for standings from the database (or rows that carry it).
    machine_id: int | None = None

    @property
    def points_text(self) -> str:
        """The points as pages show them (``17.5``)."""
        return points_text(self.points)

    def as_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "machine_id": self.machine_id,
            "score": self.score,
            "rank": self.rank,
            **_points_json(self.points),
            "counted": self.counted,
        }


@attrs.frozen
class EntryResult:
    """A completed PAPA-style entry: its games, their points summed, and whether it counts."""

    #: The entry as the rows name it (its id, for standings from the database).
    entry: str
    #: The sum of its games' points (an ``int`` or an exact ``Fraction``).
    points: Points = attrs.field(converter=exact_points)
    #: Whether it is one of the entries summed for the standing.
    counted: bool
    #: Its games, one per machine, in bank order.
    games: tuple[MachineResult, ...]
    #: ``Entry.id`` for standings from the database; ``None`` from rows.
    entry_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "entry_id": self.entry_id,
            **_points_json(self.points),
            "counted": self.counted,
            "games": [g.as_dict() for g in self.games],
        }


@attrs.frozen
class Standing:
    """One line of the standings."""

    #: 1-based; equal totals share a rank and the next one is skipped (1, 1, 3).
    rank: int
    #: Who the line is for.
    competitor: Competitor
    #: The total the rank is by (an ``int`` or an exact ``Fraction``; the lowest ranks first
    #: when :attr:`Standings.lowest_wins`).
    points: Points = attrs.field(converter=exact_points)
    #: HERB: every machine the competitor has a score on, counted ones first (best points first).
    machines: Sequence[MachineResult] = ()
    #: PAPA-style: every completed entry, counted ones first (best first).
    entries: Sequence[EntryResult] = ()
    #: Inside the qualifying cut (which takes in everyone tied at the line).
    qualified: bool = False

    @property
    def name(self) -> str:
        return self.competitor.name

    @property
    def points_text(self) -> str:
        """The total as pages show it: ``17.5``, never ``17.500000001``."""
        return points_text(self.points)

    @property
    def counted_machines(self) -> tuple[MachineResult, ...]:
        return tuple(m for m in self.machines if m.counted)

    @property
    def counted_entries(self) -> tuple[EntryResult, ...]:
        return tuple(e for e in self.entries if e.counted)

    def as_dict(self, *, breakdown: bool = True) -> dict[str, Any]:
        """Without ``breakdown`` the row leaves out its machines and entries."""
        data = {
            "rank": self.rank,
            "competitor": self.competitor.as_dict(),
            "name": self.competitor.name,
            **_points_json(self.points),
            "qualified": self.qualified,
        }
        if breakdown:
            data["machines"] = [m.as_dict() for m in self.machines]
            data["entries"] = [e.as_dict() for e in self.entries]
        return data


def _points_json(points: Points) -> dict[str, Any]:
    # A JSON number (17.5); the exact fraction beside it when the points are not whole.
    exact = points_exact(points)
    return (
        {"points": points_json(points)}
        if exact is None
        else {"points": points_json(points), "points_exact": exact}
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, Fraction):
        return points_text(value, 12) if (value * 10**12).denominator == 1 else str(value)
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _freeze_options(options: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(options))


@attrs.frozen
class Standings:
    """A tournament's standings: rows in display order with how each total was made."""

    #: The name of the tournament's format.
    format: str
    #: One :class:`Standing` per competitor, best first (equal ranks by player number, then name).
    rows: tuple[Standing, ...]
    #: The tournament's resolved format options (read-only).
    options: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_freeze_options, eq=False, hash=False
    )
    #: Teams, not players, are ranked.
    team: bool = False
    #: The machines that count, in bank order (removed machines are left out).
    machines: tuple[str, ...] = ()
    #: How many qualify (the tournament's qualifying cut); ``None`` when there is no cut.
    cut: int | None = None
    #: The tournament ranked (``None`` without a database).
    tournament_id: int | None = None
    #: The tournament version the standings were computed at (``None`` without a database).
    version: int | None = None
    #: Plain-words remarks, such as entries left out because they are incomplete.
    notes: tuple[str, ...] = ()
    #: The lowest total ranks first (pingolf: fewest strokes wins).
    lowest_wins: bool = False
    #: The column heading for totals ("Points", "Strokes"), from
    #: :attr:`~pss_core.contract.FormatSpec.points_label`.
    points_label: str = "Points"
    #: The column heading for a machine's score, from
    #: :attr:`~pss_core.contract.FormatSpec.score_label`.
    score_label: str = "Score"

    def __iter__(self) -> Iterator[Standing]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def qualifiers(self) -> tuple[Standing, ...]:
        """The rows inside the cut (everyone tied at the line included)."""
        return tuple(row for row in self.rows if row.qualified)

    def find(self, *, name: str | None = None, id: int | None = None) -> Standing | None:
        """The row of the competitor with ``name`` or ``id``, or ``None``."""
        for row in self.rows:
            if (id is not None and row.competitor.id == id) or (
                name is not None and row.competitor.name == name
            ):
                return row
        return None

    def csv_rows(self) -> list[tuple[int, str, int | str]]:
        """``(rank, name, points)`` per row, as ``pss standings`` prints them: whole points as
        integers, others as text without noise (``17.5``)."""
        return [
            (
                row.rank,
                row.competitor.name,
                row.points if isinstance(row.points, int) else row.points_text,
            )
            for row in self.rows
        ]

    def as_dict(self, *, breakdown: bool = True) -> dict[str, Any]:
        """A JSON-ready form: plain dicts, lists, strings and numbers. Points are JSON numbers
        (whole ones integers, others to six decimals) with ``points_exact`` (``"35/2"``) beside
        those that are not whole; decimal options are text (``"2.5"``). Without ``breakdown``
        the rows leave out their machines and entries."""
        return {
            "format": self.format,
            "options": _json_value(dict(self.options)),
            "team": self.team,
            "tournament_id": self.tournament_id,
            "version": self.version,
            "machines": list(self.machines),
            "cut": self.cut,
            "qualifiers": len(self.qualifiers),
            "notes": list(self.notes),
            "lowest_wins": self.lowest_wins,
            "points_label": self.points_label,
            "score_label": self.score_label,
            "standings": [row.as_dict(breakdown=breakdown) for row in self.rows],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.as_dict(), **kwargs)


@attrs.frozen
class Ranking:
    """What pss hands a format's standings methods: the installed points curves and pss's ranking
    engines, so a format ranks without importing pss internals. Each engine is the function of
    the same name in :mod:`pss_core.standings` (see there for its arguments)."""

    #: The installed points curves.
    curves: Registry[PointsCurve]
    #: HERB over score rows: ``herb(rows, *, machines_counted, curve, team=False,
    #: ties="share", lowest_wins=False, fewest_points_win=False)``. ``ties="average"`` gives
    #: tied scores the average of the points of the places they take (two tied for 3rd of 20 by
    #: "N - rank + 1" get 17.5 each); ``lowest_wins`` ranks the lowest score on a machine first
    #: (and keeps a player's lowest there); ``fewest_points_win`` ranks the lowest total first
    #: and counts a player's lowest-points machines.
    herb: Callable[..., Standings]
    #: PAPA-style entries over score rows: ``entries(rows, *, entries_counted, curve,
    #: games_per_entry=None, ties="share", lowest_wins=False, fewest_points_win=False)``.
    entries: Callable[..., Standings]
    #: HERB in the database: ``sql_herb(session, tournament, *, machines_counted, curve,
    #: team=False, ties="share", lowest_wins=False, fewest_points_win=False)``; equal to
    #: ``herb`` over the same scores.
    sql_herb: Callable[..., Standings]
    #: PAPA-style entries in the database: ``sql_entries(session, tournament, *,
    #: entries_counted, curve, ties="share", lowest_wins=False, fewest_points_win=False)``.
    sql_entries: Callable[..., Standings]

    def curve(self, options: Mapping[str, Any], name: str = "points_curve") -> PointsCurve:
        """The curve the option ``name`` of ``options`` chooses."""
        return self.curves[str(options[name])]
