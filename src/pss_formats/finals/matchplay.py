"""Group match play: pairing the next round (balanced, or Swiss by points), machines for each
group's games, and the standings.

Everything is computed from the rounds so far, so re-pairing a round that has not started is
calling :func:`pair_round` again (another ``rng_seed``, other players); players who arrive are
simply in ``players``, players who drop out simply are not.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import attrs

from pss_core.errors import InvalidInput, Refused
from pss_formats.finals.groups import group_sizes, snake
from pss_formats.finals.points import IFPA, GameResult, PointsScheme

Player = Hashable
Machine = Hashable

DEFAULT_BUDGET = 60_000
"""Search nodes per pairing; fields of up to 12 finish well inside it, so their pairing is exact."""


@attrs.frozen
class MatchGroup:
    players: tuple[Player, ...]
    machines: tuple[Machine, ...] = ()
    """The machine of each game of the round, in order."""
    games: tuple[GameResult, ...] = ()
    """The results so far."""
    planned: int = 1
    """Games in the round."""

    @property
    def complete(self) -> bool:
        return len(self.games) >= self.planned


@attrs.frozen
class MatchRound:
    number: int
    groups: tuple[MatchGroup, ...]

    def players(self) -> list[Player]:
        return [player for group in self.groups for player in group.players]


@attrs.frozen
class Grouping:
    groups: tuple[tuple[Player, ...], ...]
    repeats: int
    """Pairs of opponents in the same group who have met before (a pair met twice counts 2)."""
    exact: bool
    """The search finished: no grouping has fewer repeats (nor, Swiss, a smaller spread)."""


@attrs.frozen
class MatchStanding:
    player: Player
    rank: int
    points: int
    games: int
    places: tuple[int, ...]
    """How many games the player won, finished 2nd, 3rd, 4th."""


def met_counts(rounds: Iterable[MatchRound]) -> Counter[frozenset[Player]]:
    met: Counter[frozenset[Player]] = Counter()
    for round_ in rounds:
        for group in round_.groups:
            for index, player in enumerate(group.players):
                for other in group.players[index + 1 :]:
                    met[frozenset((player, other))] += 1
    return met


def match_standings(
    rounds: Sequence[MatchRound], scheme: PointsScheme = IFPA, players: Iterable[Player] = ()
) -> tuple[MatchStanding, ...]:
    """Standings by points over every game recorded; ties by countback (more wins, then more
    2nd places, and so on); players still equal share the rank (1, 1, 3). ``players`` adds
    those who have not played yet (late arrivals start on 0)."""
    points: dict[Player, int] = {}
    games: Counter[Player] = Counter()
    places: dict[Player, list[int]] = {}
    for player in [p for r in rounds for p in r.players()] + list(players):
        points.setdefault(player, 0)
        places.setdefault(player, [0, 0, 0, 0])
    for round_ in rounds:
        for group in round_.groups:
            for game in group.games:
                for player, value in game.points(scheme).items():
                    points[player] += value
                    games[player] += 1
                    place = game.places[player]
                    counts = places[player]
                    counts.extend([0] * (place - len(counts)))
                    counts[place - 1] += 1
    width = max((len(c) for c in places.values()), default=4)

    def key(player: Player) -> tuple[int, ...]:
        counts = places[player] + [0] * (width - len(places[player]))
        return (-points[player], *(-c for c in counts))

    ordered = sorted(points, key=key)
    standings: list[MatchStanding] = []
    for index, player in enumerate(ordered):
        rank = index + 1
        if index and key(ordered[index - 1]) == key(player):
            rank = standings[-1].rank
        standings.append(
            MatchStanding(player, rank, points[player], games[player], tuple(places[player][:4]))
        )
    return tuple(standings)


def match_sizes(players: int, group_size: int = 4) -> tuple[int, ...]:
    """Group sizes for a round: as :func:`group_sizes`, except that 5 players play a 3 and a 2
    and 2 players play head to head, so a round can always be paired."""
    if players < 2:
        raise InvalidInput(
            f"A round needs at least 2 players, not {players}.", code="too_few_players"
        )
    if players < group_size - 1:
        return (players,)
    try:
        return group_sizes(players, group_size)
    except InvalidInput:
        # only 5 (with groups of 4) cannot be split into 4s and 3s
        return (group_size - 1, players - group_size + 1)


class _Search:
    """Branch and bound over the groupings of players, cost lexicographic:
    (repeat opponents, spread of points [Swiss], short-group repeats [balanced last])."""

    def __init__(
        self,
        n: int,
        sizes: Sequence[int],
        met: list[list[int]],
        points: list[int],
        shorts: list[int],
        swiss: bool,
        budget: int,
        rng: random.Random,
    ) -> None:
        self.n = n
        self.sizes = sorted(sizes, reverse=True)
        self.full = self.sizes[0]
        self.met = met
        self.points = points
        self.shorts = shorts
        self.swiss = swiss
        self.budget = budget
        self.rng = rng
        groups = len(sizes)
        short_max = sum(shorts) + n + 1
        spread_max = groups * (max(points, default=0) - min(points, default=0) + 1) + 1
        self.w_short = 1
        self.w_spread = short_max if swiss else 0
        self.w_repeat = short_max * spread_max if swiss else short_max
        self.nodes = 0
        self.best_cost: int | None = None
        self.best: list[list[int]] = []
        self.stopped = False

    def group_cost(self, group: Sequence[int]) -> int:
        repeats = sum(self.met[a][b] for i, a in enumerate(group) for b in group[i + 1 :])
        cost = repeats * self.w_repeat
        if self.swiss:
            values = [self.points[p] for p in group]
            cost += (max(values) - min(values)) * self.w_spread
        if len(group) < self.full:
            cost += sum(self.shorts[p] for p in group) * self.w_short
        return cost

    def repeats_of(self, groups: Sequence[Sequence[int]]) -> int:
        return sum(self.met[a][b] for g in groups for i, a in enumerate(g) for b in g[i + 1 :])

    def consider(self, groups: list[list[int]]) -> None:
        cost = sum(self.group_cost(g) for g in groups)
        if self.best_cost is None or cost < self.best_cost:
            self.best_cost = cost
            self.best = [list(g) for g in groups]

    def improve(self, groups: list[list[int]]) -> list[list[int]]:
        """Swap players between groups while a swap lowers the cost."""
        groups = [list(g) for g in groups]
        costs = [self.group_cost(g) for g in groups]
        improved = True
        while improved:
            improved = False
            for gi in range(len(groups)):
                for gj in range(gi + 1, len(groups)):
                    for a in range(len(groups[gi])):
                        for b in range(len(groups[gj])):
                            first, second = groups[gi][:], groups[gj][:]
                            first[a], second[b] = second[b], first[a]
                            new_i, new_j = self.group_cost(first), self.group_cost(second)
                            if new_i + new_j < costs[gi] + costs[gj]:
                                groups[gi], groups[gj] = first, second
                                costs[gi], costs[gj] = new_i, new_j
                                improved = True
        return groups

    def run(self, starts: list[list[int]]) -> None:
        for order in starts:
            self.consider(self.improve(snake(order, self._dealing_sizes())))
        self.stopped = False
        self._dfs(list(starts[0]), Counter(self.sizes), 0, [])

    def _dealing_sizes(self) -> list[int]:
        return sorted(self.sizes)

    def _pick(self, unassigned: list[int]) -> int:
        if self.swiss:
            return unassigned[0]
        return max(unassigned, key=lambda u: sum(1 for v in unassigned if self.met[u][v]))

    def _dfs(
        self, unassigned: list[int], sizes_left: Counter[int], cost: int, groups: list[list[int]]
    ) -> None:
        if self.stopped:
            return
        self.nodes += 1
        if self.nodes > self.budget:
            self.stopped = True
            return
        if not unassigned:
            if self.best_cost is None or cost < self.best_cost:
                self.best_cost = cost
                self.best = [list(g) for g in groups]
            return
        if self.best_cost == 0:
            return
        first = self._pick(unassigned)
        rest = [u for u in unassigned if u != first]
        rest.sort(
            key=lambda u: (
                self.met[first][u] if not self.swiss else abs(self.points[first] - self.points[u])
            )
        )
        for size in sorted(sizes_left, reverse=True):
            if not sizes_left[size]:
                continue
            sizes_left[size] -= 1
            self._extend([first], size, rest, 0, unassigned, sizes_left, cost, groups)
            sizes_left[size] += 1

    def _extend(
        self,
        group: list[int],
        size: int,
        rest: list[int],
        start: int,
        unassigned: list[int],
        sizes_left: Counter[int],
        cost: int,
        groups: list[list[int]],
    ) -> None:
        if self.stopped:
            return
        self.nodes += 1
        if self.nodes > self.budget:
            self.stopped = True
            return
        if len(group) == size:
            total = cost + self.group_cost(group)
            if self.best_cost is not None and total >= self.best_cost:
                return
            chosen = set(group)
            groups.append(group)
            self._dfs([u for u in unassigned if u not in chosen], sizes_left, total, groups)
            groups.pop()
            return
        need = size - len(group)
        for index in range(start, len(rest) - need + 1):
            candidate = [*group, rest[index]]
            partial = (
                sum(self.met[a][b] for i, a in enumerate(candidate) for b in candidate[i + 1 :])
                * self.w_repeat
            )
            if self.swiss:
                values = [self.points[p] for p in candidate]
                partial += (max(values) - min(values)) * self.w_spread
            if self.best_cost is not None and cost + partial >= self.best_cost:
                continue
            self._extend(candidate, size, rest, index + 1, unassigned, sizes_left, cost, groups)
            if self.stopped:
                return


def group_players(
    players: Sequence[Player],
    rounds: Sequence[MatchRound] = (),
    *,
    group_size: int = 4,
    swiss: bool = False,
    scheme: PointsScheme = IFPA,
    rng_seed: int = 0,
    budget: int = DEFAULT_BUDGET,
) -> Grouping:
    """The next round's groups for ``players`` (best seed first).

    The first round, and any round before anyone has met, is the snake over ``players`` (Swiss: by
    points). Later rounds minimise repeat opponents first; then, Swiss, the spread of points within
    groups; then who plays in a short group again. The search is exact when ``exact`` says so.
    """
    active = list(players)
    if len(set(active)) != len(active):
        raise InvalidInput("A round lists each player once.", code="duplicate_player")
    sizes = match_sizes(len(active), group_size)
    met_pairs = met_counts(rounds)
    if swiss:
        late = [(r.number, i + 1) for r in rounds for i, g in enumerate(r.groups) if not g.complete]
        if late:
            raise Refused(
                f"Swiss pairing needs every result; round {late[0][0]} group {late[0][1]} "
                "is not in yet.",
                code="results_missing",
                round=late[0][0],
                group=late[0][1],
            )
    if not met_pairs:
        order = active
        if swiss:
            standing = {s.player: s.points for s in match_standings(rounds, scheme, active)}
            order = sorted(active, key=lambda p: -standing[p])
        dealt = snake(order, sorted(sizes))
        return Grouping(tuple(tuple(g) for g in dealt), 0, True)

    index = {player: i for i, player in enumerate(active)}
    n = len(active)
    met = [[0] * n for _ in range(n)]
    for pair, count in met_pairs.items():
        a, b = tuple(pair)
        if a in index and b in index:
            met[index[a]][index[b]] = met[index[b]][index[a]] = count
    shorts_count: Counter[Player] = Counter()
    for round_ in rounds:
        full = max(len(g.players) for g in round_.groups)
        for group in round_.groups:
            if len(group.players) < full:
                shorts_count.update(group.players)
    shorts = [shorts_count[p] for p in active]
    standing_points = {s.player: s.points for s in match_standings(rounds, scheme, active)}
    points = [standing_points[p] for p in active]
    rng = random.Random(rng_seed)  # noqa: S311  a seeded, repeatable draw, not a secret
    if swiss:
        base = sorted(range(n), key=lambda i: (-points[i], rng.random()))
    else:
        base = list(range(n))
        rng.shuffle(base)
    starts = [base]
    for _ in range(3):
        shuffled = list(base)
        rng.shuffle(shuffled)
        starts.append(shuffled)
    search = _Search(n, sizes, met, points, shorts, swiss, budget, rng)
    search.run(starts)
    if search.stopped:
        # what the tree search found is already in best; a last local pass polishes it
        search.consider(search.improve(search.best))
    best = sorted(search.best, key=lambda g: (len(g), sorted(g)))
    groups = tuple(tuple(active[i] for i in sorted(g)) for g in best)
    return Grouping(groups, search.repeats_of(best), not search.stopped)


def _assign(cost: list[list[int]]) -> list[int]:
    """Minimum-cost assignment of each row to a distinct column (rows <= columns), by the
    Hungarian method with potentials; returns the column of each row."""
    rows, cols = len(cost), len(cost[0])
    inf = float("inf")
    u = [0.0] * (rows + 1)
    v = [0.0] * (cols + 1)
    owner = [0] * (cols + 1)
    way = [0] * (cols + 1)
    for row in range(1, rows + 1):
        owner[0] = row
        col0 = 0
        minv = [inf] * (cols + 1)
        used = [False] * (cols + 1)
        while True:
            used[col0] = True
            row0 = owner[col0]
            delta = inf
            col1 = 0
            for col in range(1, cols + 1):
                if not used[col]:
                    current = cost[row0 - 1][col - 1] - u[row0] - v[col]
                    if current < minv[col]:
                        minv[col] = current
                        way[col] = col0
                    if minv[col] < delta:
                        delta = minv[col]
                        col1 = col
            for col in range(cols + 1):
                if used[col]:
                    u[owner[col]] += delta
                    v[col] -= delta
                else:
                    minv[col] -= delta
            col0 = col1
            if owner[col0] == 0:
                break
        while col0:
            col1 = way[col0]
            owner[col0] = owner[col1]
            col0 = col1
    result = [0] * rows
    for col in range(1, cols + 1):
        if owner[col]:
            result[owner[col] - 1] = col - 1
    return result


def machine_counts(rounds: Iterable[MatchRound]) -> Counter[tuple[Player, Machine]]:
    played: Counter[tuple[Player, Machine]] = Counter()
    for round_ in rounds:
        for group in round_.groups:
            for machine in group.machines:
                for player in group.players:
                    played[(player, machine)] += 1
    return played


def assign_machines(
    groups: Sequence[Sequence[Player]],
    machines: Sequence[Machine],
    rounds: Sequence[MatchRound] = (),
    *,
    games_per_round: int = 1,
    rng_seed: int = 0,
) -> list[tuple[Machine, ...]]:
    """A machine for each game of each group: game by game, the assignment with the fewest
    (player, machine) repeats over the rounds so far and this round's earlier games, a group
    never twice on one machine in a round while it can be avoided. With fewer machines than
    groups, a machine hosts two groups one after the other."""
    if not machines:
        raise InvalidInput("Match play needs at least one machine in play.", code="no_machines")
    if len(set(machines)) != len(machines):
        raise InvalidInput("Each machine is listed once.", code="duplicate_machine")
    pool = list(machines)
    random.Random(rng_seed).shuffle(pool)  # noqa: S311  a seeded, repeatable draw, not a secret
    played = machine_counts(rounds)
    copies = -(-len(groups) // len(pool))
    columns = [(machine, copy) for copy in range(copies) for machine in pool]
    worst = max(1, sum(len(g) for g in groups) * (len(rounds) + games_per_round + 1))
    sharing = worst * 10
    twice = sharing * (copies + 1) * 10
    chosen: list[list[Machine]] = [[] for _ in groups]
    for _ in range(games_per_round):
        cost = [
            [
                sum(played[(p, machine)] for p in group)
                + copy * sharing
                + (twice if machine in chosen[gi] else 0)
                for machine, copy in columns
            ]
            for gi, group in enumerate(groups)
        ]
        for gi, col in enumerate(_assign(cost)):
            machine = columns[col][0]
            chosen[gi].append(machine)
            for player in groups[gi]:
                played[(player, machine)] += 1
    return [tuple(c) for c in chosen]


def pair_round(
    players: Sequence[Player],
    rounds: Sequence[MatchRound] = (),
    *,
    machines: Sequence[Machine] = (),
    games_per_round: int = 1,
    group_size: int = 4,
    swiss: bool = False,
    scheme: PointsScheme = IFPA,
    rng_seed: int = 0,
    budget: int = DEFAULT_BUDGET,
) -> MatchRound:
    """The next round: groups from :func:`group_players`, machines from :func:`assign_machines`
    (none when ``machines`` is empty, for a desk that assigns them by hand)."""
    if games_per_round < 1:
        raise InvalidInput("A round has at least one game.", code="games_per_round")
    grouping = group_players(
        players,
        rounds,
        group_size=group_size,
        swiss=swiss,
        scheme=scheme,
        rng_seed=rng_seed,
        budget=budget,
    )
    if machines:
        chosen = assign_machines(
            grouping.groups, machines, rounds, games_per_round=games_per_round, rng_seed=rng_seed
        )
    else:
        chosen = [() for _ in grouping.groups]
    number = max((r.number for r in rounds), default=0) + 1
    return MatchRound(
        number,
        tuple(
            MatchGroup(group, machine_list, (), games_per_round)
            for group, machine_list in zip(grouping.groups, chosen, strict=True)
        ),
    )
