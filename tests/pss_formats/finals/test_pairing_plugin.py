"""The pairing family through the contract alone: a strikes knockout written as an outside plugin
would be (a few dozen lines, importing only the contract and errors) runs to final positions; the
built-in group finals answers the same questions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pss_core.contract import (
    FinishedGroup,
    FormatSpec,
    GroupPlan,
    GroupVerdict,
    OptionSpec,
    PairingFormat,
)
from pss_core.plugins import get_plugin_manager
from pss_formats.finals.format import GroupFinals


class Strikes(PairingFormat):
    """Groups of up to four play one game; the last place takes a strike; three strikes and out."""

    def _strikes(self, history: Sequence[Sequence[FinishedGroup]]) -> dict[int, int]:
        strikes: dict[int, int] = {}
        for round_ in history:
            for group in round_:
                strikes[group.order[-1]] = strikes.get(group.order[-1], 0) + 1
        return strikes

    def _alive(self, qualifiers: int, history: Sequence[Sequence[FinishedGroup]]) -> list[int]:
        strikes = self._strikes(history)
        limit = int(self.options_limit)
        return [s for s in range(1, qualifiers + 1) if strikes.get(s, 0) < limit]

    options_limit = 3

    def next_round(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> tuple[GroupPlan, ...]:
        alive = self._alive(qualifiers, history)
        if len(alive) < 2:
            return ()
        n = len(history) + 1
        return tuple(
            GroupPlan(f"{n}{chr(65 + i)}", tuple(alive[j : j + 4]), 0, 1)
            for i, j in enumerate(range(0, len(alive), 4))
            if alive[j : j + 2][1:]
        )

    def advance(
        self,
        options: Mapping[str, Any],
        group: GroupPlan,
        games: Sequence[Mapping[int, int]],
        tiebreakers: Sequence[Mapping[int, int]],
    ) -> GroupVerdict:
        order = tuple(sorted(group.seeds, key=lambda s: (games[0][s], s))) if games else group.seeds
        return GroupVerdict(order, dict.fromkeys(group.seeds, 0), bool(games))

    def final_positions(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> dict[int, int]:
        if self.next_round(options, qualifiers, history):
            return {}
        out: list[int] = []
        for round_ in history:
            for group in round_:
                loser = group.order[-1]
                if self._strikes(history).get(loser, 0) >= 3 and loser not in out:
                    out.append(loser)
        alive = self._alive(qualifiers, history)
        ranking = alive + list(reversed(out))
        return {seed: index + 1 for index, seed in enumerate(ranking)}


def run(fmt: PairingFormat, options: Mapping[str, Any], qualifiers: int) -> dict[int, int]:
    """Play every round with the better seed always winning, through the contract's methods."""
    history: list[list[FinishedGroup]] = []
    for _ in range(100):
        plans = fmt.next_round(options, qualifiers, history)
        if not plans:
            break
        finished = []
        for plan in plans:
            games = [
                fmt.rank_game(options, scores={s: 1000 - s for s in plan.seeds})
                for _ in range(plan.games)
            ]
            verdict = fmt.advance(options, plan, games, [])
            assert verdict.is_final
            finished.append(FinishedGroup(plan.label, verdict.order, plan.advance))
        history.append(finished)
    return fmt.final_positions(options, qualifiers, history)


def test_a_strikes_knockout_plugin_registers_and_runs_to_final_positions() -> None:
    class Plugin:
        from pss_core import hookimpl

        @hookimpl
        def pss_register_formats(self, registry: Any) -> None:
            registry.add(
                FormatSpec(
                    "strikes",
                    "Strikes",
                    "Three strikes and out.",
                    (OptionSpec("strikes", "int", 3, "Strikes"),),
                    format=Strikes(),
                )
            )

    pss = get_plugin_manager([Plugin()], load_entrypoints=False)
    from pss_core.services.finals import pairing_formats

    assert {"strikes", "group_finals"} <= set(pairing_formats(pss))
    positions = run(pss.formats["strikes"].format, {}, 6)  # type: ignore[arg-type]
    # The favourites win every game: seed 1 wins, and every seed has one position.
    assert sorted(positions) == sorted(positions.values()) == list(range(1, 7))
    assert positions[1] == 1


def test_the_built_in_group_finals_answers_the_same_questions() -> None:
    options = {
        "byes": 0,
        "group_size": 4,
        "games": 3,
        "points": "papa",
        "advance": 2,
        "last": "group",
    }
    assert run(GroupFinals(), options, 8) == {s: s for s in range(1, 9)}
