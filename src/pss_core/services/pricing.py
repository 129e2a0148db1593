"""Ticket prices: the cheapest exact mix of bundles and single tickets, in integer cents.

A tournament (or metatournament) has a single-ticket price and optional bundles ("3 for $8"). For
any count the price is the cheapest combination that adds up to exactly that many tickets; the lines
of that combination are kept on the purchase so a receipt can show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from pss_core.errors import InvalidInput
from pss_core.models import Metatournament, Tournament

#: The most tickets one purchase may be for; larger counts are almost certainly a typo.
MAX_TICKETS_PER_PURCHASE = 1000
#: The largest amount a purchase records (its amount column is a 32-bit integer of cents).
MAX_AMOUNT_CENTS = 2**31 - 1


@attrs.frozen
class PriceLine:
    """One line of a price: ``count`` times a pack of ``size`` tickets at ``unit_cents`` each."""

    count: int
    #: Tickets per pack: 1 for single tickets, else the bundle size.
    size: int
    #: The price of one pack.
    unit_cents: int
    #: ``count * unit_cents``.
    cents: int

    @property
    def tickets(self) -> int:
        return self.count * self.size

    @property
    def is_bundle(self) -> bool:
        return self.size > 1

    def as_dict(self) -> dict[str, int]:
        return {
            "count": self.count,
            "size": self.size,
            "unit_cents": self.unit_cents,
            "cents": self.cents,
        }


@attrs.frozen
class Price:
    """The price of ``tickets`` tickets: ``total_cents`` made of ``lines`` (bundles first)."""

    total_cents: int
    lines: tuple[PriceLine, ...]
    tickets: int

    def as_dict(self) -> dict[str, object]:
        """The breakdown kept on the purchase."""
        return {
            "tickets": self.tickets,
            "total_cents": self.total_cents,
            "lines": [line.as_dict() for line in self.lines],
        }


def _packs(price_cents: int, bundles: Iterable[Mapping[str, int]]) -> list[tuple[int, int]]:
    packs = {1: price_cents}
    for bundle in bundles:
        size, cents = int(bundle["count"]), int(bundle["price_cents"])
        if size < 1 or cents < 0:
            raise InvalidInput(
                "A bundle is 2 or more tickets at a price of 0 or more cents.",
                code="invalid_bundle",
            )
        # A bundle that is dearer than the same count bought otherwise is simply never chosen.
        packs[size] = min(cents, packs.get(size, cents))
    return sorted(packs.items())


def check_count(tickets: int, *, min_purchase: int = 1, increment: int = 1) -> None:
    """Refuse a ticket count below the minimum, off the increment, or out of range."""
    if isinstance(tickets, bool) or not isinstance(tickets, int):
        raise InvalidInput("The number of tickets must be a whole number.", code="invalid_count")
    if tickets < 1:
        raise InvalidInput("Sell at least one ticket.", code="invalid_count")
    if tickets > MAX_TICKETS_PER_PURCHASE:
        raise InvalidInput(
            f"At most {MAX_TICKETS_PER_PURCHASE} tickets can be sold at once.",
            code="too_many_tickets",
        )
    if tickets < min_purchase:
        raise InvalidInput(
            f"The minimum purchase is {min_purchase} tickets.",
            code="below_minimum_purchase",
            minimum=min_purchase,
        )
    if increment > 1 and tickets % increment:
        raise InvalidInput(
            f"Tickets are sold in multiples of {increment}: {tickets} is not one "
            f"(try {tickets - tickets % increment or increment} or "
            f"{tickets - tickets % increment + increment}).",
            code="purchase_increment",
            increment=increment,
        )


def price_tickets(
    tickets: int,
    price_cents: int,
    bundles: Iterable[Mapping[str, int]] = (),
    *,
    min_purchase: int = 1,
    increment: int = 1,
) -> Price:
    """The cheapest exact combination of bundles and singles for ``tickets`` tickets.

    Dynamic programming over counts 0..tickets; among equally cheap combinations the one with the
    fewest packs wins (so 3 tickets at "1 for $3, 3 for $9" is one bundle, not three singles).
    """
    check_count(tickets, min_purchase=min_purchase, increment=increment)
    if price_cents < 0:
        raise InvalidInput("A price cannot be negative.", code="invalid_price")
    packs = _packs(price_cents, bundles)
    # best[n] = (cents, packs used, size of the last pack) for exactly n tickets.
    best: list[tuple[int, int, int]] = [(0, 0, 0)]
    for n in range(1, tickets + 1):
        choice: tuple[int, int, int] | None = None
        for size, cents in packs:
            if size > n:
                break
            prev_cents, prev_packs, _ = best[n - size]
            candidate = (prev_cents + cents, prev_packs + 1, size)
            if choice is None or candidate[:2] < choice[:2]:
                choice = candidate
        assert choice is not None  # singles always fit
        best.append(choice)
    counts: dict[int, int] = {}
    n = tickets
    while n:
        size = best[n][2]
        counts[size] = counts.get(size, 0) + 1
        n -= size
    unit = dict(packs)
    lines = tuple(
        PriceLine(count=c, size=s, unit_cents=unit[s], cents=c * unit[s])
        for s, c in sorted(counts.items(), reverse=True)
    )
    if best[tickets][0] > MAX_AMOUNT_CENTS:
        raise InvalidInput(
            "That comes to more money than one purchase can record; sell fewer tickets at a time.",
            code="amount_too_large",
        )
    return Price(total_cents=best[tickets][0], lines=lines, tickets=tickets)


def price_for(scope: Tournament | Metatournament, tickets: int) -> Price:
    """The price of ``tickets`` tickets for a tournament or metatournament, with its options."""
    return price_tickets(
        tickets,
        scope.price_cents or 0,
        scope.bundles or (),
        min_purchase=scope.min_purchase or 1,
        increment=scope.purchase_increment or 1,
    )
