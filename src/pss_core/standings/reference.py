"""The reference engine: HERB and PAPA-style standings computed in Python from plain
:class:`~pss_core.contract.ScoreRow` values. ``pss standings`` uses it for CSV files, formats use it
through :class:`~pss_core.contract.Ranking`, and the tests hold the SQL engine to it."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

from pss_core.contract.curves import Place
from pss_core.contract.points import Points, exact_points
from pss_core.contract.standings import (
    Competitor,
    EntryResult,
    MachineResult,
    ScoreRow,
    Standing,
    Standings,
    natural_key,
)
from pss_core.errors import InvalidInput

if TYPE_CHECKING:
    from pss_core.contract.curves import PointsCurve


def apply_cut(standings: Standings, cut: int | None) -> Standings:
    """Mark who qualifies: everyone ranked ``cut`` or better, so a tie at the line takes everyone
    tied there (a cut of 4 over ranks 1, 2, 3, 4, 4, 6 qualifies five)."""
    if cut is not None and cut < 0:
        raise InvalidInput("A qualifying cut cannot be negative.", code="invalid_cut")
    if all(row.qualified == (cut is not None and row.rank <= cut) for row in standings.rows):
        return standings if standings.cut == cut else attrs.evolve(standings, cut=cut)
    rows = tuple(
        attrs.evolve(row, qualified=cut is not None and row.rank <= cut) for row in standings.rows
    )
    return attrs.evolve(standings, rows=rows, cut=cut)


def competition_ranks(totals: Sequence[Points]) -> list[int]:
    """Ranks for ``totals`` sorted best first: equal values share a rank, the next is skipped."""
    ranks: list[int] = []
    for i, value in enumerate(totals):
        ranks.append(ranks[-1] if i and value == totals[i - 1] else i + 1)
    return ranks


TIES = ("share", "average")


def check_ties(ties: str) -> None:
    """Refuse a ``ties`` argument other than ``share`` and ``average``."""
    if ties not in TIES:
        raise InvalidInput(f"Ties are shared or averaged, not {ties!r}.", code="invalid_option")


def _order_standings(
    items: Iterable[tuple[Competitor, Points, Any]], fewest_points_win: bool = False
) -> list[tuple[int, Any]]:
    # Best total first; among equal totals by player number, then name.
    sign = 1 if fewest_points_win else -1
    ordered = sorted(items, key=lambda item: (sign * item[1], item[0].sort_key))
    ranks = competition_ranks([total for _, total, _ in ordered])
    return list(zip(ranks, ordered, strict=True))


class PlacePoints:
    """Points for places on one machine by ``curve``: a rank-only curve is asked once per rank
    (per process, the SQL engine's lookup does the same), a ``by_place`` curve once per place.
    With ``ties="average"``, a tie of ``k`` scores from rank ``r`` gets the average of the points
    of ranks ``r`` to ``r + k - 1``."""

    def __init__(self, curve: PointsCurve, ties: str = "share") -> None:
        check_ties(ties)
        self.curve = curve
        self.average = ties == "average"
        self.memo: dict[int, Points] = {}

    def rank_points(self, rank: int) -> Points:
        if rank not in self.memo:
            self.memo[rank] = self.curve.of_rank(rank)
        return self.memo[rank]

    def __call__(self, rank: int, tied: int, players: int, top: int, score: int) -> Points:
        ranks = range(rank, rank + tied) if self.average else (rank,)
        if self.curve.by_place:
            values = [self.curve.at(Place(r, players, top, score)) for r in ranks]
        else:
            values = [self.rank_points(r) for r in ranks]
        if len(values) == 1:
            return values[0]
        return exact_points(Fraction(sum(values)) / len(values))


def place_on_machine(
    pairs: list[tuple[int, Any]], points: PlacePoints, lowest_wins: bool = False
) -> list[tuple[Any, int, int, Points]]:
    """Rank one machine's ``(score, holder)`` pairs: ``(holder, score, rank, points)`` best
    first."""
    pairs.sort(key=lambda p: p[0], reverse=not lowest_wins)
    scores = [score for score, _ in pairs]
    ranks = competition_ranks(scores)
    tied = Counter(scores)
    players, top = len(pairs), scores[0] if scores else 0
    return [
        (holder, score, rank, points(rank, tied[score], players, top, score))
        for rank, (score, holder) in zip(ranks, pairs, strict=True)
    ]


def _machine_places(
    scores: Mapping[str, list[tuple[int, Any]]],
    curve: PointsCurve,
    ties: str = "share",
    lowest_wins: bool = False,
    machine_ids: Mapping[str, int | None] | None = None,
) -> dict[Any, list[MachineResult]]:
    """Rank each machine's ``(score, holder)`` pairs; returns results per holder."""
    points = PlacePoints(curve, ties)
    ids = machine_ids or {}
    results: dict[Any, list[MachineResult]] = defaultdict(list)
    for machine, pairs in scores.items():
        for holder, score, rank, pts in place_on_machine(pairs, points, lowest_wins):
            results[holder].append(
                MachineResult(machine, score, rank, pts, False, ids.get(machine))
            )
    return results


def _pick_best(
    results: list[MachineResult], n: int, fewest_points_win: bool = False
) -> tuple[tuple[MachineResult, ...], Points]:
    sign = 1 if fewest_points_win else -1
    results.sort(key=lambda r: (sign * r.points, natural_key(r.machine)))
    picked = tuple(attrs.evolve(r, counted=i < n) for i, r in enumerate(results))
    return picked, exact_points(sum((r.points for r in picked[:n]), Fraction(0)))


def _competitors(
    rows: Iterable[ScoreRow], team: bool
) -> tuple[list[ScoreRow], dict[tuple[Any, ...], Competitor]]:
    """The rows, and who each owner is: named by the rows, with the row's id where it has one;
    team members in name order."""
    rows = list(rows)
    names: dict[tuple[Any, ...], tuple[str, int | None]] = {}
    members: dict[tuple[Any, ...], dict[str, None]] = defaultdict(dict)
    for row in rows:
        if team and row.team is None:
            raise row.invalid(f"{row.player} played for no team.")
        key = row.owner_key(team)
        if team:
            names.setdefault(key, (str(row.team), row.team_id))
            members[key][row.player] = None
        else:
            names.setdefault(key, (row.player, row.player_id))
    return rows, {
        key: Competitor(
            name,
            id=id_,
            team=team,
            members=tuple(sorted(members[key], key=natural_key)) if team else (),
        )
        for key, (name, id_) in names.items()
    }


def herb_standings(
    rows: Iterable[ScoreRow],
    *,
    machines_counted: int,
    curve: PointsCurve,
    format: str = "herb",
    options: Mapping[str, Any] | None = None,
    team: bool = False,
    ties: str = "share",
    lowest_wins: bool = False,
    fewest_points_win: bool = False,
) -> Standings:
    """HERB (best game), computed in Python: each competitor's best score per machine is ranked
    against everyone's best there, places become points by ``curve``, and the best
    ``machines_counted`` results are summed. With ``team``, rows are ranked per ``row.team``.

    ``ties="average"`` gives tied scores the average points of the places they take;
    ``lowest_wins`` makes the lowest score best on a machine; ``fewest_points_win`` ranks the
    lowest total first and counts each competitor's lowest-points machines."""
    if machines_counted < 1:
        raise InvalidInput("At least one machine must count.", code="invalid_option")
    check_ties(ties)
    rows, competitors = _competitors(rows, team)
    best: dict[tuple[Any, str], int] = {}
    machine_ids: dict[str, int | None] = {}
    for row in rows:
        key = (row.owner_key(team), row.machine)
        machine_ids.setdefault(row.machine, row.machine_id)
        known = best.get(key)
        if known is None or (row.score < known if lowest_wins else row.score > known):
            best[key] = row.score
    per_machine: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for (owner, machine), score in best.items():
        per_machine[machine].append((score, owner))
    results = _machine_places(per_machine, curve, ties, lowest_wins, machine_ids)
    lines = []
    for owner, owner_results in results.items():
        picked, total = _pick_best(owner_results, machines_counted, fewest_points_win)
        lines.append((competitors[owner], total, picked))
    return Standings(
        format=format,
        rows=tuple(
            Standing(rank, competitor, total, machines=picked)
            for rank, (competitor, total, picked) in _order_standings(lines, fewest_points_win)
        ),
        options=options or {},
        team=team,
        machines=tuple(sorted(per_machine, key=natural_key)),
        lowest_wins=fewest_points_win,
    )


def entry_standings(
    rows: Iterable[ScoreRow],
    *,
    entries_counted: int,
    curve: PointsCurve,
    games_per_entry: int | None = None,
    format: str = "papa",
    options: Mapping[str, Any] | None = None,
    ties: str = "share",
    lowest_wins: bool = False,
    fewest_points_win: bool = False,
) -> Standings:
    """PAPA-style entries, computed in Python: every game of every complete entry is ranked on its
    machine against all complete entries' games there, an entry scores the sum of its games' points,
    and a player's standing is their best ``entries_counted`` entries summed.

    With ``games_per_entry``, an entry with fewer games is incomplete and left out (with a note),
    and one with more is an error. Each entry belongs to one player and plays a machine once.
    ``ties``, ``lowest_wins`` and ``fewest_points_win`` are as for :func:`herb_standings`."""
    if entries_counted < 1:
        raise InvalidInput("At least one entry must count.", code="invalid_option")
    check_ties(ties)
    rows, competitors = _competitors(rows, False)
    entry_owner: dict[str, tuple[Any, ...]] = {}
    entry_ids: dict[str, int | None] = {}
    entry_games: dict[str, list[ScoreRow]] = defaultdict(list)
    machine_ids: dict[str, int | None] = {}
    for row in rows:
        if row.entry is None or row.entry == "":
            raise row.invalid(
                "No entry given; PAPA-style scores need an 'entry' column saying "
                "which entry each game belongs to."
            )
        owner = entry_owner.setdefault(row.entry, row.owner_key())
        if owner != row.owner_key():
            raise row.invalid(
                f"Entry {row.entry} belongs to {competitors[owner].name}, not {row.player}."
            )
        entry_ids.setdefault(row.entry, row.entry_id)
        machine_ids.setdefault(row.machine, row.machine_id)
        games = entry_games[row.entry]
        if any(g.machine == row.machine for g in games):
            raise row.invalid(
                f"Entry {row.entry} already has a game on {row.machine}; each "
                "game of an entry is on a different machine."
            )
        if games_per_entry is not None and len(games) >= games_per_entry:
            raise row.invalid(f"Entry {row.entry} has more than {games_per_entry} games.")
        games.append(row)
    notes: list[str] = []
    if games_per_entry is not None:
        incomplete = sorted(
            (e for e, g in entry_games.items() if len(g) < games_per_entry), key=natural_key
        )
        if incomplete:
            notes.append(f"Incomplete entries are not counted: {', '.join(incomplete)}.")
        for e in incomplete:
            del entry_games[e]
    per_machine: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for entry, games in entry_games.items():
        for g in games:
            per_machine[g.machine].append((g.score, entry))
    games_of = _machine_places(per_machine, curve, ties, lowest_wins, machine_ids)
    per_owner: dict[tuple[Any, ...], list[EntryResult]] = defaultdict(list)
    for entry, results in games_of.items():
        results.sort(key=lambda g: natural_key(g.machine))
        per_owner[entry_owner[entry]].append(
            EntryResult(
                entry,
                sum((g.points for g in results), Fraction(0)),
                False,
                tuple(results),
                entry_ids.get(entry),
            )
        )
    sign = 1 if fewest_points_win else -1
    lines = []
    for owner, entries in per_owner.items():
        entries.sort(key=lambda e: (sign * e.points, natural_key(e.entry)))
        picked = tuple(count_entry(e, i < entries_counted) for i, e in enumerate(entries))
        lines.append(
            (
                competitors[owner],
                exact_points(sum((e.points for e in picked[:entries_counted]), Fraction(0))),
                picked,
            )
        )
    return Standings(
        format=format,
        rows=tuple(
            Standing(rank, competitor, total, entries=picked)
            for rank, (competitor, total, picked) in _order_standings(lines, fewest_points_win)
        ),
        options=options or {},
        machines=tuple(sorted(per_machine, key=natural_key)),
        notes=tuple(notes),
        lowest_wins=fewest_points_win,
    )


def count_entry(entry: EntryResult, counted: bool) -> EntryResult:
    if not counted:
        return entry
    return attrs.evolve(
        entry, counted=True, games=tuple(attrs.evolve(g, counted=True) for g in entry.games)
    )
