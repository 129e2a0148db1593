"""Standings: the value objects pages render, the pure-Python reference engine, and the SQL engine
that format plugins call to rank stored scores in one query.

Two engines compute the same thing. The reference engine (:func:`herb_standings`,
:func:`entry_standings`) works on plain :class:`ScoreRow` values: ``pss standings`` uses it for CSV
files and the tests use it as the oracle. The SQL engine (:func:`sql_herb_standings`,
:func:`sql_entry_standings`) ranks a tournament's stored scores inside the database with window
functions: one statement returns each competitor's rank, total and name, with the breakdown
(every machine's best score and rank) packed alongside and decoded on first use.

Freshness: standings are computed per request by :func:`compute_standings`. Callers that serve the
same standings often (a TV page) pass a :class:`StandingsCache`, which keys each result on the
tournament's ``version`` (bumped with every score or entry change), its format, options and
qualifying cut, and the status of each of its machines.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pss_core.errors import InvalidInput, Refused
from pss_core.models import (
    Entry,
    EntryStatus,
    EventPlayer,
    Machine,
    MachineStatus,
    Player,
    Score,
    Team,
    TeamMember,
    Tournament,
    TournamentMachine,
)

if TYPE_CHECKING:
    from pss_core.formats import PointsCurve
    from pss_core.plugins import Pss
    from pss_core.registry import Registry

#: The largest score a ``BIGINT`` column holds.
MAX_SCORE = 2**63 - 1


def _natural_key(text_: str) -> tuple[Any, ...]:
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
    """One recorded game, as the reference engine and ``pss_standings_from_rows`` see it."""

    #: Who played the game (a name, or any string that tells players apart).
    player: str
    #: The machine it was played on.
    machine: str
    score: int = attrs.field(validator=_check_score)
    #: The entry the game belongs to (PAPA-style); ``None`` where every game is its own entry.
    entry: str | None = None
    #: The team the player played for (team formats); the team, not the player, is ranked.
    team: str | None = None
    #: Where the row came from (a CSV line), for error messages; not part of its value.
    line: int | None = attrs.field(default=None, eq=False)

    @property
    def owner(self) -> str:
        """Who the game counts for: the team in team play, otherwise the player."""
        return self.team if self.team is not None else self.player


@attrs.frozen
class Competitor:
    """A player or a team as the standings show them."""

    name: str
    #: ``EventPlayer.id`` or ``Team.id`` for standings from the database; ``None`` from rows.
    id: int | None = None
    #: The player number (players only).
    number: int | None = None
    #: Team members' names, in the order they joined (teams only).
    members: tuple[str, ...] = ()
    team: bool = False

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Order among equal ranks: by player number, then by name (numbers first)."""
        if self.number is not None:
            return (0, self.number, self.name)
        return (1, 0, _natural_key(self.name))

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

    machine: str
    score: int
    #: 1-based rank on the machine; equal scores share a rank and the next one is skipped.
    rank: int
    points: int
    #: Whether the points are part of the competitor's total.
    counted: bool
    machine_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "machine_id": self.machine_id, "score": self.score,
                "rank": self.rank, "points": self.points, "counted": self.counted}


@attrs.frozen
class EntryResult:
    """A completed PAPA-style entry: its games, their points summed, and whether it counts."""

    entry: str
    points: int
    counted: bool
    games: tuple[MachineResult, ...]
    entry_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "entry_id": self.entry_id, "points": self.points,
                "counted": self.counted, "games": [g.as_dict() for g in self.games]}


@attrs.frozen
class Standing:
    """One line of the standings."""

    #: 1-based; equal totals share a rank and the next one is skipped (1, 1, 3).
    rank: int
    competitor: Competitor
    points: int
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
    def counted_machines(self) -> tuple[MachineResult, ...]:
        return tuple(m for m in self.machines if m.counted)

    @property
    def counted_entries(self) -> tuple[EntryResult, ...]:
        return tuple(e for e in self.entries if e.counted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "competitor": self.competitor.as_dict(),
            "name": self.competitor.name,
            "points": self.points,
            "qualified": self.qualified,
            "machines": [m.as_dict() for m in self.machines],
            "entries": [e.as_dict() for e in self.entries],
        }


def _freeze_options(options: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(options))


@attrs.frozen
class Standings:
    """A tournament's standings: rows in display order with how each total was made."""

    format: str
    rows: tuple[Standing, ...]
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_freeze_options,
                                             eq=False, hash=False)
    #: Teams, not players, are ranked.
    team: bool = False
    #: The machines that count, in bank order (removed machines are left out).
    machines: tuple[str, ...] = ()
    #: How many qualify (the tournament's qualifying cut); ``None`` when there is no cut.
    cut: int | None = None
    tournament_id: int | None = None
    #: The tournament version the standings were computed at (``None`` without a database).
    version: int | None = None
    #: Plain-words remarks, such as entries left out because they are incomplete.
    notes: tuple[str, ...] = ()

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
                    name is not None and row.competitor.name == name):
                return row
        return None

    def csv_rows(self) -> list[tuple[int, str, int]]:
        """``(rank, name, points)`` per row, as ``pss standings`` prints them."""
        return [(row.rank, row.competitor.name, row.points) for row in self.rows]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form: plain dicts, lists, strings and integers."""
        return {
            "format": self.format,
            "options": dict(self.options),
            "team": self.team,
            "tournament_id": self.tournament_id,
            "version": self.version,
            "machines": list(self.machines),
            "cut": self.cut,
            "qualifiers": len(self.qualifiers),
            "notes": list(self.notes),
            "standings": [row.as_dict() for row in self.rows],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.as_dict(), **kwargs)


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


# --- the reference engine -------------------------------------------------------------------


def _bad_row(row: ScoreRow, problem: str) -> InvalidInput:
    where = f"Line {row.line}: " if row.line is not None else ""
    return InvalidInput(f"{where}{problem}", code="bad_score_row", line=row.line)


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
    results.sort(key=lambda r: (-r.points, _natural_key(r.machine)))
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
            raise _bad_row(row, f"{row.player} played for no team.")
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
        competitor = Competitor(owner, members=tuple(sorted(members[owner], key=_natural_key))
                                if team else (), team=team)
        lines.append((competitor, total, picked))
    return Standings(
        format=format,
        rows=tuple(Standing(rank, competitor, total, machines=picked)
                   for rank, (competitor, total, picked) in _order_standings(lines)),
        options=options or {},
        team=team,
        machines=tuple(sorted(per_machine, key=_natural_key)),
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
            raise _bad_row(row, "No entry given; PAPA-style scores need an 'entry' column saying "
                                "which entry each game belongs to.")
        owner = entry_owner.setdefault(row.entry, row.player)
        if owner != row.player:
            raise _bad_row(row, f"Entry {row.entry} belongs to {owner}, not {row.player}.")
        games = entry_games[row.entry]
        if any(g.machine == row.machine for g in games):
            raise _bad_row(row, f"Entry {row.entry} already has a game on {row.machine}; each "
                                "game of an entry is on a different machine.")
        if games_per_entry is not None and len(games) >= games_per_entry:
            raise _bad_row(row, f"Entry {row.entry} has more than {games_per_entry} games.")
        games.append(row)
    notes: list[str] = []
    if games_per_entry is not None:
        incomplete = sorted((e for e, g in entry_games.items() if len(g) < games_per_entry),
                            key=_natural_key)
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
        results.sort(key=lambda g: _natural_key(g.machine))
        per_owner[entry_owner[entry]].append(
            EntryResult(entry, sum(g.points for g in results), False, tuple(results)))
    lines = []
    for owner, entries in per_owner.items():
        entries.sort(key=lambda e: (-e.points, _natural_key(e.entry)))
        picked = tuple(_count_entry(e, i < entries_counted) for i, e in enumerate(entries))
        lines.append((Competitor(owner), sum(e.points for e in picked[:entries_counted]), picked))
    return Standings(
        format=format,
        rows=tuple(Standing(rank, competitor, total, entries=picked)
                   for rank, (competitor, total, picked) in _order_standings(lines)),
        options=options or {},
        machines=tuple(sorted(per_machine, key=_natural_key)),
        notes=tuple(notes),
    )


def _count_entry(entry: EntryResult, counted: bool) -> EntryResult:
    if not counted:
        return entry
    return attrs.evolve(entry, counted=True,
                        games=tuple(attrs.evolve(g, counted=True) for g in entry.games))


# --- reading scores from CSV ----------------------------------------------------------------

SCORE_COLUMNS = ("player", "machine", "score")
OPTIONAL_COLUMNS = ("entry", "team")
_PLAIN = re.compile(r"\d+")
# One kind of separator, groups of three: the same scores the scorekeeper's form accepts.
_GROUPED = re.compile(r"\d{1,3}(?:([,. '_\u00a0\u202f])\d{3})(?:\1\d{3})*")


def parse_score(raw: str) -> int:
    """A score as people write it: ``1234567``, or grouped in threes by one kind of separator —
    commas, points, spaces, apostrophes or underscores (``1,234,567``, ``1.234.567``). Decimals
    (``12.5``), signs and anything else are refused."""
    value = raw.strip()
    if _PLAIN.fullmatch(value):
        score = int(value)
    elif _GROUPED.fullmatch(value):
        score = int(re.sub(r"\D", "", value))
    elif value == "":
        raise ValueError("the score is empty")
    else:
        raise ValueError(f"the score {raw!r} is not a whole number (digits only, optionally "
                         "grouped in threes like 1,234,567)")
    if score > MAX_SCORE:
        raise ValueError(f"the score {raw!r} is larger than pss can store")
    return score


def read_score_rows(lines: Iterable[str], *, team: bool = False) -> list[ScoreRow]:
    """Parse a CSV of scores: a header naming ``player``, ``machine`` and ``score`` (in any order;
    ``entry`` and ``team`` are optional, and ``team`` is required when ``team`` is true), then one
    game per line. Raises :class:`~pss_core.errors.InvalidInput` naming the line of the first
    problem."""
    reader = csv.reader(lines)
    header: list[str] | None = None
    for raw_header in reader:
        if any(cell.strip() for cell in raw_header):
            header = [cell.strip().lower() for cell in raw_header]
            break
    if header is None:
        raise InvalidInput("The file is empty; it needs a header line: player,machine,score.",
                           code="bad_score_file", line=1)
    header_line = reader.line_num
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]

    def fail(line: int, problem: str) -> InvalidInput:
        return InvalidInput(f"Line {line}: {problem}", code="bad_score_file", line=line)

    required = (*SCORE_COLUMNS, "team") if team else SCORE_COLUMNS
    for name in header:
        if name not in SCORE_COLUMNS + OPTIONAL_COLUMNS:
            raise fail(header_line, f"unknown column {name!r} (the columns are "
                                    f"{', '.join(SCORE_COLUMNS + OPTIONAL_COLUMNS)}).")
        if header.count(name) > 1:
            raise fail(header_line, f"the column {name!r} appears twice.")
    missing = [name for name in required if name not in header]
    if missing:
        raise fail(header_line, f"the header needs the column(s) {', '.join(missing)} "
                                f"(found {', '.join(header)}).")
    index = {name: header.index(name) for name in header}
    rows: list[ScoreRow] = []
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise fail(line, f"expected {len(header)} values ({', '.join(header)}), "
                             f"found {len(cells)}.")
        values = {name: cells[i].strip() for name, i in index.items()}
        for name in required:
            if values[name] == "":
                raise fail(line, f"the {name} is empty.")
        try:
            score = parse_score(values["score"])
        except ValueError as exc:
            raise fail(line, f"{exc}.") from None
        rows.append(ScoreRow(
            player=values["player"], machine=values["machine"], score=score,
            entry=values.get("entry") or None, team=values.get("team") or None, line=line,
        ))
    return rows


# --- the SQL engine -------------------------------------------------------------------------

#: Ranks the curve lookup covers before the engine checks whether it needs more.
RANK_BOUND = 1024


def curve_lookup(curve: PointsCurve, ranks: int) -> tuple[list[int], int]:
    """Points for ranks 1..k and the points every rank from k+1 to ``ranks`` gets, with k as small
    as the curve allows (PAPA's curve is 0 from rank 88 on, so k is 87)."""
    points = [int(p) for p in curve.table(ranks)]
    tail = points[-1]
    k = len(points)
    while k > 1 and points[k - 1] == tail:
        k -= 1
    return points[:k], tail


@attrs.frozen
class _Lookup:
    """A points curve for the query: the same numbers as an SQL expression and in Python."""

    points: tuple[int, ...]
    tail: int
    #: Ranks up to here are known to be right.
    bound: int

    @classmethod
    def of(cls, curve: PointsCurve, bound: int) -> _Lookup:
        return _lookup_of(curve, bound)

    def __call__(self, rank: int) -> int:
        return self.points[rank - 1] if rank <= len(self.points) else self.tail

    def pieces(self) -> list[tuple[int, int, int, int]]:
        """The table as runs of ranks ``lo..hi`` where points are ``a + b * rank``: PAPA's curve
        is two (100, 90, then 88 - rank), the linear curve one."""
        points, n = self.points, len(self.points)
        pieces, rank = [], 1
        while rank <= n:
            if rank == n:
                pieces.append((rank, rank, points[rank - 1], 0))
                break
            step = points[rank] - points[rank - 1]
            hi = rank + 1
            while hi < n and points[hi] - points[hi - 1] == step:
                hi += 1
            pieces.append((rank, hi, points[rank - 1] - step * rank, step))
            rank = hi + 1
        return pieces

    def sql(self, column: str = "place") -> str:
        """Points for the rank in ``column``, as a CASE expression searched by halves. An
        expression rather than a joined table, because SQLite would scan such a table once per
        score. Integers only (never text), so inlining them is safe."""

        def run(piece: tuple[int, int, int, int]) -> str:
            _, _, a, b = piece
            if b == 0:
                return str(int(a))
            return f"({int(a)} {'+' if b > 0 else '-'} {abs(int(b))} * {column})"

        def halves(pieces: list[tuple[int, int, int, int]]) -> str:
            if len(pieces) == 1:
                return run(pieces[0])
            mid = len(pieces) // 2
            return (f"CASE WHEN {column} <= {pieces[mid - 1][1]} THEN {halves(pieces[:mid])} "
                    f"ELSE {halves(pieces[mid:])} END")

        pieces = self.pieces()
        return (f"CASE WHEN {column} > {pieces[-1][1]} THEN {int(self.tail)} "
                f"ELSE {halves(pieces)} END")


@functools.lru_cache(maxsize=64)
def _lookup_of(curve: PointsCurve, bound: int) -> _Lookup:
    # Curves are pure functions of the rank, so a curve's lookup is worked out once per process.
    points, tail = curve_lookup(curve, bound)
    return _Lookup(tuple(points), tail, bound)


class _Packed(Sequence[Any]):
    """Results the query sent packed in one string per competitor, decoded on first use: the
    totals and ranks are ready at once, and a page that shows the top ten never pays for
    decoding a thousand breakdowns."""

    __slots__ = ("_decode", "_items")
    # Cached standings are shared by a web server's threads: decode once, under a lock.
    _lock = threading.Lock()

    def __init__(self, decode: Callable[[], tuple[Any, ...]]) -> None:
        self._decode: Callable[[], tuple[Any, ...]] | None = decode
        self._items: tuple[Any, ...] | None = None

    def _get(self) -> tuple[Any, ...]:
        items = self._items
        if items is None:
            with self._lock:
                if self._items is None:
                    assert self._decode is not None
                    self._items = self._decode()
                    self._decode = None
                items = self._items
        return items

    def __getitem__(self, index: Any) -> Any:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Packed | tuple | list):
            return self._get() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._get())

    def __repr__(self) -> str:
        return repr(self._get())


def _aggregate(dialect: str) -> str:
    return "string_agg" if dialect == "postgresql" else "group_concat"


_OWNER_COLUMNS = {False: "player_id", True: "team_id"}


def _named(owner_join_team: bool) -> str:
    # The standings rows with who they are, so names cost no second query.
    if owner_join_team:
        return """
SELECT s.owner_id, s.standing, s.total, s.deepest, s.packed,
       NULL AS number, t.name AS first_name, '' AS last_name
FROM standings s JOIN teams t ON t.id = s.owner_id"""
    return """
SELECT s.owner_id, s.standing, s.total, s.deepest, s.packed,
       ep.number, p.first_name, p.last_name
FROM standings s
JOIN event_players ep ON ep.id = s.owner_id
JOIN players p ON p.id = ep.player_id"""


def herb_sql(dialect: str, lookup: _Lookup, *, team: bool = False) -> str:
    """The HERB standings query. One row per competitor: rank, total, their deepest machine rank,
    and every machine's ``machine_id:best score:rank`` packed into one string, plus their number
    and name. Parameters: ``:tournament_id``, ``:counted`` (machines counted)."""
    owner = _OWNER_COLUMNS[team]
    agg = _aggregate(dialect)
    return f"""
WITH best AS (
    SELECT e.{owner} AS owner_id, s.tournament_machine_id AS machine_id, MAX(s.score) AS score
    FROM scores s
    JOIN entries e ON e.id = s.entry_id
    JOIN tournament_machines tm ON tm.id = s.tournament_machine_id
    WHERE e.tournament_id = :tournament_id AND e.status = 'complete' AND tm.status <> 'removed'
    GROUP BY e.{owner}, s.tournament_machine_id
),
placed AS (
    SELECT owner_id, machine_id, score,
           RANK() OVER (PARTITION BY machine_id ORDER BY score DESC) AS place
    FROM best
),
pointed AS (
    SELECT owner_id, machine_id, score, place, {lookup.sql()} AS pts
    FROM placed
),
picked AS (
    SELECT owner_id, machine_id, score, place, pts,
           ROW_NUMBER() OVER (PARTITION BY owner_id ORDER BY pts DESC, machine_id) AS pick
    FROM pointed
),
standings AS (
    SELECT owner_id,
           CAST(SUM(CASE WHEN pick <= :counted THEN pts ELSE 0 END) AS BIGINT) AS total,
           RANK() OVER (ORDER BY SUM(CASE WHEN pick <= :counted THEN pts ELSE 0 END) DESC)
               AS standing,
           MAX(place) AS deepest,
           {agg}(machine_id || ':' || score || ':' || place, ',') AS packed
    FROM picked GROUP BY owner_id
){_named(team)}
"""


def entry_sql(dialect: str, lookup: _Lookup, *, team: bool = False) -> str:
    """The PAPA-style standings query. One row per competitor: rank, total, deepest machine rank,
    and every complete entry packed as ``entry_id=machine_id:score:rank;...`` joined by ``|``.
    Parameters: ``:tournament_id``, ``:counted`` (entries counted)."""
    owner = _OWNER_COLUMNS[team]
    agg = _aggregate(dialect)
    return f"""
WITH games AS (
    SELECT s.entry_id, e.{owner} AS owner_id, s.tournament_machine_id AS machine_id, s.score,
           RANK() OVER (PARTITION BY s.tournament_machine_id ORDER BY s.score DESC) AS place
    FROM scores s
    JOIN entries e ON e.id = s.entry_id
    JOIN tournament_machines tm ON tm.id = s.tournament_machine_id
    WHERE e.tournament_id = :tournament_id AND e.status = 'complete' AND tm.status <> 'removed'
),
entry_points AS (
    SELECT entry_id, owner_id, SUM({lookup.sql()}) AS points,
           MAX(place) AS deepest,
           {agg}(machine_id || ':' || score || ':' || place, ';') AS played
    FROM games
    GROUP BY entry_id, owner_id
),
picked AS (
    SELECT entry_id, owner_id, points, deepest, played,
           ROW_NUMBER() OVER (PARTITION BY owner_id ORDER BY points DESC, entry_id) AS pick
    FROM entry_points
),
standings AS (
    SELECT owner_id,
           CAST(SUM(CASE WHEN pick <= :counted THEN points ELSE 0 END) AS BIGINT) AS total,
           RANK() OVER (ORDER BY SUM(CASE WHEN pick <= :counted THEN points ELSE 0 END) DESC)
               AS standing,
           MAX(deepest) AS deepest,
           {agg}(entry_id || '=' || played, '|') AS packed
    FROM picked GROUP BY owner_id
){_named(team)}
"""


def _machines_of(tournament_id: int) -> Any:
    return (
        select(TournamentMachine.id, TournamentMachine.status, Machine.name)
        .join(Machine, Machine.id == TournamentMachine.machine_id)
        .where(TournamentMachine.tournament_id == tournament_id)
        .order_by(TournamentMachine.id)
    )


def _bank(session: Session, tournament_id: int) -> dict[int, str]:
    """The machines that count (not removed), id to name, in bank order."""
    return {id_: name for id_, status, name in session.execute(_machines_of(tournament_id))
            if status != MachineStatus.REMOVED}


def _team_members(session: Session, event_id: int) -> dict[int, tuple[str, ...]]:
    members: dict[int, list[str]] = defaultdict(list)
    for team_id, first, last in session.execute(
        select(TeamMember.team_id, Player.first_name, Player.last_name)
        .join(Team, Team.id == TeamMember.team_id)
        .join(EventPlayer, EventPlayer.id == TeamMember.event_player_id)
        .join(Player, Player.id == EventPlayer.player_id)
        .where(Team.event_id == event_id)
        .order_by(TeamMember.id)
    ):
        members[team_id].append(f"{first} {last}".strip())
    return {team_id: tuple(names) for team_id, names in members.items()}


def _run(session: Session, build: Callable[[str, _Lookup], str], params: dict[str, Any],
         curve: PointsCurve) -> tuple[list[Any], _Lookup]:
    """Run a standings query with a curve lookup that covers every rank it produces."""
    dialect = session.get_bind().dialect.name
    bound = RANK_BOUND
    while True:
        lookup = _Lookup.of(curve, bound)
        # Plain tuples: (owner_id, standing, total, deepest, packed, number, first, last).
        rows = [tuple(row) for row in session.execute(text(build(dialect, lookup)),
                                                      params)]
        deepest = max((row[3] for row in rows), default=0)
        if deepest <= bound:
            return rows, lookup
        # More places on a machine than the lookup covered (a very big event): size it exactly.
        bound = deepest


def _decode_games(packed: str, sep: str, machines: Mapping[int, str], lookup: _Lookup,
                  counted: bool | None) -> list[MachineResult]:
    results = []
    for item in packed.split(sep):
        machine_id, score, place = (int(v) for v in item.split(":"))
        rank_points = lookup(place)
        results.append(MachineResult(machines[machine_id], score, place, rank_points,
                                     bool(counted), machine_id))
    return results


def _herb_results(packed: str, machines: Mapping[int, str], lookup: _Lookup,
                  counted: int) -> Callable[[], tuple[MachineResult, ...]]:
    def decode() -> tuple[MachineResult, ...]:
        results = _decode_games(packed, ",", machines, lookup, False)
        # The query's own order: best points first, then bank order.
        results.sort(key=lambda r: (-r.points, r.machine_id))
        return tuple(attrs.evolve(r, counted=True) if i < counted else r
                     for i, r in enumerate(results))
    return decode


def _entry_results(packed: str, machines: Mapping[int, str], lookup: _Lookup,
                   counted: int) -> Callable[[], tuple[EntryResult, ...]]:
    def decode() -> tuple[EntryResult, ...]:
        entries = []
        for item in packed.split("|"):
            entry_id, games = item.split("=", 1)
            results = _decode_games(games, ";", machines, lookup, False)
            results.sort(key=lambda r: (r.machine_id or 0))
            entries.append(EntryResult(entry_id, sum(r.points for r in results), False,
                                       tuple(results), int(entry_id)))
        entries.sort(key=lambda e: (-e.points, e.entry_id or 0))
        return tuple(_count_entry(e, i < counted) for i, e in enumerate(entries))
    return decode


def _standings_from_sql(
    session: Session,
    tournament: Tournament,
    *,
    build: Callable[[str, _Lookup], str],
    counted: int,
    curve: PointsCurve,
    team: bool,
    options: Mapping[str, Any] | None,
    entries: bool,
) -> Standings:
    machines = _bank(session, tournament.id)
    base = Standings(format=tournament.format, rows=(), options=options or {}, team=team,
                     machines=tuple(machines.values()), tournament_id=tournament.id)
    if not machines:
        return base
    rows, lookup = _run(session, build, {"tournament_id": tournament.id, "counted": counted},
                        curve)
    members = _team_members(session, tournament.event_id) if team else {}
    cut = tournament.qualifying_cut
    lines = []
    results = _entry_results if entries else _herb_results
    for owner_id, standing, total, _, packed, number, first, last in rows:
        if team:
            competitor = Competitor(first, id=owner_id, members=members.get(owner_id, ()),
                                    team=True)
        else:
            competitor = Competitor(f"{first} {last}".strip(), id=owner_id, number=number)
        breakdown = _Packed(results(packed, machines, lookup, counted))
        lines.append(Standing(
            standing, competitor, total,
            machines=() if entries else breakdown, entries=breakdown if entries else (),
            qualified=cut is not None and standing <= cut,
        ))
    return attrs.evolve(base, rows=_sorted_lines(lines), cut=cut)


def _sorted_lines(lines: list[Standing]) -> tuple[Standing, ...]:
    # Within a rank, players by number and teams by name.
    return tuple(sorted(lines, key=lambda s: (s.rank, s.competitor.sort_key)))


def sql_herb_standings(
    session: Session,
    tournament: Tournament,
    *,
    machines_counted: int,
    curve: PointsCurve,
    team: bool = False,
    options: Mapping[str, Any] | None = None,
) -> Standings:
    """HERB standings of ``tournament``, ranked in the database by one query: complete entries
    only, removed machines left out (disabled ones still count); with ``team``, teams are ranked.
    Equal to :func:`herb_standings` over the same scores, with ties among equal points broken by
    bank order. The qualifying cut is marked. Each row's ``machines`` are decoded on first use."""
    return _standings_from_sql(
        session, tournament, build=lambda d, lookup: herb_sql(d, lookup, team=team),
        counted=machines_counted, curve=curve, team=team, options=options, entries=False)


def sql_entry_standings(
    session: Session,
    tournament: Tournament,
    *,
    entries_counted: int,
    curve: PointsCurve,
    team: bool = False,
    options: Mapping[str, Any] | None = None,
) -> Standings:
    """PAPA-style standings of ``tournament``, ranked in the database by one query: complete
    entries only (open and voided ones never count), games on removed machines left out. Equal to
    :func:`entry_standings` over the same scores. Each row's ``entries`` are decoded on first
    use."""
    return _standings_from_sql(
        session, tournament, build=lambda d, lookup: entry_sql(d, lookup, team=team),
        counted=entries_counted, curve=curve, team=team, options=options, entries=True)


def score_rows(session: Session, tournament: Tournament) -> list[ScoreRow]:
    """Every score that counts in ``tournament`` (complete entries, machines not removed) as
    :class:`ScoreRow` values, in one query. Players, teams, machines and entries are named by their
    ids; :func:`compute_standings` uses this for formats that only rank rows."""
    stmt = (
        select(Entry.player_id, Entry.team_id, Score.tournament_machine_id, Score.score,
               Entry.id)
        .join(Entry, Entry.id == Score.entry_id)
        .join(TournamentMachine, TournamentMachine.id == Score.tournament_machine_id)
        .where(Entry.tournament_id == tournament.id, Entry.status == EntryStatus.COMPLETE,
               TournamentMachine.status != MachineStatus.REMOVED)
        .order_by(Score.id)
    )
    return [
        ScoreRow(player=str(player_id if player_id is not None else f"team {team_id}"),
                 machine=str(machine_id), score=score, entry=str(entry_id),
                 team=None if team_id is None else str(team_id))
        for player_id, team_id, machine_id, score, entry_id in session.execute(stmt)
    ]


def _all_competitors(session: Session, tournament: Tournament,
                     team: bool) -> dict[int, Competitor]:
    if team:
        members = _team_members(session, tournament.event_id)
        return {id_: Competitor(name, id=id_, members=members.get(id_, ()), team=True)
                for id_, name in session.execute(
                    select(Team.id, Team.name).where(Team.event_id == tournament.event_id))}
    return {
        id_: Competitor(f"{first} {last}".strip(), id=id_, number=number)
        for id_, number, first, last in session.execute(
            select(EventPlayer.id, EventPlayer.number, Player.first_name, Player.last_name)
            .join(Player, Player.id == EventPlayer.player_id)
            .where(EventPlayer.event_id == tournament.event_id))
    }


def _relabel(standings: Standings, competitors: Mapping[int, Competitor],
             machines: Mapping[int, str]) -> Standings:
    """Turn the ids :func:`score_rows` used as names back into names."""

    def machine(result: MachineResult) -> MachineResult:
        id_ = int(result.machine)
        return attrs.evolve(result, machine=machines[id_], machine_id=id_)

    rows = []
    for row in standings.rows:
        key = row.competitor.name
        competitor = competitors[int(key)] if key.isdigit() else row.competitor
        rows.append(attrs.evolve(
            row, competitor=competitor,
            machines=tuple(machine(m) for m in row.machines),
            entries=tuple(attrs.evolve(e, entry_id=int(e.entry) if e.entry.isdigit() else None,
                                       games=tuple(machine(g) for g in e.games))
                          for e in row.entries),
        ))
    return attrs.evolve(standings, rows=_sorted_lines(rows), machines=tuple(machines.values()))


# --- computing a tournament's standings -----------------------------------------------------


class StandingsCache:
    """Standings kept per process, keyed on everything they depend on: the database, the
    tournament, its ``version`` (bumped with every score and entry change), format, options,
    qualifying cut and the status of each machine. A changed key is a miss, so a hit is never
    stale; names changed since (a renamed player) show after the next score."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple[Any, ...], Standings] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Standings | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: tuple[Any, ...], standings: Standings) -> None:
        with self._lock:
            self._items[key] = standings
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def compute_standings(
    session: Session,
    pss: Pss,
    tournament: Tournament,
    *,
    cache: StandingsCache | None = None,
) -> Standings:
    """The standings of ``tournament`` from its stored scores, with the qualifying cut marked.

    Asks the format's plugin (``pss_compute_standings``); a format that only implements
    ``pss_standings_from_rows`` gets its rows from :func:`score_rows`. The tournament's version is
    read first, so the standings are at least as new as ``Standings.version`` says."""
    spec = pss.formats[tournament.format]
    options = spec.resolve_options(tournament.format_options or {})
    version = session.scalar(select(Tournament.version).where(Tournament.id == tournament.id))
    key: tuple[Any, ...] | None = None
    if cache is not None:
        bind = session.get_bind()
        key = (
            str(bind.engine.url if hasattr(bind, "engine") else bind),
            tournament.id, version, tournament.format,
            json.dumps(options, sort_keys=True, default=str), tournament.qualifying_cut,
            tuple((id_, str(status)) for id_, status in session.execute(
                select(TournamentMachine.id, TournamentMachine.status)
                .where(TournamentMachine.tournament_id == tournament.id)
                .order_by(TournamentMachine.id))),
        )
        hit = cache.get(key)
        if hit is not None:
            return hit
    result: Standings | None = pss.hook.pss_compute_standings(
        session=session, tournament=tournament, options=options, curves=pss.curves)
    if result is None:
        result = pss.hook.pss_standings_from_rows(
            format=spec, options=options, rows=score_rows(session, tournament), curves=pss.curves)
        if result is not None:
            result = _relabel(result, _all_competitors(session, tournament, spec.team),
                              _bank(session, tournament.id))
    if result is None:
        raise Refused(f"The {spec.title} format does not compute standings.",
                      code="no_standings")
    result = attrs.evolve(result, tournament_id=tournament.id, version=version)
    result = apply_cut(result, tournament.qualifying_cut)
    if cache is not None and key is not None:
        cache.put(key, result)
    return result


def standings_from_rows(
    pss: Pss,
    format_name: str,
    rows: Sequence[ScoreRow],
    *,
    options: Mapping[str, Any] | None = None,
    cut: int | None = None,
) -> Standings:
    """Standings for plain score rows in ``format_name`` with ``options`` (validated and overlaid
    on the format's defaults), no database needed. Bad rows raise
    :class:`~pss_core.errors.InvalidInput` naming the line."""
    spec = pss.formats[format_name]
    resolved = spec.resolve_options(options or {})
    result: Standings | None = pss.hook.pss_standings_from_rows(
        format=spec, options=resolved, rows=rows, curves=pss.curves)
    if result is None:
        raise Refused(f"The {spec.title} format does not compute standings.",
                      code="no_standings")
    return apply_cut(result, cut)


def points_curve(curves: Registry[PointsCurve], options: Mapping[str, Any],
                 name: str = "points_curve") -> PointsCurve:
    """The curve a tournament's options name (for format plugins)."""
    return curves[str(options[name])]


__all__ = [
    "MAX_SCORE",
    "Competitor",
    "EntryResult",
    "MachineResult",
    "ScoreRow",
    "Standing",
    "Standings",
    "StandingsCache",
    "apply_cut",
    "competition_ranks",
    "compute_standings",
    "curve_lookup",
    "entry_sql",
    "entry_standings",
    "herb_sql",
    "herb_standings",
    "parse_score",
    "points_curve",
    "read_score_rows",
    "score_rows",
    "sql_entry_standings",
    "sql_herb_standings",
    "standings_from_rows",
]
