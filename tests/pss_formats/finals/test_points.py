"""Group scoring and qualifying seeds: points tables, places from scores, ties at the advancing
line needing a tiebreaker game, other ties by seed; ties across the cut and bye lines."""

import pytest

from pss_core.errors import InvalidInput
from pss_formats.finals.points import (
    IFPA,
    PAPA,
    GameResult,
    custom_points,
    parse_points,
    score_group,
    seed_qualifiers,
)

SEEDS = {"a": 1, "b": 2, "c": 3, "d": 4}


def order(*players):
    return GameResult.from_order(list(players))


def test_points_tables():
    assert PAPA.for_size(4) == (4, 2, 1, 0)
    assert PAPA.for_size(3) == (4, 2, 1)
    assert IFPA.for_size(4) == (7, 5, 3, 1)
    assert IFPA.for_size(3) == (7, 4, 1)
    assert IFPA.for_size(2) == (1, 0)
    assert parse_points("5,3,2,1").for_size(3) == (5, 3, 2)
    assert parse_points("5,3,2,1/5,2,0").for_size(3) == (5, 2, 0)
    assert parse_points("IFPA") is IFPA


@pytest.mark.parametrize("text", ["4,2,x", "1,2,3,4", "4,2,1", "4,2,1,0/1/2", "4,-1,0,0"])
def test_bad_points_lists_are_refused(text):
    def four_player_points():
        return parse_points(text).for_size(4)

    with pytest.raises(InvalidInput):
        four_player_points()


def test_places_from_scores_share_the_better_place():
    game = GameResult.from_scores({"a": 10, "b": 30, "c": 30, "d": 5})
    assert game.places == {"b": 1, "c": 1, "a": 3, "d": 4}
    assert game.points(PAPA) == {"b": 4, "c": 4, "a": 1, "d": 0}


def test_papa_group_of_four_over_three_games():
    games = [order("a", "b", "c", "d"), order("b", "a", "d", "c"), order("c", "d", "a", "b")]
    outcome = score_group("abcd", games, PAPA, seeds=SEEDS, games_per_round=3, advance=2)
    # a 4+2+1, b 2+4+0, c 1+0+4, d 0+1+2
    assert outcome.totals == {"a": 7, "b": 6, "c": 5, "d": 3}
    assert outcome.advancing == ("a", "b")
    assert outcome.place_of("d") == 4


def test_ifpa_three_player_group():
    games = [order("c", "a", "b"), order("a", "c", "b"), order("b", "c", "a")]
    outcome = score_group(["a", "b", "c"], games, IFPA, seeds=SEEDS, games_per_round=3, advance=2)
    # a 4+7+1 = 12, b 1+1+7 = 9, c 7+4+4 = 15
    assert outcome.totals == {"a": 12, "b": 9, "c": 15}
    assert outcome.order == ("c", "a", "b")
    assert outcome.advancing == ("c", "a")


def tied_at_the_line():
    # a 4+1+0 = 5, b 0+4+1 = 5, c 2+2+4 = 8, d 1+0+2 = 3: a and b tie for 2nd with 2 advancing
    return [order("a", "c", "d", "b"), order("b", "c", "a", "d"), order("c", "d", "b", "a")]


def test_a_tie_for_an_advancing_place_needs_a_tiebreaker_game():
    outcome = score_group(
        "abcd", tied_at_the_line(), PAPA, seeds=SEEDS, games_per_round=3, advance=2
    )
    assert outcome.totals == {"a": 5, "b": 5, "c": 8, "d": 3}
    assert [(n.players, n.first_place, n.last_place, n.line) for n in outcome.needs_tiebreaker] == [
        (("a", "b"), 2, 3, 2)
    ]
    assert outcome.advancing is None
    assert not outcome.is_final


def test_the_tiebreaker_game_settles_it_even_against_seed():
    outcome = score_group(
        "abcd",
        tied_at_the_line(),
        PAPA,
        seeds=SEEDS,
        games_per_round=3,
        advance=2,
        tiebreakers=[GameResult.from_scores({"a": 100, "b": 900})],
    )
    assert outcome.is_final
    assert outcome.order == ("c", "b", "a", "d")


def test_a_tied_tiebreaker_needs_another():
    tie = GameResult.from_scores({"a": 100, "b": 100})
    outcome = score_group(
        "abcd",
        tied_at_the_line(),
        PAPA,
        seeds=SEEDS,
        games_per_round=3,
        advance=2,
        tiebreakers=[tie],
    )
    assert outcome.needs_tiebreaker
    again = score_group(
        "abcd",
        tied_at_the_line(),
        PAPA,
        seeds=SEEDS,
        games_per_round=3,
        advance=2,
        tiebreakers=[tie, order("b", "a")],
    )
    assert again.order == ("c", "b", "a", "d")


def test_no_tiebreaker_before_the_last_game():
    outcome = score_group(
        "abcd", tied_at_the_line()[:2], PAPA, seeds=SEEDS, games_per_round=3, advance=2
    )
    assert not outcome.complete
    assert outcome.needs_tiebreaker == ()


def test_a_tie_away_from_the_line_goes_to_the_better_seed():
    # c and d each finish 3rd twice and 4th twice: 2 points each, tied for 3rd with 2 advancing
    games = [
        order("a", "b", "c", "d"),
        order("a", "b", "d", "c"),
        order("a", "b", "c", "d"),
        order("a", "b", "d", "c"),
    ]
    outcome = score_group(
        "abcd", games, PAPA, seeds={"a": 1, "b": 2, "c": 4, "d": 3}, games_per_round=4, advance=2
    )
    assert outcome.totals["c"] == outcome.totals["d"] == 2
    assert outcome.is_final
    assert outcome.order == ("a", "b", "d", "c")  # d is the better seed


def test_the_final_decides_first_place_by_a_tiebreaker():
    games = [order("a", "b", "c", "d"), order("b", "a", "c", "d")]
    outcome = score_group("abcd", games, PAPA, seeds=SEEDS, games_per_round=2, advance=0)
    assert [n.players for n in outcome.needs_tiebreaker] == [("a", "b")]
    settled = score_group(
        "abcd",
        games,
        PAPA,
        seeds=SEEDS,
        games_per_round=2,
        advance=0,
        tiebreakers=[order("b", "a")],
    )
    assert settled.order == ("b", "a", "c", "d")


def test_results_must_fit_the_group():
    with pytest.raises(InvalidInput, match="each of its players"):
        score_group("abcd", [order("a", "b", "c")], PAPA, seeds=SEEDS, games_per_round=3, advance=2)
    with pytest.raises(InvalidInput, match="does not match a tie"):
        score_group(
            "abcd",
            tied_at_the_line(),
            PAPA,
            seeds=SEEDS,
            games_per_round=3,
            advance=2,
            tiebreakers=[order("c", "d")],
        )
    with pytest.raises(InvalidInput, match="3 games"):
        score_group("abcd", tied_at_the_line() * 2, PAPA, seeds=SEEDS, games_per_round=3, advance=2)


def test_custom_points_for_a_group():
    scheme = custom_points([10, 6, 3, 0])
    outcome = score_group(
        "abcd", [order("d", "c", "b", "a")], scheme, seeds=SEEDS, games_per_round=1, advance=2
    )
    assert outcome.totals == {"d": 10, "c": 6, "b": 3, "a": 0}


STANDINGS = [
    ("p1", 1),
    ("p2", 2),
    ("p3", 2),
    ("p4", 4),
    ("p5", 5),
    ("p6", 5),
    ("p7", 5),
    ("p8", 8),
    ("p9", 8),
]


def test_ties_across_the_cut_and_the_bye_line_need_games():
    seeding = seed_qualifiers(STANDINGS, cut=6, byes=2)
    assert [(t.players, t.first_position, t.last_position, t.lines) for t in seeding.pending] == [
        (("p2", "p3"), 2, 3, ("bye",)),
        (("p5", "p6", "p7"), 5, 7, ("cut",)),
    ]
    assert not seeding.is_final


def test_tiebreaker_games_settle_the_lines():
    seeding = seed_qualifiers(
        STANDINGS,
        cut=6,
        byes=2,
        tiebreakers=[
            order("p3", "p2"),
            order("p7", "p5", "p6"),
        ],
    )
    assert seeding.is_final
    assert seeding.seeds == ("p1", "p3", "p2", "p4", "p7", "p5")


def test_other_ties_by_the_documented_rule():
    # p2/p3 tie inside the byes (byes=3) and p8/p9 below the cut: no game needed
    numbers = {f"p{i}": 10 - i for i in range(1, 10)}  # higher p-number registered earlier
    seeding = seed_qualifiers(STANDINGS, cut=4, byes=3, secondary=numbers.__getitem__)
    assert seeding.is_final
    assert seeding.seeds == ("p1", "p3", "p2", "p4")


def test_a_tie_across_both_lines_is_one_game():
    standings = [("a", 1), ("b", 2), ("c", 2), ("d", 2), ("e", 5)]
    seeding = seed_qualifiers(standings, cut=3, byes=2)
    assert [(t.players, t.lines) for t in seeding.pending] == [(("b", "c", "d"), ("bye", "cut"))]
    partly = seed_qualifiers(
        standings,
        cut=3,
        byes=2,
        tiebreakers=[
            GameResult.from_scores({"b": 5, "c": 5, "d": 9}),
        ],
    )
    # d took the bye; b and c still tie across the cut: a game between just them decides
    assert [t.players for t in partly.pending] == [("b", "c")]
    done = seed_qualifiers(
        standings,
        cut=3,
        byes=2,
        tiebreakers=[
            GameResult.from_scores({"b": 5, "c": 5, "d": 9}),
            order("c", "b"),
        ],
    )
    assert done.seeds == ("a", "d", "c")


def test_qualifying_refusals():
    with pytest.raises(InvalidInput, match="only 9 players"):
        seed_qualifiers(STANDINGS, cut=12)
    with pytest.raises(InvalidInput, match="fewer than the 4"):
        seed_qualifiers(STANDINGS, cut=4, byes=4)
    with pytest.raises(InvalidInput, match="exactly the players tied"):
        seed_qualifiers(STANDINGS, cut=6, byes=2, tiebreakers=[order("p1", "p2")])
