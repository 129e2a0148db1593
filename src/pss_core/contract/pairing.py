"""The pairing family: formats that put players into groups round by round (finals, match play).

A pairing format is a :class:`~pss_core.contract.Format` that also subclasses
:class:`PairingFormat`, registered with ``pss_register_formats`` like any other. pss stores the
rounds, groups and games and asks the format three things: the next round's groups from what has
been played, the places of one game, and the order of a group once its games are in. Players are
named by their finals *seed* (1 is the best qualifier), so a format never touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from pss_core.contract.formats import Format
from pss_core.errors import InvalidInput

Places = Mapping[int, int]
"""One game: seed -> place, 1 the best; equal scores share the better place (1, 1, 3)."""


@attrs.frozen
class GroupPlan:
    """A group the format wants played."""

    #: Round number and letter (``1A``); unique within the finals.
    label: str
    #: Its players' seeds, in the order they are dealt (the first chooses position first).
    seeds: tuple[int, ...]
    #: How many go on to the next round; 0 in the last round.
    advance: int
    #: Games the group plays this round.
    games: int


@attrs.frozen
class FinishedGroup:
    """A group whose order stands (every game in, every tiebreaker played)."""

    #: The group's name in the bracket (``1A``).
    label: str
    #: Best first.
    order: tuple[int, ...]
    #: How many of the group go on to the next round.
    advance: int


@attrs.frozen
class GroupVerdict:
    """Where a group stands after the games so far."""

    #: Best first: provisional until ``is_final``.
    order: tuple[int, ...]
    #: Seed -> points (or strikes, or whatever the format counts), for display.
    points: Mapping[int, int]
    #: Every game of the round is in.
    complete: bool
    #: Ties across a decisive line that a tiebreaker game among exactly these seeds must settle.
    tiebreakers_needed: tuple[tuple[int, ...], ...] = ()

    @property
    def is_final(self) -> bool:
        return self.complete and not self.tiebreakers_needed


@attrs.frozen
class Seeding:
    """Finals seeds from qualifying standings."""

    #: Player ids (``EventPlayer.id``) in seed order, seed 1 first; provisional while ``pending``.
    players: tuple[int, ...]
    #: Ties across the cut or bye line that a tiebreaker game among exactly these players settles.
    pending: tuple[tuple[int, ...], ...] = ()


def places_from_scores(scores: Mapping[int, int]) -> dict[int, int]:
    """Seed -> place from seed -> score: more is better; equal scores share the better place."""
    for score in scores.values():
        if isinstance(score, bool) or not isinstance(score, int) or score < 0:
            raise InvalidInput("Scores are whole numbers, 0 or more.", code="score")
    return {p: 1 + sum(1 for other in scores.values() if other > s) for p, s in scores.items()}


def places_from_order(order: Sequence[int]) -> dict[int, int]:
    """Seed -> place from a finishing order, best first."""
    if len(set(order)) != len(order):
        raise InvalidInput("A finishing order lists each player once.", code="order")
    return {p: i + 1 for i, p in enumerate(order)}


@attrs.frozen
class StandingRow:
    """One line of a pairing format's running standings."""

    #: The player's finals seed (for match play, their place in the qualifying order).
    seed: int
    #: Equal ranks are ties the format's rules leave standing.
    rank: int
    #: Points so far (or whatever the format counts).
    points: int
    #: Games played so far.
    games: int


class PairingFormat(Format):
    """What pss asks a pairing format. ``options`` are the finals' resolved options; ``history``
    is every finished round so far, oldest first, as its finished groups."""

    def check_setup(self, options: Mapping[str, Any], qualifiers: int) -> None:
        """Refuse (``InvalidInput``) numbers the format cannot play, before anything is stored."""

    def byes(self, options: Mapping[str, Any]) -> int:
        """How many top seeds skip the first round (a second line for qualifying tiebreakers)."""
        return 0

    def next_round(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> tuple[GroupPlan, ...]:
        """The groups of the next round from the rounds so far; ``()`` when the finals are over."""
        raise NotImplementedError

    def rank_game(
        self,
        options: Mapping[str, Any],
        *,
        scores: Mapping[int, int] | None = None,
        order: Sequence[int] | None = None,
    ) -> dict[int, int]:
        """One game's places from every player's score or from the finishing order."""
        if scores is not None:
            return places_from_scores(scores)
        if order is not None:
            return places_from_order(order)
        raise InvalidInput("Give the scores or the finishing order.", code="no_result")

    def advance(
        self,
        options: Mapping[str, Any],
        group: GroupPlan,
        games: Sequence[Places],
        tiebreakers: Sequence[Places],
    ) -> GroupVerdict:
        """The group's order after ``games`` (and any tiebreaker games among tied players)."""
        raise NotImplementedError

    def final_positions(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> dict[int, int]:
        """Seed -> final position for every player whose finals are over."""
        raise NotImplementedError

    def standings(
        self,
        options: Mapping[str, Any],
        qualifiers: int,
        history: Sequence[Sequence[FinishedGroup]],
    ) -> tuple[StandingRow, ...]:
        """Running standings over every seed, best first, from the finished groups so far (here
        the last round may be partly finished); ``()`` for formats that have none (a bracket
        has final positions instead)."""
        return ()

    def seed(
        self,
        options: Mapping[str, Any],
        cut: int,
        standings: Sequence[tuple[int, int]],
        tiebreakers: Sequence[Places],
    ) -> Seeding:
        """Seeds from qualifying ``standings`` (player id, rank; equal ranks tie, better
        standings first). A tie across the cut or the bye line is settled only by a tiebreaker
        game among exactly the tied players; other ties keep the standings' order."""
        if not 1 <= cut <= len(standings):
            raise InvalidInput(
                f"The cut must be 1 to {len(standings)} (the players with standings), not {cut}.",
                code="cut",
            )
        lines = {cut} | ({self.byes(options)} - {0})
        games = {frozenset(g): g for g in tiebreakers}
        ranked = list(standings)
        result: list[int] = []
        pending: list[tuple[int, ...]] = []
        start = 0
        while start < len(ranked):
            end = start
            while end + 1 < len(ranked) and ranked[end + 1][1] == ranked[start][1]:
                end += 1
            block = [p for p, _ in ranked[start : end + 1]]
            crosses = any(start + 1 <= line < end + 1 for line in lines)
            game = games.get(frozenset(block))
            if crosses and game is not None:
                block.sort(key=lambda p: game[p])
            elif crosses:
                pending.append(tuple(block))
            result.extend(block)
            start = end + 1
        return Seeding(tuple(result[:cut]), tuple(pending))
