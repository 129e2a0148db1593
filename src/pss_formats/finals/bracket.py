"""The finals bracket: its template from the numbers alone, and who fills it as groups finish.

Every round's groups are the snake over the players entering it, ordered by *bracket seed*: a
qualifier's bracket seed is their qualifying seed; the player who finishes p-th in a group has the
bracket seed of the p-th best bracket seed in that group (the one expected to finish there). So the
printed bracket is what re-seeding by qualifying seed gives when the favourites advance, and it can
be printed before the event. See docs/finals.rst.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from pss_core.errors import InvalidInput, NotFound
from pss_formats.finals.groups import group_letters, group_sizes, snake

MAX_PLAYERS = 4096


class LastRound(enum.StrEnum):
    """How the bracket ends."""

    GROUP = "group"
    """One final group plays for every place."""
    FINAL_OF_TWO = "two"
    """The last group sends its top two to a head-to-head final."""


def ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@attrs.frozen
class Slot:
    """One place in a group: a qualifier at their seed, or the player finishing ``place`` in an
    earlier group."""

    bracket_seed: int
    """The seed of the player expected to fill this place if the favourites advance."""
    seed: int | None = None
    source: str | None = None
    """The label of the group the player comes from."""
    place: int | None = None

    @property
    def is_seed(self) -> bool:
        return self.seed is not None

    def describe(self) -> str:
        if self.seed is not None:
            return str(self.seed)
        return f"{ordinal(self.place or 0)} in {self.source}"

    def as_json(self) -> int | str:
        return self.seed if self.seed is not None else self.describe()


@attrs.frozen
class BracketGroup:
    label: str
    """Round number and letter: ``1A`` is the best group of round 1."""
    round_number: int
    slots: tuple[Slot, ...]
    advance: int
    """How many go on to the next round; 0 in the last round."""

    @property
    def size(self) -> int:
        return len(self.slots)

    @property
    def is_last(self) -> bool:
        return self.advance == 0

    @property
    def decisive_lines(self) -> tuple[int, ...]:
        """Places whose tie with the next place a tiebreaker game settles: the advancing line, or
        first place in the last round."""
        return (self.advance,) if self.advance else (1,)


@attrs.frozen
class BracketRound:
    number: int
    groups: tuple[BracketGroup, ...]
    byes_entering: tuple[int, ...] = ()
    """The seeds who join the bracket in this round (round 2 holds the byes)."""


@attrs.frozen
class Bracket:
    players: int
    byes: int
    group_size: int
    advance: int
    last: LastRound
    rounds: tuple[BracketRound, ...]

    @property
    def final(self) -> BracketGroup:
        return self.rounds[-1].groups[0]

    def group(self, label: str) -> BracketGroup:
        for round_ in self.rounds:
            for group in round_.groups:
                if group.label == label:
                    return group
        raise NotFound(f"The bracket has no group {label}.", code="no_such_group", group=label)

    def groups(self) -> list[BracketGroup]:
        return [group for round_ in self.rounds for group in round_.groups]

    def eliminated_in(self, round_number: int) -> int:
        """How many players finish their finals in this round."""
        round_ = self.rounds[round_number - 1]
        return sum(group.size - group.advance for group in round_.groups)

    def as_json(self) -> dict[str, Any]:
        return {
            "rounds": [
                {
                    "number": round_.number,
                    "groups": [[slot.as_json() for slot in group.slots] for group in round_.groups],
                }
                for round_ in self.rounds
            ]
        }

    def describe(self) -> str:
        """The bracket as a desk prints it."""
        byes = f"{self.byes} bye{'s' if self.byes != 1 else ''}" if self.byes else "no byes"
        ending = "a final group" if self.last is LastRound.GROUP else "a final of 2"
        lines = [
            f"{self.players} players, {byes}, groups of {self.group_size}, "
            f"top {self.advance} of each group advance, ending in {ending}."
        ]
        for round_ in self.rounds:
            heading = f"Round {round_.number}"
            if round_.number == len(self.rounds):
                heading += " (final)"
            if round_.byes_entering:
                first, last = round_.byes_entering[0], round_.byes_entering[-1]
                seeds = f"seed {first}" if first == last else f"seeds {first}-{last}"
                heading += f": {seeds} enter"
            lines.append("")
            lines.append(heading)
            for group in round_.groups:
                where = f", top {group.advance} advance" if group.advance else ""
                lines.append(
                    f"  {group.label}: {', '.join(slot.describe() for slot in group.slots)}{where}"
                )
        return "\n".join(lines) + "\n"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def build_bracket(
    players: int,
    byes: int = 0,
    *,
    group_size: int = 4,
    advance: int = 2,
    last: LastRound | str = LastRound.GROUP,
) -> Bracket:
    """The whole bracket for ``players`` qualifiers, seeds 1..``byes`` entering in round 2.

    Raises :class:`InvalidInput` with a message for the desk when the numbers cannot make a bracket.
    """
    try:
        last = LastRound(last)
    except ValueError:
        raise InvalidInput(
            f"The last round is 'group' (one final group) or 'two' (a final of 2), not {last!r}.",
            code="last_round",
        ) from None
    if not 3 <= group_size <= 8:
        raise InvalidInput(f"Groups have 3 to 8 players, not {group_size}.", code="group_size")
    if not 2 <= players <= MAX_PLAYERS:
        raise InvalidInput(
            f"A bracket has 2 to {MAX_PLAYERS} players, not {players}.", code="players"
        )
    if not 0 <= byes < players:
        raise InvalidInput(
            f"{_plural(players, 'player')} can have 0 to {players - 1} byes, not {byes}.",
            code="byes",
        )
    if not 1 <= advance <= group_size - 2:
        raise InvalidInput(
            f"From groups of {group_size}, 1 to {group_size - 2} can advance, not {advance}.",
            code="advance",
        )
    intro = f"{_plural(players, 'player')} with {_plural(byes, 'bye')}"
    if byes and players - byes < group_size - 1:
        raise InvalidInput(
            f"{intro} leaves {players - byes} to play round 1, too few for a group of "
            f"{group_size - 1}.",
            code="too_many_byes",
            players=players,
            byes=byes,
        )

    entrants = [Slot(bracket_seed=seed, seed=seed) for seed in range(byes + 1, players + 1)]
    rounds: list[BracketRound] = []
    number = 1
    while True:
        count = len(entrants)
        entering = tuple(range(1, byes + 1)) if number == 2 else ()
        fits_one = count <= group_size and not (number == 1 and byes)
        if fits_one and (last is LastRound.GROUP or count == 2):
            if count < 3 and last is LastRound.GROUP:
                raise InvalidInput(
                    f"{intro}: the last round would have only {count} players; choose a final "
                    "of 2 or fewer advancing.",
                    code="final_too_small",
                )
            label = f"{number}A"
            slots = tuple(sorted(entrants, key=lambda slot: slot.bracket_seed))
            rounds.append(BracketRound(number, (BracketGroup(label, number, slots, 0),), entering))
            break
        if fits_one:
            sizes: tuple[int, ...] = (count,)
            go_on = 2
        else:
            try:
                sizes = group_sizes(count, group_size)
            except InvalidInput:
                where = (
                    f"round 1 has {count} players"
                    if number == 1
                    else (f"round {number} would have {count} players")
                )
                raise InvalidInput(
                    f"{intro}: {where}, which cannot be split into groups of {group_size} and "
                    f"{group_size - 1}.",
                    code="cannot_split",
                    round=number,
                ) from None
            go_on = advance
        if go_on >= min(sizes):
            raise InvalidInput(
                f"{intro}: round {number} has a group of {min(sizes)}, and {go_on} advancing from "
                "it would eliminate nobody.",
                code="advance",
            )
        ordered = sorted(entrants, key=lambda slot: slot.bracket_seed)
        dealt = snake(ordered, sizes)
        groups = tuple(
            BracketGroup(f"{number}{group_letters(index)}", number, tuple(slots), go_on)
            for index, slots in enumerate(dealt)
        )
        if number == 2 and byes:
            from_round_1 = sum(1 for slot in ordered if not slot.is_seed)
            for group in groups:
                if all(slot.is_seed for slot in group.slots):
                    raise InvalidInput(
                        f"{intro} leaves {players - byes} to play round 1, which cannot fill the "
                        f"round-2 groups: {from_round_1} advance from round 1 into "
                        f"{len(groups)} groups, and group {group.label} would hold only byes.",
                        code="too_many_byes",
                        players=players,
                        byes=byes,
                    )
        rounds.append(BracketRound(number, groups, entering))
        entrants = [
            Slot(
                bracket_seed=sorted(s.bracket_seed for s in group.slots)[place - 1],
                source=group.label,
                place=place,
            )
            for group in groups
            for place in range(1, group.advance + 1)
        ]
        if number == 1:
            entrants += [Slot(bracket_seed=seed, seed=seed) for seed in range(1, byes + 1)]
        number += 1
    return Bracket(players, byes, group_size, advance, last, tuple(rounds))


@attrs.frozen
class BracketProgress:
    """Who is in each group so far, and final positions, from the groups' finishing orders.

    ``orders`` maps a group's label to its seeds in finishing order, tiebreakers settled (what
    :func:`pss_formats.finals.points.score_group` gives as ``order`` once it is final).
    """

    bracket: Bracket
    orders: Mapping[str, Sequence[int]]
    members: dict[str, tuple[int | None, ...]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        known = {group.label: group for group in self.bracket.groups()}
        for label in self.orders:
            if label not in known:
                raise NotFound(f"The bracket has no group {label}.", code="no_such_group")
        members: dict[str, tuple[int | None, ...]] = {}
        for group in self.bracket.groups():
            filled: list[int | None] = []
            for slot in group.slots:
                if slot.seed is not None:
                    filled.append(slot.seed)
                else:
                    feeder = self.orders.get(slot.source or "")
                    filled.append(feeder[(slot.place or 0) - 1] if feeder is not None else None)
            members[group.label] = tuple(filled)
            order = self.orders.get(group.label)
            if order is not None:
                if None in filled:
                    raise InvalidInput(
                        f"Group {group.label} has a result, but the groups feeding it have not "
                        "all finished.",
                        code="group_not_ready",
                        group=group.label,
                    )
                if sorted(order) != sorted(s for s in filled if s is not None):
                    raise InvalidInput(
                        f"The result of group {group.label} must list exactly its players "
                        f"(seeds {', '.join(str(s) for s in filled)}).",
                        code="wrong_players",
                        group=group.label,
                    )
        object.__setattr__(self, "members", members)

    def players_of(self, label: str) -> tuple[int | None, ...]:
        """The seeds in the group, in slot order; ``None`` where a feeding group is unfinished."""
        self.bracket.group(label)
        return self.members[label]

    def is_complete(self) -> bool:
        return self.bracket.final.label in self.orders

    def final_positions(self) -> dict[int, int]:
        """Seed -> final position (1 is the winner), for every player whose finals are over:
        everyone out in a round once that whole round has finished, and everyone once the final
        has. Players out in the same round are ranked by their place in their group, then seed."""
        positions: dict[int, int] = {}
        above = 0
        for round_ in reversed(self.bracket.rounds):
            done = all(group.label in self.orders for group in round_.groups)
            out: list[tuple[int, int]] = []
            if done:
                for group in round_.groups:
                    order = self.orders[group.label]
                    for place in range(group.advance + 1, group.size + 1):
                        out.append((place, order[place - 1]))
                for index, (_, seed) in enumerate(sorted(out)):
                    positions[seed] = above + index + 1
            above += self.bracket.eliminated_in(round_.number)
        return positions
