"""Ticket prices: cheapest exact combination of bundles and singles, integer cents."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pss_core.errors import InvalidInput
from pss_core.services.pricing import PriceLine, price_tickets

THREE_FOR_EIGHT = [{"count": 3, "price_cents": 800}]


def test_eleven_tickets_are_three_bundles_and_two_singles():
    price = price_tickets(11, 300, THREE_FOR_EIGHT)
    assert price.total_cents == 3000
    assert price.lines == (
        PriceLine(count=3, size=3, unit_cents=800, cents=2400),
        PriceLine(count=2, size=1, unit_cents=300, cents=600),
    )
    assert price.tickets == 11
    assert price.as_dict()["lines"][0] == {"count": 3, "size": 3, "unit_cents": 800, "cents": 2400}


def test_cheapest_is_not_greedy():
    # Greedy (biggest bundle first) would take 5+1+1+1 = 1000+300 = 1300; 4+4 = 1200 is cheaper.
    bundles = [{"count": 4, "price_cents": 600}, {"count": 5, "price_cents": 1000}]
    price = price_tickets(8, 300, bundles)
    assert price.total_cents == 1200
    assert [(line.count, line.size) for line in price.lines] == [(2, 4)]


def test_a_bundle_dearer_than_singles_is_never_used():
    price = price_tickets(3, 100, [{"count": 3, "price_cents": 500}])
    assert price.total_cents == 300
    assert [(line.count, line.size) for line in price.lines] == [(3, 1)]


def test_equal_cost_prefers_fewer_packs():
    price = price_tickets(3, 300, [{"count": 3, "price_cents": 900}])
    assert [(line.count, line.size) for line in price.lines] == [(1, 3)]


@pytest.mark.parametrize(
    ("tickets", "kwargs", "code"),
    [
        (0, {}, "invalid_count"),
        (-2, {}, "invalid_count"),
        (2, {"min_purchase": 3}, "below_minimum_purchase"),
        (5, {"increment": 2}, "purchase_increment"),
        (10_000, {}, "too_many_tickets"),
    ],
)
def test_bad_counts_are_refused_in_plain_words(tickets, kwargs, code):
    with pytest.raises(InvalidInput) as err:
        price_tickets(tickets, 300, THREE_FOR_EIGHT, **kwargs)
    assert err.value.code == code
    assert err.value.message[0].isupper()


def test_increment_message_suggests_neighbours():
    with pytest.raises(InvalidInput, match=r"multiples of 3: 5 is not one \(try 3 or 6"):
        price_tickets(5, 300, increment=3)


def test_non_integer_count_is_refused():
    with pytest.raises(InvalidInput):
        price_tickets("3", 300)  # type: ignore[arg-type]


def _brute_force(tickets, single, bundles):
    sizes = [(1, single)] + [(b["count"], b["price_cents"]) for b in bundles]
    best = None
    ranges = [range(tickets // size + 1) for size, _ in sizes]
    for counts in itertools.product(*ranges):
        if sum(c * s for c, (s, _) in zip(counts, sizes, strict=True)) == tickets:
            cost = sum(c * p for c, (_, p) in zip(counts, sizes, strict=True))
            best = cost if best is None else min(best, cost)
    return best


@settings(max_examples=60, deadline=None)
@given(
    tickets=st.integers(1, 14),
    single=st.integers(0, 1000),
    bundles=st.dictionaries(st.integers(2, 6), st.integers(0, 5000), max_size=3),
)
def test_price_matches_brute_force(tickets, single, bundles):
    bl = [{"count": c, "price_cents": p} for c, p in bundles.items()]
    price = price_tickets(tickets, single, bl)
    assert price.total_cents == _brute_force(tickets, single, bl)
    assert sum(line.tickets for line in price.lines) == tickets
    assert sum(line.cents for line in price.lines) == price.total_cents
