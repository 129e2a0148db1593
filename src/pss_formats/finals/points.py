"""Group scoring: points per place, a group's totals over a round's games, who advances, which ties
need a tiebreaker game; and seeding qualifiers, with the ties at the cut and bye lines.

Players are any hashable keys (a format uses seeds or player ids); nothing here is ordered by the
key itself except where a rule says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from pss_core.errors import InvalidInput

Player = Hashable

HEAD_TO_HEAD = (1, 0)
"""Two players (a final of 2) score games won, whatever the scheme."""


def _check_table(size: int, table: Sequence[int]) -> tuple[int, ...]:
    values = tuple(table)
    if len(values) != size:
        raise InvalidInput(
            f"A {size}-player group needs {size} point values, not {len(values)}.",
            code="points",
        )
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values):
        raise InvalidInput("Points per place are whole numbers, 0 or more.", code="points")
    if any(a < b for a, b in itertools.pairwise(values)):
        raise InvalidInput(
            f"Points per place must not rise from first to last ({', '.join(map(str, values))}).",
            code="points",
        )
    return values


def _tables_converter(tables: Mapping[int, Sequence[int]]) -> dict[int, tuple[int, ...]]:
    return {size: _check_table(size, values) for size, values in tables.items()}


@attrs.frozen
class PointsScheme:
    """Points for each place in one game, by the number of players in the group."""

    name: str
    tables: Mapping[int, tuple[int, ...]] = attrs.field(converter=_tables_converter)

    def for_size(self, size: int) -> tuple[int, ...]:
        if size in self.tables:
            return self.tables[size]
        if size == 2:
            return HEAD_TO_HEAD
        raise InvalidInput(
            f"The {self.name} points have no values for a group of {size}.", code="points"
        )

    def describe(self) -> str:
        return "; ".join(
            f"{size} players {'-'.join(map(str, self.tables[size]))}"
            for size in sorted(self.tables, reverse=True)
        )


PAPA = PointsScheme("PAPA", {4: (4, 2, 1, 0), 3: (4, 2, 1)})
IFPA = PointsScheme("IFPA", {4: (7, 5, 3, 1), 3: (7, 4, 1)})
SCHEMES = {"papa": PAPA, "ifpa": IFPA}


def custom_points(four: Sequence[int], three: Sequence[int] | None = None) -> PointsScheme:
    """A TD's own list for four players; three-player groups use ``three``, or else the first
    three values of the list."""
    four = _check_table(len(four), four)
    tables = {len(four): four}
    if three is not None:
        tables[len(tuple(three))] = tuple(three)
    elif len(four) > 3:
        tables[3] = four[:3]
    return PointsScheme("custom", tables)


def parse_points(text: str) -> PointsScheme:
    """``papa``, ``ifpa``, ``5,3,2,1`` or ``5,3,2,1/5,3,1`` (four-player list / three-player)."""
    key = text.strip().lower()
    if key in SCHEMES:
        return SCHEMES[key]
    lists: list[list[int]] = []
    for part in key.split("/"):
        try:
            lists.append([int(value) for value in part.split(",")])
        except ValueError:
            raise InvalidInput(
                f"Points are papa, ifpa or a list such as 7,5,3,1 (optionally /7,4,1 for three "
                f"players), not {text!r}.",
                code="points",
            ) from None
    if len(lists) > 2:
        raise InvalidInput("Give at most two lists of points: four players / three.", code="points")
    return custom_points(lists[0], lists[1] if len(lists) == 2 else None)


@attrs.frozen
class GameResult:
    """One game of a group: each player's place, 1 the best. Equal scores share the better
    place and the next place is skipped (1, 1, 3), as elsewhere in pss."""

    places: Mapping[Player, int]

    @classmethod
    def from_scores(cls, scores: Mapping[Player, int]) -> GameResult:
        for player, score in scores.items():
            if not isinstance(score, int) or isinstance(score, bool) or score < 0:
                raise InvalidInput(
                    f"The score of {player} must be a whole number, 0 or more.", code="score"
                )
        places = {
            player: 1 + sum(1 for other in scores.values() if other > score)
            for player, score in scores.items()
        }
        return cls(places)

    @classmethod
    def from_order(cls, order: Sequence[Player]) -> GameResult:
        """A finishing order, best first (what a scorekeeper marks when scores are not kept)."""
        if len(set(order)) != len(order):
            raise InvalidInput("A finishing order lists each player once.", code="order")
        return cls({player: index + 1 for index, player in enumerate(order)})

    def points(self, scheme: PointsScheme) -> dict[Player, int]:
        table = scheme.for_size(len(self.places))
        return {player: table[place - 1] for player, place in self.places.items()}


@attrs.frozen
class TieNeed:
    """A tie across a line that only a tiebreaker game among ``players`` can settle."""

    players: tuple[Player, ...]
    """The tied players, in seed order."""
    first_place: int
    last_place: int
    line: int
    """The tie straddles places ``line`` and ``line + 1``."""


@attrs.frozen
class GroupOutcome:
    totals: Mapping[Player, int]
    order: tuple[Player, ...]
    """Best first: points, then any tiebreaker games, then seed. Final once ``is_final``."""
    games_played: int
    complete: bool
    """Every game of the round is in."""
    needs_tiebreaker: tuple[TieNeed, ...]
    advance: int

    @property
    def is_final(self) -> bool:
        """The order stands: all games in and no tiebreaker game outstanding."""
        return self.complete and not self.needs_tiebreaker

    @property
    def advancing(self) -> tuple[Player, ...] | None:
        return self.order[: self.advance] if self.is_final else None

    def place_of(self, player: Player) -> int:
        return self.order.index(player) + 1


def _tie_blocks(keys: Sequence[Any]) -> list[tuple[int, int]]:
    """Runs of equal keys as (first index, last index)."""
    blocks: list[tuple[int, int]] = []
    start = 0
    for index in range(1, len(keys) + 1):
        if index == len(keys) or keys[index] != keys[start]:
            blocks.append((start, index - 1))
            start = index
    return blocks


def _settle(
    block: list[Player],
    tied_sets: Mapping[frozenset[Player], list[GameResult]],
    used: set[frozenset[Player]],
    fallback: Callable[[Player], Any],
) -> list[list[Player]]:
    """Order a tie by the tiebreaker games among exactly its players, then any tie that remains
    by the games among exactly those, and so on; what no game separates stays together, ordered
    by ``fallback``."""
    if len(block) == 1:
        return [block]
    games = tied_sets.get(frozenset(block))
    if not games:
        return [sorted(block, key=fallback)]
    used.add(frozenset(block))

    def key(player: Player) -> tuple[int, ...]:
        return tuple(game.places[player] for game in games)

    ordered = sorted(block, key=key)
    parts = _tie_blocks([key(p) for p in ordered])
    if len(parts) == 1:
        return [sorted(block, key=fallback)]
    settled: list[list[Player]] = []
    for first, last in parts:
        settled.extend(_settle(ordered[first : last + 1], tied_sets, used, fallback))
    return settled


def score_group(
    players: Sequence[Player],
    games: Sequence[GameResult],
    scheme: PointsScheme,
    *,
    seeds: Mapping[Player, int],
    games_per_round: int,
    advance: int,
    decisive_lines: Iterable[int] | None = None,
    tiebreakers: Sequence[GameResult] = (),
) -> GroupOutcome:
    """A group's standing after the games so far.

    Order: more points; a tie that straddles a decisive line (by default the advancing line, or
    first place when nobody advances — the final) is settled only by tiebreaker games among exactly
    the tied players, each game's places taken in turn; every other tie goes to the better seed.
    """
    members = list(players)
    if len(set(members)) != len(members):
        raise InvalidInput("A group lists each player once.", code="group")
    missing_seed = [p for p in members if p not in seeds]
    if missing_seed:
        raise InvalidInput(f"No seed for {missing_seed[0]}.", code="seed")
    if len(games) > games_per_round:
        raise InvalidInput(
            f"The round has {games_per_round} games; {len(games)} results were given.",
            code="too_many_games",
        )
    totals = dict.fromkeys(members, 0)
    for number, game in enumerate(games, start=1):
        if set(game.places) != set(members):
            raise InvalidInput(
                f"Game {number} of the group must have a result for each of its players.",
                code="game_players",
                game=number,
            )
        for player, points in game.points(scheme).items():
            totals[player] += points
    lines = set(decisive_lines) if decisive_lines is not None else {advance or 1}
    complete = len(games) == games_per_round

    tied_sets: dict[frozenset[Player], list[GameResult]] = {}
    for game in tiebreakers:
        tied_sets.setdefault(frozenset(game.places), []).append(game)
    by_points = sorted(members, key=lambda p: (-totals[p], seeds[p]))
    used: set[frozenset[Player]] = set()
    order: list[Player] = []
    needs: list[TieNeed] = []
    for first, last in _tie_blocks([totals[p] for p in by_points]):
        block = by_points[first : last + 1]
        for tie in _settle(block, tied_sets, used, lambda p: seeds[p]):
            lo, hi = len(order) + 1, len(order) + len(tie)
            crossed = [line for line in sorted(lines) if lo <= line < hi]
            if complete and crossed:
                needs.append(TieNeed(tuple(tie), lo, hi, crossed[0]))
            order.extend(tie)
    for tied in tied_sets:
        if tied not in used:
            names = ", ".join(str(p) for p in sorted(tied, key=lambda p: seeds.get(p, 0)))
            raise InvalidInput(
                f"A tiebreaker game among {names} does not match a tie in this group.",
                code="tiebreaker_not_needed",
            )
    return GroupOutcome(totals, tuple(order), len(games), complete, tuple(needs), advance)


@attrs.frozen
class LineTie:
    """Qualifiers tied across the cut or the bye line: a tiebreaker game among them decides."""

    players: tuple[Player, ...]
    first_position: int
    last_position: int
    lines: tuple[str, ...]
    """``cut`` and/or ``bye``."""


@attrs.frozen
class QualifyingSeeding:
    seeds: tuple[Player, ...]
    """The qualifiers in seed order (seed 1 first); provisional while ``pending``."""
    pending: tuple[LineTie, ...]
    byes: int

    @property
    def is_final(self) -> bool:
        return not self.pending

    def seed_of(self) -> dict[Player, int]:
        return {player: index + 1 for index, player in enumerate(self.seeds)}


def seed_qualifiers(
    standings: Sequence[tuple[Player, int]],
    *,
    cut: int,
    byes: int = 0,
    tiebreakers: Sequence[GameResult] = (),
    secondary: Callable[[Player], Any] | None = None,
) -> QualifyingSeeding:
    """Seeds from qualifying standings ``(player, rank)``, equal ranks being ties.

    A tie across the cut (between places ``cut`` and ``cut + 1``) or the bye line (``byes`` and
    ``byes + 1``) is settled only by tiebreaker games among exactly the tied players. Any other tie
    is ordered by ``secondary(player)``, smaller first — the format passes the player number, so the
    earlier registration seeds higher; by default the player key itself.
    """
    if cut < 1:
        raise InvalidInput("The cut must be at least 1.", code="cut")
    if len(standings) < cut:
        raise InvalidInput(
            f"The cut is {cut}, but only {len(standings)} players have qualifying standings.",
            code="cut",
        )
    if not 0 <= byes < cut:
        raise InvalidInput(
            f"Byes must be fewer than the {cut} qualifiers, not {byes}.", code="byes"
        )
    players = [player for player, _ in standings]
    if len(set(players)) != len(players):
        raise InvalidInput(
            "Each player appears once in the qualifying standings.", code="standings"
        )
    rank = dict(standings)
    tie_key: Callable[[Player], Any] = secondary or (lambda player: player)
    tied_sets: dict[frozenset[Player], list[GameResult]] = {}
    for game in tiebreakers:
        tied_sets.setdefault(frozenset(game.places), []).append(game)
    ordered = sorted(players, key=lambda p: rank[p])
    lines = {cut: "cut", byes: "bye"} if byes else {cut: "cut"}
    used: set[frozenset[Player]] = set()
    result: list[Player] = []
    pending: list[LineTie] = []
    for first, last in _tie_blocks([rank[p] for p in ordered]):
        block = ordered[first : last + 1]
        for tie in _settle(block, tied_sets, used, tie_key):
            lo, hi = len(result) + 1, len(result) + len(tie)
            crossed = tuple(name for line, name in sorted(lines.items()) if lo <= line < hi)
            if crossed:
                pending.append(LineTie(tuple(tie), lo, hi, crossed))
            result.extend(tie)
    for tied in tied_sets:
        if tied not in used:
            raise InvalidInput(
                "A tiebreaker game must be among exactly the players tied in qualifying.",
                code="tiebreaker_not_needed",
            )
    return QualifyingSeeding(tuple(result[:cut]), tuple(pending), byes)
