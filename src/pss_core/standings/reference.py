"""The reference engine: HERB and PAPA-style standings computed in Python from plain
:class:`~pss_core.contract.ScoreRow` values. ``pss standings`` uses it for CSV files, formats use it
through :class:`~pss_core.contract.Ranking`, and the tests hold the SQL engine to it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

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


def competition_ranks(totals: Sequence[int]) -> list[int]:
    """Ranks for ``totals`` sorted best first: equal values share a rank, the next is skipped."""
    ranks: list[int] = []
    for i, value in enumerate(totals):
        ranks.append(ranks[-1] if i and value == totals[i - 1] else i + 1)
    return ranks


def _order_standings(items: Iterable[tuple[Competitor, int, Any]]) -> list[tuple[int, Any]]:
    # Best total first; among equal totals by player number, then name.
    ordered = sorted(items, key=lambda item: (-item[1], item[0].sort_key))
    ranks = competition_ranks([total for _, total, _ in ordered])
    return list(zip(ranks, ordered, strict=True))


def _machine_places(
    scores: Mapping[str, list[tuple[int, Any]]], curve: PointsCurve
) -> dict[Any, list[MachineResult]]:
    """Rank each machine's ``(score, holder)`` pairs; returns results per holder."""
    points_for = _PointsMemo(curve)
    results: dict[Any, list[MachineResult]] = defaultdict(list)
    for machine, pairs in scores.items():
        pairs.sort(key=lambda p: p[0], reverse=True)
        ranks = competition_ranks([score for score, _ in pairs])
        for rank, (score, holder) in zip(ranks, pairs, strict=True):
            results[holder].append(MachineResult(machine, score, rank, points_for(rank), False))
    return results


class _PointsMemo:
    def __init__(self, curve: PointsCurve) -> None:
        self.curve = curve
        self.memo: dict[int, int] = {}

    def __call__(self, rank: int) -> int:
        if rank not in self.memo:
            self.memo[rank] = int(self.curve.points(rank))
        return self.memo[rank]


def _pick_best(results: list[MachineResult], n: int) -> tuple[tuple[MachineResult, ...], int]:
    results.sort(key=lambda r: (-r.points, natural_key(r.machine)))
    picked = tuple(attrs.evolve(r, counted=i < n) for i, r in enumerate(results))
    return picked, sum(r.points for r in picked[:n])


def herb_standings(
    rows: Iterable[ScoreRow],
    *,
    machines_counted: int,
    curve: PointsCurve,
    format: str = "herb",
    options: Mapping[str, Any] | None = None,
    team: bool = False,
) -> Standings:
    """HERB (best game), computed in Python: each competitor's best score per machine is ranked
    against everyone's best there, ranks become points by ``curve``, and the best
    ``machines_counted`` results are summed. With ``team``, rows are ranked per ``row.team``."""
    if machines_counted < 1:
        raise InvalidInput("At least one machine must count.", code="invalid_option")
    best: dict[tuple[str, str], int] = {}
    members: dict[str, dict[str, None]] = defaultdict(dict)
    for row in rows:
        owner = row.team if team else row.player
        if owner is None:
            raise row.invalid(f"{row.player} played for no team.")
        key = (owner, row.machine)
        if row.score > best.get(key, -1):
            best[key] = row.score
        if team:
            members[owner][row.player] = None
    per_machine: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for (owner, machine), score in best.items():
        per_machine[machine].append((score, owner))
    results = _machine_places(per_machine, curve)
    lines = []
    for owner, owner_results in results.items():
        picked, total = _pick_best(owner_results, machines_counted)
        competitor = Competitor(owner, members=tuple(sorted(members[owner], key=natural_key))
                                if team else (), team=team)
        lines.append((competitor, total, picked))
    return Standings(
        format=format,
        rows=tuple(Standing(rank, competitor, total, machines=picked)
                   for rank, (competitor, total, picked) in _order_standings(lines)),
        options=options or {},
        team=team,
        machines=tuple(sorted(per_machine, key=natural_key)),
    )


def entry_standings(
    rows: Iterable[ScoreRow],
    *,
    entries_counted: int,
    curve: PointsCurve,
    games_per_entry: int | None = None,
    format: str = "papa",
    options: Mapping[str, Any] | None = None,
) -> Standings:
    """PAPA-style entries, computed in Python: every game of every complete entry is ranked on its
    machine against all complete entries' games there, an entry scores the sum of its games' points,
    and a player's standing is their best ``entries_counted`` entries summed.

    With ``games_per_entry``, an entry with fewer games is incomplete and left out (with a note),
    and one with more is an error. Each entry belongs to one player and plays a machine once."""
    if entries_counted < 1:
        raise InvalidInput("At least one entry must count.", code="invalid_option")
    entry_owner: dict[str, str] = {}
    entry_games: dict[str, list[ScoreRow]] = defaultdict(list)
    for row in rows:
        if row.entry is None or row.entry == "":
            raise row.invalid("No entry given; PAPA-style scores need an 'entry' column saying "
                                "which entry each game belongs to.")
        owner = entry_owner.setdefault(row.entry, row.player)
        if owner != row.player:
            raise row.invalid(f"Entry {row.entry} belongs to {owner}, not {row.player}.")
        games = entry_games[row.entry]
        if any(g.machine == row.machine for g in games):
            raise row.invalid(f"Entry {row.entry} already has a game on {row.machine}; each "
                                "game of an entry is on a different machine.")
        if games_per_entry is not None and len(games) >= games_per_entry:
            raise row.invalid(f"Entry {row.entry} has more than {games_per_entry} games.")
        games.append(row)
    notes: list[str] = []
    if games_per_entry is not None:
        incomplete = sorted((e for e, g in entry_games.items() if len(g) < games_per_entry),
                            key=natural_key)
        if incomplete:
            notes.append(f"Incomplete entries are not counted: {', '.join(incomplete)}.")
        for e in incomplete:
            del entry_games[e]
    per_machine: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for entry, games in entry_games.items():
        for g in games:
            per_machine[g.machine].append((g.score, entry))
    games_of = _machine_places(per_machine, curve)
    per_owner: dict[str, list[EntryResult]] = defaultdict(list)
    for entry, results in games_of.items():
        results.sort(key=lambda g: natural_key(g.machine))
        per_owner[entry_owner[entry]].append(
            EntryResult(entry, sum(g.points for g in results), False, tuple(results)))
    lines = []
    for owner, entries in per_owner.items():
        entries.sort(key=lambda e: (-e.points, natural_key(e.entry)))
        picked = tuple(count_entry(e, i < entries_counted) for i, e in enumerate(entries))
        lines.append((Competitor(owner), sum(e.points for e in picked[:entries_counted]), picked))
    return Standings(
        format=format,
        rows=tuple(Standing(rank, competitor, total, entries=picked)
                   for rank, (competitor, total, picked) in _order_standings(lines)),
        options=options or {},
        machines=tuple(sorted(per_machine, key=natural_key)),
        notes=tuple(notes),
    )


def count_entry(entry: EntryResult, counted: bool) -> EntryResult:
    if not counted:
        return entry
    return attrs.evolve(entry, counted=True,
                        games=tuple(attrs.evolve(g, counted=True) for g in entry.games))
