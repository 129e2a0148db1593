"""The finals bracket template: hand-worked brackets, properties for every field of 4-64, refusals,
and final positions for one whole bracket worked by hand."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pss_core.errors import InvalidInput
from pss_formats.finals.bracket import BracketProgress, LastRound, build_bracket
from pss_formats.finals.groups import group_sizes, snake


def groups_of(bracket, number):
    return [[slot.as_json() for slot in group.slots] for group in bracket.rounds[number - 1].groups]


def test_sixteen_without_byes_by_hand():
    bracket = build_bracket(16)
    assert groups_of(bracket, 1) == [[1, 8, 9, 16], [2, 7, 10, 15], [3, 6, 11, 14], [4, 5, 12, 13]]
    # expected seeds in round 2: 1A -> 1, 9; 1B -> 2, 10; 1C -> 3, 11; 1D -> 4, 12;
    # snake of 1..4, 9..12 over two groups: (1, 4, 9, 12) and (2, 3, 10, 11)
    assert groups_of(bracket, 2) == [
        ["1st in 1A", "1st in 1D", "2nd in 1D", "2nd in 1A"],
        ["1st in 1B", "1st in 1C", "2nd in 1C", "2nd in 1B"],
    ]
    assert groups_of(bracket, 3) == [["1st in 2A", "1st in 2B", "2nd in 2B", "2nd in 2A"]]
    assert len(bracket.rounds) == 3


def test_twenty_four_with_eight_byes_by_hand():
    bracket = build_bracket(24, 8)
    assert bracket.as_json()["rounds"][0] == {
        "number": 1,
        "groups": [[9, 16, 17, 24], [10, 15, 18, 23], [11, 14, 19, 22], [12, 13, 20, 21]],
    }
    # round 2 expected seeds: byes 1-8, then 1A 1st = 9, 1B = 10, 1C = 11, 1D = 12,
    # 1D 2nd = 13, 1C = 14, 1B = 15, 1A 2nd = 16; the snake puts 1 and 8 with 9 and 16.
    assert groups_of(bracket, 2) == [
        [1, 8, "1st in 1A", "2nd in 1A"],
        [2, 7, "1st in 1B", "2nd in 1B"],
        [3, 6, "1st in 1C", "2nd in 1C"],
        [4, 5, "1st in 1D", "2nd in 1D"],
    ]
    assert bracket.rounds[1].byes_entering == tuple(range(1, 9))
    assert groups_of(bracket, 3) == [
        ["1st in 2A", "1st in 2D", "2nd in 2D", "2nd in 2A"],
        ["1st in 2B", "1st in 2C", "2nd in 2C", "2nd in 2B"],
    ]
    assert groups_of(bracket, 4) == [["1st in 3A", "1st in 3B", "2nd in 3B", "2nd in 3A"]]


def test_thirty_two_by_hand():
    bracket = build_bracket(32)
    assert groups_of(bracket, 1) == [
        [1, 16, 17, 32],
        [2, 15, 18, 31],
        [3, 14, 19, 30],
        [4, 13, 20, 29],
        [5, 12, 21, 28],
        [6, 11, 22, 27],
        [7, 10, 23, 26],
        [8, 9, 24, 25],
    ]
    assert groups_of(bracket, 2) == [
        ["1st in 1A", "1st in 1H", "2nd in 1H", "2nd in 1A"],
        ["1st in 1B", "1st in 1G", "2nd in 1G", "2nd in 1B"],
        ["1st in 1C", "1st in 1F", "2nd in 1F", "2nd in 1C"],
        ["1st in 1D", "1st in 1E", "2nd in 1E", "2nd in 1D"],
    ]
    assert [len(r.groups) for r in bracket.rounds] == [8, 4, 2, 1]


def test_three_player_groups_go_to_the_best_seeds_only_where_forced():
    bracket = build_bracket(10)
    assert groups_of(bracket, 1) == [[1, 6, 7], [2, 5, 8], [3, 4, 9, 10]]
    assert group_sizes(12) == (4, 4, 4)
    assert group_sizes(9) == (3, 3, 3)
    assert group_sizes(11) == (3, 4, 4)


def test_final_of_two_follows_the_last_group():
    bracket = build_bracket(16, last="two")
    assert bracket.last is LastRound.FINAL_OF_TWO
    assert groups_of(bracket, 3) == [["1st in 2A", "1st in 2B", "2nd in 2B", "2nd in 2A"]]
    assert bracket.rounds[2].groups[0].advance == 2
    assert groups_of(bracket, 4) == [["1st in 3A", "2nd in 3A"]]


def test_snake_deals_best_with_worst():
    assert snake(list(range(1, 9)), [4, 4]) == [[1, 4, 5, 8], [2, 3, 6, 7]]


@pytest.mark.parametrize(
    ("players", "byes", "kwargs", "message"),
    [
        (
            24,
            20,
            {},
            "24 players with 20 byes leaves 4 to play round 1, which cannot fill the "
            "round-2 groups",
        ),
        (24, 22, {}, "leaves 2 to play round 1, too few for a group of 3"),
        (5, 0, {}, "5 players, which cannot be split into groups of 4 and 3"),
        (9, 1, {}, "round 2 would have 5 players"),
        (24, 24, {}, "0 to 23 byes"),
        (1, 0, {}, "2 to 4096 players"),
        (16, 0, {"advance": 3}, "1 to 2 can advance"),
        (16, 0, {"group_size": 2}, "3 to 8 players"),
        (16, 0, {"last": "semi"}, "'group' (one final group)"),
    ],
)
def test_impossible_numbers_are_refused_in_words(players, byes, kwargs, message):
    with pytest.raises(InvalidInput) as raised:
        build_bracket(players, byes, **kwargs)
    assert message in raised.value.message


def valid_byes(players):
    good = []
    for byes in range(players):
        try:
            build_bracket(players, byes)
        except InvalidInput:
            continue
        good.append(byes)
    return good


@pytest.mark.parametrize("players", range(4, 65))
def test_every_field_of_4_to_64_has_a_bracket(players):
    good = valid_byes(players)
    assert good
    if players != 5:
        assert 0 in good


def check_bracket(bracket):
    n, byes = bracket.players, bracket.byes
    first = bracket.rounds[0]
    round_1_seeds = [s.seed for g in first.groups for s in g.slots]
    assert sorted(round_1_seeds) == list(range(byes + 1, n + 1))
    assert not set(round_1_seeds) & set(range(1, byes + 1))
    all_seeds = [s.seed for g in bracket.groups() for s in g.slots if s.seed is not None]
    assert sorted(all_seeds) == list(range(1, n + 1))  # each qualifier enters exactly once
    for round_ in bracket.rounds[1:]:
        for group in round_.groups:
            for slot in group.slots:
                if slot.seed is not None:
                    assert round_.number == 2  # byes enter in round 2 only
    labels = {}
    for round_ in bracket.rounds:
        for group in round_.groups:
            labels[group.label] = group
            if group is bracket.final and bracket.last is LastRound.FINAL_OF_TWO:
                assert group.size == 2
            else:
                assert group.size in (3, 4)
    # every advancing place is taken exactly once, in the next round
    fed = [(s.source, s.place) for g in bracket.groups() for s in g.slots if s.seed is None]
    assert len(fed) == len(set(fed))
    expected = [(g.label, p) for g in bracket.groups() for p in range(1, g.advance + 1)]
    assert sorted(fed) == sorted(expected)
    for group in bracket.groups():
        for slot in group.slots:
            if slot.source:
                assert labels[slot.source].round_number == group.round_number - 1
    assert len(bracket.rounds[-1].groups) == 1
    assert bracket.final.advance == 0
    assert sum(bracket.eliminated_in(r.number) for r in bracket.rounds) == n


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_property_every_valid_bracket(data):
    players = data.draw(st.integers(4, 64))
    last = data.draw(st.sampled_from(["group", "two"]))
    byes = data.draw(st.sampled_from(valid_byes(players)))
    try:
        bracket = build_bracket(players, byes, last=last)
    except InvalidInput:
        assert last == "two"
        return
    check_bracket(bracket)


def test_final_of_two_for_every_field():
    for players in range(4, 65):
        for byes in valid_byes(players):
            check_bracket(build_bracket(players, byes, last="two"))


def test_final_positions_of_a_whole_bracket_by_hand():
    bracket = build_bracket(10, 0)
    # 1A (1, 6, 7): 6 wins, 1 second, 7 out in 3rd.  1B (2, 5, 8): 8, 2 | 5.
    # 1C (3, 4, 9, 10): 3, 10 | 9 3rd, 4 4th.
    # 2A: 1st 1A, 2nd 1C, 2nd 1B = 6, 10, 2  -> 2, 6 | 10.
    # 2B: 1st 1B, 1st 1C, 2nd 1A = 8, 3, 1 -> 3, 1 | 8.
    # 3A: 1st 2A, 1st 2B, 2nd 2B, 2nd 2A = 2, 3, 1, 6 -> 1, 6, 2, 3.
    orders = {
        "1A": [6, 1, 7],
        "1B": [8, 2, 5],
        "1C": [3, 10, 9, 4],
        "2A": [2, 6, 10],
        "2B": [3, 1, 8],
        "3A": [1, 6, 2, 3],
    }
    progress = BracketProgress(bracket, orders)
    assert progress.players_of("2A") == (6, 10, 2)
    assert progress.players_of("3A") == (2, 3, 1, 6)
    assert progress.is_complete()
    # final 1-4; round 2 out: 10 and 8 both 3rd in their group -> by seed 8, 10;
    # round 1 out: 3rd places 5, 7, 9 by seed, then the one 4th place, 4.
    assert progress.final_positions() == {
        1: 1,
        6: 2,
        2: 3,
        3: 4,
        8: 5,
        10: 6,
        5: 7,
        7: 8,
        9: 9,
        4: 10,
    }


def test_positions_appear_round_by_round():
    bracket = build_bracket(10, 0)
    partial = BracketProgress(bracket, {"1A": [6, 1, 7], "1B": [8, 2, 5]})
    assert partial.players_of("2A") == (6, None, 2)
    assert partial.final_positions() == {}
    round_1 = BracketProgress(bracket, {"1A": [6, 1, 7], "1B": [8, 2, 5], "1C": [3, 10, 9, 4]})
    assert round_1.final_positions() == {5: 7, 7: 8, 9: 9, 4: 10}


def test_a_result_must_name_the_groups_players():
    bracket = build_bracket(10, 0)
    with pytest.raises(InvalidInput, match="exactly its players"):
        BracketProgress(bracket, {"1A": [6, 1, 8]})
    with pytest.raises(InvalidInput, match="have not all finished"):
        BracketProgress(bracket, {"2A": [6, 1, 8]})
