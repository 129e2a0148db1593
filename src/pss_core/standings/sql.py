"""The SQL engine: a tournament's stored scores ranked inside the database with window
functions. One statement returns each competitor's rank, total and name, with the breakdown (every
machine's best score and rank) packed alongside and decoded on first use. Equal to the reference
engine (:mod:`pss_core.standings.reference`) over the same scores."""

from __future__ import annotations

import functools
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pss_core.contract.points import Points, exact_points
from pss_core.contract.standings import (
    Competitor,
    EntryResult,
    MachineResult,
    ScoreRow,
    Standing,
    Standings,
)
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
from pss_core.standings.reference import (
    PlacePoints,
    check_ties,
    competition_ranks,
    count_entry,
)

if TYPE_CHECKING:
    from pss_core.contract.curves import PointsCurve

#: Ranks the curve lookup covers before the engine checks whether it needs more.
RANK_BOUND = 1024


def curve_lookup(curve: PointsCurve, ranks: int) -> tuple[list[Points], Points]:
    """Points for ranks 1..k and the points every rank from k+1 to ``ranks`` gets, with k as small
    as the curve allows (PAPA's curve is 0 from rank 88 on, so k is 87)."""
    points = curve.table(ranks)
    tail = points[-1]
    k = len(points)
    while k > 1 and points[k - 1] == tail:
        k -= 1
    return points[:k], tail


@attrs.frozen
class CurveLookup:
    """A points curve for the query: the same numbers as an SQL expression and in Python."""

    points: tuple[Points, ...]
    tail: Points
    #: Ranks up to here are known to be right.
    bound: int

    @property
    def whole(self) -> bool:
        """Whole points only: the query can add them up (fractions are added up in Python)."""
        return isinstance(self.tail, int) and all(isinstance(p, int) for p in self.points)

    @classmethod
    def of(cls, curve: PointsCurve, bound: int) -> CurveLookup:
        return _lookup_of(curve, bound)

    def __call__(self, rank: int) -> Points:
        return self.points[rank - 1] if rank <= len(self.points) else self.tail

    def pieces(self) -> list[tuple[int, int, Points, Points]]:
        """The table as runs of ranks ``lo..hi`` where points are ``a + b * rank``: PAPA's curve
        is two (100, 90, then 88 - rank), the linear curve one."""
        points, n = self.points, len(self.points)
        pieces: list[tuple[int, int, Points, Points]] = []
        rank = 1
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

        def run(piece: tuple[int, int, Points, Points]) -> str:
            _, _, a, b = piece
            if b == 0:
                return str(int(a))
            return f"({int(a)} {'+' if b > 0 else '-'} {abs(int(b))} * {column})"

        def halves(pieces: list[tuple[int, int, Points, Points]]) -> str:
            if len(pieces) == 1:
                return run(pieces[0])
            mid = len(pieces) // 2
            return (
                f"CASE WHEN {column} <= {pieces[mid - 1][1]} THEN {halves(pieces[:mid])} "
                f"ELSE {halves(pieces[mid:])} END"
            )

        pieces = self.pieces()
        return (
            f"CASE WHEN {column} > {pieces[-1][1]} THEN {int(self.tail)} ELSE {halves(pieces)} END"
        )


@functools.lru_cache(maxsize=64)
def _lookup_of(curve: PointsCurve, bound: int) -> CurveLookup:
    # Curves are pure functions of the rank, so a curve's lookup is worked out once per process.
    points, tail = curve_lookup(curve, bound)
    return CurveLookup(tuple(points), tail, bound)


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


def _orders(lowest_wins: bool, fewest_points_win: bool) -> tuple[str, str, str]:
    # (best score aggregate, score order, points order): constants, never user input.
    return (
        "MIN" if lowest_wins else "MAX",
        "ASC" if lowest_wins else "DESC",
        "ASC" if fewest_points_win else "DESC",
    )


def _counted(owner: str, *, entries: bool, best: str) -> str:
    """The scores that count, read from ``best_scores`` (kept by
    ``pss_core.services.best_scores``): every game of every complete entry (``entries``) or each
    competitor's best per machine over their complete entries (``best``: ``MAX`` or ``MIN``);
    machines removed from the bank left out unless the tournament counts them. Columns
    ``entry_id, owner_id, machine_id, score``; parameters ``:tournament_id``,
    ``:count_removed``. The one definition every standings query starts from."""
    column = "high" if best == "MAX" else "low"
    return f"""
    SELECT {"b.entry_id" if entries else "NULL"} AS entry_id, b.{owner} AS owner_id,
           b.tournament_machine_id AS machine_id, b.{column} AS score
    FROM best_scores b
    JOIN tournament_machines tm ON tm.id = b.tournament_machine_id
    WHERE b.tournament_id = :tournament_id AND b.entry_id IS {"NOT NULL" if entries else "NULL"}
      AND (tm.status <> 'removed' OR :count_removed = 1)"""


def herb_sql(
    dialect: str,
    lookup: CurveLookup,
    *,
    team: bool = False,
    lowest_wins: bool = False,
    fewest_points_win: bool = False,
) -> str:
    """The HERB standings query. One row per competitor: rank, total, their deepest machine rank,
    and every machine's ``machine_id:best score:rank`` packed into one string, plus their number
    and name. Parameters: ``:tournament_id``, ``:counted`` (machines counted)."""
    owner = _OWNER_COLUMNS[team]
    agg = _aggregate(dialect)
    best, by_score, by_points = _orders(lowest_wins, fewest_points_win)
    return f"""
WITH best AS ({_counted(owner, entries=False, best=best)}
),
placed AS (
    SELECT owner_id, machine_id, score,
           RANK() OVER (PARTITION BY machine_id ORDER BY score {by_score}) AS place
    FROM best
),
pointed AS (
    SELECT owner_id, machine_id, score, place, {lookup.sql()} AS pts
    FROM placed
),
picked AS (
    SELECT owner_id, machine_id, score, place, pts,
           ROW_NUMBER() OVER (PARTITION BY owner_id ORDER BY pts {by_points}, machine_id)
               AS pick
    FROM pointed
),
standings AS (
    SELECT owner_id,
           CAST(SUM(CASE WHEN pick <= :counted THEN pts ELSE 0 END) AS BIGINT) AS total,
           RANK() OVER (ORDER BY SUM(CASE WHEN pick <= :counted THEN pts ELSE 0 END)
                        {by_points}) AS standing,
           MAX(place) AS deepest,
           {agg}(machine_id || ':' || score || ':' || place, ',') AS packed
    FROM picked GROUP BY owner_id
){_named(team)}
"""


def entry_sql(
    dialect: str,
    lookup: CurveLookup,
    *,
    team: bool = False,
    lowest_wins: bool = False,
    fewest_points_win: bool = False,
) -> str:
    """The PAPA-style standings query. One row per competitor: rank, total, deepest machine rank,
    and every complete entry packed as ``entry_id=machine_id:score:rank;...`` joined by ``|``.
    Parameters: ``:tournament_id``, ``:counted`` (entries counted)."""
    owner = _OWNER_COLUMNS[team]
    agg = _aggregate(dialect)
    _, by_score, by_points = _orders(lowest_wins, fewest_points_win)
    return f"""
WITH games AS (
    SELECT entry_id, owner_id, machine_id, score,
           RANK() OVER (PARTITION BY machine_id ORDER BY score {by_score}) AS place
    FROM ({_counted(owner, entries=True, best="MAX")}
    ) counted
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
           ROW_NUMBER() OVER (PARTITION BY owner_id ORDER BY points {by_points}, entry_id)
               AS pick
    FROM entry_points
),
standings AS (
    SELECT owner_id,
           CAST(SUM(CASE WHEN pick <= :counted THEN points ELSE 0 END) AS BIGINT) AS total,
           RANK() OVER (ORDER BY SUM(CASE WHEN pick <= :counted THEN points ELSE 0 END)
                        {by_points}) AS standing,
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


def counts_removed(session: Session, tournament_id: int) -> bool:
    """Whether scores on machines removed from the bank still count (the default)."""
    tournament = session.get(Tournament, tournament_id)  # the loaded row: no extra query
    return bool(tournament is None or tournament.count_removed_machines)


def bank(session: Session, tournament_id: int) -> dict[int, str]:
    """The machines that count (all, or all but the removed ones when the tournament drops
    them), id to name, in bank order."""
    keep = counts_removed(session, tournament_id)
    return {
        id_: name
        for id_, status, name in session.execute(_machines_of(tournament_id))
        if keep or status != MachineStatus.REMOVED
    }


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


def _run(
    session: Session,
    build: Callable[[str, CurveLookup], str],
    params: dict[str, Any],
    curve: PointsCurve,
) -> tuple[list[Any], CurveLookup] | None:
    """Run a standings query with a curve lookup that covers every rank it produces; ``None``
    when the curve's points are not all whole, for the query adds up whole points only."""
    dialect = session.get_bind().dialect.name
    bound = RANK_BOUND
    while True:
        lookup = CurveLookup.of(curve, bound)
        if not lookup.whole:
            return None
        # Plain tuples: (owner_id, standing, total, deepest, packed, number, first, last).
        rows = [tuple(row) for row in session.execute(text(build(dialect, lookup)), params)]
        deepest = max((row[3] for row in rows), default=0)
        if deepest <= bound:
            return rows, lookup
        # More places on a machine than the lookup covered (a very big event): size it exactly.
        bound = deepest


def _decode_games(
    packed: str, sep: str, machines: Mapping[int, str], lookup: CurveLookup, counted: bool | None
) -> list[MachineResult]:
    results = []
    for item in packed.split(sep):
        machine_id, score, place = (int(v) for v in item.split(":"))
        rank_points = lookup(place)
        results.append(
            MachineResult(
                machines[machine_id], score, place, rank_points, bool(counted), machine_id
            )
        )
    return results


def _herb_results(
    packed: str, machines: Mapping[int, str], lookup: CurveLookup, counted: int, sign: int
) -> Callable[[], tuple[MachineResult, ...]]:
    def decode() -> tuple[MachineResult, ...]:
        results = _decode_games(packed, ",", machines, lookup, False)
        # The query's own order: best points first, then bank order.
        results.sort(key=lambda r: (sign * r.points, r.machine_id))
        return tuple(
            attrs.evolve(r, counted=True) if i < counted else r for i, r in enumerate(results)
        )

    return decode


def _entry_results(
    packed: str, machines: Mapping[int, str], lookup: CurveLookup, counted: int, sign: int
) -> Callable[[], tuple[EntryResult, ...]]:
    def decode() -> tuple[EntryResult, ...]:
        entries = []
        for item in packed.split("|"):
            entry_id, games = item.split("=", 1)
            results = _decode_games(games, ";", machines, lookup, False)
            results.sort(key=lambda r: r.machine_id or 0)
            entries.append(
                EntryResult(
                    entry_id, sum(r.points for r in results), False, tuple(results), int(entry_id)
                )
            )
        entries.sort(key=lambda e: (sign * e.points, e.entry_id or 0))
        return tuple(count_entry(e, i < counted) for i, e in enumerate(entries))

    return decode


def _standings_from_sql(
    session: Session,
    tournament: Tournament,
    *,
    entries: bool,
    counted: int,
    curve: PointsCurve,
    team: bool,
    options: Mapping[str, Any] | None,
    ties: str,
    lowest_wins: bool,
    fewest_points_win: bool,
) -> Standings:
    check_ties(ties)
    machines = bank(session, tournament.id)
    base = Standings(
        format=tournament.format,
        rows=(),
        options=options or {},
        team=team,
        machines=tuple(machines.values()),
        tournament_id=tournament.id,
        lowest_wins=fewest_points_win,
    )
    if not machines:
        return base
    orders = {"lowest_wins": lowest_wins, "fewest_points_win": fewest_points_win}
    build = entry_sql if entries else herb_sql
    ran = None
    if not curve.by_place and ties == "share":
        ran = _run(
            session,
            lambda d, lookup: build(d, lookup, team=team, **orders),
            {
                "tournament_id": tournament.id,
                "counted": counted,
                "count_removed": int(counts_removed(session, tournament.id)),
            },
            curve,
        )
    if ran is None:
        # Points that are not a whole-number function of the rank alone: the database ranks,
        # and the points are worked out and added up here, exactly.
        lines = _placed_lines(
            session,
            tournament,
            entries=entries,
            counted=counted,
            curve=curve,
            team=team,
            ties=ties,
            machines=machines,
            **orders,
        )
        return attrs.evolve(
            base,
            rows=_sorted_lines(_cut(lines, tournament.qualifying_cut)),
            cut=tournament.qualifying_cut,
        )
    rows, lookup = ran
    members = _team_members(session, tournament.event_id) if team else {}
    cut = tournament.qualifying_cut
    sign = 1 if fewest_points_win else -1
    lines = []
    results = _entry_results if entries else _herb_results
    for owner_id, standing, total, _, packed, number, first, last in rows:
        if team:
            competitor = Competitor(
                first, id=owner_id, members=members.get(owner_id, ()), team=True
            )
        else:
            competitor = Competitor(f"{first} {last}".strip(), id=owner_id, number=number)
        breakdown = _Packed(results(packed, machines, lookup, counted, sign))
        lines.append(
            Standing(
                standing,
                competitor,
                total,
                machines=() if entries else breakdown,
                entries=breakdown if entries else (),
                qualified=cut is not None and standing <= cut,
            )
        )
    return attrs.evolve(base, rows=_sorted_lines(lines), cut=cut)


def placed_sql(*, entries: bool, team: bool = False, lowest_wins: bool = False) -> str:
    """Every counted score placed on its machine, for curves whose points the query cannot add
    up: ``owner_id, machine_id, entry_id, score, place, tied, players, top``. HERB (without
    ``entries``) places each competitor's best score per machine; PAPA-style every game of every
    complete entry. Parameter: ``:tournament_id``."""
    owner = _OWNER_COLUMNS[team]
    best, by_score, _ = _orders(lowest_wins, False)
    return f"""
WITH counted AS ({_counted(owner, entries=entries, best=best)}
)
SELECT owner_id, machine_id, entry_id, score,
       RANK() OVER (PARTITION BY machine_id ORDER BY score {by_score}) AS place,
       COUNT(*) OVER (PARTITION BY machine_id, score) AS tied,
       COUNT(*) OVER (PARTITION BY machine_id) AS players,
       {best}(score) OVER (PARTITION BY machine_id) AS top
FROM counted
"""


def _placed_lines(
    session: Session,
    tournament: Tournament,
    *,
    entries: bool,
    counted: int,
    curve: PointsCurve,
    team: bool,
    ties: str,
    machines: Mapping[int, str],
    lowest_wins: bool,
    fewest_points_win: bool,
) -> list[Standing]:
    points = PlacePoints(curve, ties)
    sign = 1 if fewest_points_win else -1
    games: dict[Any, list[MachineResult]] = defaultdict(list)
    owner_of: dict[Any, int] = {}
    for owner_id, machine_id, entry_id, score, place, tied, players, top in session.execute(
        text(placed_sql(entries=entries, team=team, lowest_wins=lowest_wins)),
        {
            "tournament_id": tournament.id,
            "count_removed": int(counts_removed(session, tournament.id)),
        },
    ):
        key = entry_id if entries else owner_id
        owner_of[key] = owner_id
        games[key].append(
            MachineResult(
                machines[machine_id],
                score,
                place,
                points(place, tied, players, top, score),
                False,
                machine_id,
            )
        )
    picks: dict[int, tuple[Points, tuple[Any, ...]]] = {}
    results: list[MachineResult]
    if entries:
        per_owner: dict[int, list[EntryResult]] = defaultdict(list)
        for entry_id, results in games.items():
            results.sort(key=lambda r: r.machine_id or 0)
            per_owner[owner_of[entry_id]].append(
                EntryResult(
                    str(entry_id),
                    sum((r.points for r in results), Fraction(0)),
                    False,
                    tuple(results),
                    entry_id,
                )
            )
        for owner_id, owned in per_owner.items():
            owned.sort(key=lambda e: (sign * e.points, e.entry_id or 0))
            picked = tuple(count_entry(e, i < counted) for i, e in enumerate(owned))
            picks[owner_id] = (sum((e.points for e in picked[:counted]), Fraction(0)), picked)
    else:
        for owner_id, results in games.items():
            results.sort(key=lambda r: (sign * r.points, r.machine_id))
            placed = tuple(attrs.evolve(r, counted=i < counted) for i, r in enumerate(results))
            picks[owner_id] = (sum((r.points for r in placed[:counted]), Fraction(0)), placed)
    competitors = all_competitors(session, tournament, team)
    order = sorted(picks, key=lambda o: sign * picks[o][0])
    ranks = competition_ranks([picks[o][0] for o in order])
    return [
        Standing(
            rank,
            competitors[o],
            exact_points(picks[o][0]),
            machines=() if entries else picks[o][1],
            entries=picks[o][1] if entries else (),
        )
        for rank, o in zip(ranks, order, strict=True)
    ]


def _cut(lines: list[Standing], cut: int | None) -> list[Standing]:
    return [attrs.evolve(line, qualified=cut is not None and line.rank <= cut) for line in lines]


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
    ties: str = "share",
    lowest_wins: bool = False,
    fewest_points_win: bool = False,
) -> Standings:
    """HERB standings of ``tournament``, ranked in the database: complete entries only, removed
    machines left out (disabled ones still count); with ``team``, teams are ranked. Equal to
    :func:`~pss_core.standings.reference.herb_standings` over the same scores (``ties``,
    ``lowest_wins`` and ``fewest_points_win`` as there), with ties among equal points broken by
    bank order. The qualifying cut is marked.

    Whole points of the rank alone are added up by one query and each row's ``machines``
    decoded on first use; other curves (fractions, ``by_place``) and averaged ties are ranked by
    the database and added up exactly in Python."""
    return _standings_from_sql(
        session,
        tournament,
        entries=False,
        counted=machines_counted,
        curve=curve,
        team=team,
        options=options,
        ties=ties,
        lowest_wins=lowest_wins,
        fewest_points_win=fewest_points_win,
    )


def sql_entry_standings(
    session: Session,
    tournament: Tournament,
    *,
    entries_counted: int,
    curve: PointsCurve,
    team: bool = False,
    options: Mapping[str, Any] | None = None,
    ties: str = "share",
    lowest_wins: bool = False,
    fewest_points_win: bool = False,
) -> Standings:
    """PAPA-style standings of ``tournament``, ranked in the database: complete entries only
    (open and voided ones never count), removed machines counted unless the tournament drops
    them. Equal to
    :func:`~pss_core.standings.reference.entry_standings` over the same scores; computed like
    :func:`sql_herb_standings`."""
    return _standings_from_sql(
        session,
        tournament,
        entries=True,
        counted=entries_counted,
        curve=curve,
        team=team,
        options=options,
        ties=ties,
        lowest_wins=lowest_wins,
        fewest_points_win=fewest_points_win,
    )


def score_rows(session: Session, tournament: Tournament) -> list[ScoreRow]:
    """Every score that counts in ``tournament`` (complete entries; removed machines unless
    the tournament drops them) as
    :class:`~pss_core.contract.ScoreRow` values, in one query: players, teams and machines by
    name and id, entries by id; :func:`~pss_core.standings.compute.compute_standings` uses this
    for formats that only rank rows."""
    stmt = (
        select(
            Entry.player_id,
            Player.first_name,
            Player.last_name,
            Entry.team_id,
            Team.name,
            Score.tournament_machine_id,
            Machine.name,
            Score.score,
            Entry.id,
        )
        .join(Entry, Entry.id == Score.entry_id)
        .join(TournamentMachine, TournamentMachine.id == Score.tournament_machine_id)
        .join(Machine, Machine.id == TournamentMachine.machine_id)
        .outerjoin(EventPlayer, EventPlayer.id == Entry.player_id)
        .outerjoin(Player, Player.id == EventPlayer.player_id)
        .outerjoin(Team, Team.id == Entry.team_id)
        .where(Entry.tournament_id == tournament.id, Entry.status == EntryStatus.COMPLETE)
        .order_by(Score.id)
    )
    if not counts_removed(session, tournament.id):
        stmt = stmt.where(TournamentMachine.status != MachineStatus.REMOVED)
    rows = session.execute(stmt)
    return [
        ScoreRow(
            player=f"{first} {last}".strip() if player_id is not None else str(team),
            machine=machine,
            score=score,
            entry=str(entry_id),
            team=None if team_id is None else str(team),
            player_id=player_id,
            team_id=team_id,
            machine_id=machine_id,
            entry_id=entry_id,
        )
        for player_id, first, last, team_id, team, machine_id, machine, score, entry_id in rows
    ]


def all_competitors(session: Session, tournament: Tournament, team: bool) -> dict[int, Competitor]:
    if team:
        members = _team_members(session, tournament.event_id)
        return {
            id_: Competitor(name, id=id_, members=members.get(id_, ()), team=True)
            for id_, name in session.execute(
                select(Team.id, Team.name).where(Team.event_id == tournament.event_id)
            )
        }
    return {
        id_: Competitor(f"{first} {last}".strip(), id=id_, number=number)
        for id_, number, first, last in session.execute(
            select(EventPlayer.id, EventPlayer.number, Player.first_name, Player.last_name)
            .join(Player, Player.id == EventPlayer.player_id)
            .where(EventPlayer.event_id == tournament.event_id)
        )
    }


def relabel(
    standings: Standings, competitors: Mapping[int, Competitor], machines: Mapping[int, str]
) -> Standings:
    """Complete what a format built from :func:`score_rows`: each competitor as the database
    knows them (number, team members) by its id — or, for a format that made new rows without
    the ids, by its name where that name is one competitor's — and each machine's id."""
    by_name: dict[str, Competitor | None] = {}
    for c in competitors.values():
        by_name[c.name] = None if c.name in by_name else c
    machine_ids = {name: id_ for id_, name in machines.items()}

    def machine(result: MachineResult) -> MachineResult:
        if result.machine_id is not None:
            return result
        return attrs.evolve(result, machine_id=machine_ids.get(result.machine))

    rows = []
    for row in standings.rows:
        c = row.competitor
        competitor = (competitors.get(c.id) if c.id is not None else by_name.get(c.name)) or c
        rows.append(
            attrs.evolve(
                row,
                competitor=competitor,
                machines=tuple(machine(m) for m in row.machines),
                entries=tuple(
                    attrs.evolve(
                        e,
                        entry_id=e.entry_id
                        if e.entry_id is not None
                        else (int(e.entry) if e.entry.isdigit() else None),
                        games=tuple(machine(g) for g in e.games),
                    )
                    for e in row.entries
                ),
            )
        )
    return attrs.evolve(standings, rows=_sorted_lines(rows), machines=tuple(machines.values()))
