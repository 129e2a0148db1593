"""Group finals and group match play as pairing formats: the bracket and points engines of this
package behind the :class:`~pss_core.contract.PairingFormat` methods, using only the contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pss_core import hookimpl
from pss_core.contract import (
    FinishedGroup,
    FormatSpec,
    GroupPlan,
    GroupVerdict,
    OptionSpec,
    PairingFormat,
    Registry,
    Seeding,
    StandingRow,
)
from pss_core.errors import InvalidInput
from pss_formats.finals import matchplay
from pss_formats.finals.bracket import Bracket, BracketProgress, build_bracket
from pss_formats.finals.points import GameResult, parse_points, score_group, seed_qualifiers

FINALS_OPTIONS = (
    OptionSpec(
        "byes", "int", 0, "Byes", "Top seeds who skip round 1 and enter in round 2.", minimum=0
    ),
    OptionSpec(
        "group_size",
        "int",
        4,
        "Group size",
        "Players per group (one fewer where the numbers force it).",
        minimum=3,
        maximum=8,
    ),
    OptionSpec(
        "games",
        "int",
        3,
        "Games per round",
        "Games each group plays in a round.",
        minimum=1,
        maximum=15,
    ),
    OptionSpec(
        "points",
        "str",
        "papa",
        "Points per game",
        "papa (4-2-1-0), ifpa (7-5-3-1 and 7-4-1) or a list such as 10,6,3,0/10,5,0.",
    ),
    OptionSpec(
        "advance", "int", 2, "Advance per group", "How many of each group go on.", minimum=1
    ),
    OptionSpec(
        "last",
        "choice",
        "group",
        "Last round",
        "One final group, or a final of 2 (games won).",
        choices=("group", "two"),
    ),
)


def _game(places: Mapping[int, int]) -> GameResult:
    # The engines take any hashable players; seeds are ints.
    mapping: dict[Any, int] = dict(places)
    return GameResult(mapping)


def bracket_of(options: Mapping[str, Any], qualifiers: int) -> Bracket:
    return build_bracket(
        qualifiers,
        int(options["byes"]),
        group_size=int(options["group_size"]),
        advance=int(options["advance"]),
        last=str(options["last"]),
    )


def _orders(history: Sequence[Sequence[FinishedGroup]]) -> dict[str, Sequence[int]]:
    return {group.label: group.order for round_ in history for group in round_}


class GroupFinals(PairingFormat):
    """A fixed bracket of groups (docs/finals.rst): the seeds dealt by the snake, the top of each
    group advancing, ending in a final group or a final of 2."""

    title = "Group finals"

    def check_setup(self, options: Mapping[str, Any], qualifiers: int) -> None:
        bracket_of(options, qualifiers)
        parse_points(str(options["points"]))

    def byes(self, options: Mapping[str, Any]) -> int:
        return int(options["byes"])

    def next_round(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> tuple[GroupPlan, ...]:
        bracket = bracket_of(options, qualifiers)
        if len(history) >= len(bracket.rounds):
            return ()
        progress = BracketProgress(bracket, _orders(history))
        round_ = bracket.rounds[len(history)]
        plans = []
        for group in round_.groups:
            seeds = progress.players_of(group.label)
            if None in seeds:
                raise InvalidInput(
                    f"Group {group.label} waits for earlier groups.", code="round_not_ready"
                )
            plans.append(
                GroupPlan(
                    group.label,
                    tuple(sorted(s for s in seeds if s is not None)),
                    group.advance,
                    int(options["games"]),
                )
            )
        return tuple(plans)

    def advance(
        self,
        options: Mapping[str, Any],
        group: GroupPlan,
        games: Sequence[Mapping[int, int]],
        tiebreakers: Sequence[Mapping[int, int]],
    ) -> GroupVerdict:
        outcome = score_group(
            group.seeds,
            [_game(g) for g in games],
            parse_points(str(options["points"])),
            seeds={s: s for s in group.seeds},
            games_per_round=group.games,
            advance=group.advance,
            tiebreakers=[_game(g) for g in tiebreakers],
        )
        needed = tuple(
            tuple(int(p) for p in need.players)  # type: ignore[call-overload]
            for need in outcome.needs_tiebreaker
        )
        return GroupVerdict(
            tuple(int(p) for p in outcome.order),  # type: ignore[call-overload]
            {int(p): v for p, v in outcome.totals.items()},  # type: ignore[call-overload]
            outcome.complete,
            needed,
        )

    def final_positions(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> dict[int, int]:
        return BracketProgress(bracket_of(options, qualifiers), _orders(history)).final_positions()

    def seed(
        self,
        options: Mapping[str, Any],
        cut: int,
        standings: Sequence[tuple[int, int]],
        tiebreakers: Sequence[Mapping[int, int]],
    ) -> Seeding:
        order = {p: i for i, (p, _) in enumerate(standings)}
        seeding = seed_qualifiers(
            list(standings),
            cut=cut,
            byes=self.byes(options),
            tiebreakers=[_game(g) for g in tiebreakers],
            secondary=lambda p: order[p],  # type: ignore[index]
        )
        return Seeding(
            tuple(int(p) for p in seeding.seeds),  # type: ignore[call-overload]
            tuple(
                tuple(int(p) for p in tie.players)  # type: ignore[call-overload]
                for tie in seeding.pending
            ),
        )


MATCH_OPTIONS = (
    OptionSpec("rounds", "int", 4, "Rounds", "How many rounds are played.", minimum=1, maximum=30),
    OptionSpec("points", "str", "ifpa", "Points per game", FINALS_OPTIONS[3].help),
    OptionSpec("group_size", "int", 4, "Group size", "Players per group.", minimum=3, maximum=4),
)


class GroupMatchPlay(PairingFormat):
    """Rounds of one game in groups, repeat opponents kept to a minimum; everyone plays every
    round and the standings are points with countback."""

    title = "Group match play"

    def _rounds(
        self, history: Sequence[Sequence[FinishedGroup]], options: Mapping[str, Any]
    ) -> list[matchplay.MatchRound]:
        rounds = []
        for number, round_ in enumerate(history, start=1):
            groups = tuple(
                matchplay.MatchGroup(
                    players=group.order,
                    games=(GameResult({p: i + 1 for i, p in enumerate(group.order)}),),
                )
                for group in round_
            )
            rounds.append(matchplay.MatchRound(number, groups))
        return rounds

    def next_round(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> tuple[GroupPlan, ...]:
        if len(history) >= int(options["rounds"]):
            return ()
        rounds = self._rounds(history, options)
        grouping = matchplay.group_players(
            list(range(1, qualifiers + 1)), rounds, group_size=int(options["group_size"])
        )
        number = len(history) + 1
        return tuple(
            GroupPlan(f"{number}{chr(65 + i)}", tuple(int(p) for p in g), 0, 1)  # type: ignore[call-overload]
            for i, g in enumerate(grouping.groups)
        )

    def advance(
        self,
        options: Mapping[str, Any],
        group: GroupPlan,
        games: Sequence[Mapping[int, int]],
        tiebreakers: Sequence[Mapping[int, int]],
    ) -> GroupVerdict:
        points = dict.fromkeys(group.seeds, 0)
        scheme = parse_points(str(options["points"]))
        for game in games:
            for p, v in _game(game).points(scheme).items():
                points[int(p)] += v  # type: ignore[call-overload]
        order = tuple(sorted(group.seeds, key=lambda s: (games[-1][s] if games else 0, s)))
        return GroupVerdict(order, points, len(games) >= group.games)

    def standings(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> tuple[StandingRow, ...]:
        table = matchplay.match_standings(
            self._rounds(history, options),
            parse_points(str(options["points"])),
            players=range(1, qualifiers + 1),
        )
        return tuple(
            StandingRow(int(row.player), row.rank, row.points, row.games)  # type: ignore[call-overload]
            for row in sorted(table, key=lambda row: (row.rank, row.player))
        )

    def final_positions(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> dict[int, int]:
        if len(history) < int(options["rounds"]):
            return {}
        table = matchplay.match_standings(
            self._rounds(history, options), parse_points(str(options["points"]))
        )
        # Players still equal after countback go by seed, so every position is given once.
        ordered = sorted(table, key=lambda row: (row.rank, row.player))
        return {
            int(row.player): index + 1  # type: ignore[call-overload]
            for index, row in enumerate(ordered)
        }


@hookimpl
def pss_register_formats(registry: Registry[FormatSpec]) -> None:
    registry.add(
        FormatSpec(
            "group_finals",
            GroupFinals.title,
            "Finals from a qualifying tournament: groups play a few games for points by place, the "
            "top of each group advances, to a final group or a final of 2.",
            FINALS_OPTIONS,
            format=GroupFinals(),
        )
    )
    registry.add(
        FormatSpec(
            "group_match_play",
            GroupMatchPlay.title,
            "Rounds of groups on machines, repeat opponents kept to a minimum, points by place.",
            MATCH_OPTIONS,
            format=GroupMatchPlay(),
        )
    )
