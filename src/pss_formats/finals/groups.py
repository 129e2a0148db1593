"""Splitting a field into groups of a size (one fewer where the numbers force it) and the snake."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pss_core.errors import InvalidInput

T = TypeVar("T")


def group_sizes(players: int, size: int = 4) -> tuple[int, ...]:
    """The sizes of the groups for ``players``, best group first.

    As few groups as possible, every one of ``size`` players except as many of ``size - 1`` as the
    numbers force; the short groups come first, so the snake gives them to the best seeds (a short
    group is the easier one to advance from). 5 players cannot be split into 4s and 3s.
    """
    if size < 3:
        raise InvalidInput(f"Groups must have at least 3 players, not {size}.", code="group_size")
    if players < size - 1:
        raise InvalidInput(
            f"{players} players are too few for a group of {size - 1} or {size}.",
            code="too_few_players",
            players=players,
        )
    count = -(-players // size)
    short = count * size - players
    if short > count:
        raise InvalidInput(
            f"{players} players cannot be split into groups of {size} and {size - 1}.",
            code="cannot_split",
            players=players,
        )
    return (size - 1,) * short + (size,) * (count - short)


def snake(items: Sequence[T], sizes: Sequence[int]) -> list[list[T]]:
    """Deal ``items`` (best first) into groups of ``sizes``: the first row left to right, the next
    right to left, and so on, skipping a group once it is full; so each group holds one of the
    best, and the best of a row sits with the worst of the next."""
    if sum(sizes) != len(items):
        raise ValueError("the sizes must add up to the number of items")
    groups: list[list[T]] = [[] for _ in sizes]
    position = 0
    row = 0
    while position < len(items):
        order = range(len(sizes)) if row % 2 == 0 else range(len(sizes) - 1, -1, -1)
        for index in order:
            if len(groups[index]) < sizes[index] and position < len(items):
                groups[index].append(items[position])
                position += 1
        row += 1
    return groups


def group_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the letter part of a group's label."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
