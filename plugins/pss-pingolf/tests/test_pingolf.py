"""Pingolf played through the desk and the scorekeepers: targets per machine checked when the
director saves them, holes closed at the target, fewest strokes first, labelled Strokes."""

from importlib.metadata import entry_points

import pytest

from pss_core.errors import InvalidInput, Refused

MM, AFM = "Medieval Madness", "Attack from Mars"


@pytest.fixture
def golf(board):
    t = board.tournament("pingolf", [MM, AFM])
    board.set_options(t, targets={MM: "1,000,000", AFM: 500_000}, max_strokes=3)
    for name in ("Ada", "Bo", "Cy"):
        board.sell(name, 6, t)
    return t


def table(standings):
    return [(row.rank, row.name, row.points) for row in standings]


def test_installed_through_its_entry_point(installed_pss):
    assert "pingolf" in {ep.name for ep in entry_points(group="pss")}
    assert installed_pss.formats.owner("pingolf") == "pingolf"


def test_targets_are_a_value_per_machine_checked_when_saved(board, golf):
    assert golf.format_options["targets"] == {MM: 1_000_000, AFM: 500_000}
    with pytest.raises(InvalidInput, match="Targets for Attack from Mars must be a whole number"):
        board.set_options(golf, targets={MM: 5, AFM: "lots"})
    with pytest.raises(InvalidInput, match="Targets for Medieval Madness must be at least 1"):
        board.set_options(golf, targets={MM: 0, AFM: 5})
    with pytest.raises(InvalidInput, match="Twilight Zone is not a machine of this tournament"):
        board.set_options(golf, targets={MM: 5, AFM: 5, "Twilight Zone": 5})
    # The format's own check sees every option and the machines together.
    with pytest.raises(InvalidInput, match="Every hole needs a target: Attack from Mars"):
        board.set_options(golf, targets={MM: 5, AFM: ""})
    assert golf.format_options["targets"] == {MM: 1_000_000, AFM: 500_000}


def test_fewest_strokes_wins(board, golf):
    board.play(golf, "Ada", MM, 2_000_000)  # a hole in one
    board.play(golf, "Ada", AFM, 100)
    board.play(golf, "Ada", AFM, 600_000)  # two strokes
    for _ in range(3):
        board.play(golf, "Bo", MM, 10)  # never reached: the most strokes, three
    board.play(golf, "Bo", AFM, 500_000)  # the target itself is enough
    s = board.standings(golf)
    assert table(s) == [(1, "Ada", 3), (2, "Bo", 4)]
    assert [(m.machine, m.score, m.rank) for m in s.rows[0].machines] == [(MM, 1, 1), (AFM, 2, 2)]
    assert (s.lowest_wins, s.points_label, s.score_label) == (True, "Strokes", "Strokes")


def test_an_unfinished_hole_counts_the_most_strokes_and_a_finished_one_is_closed(board, golf):
    board.play(golf, "Cy", MM, 10)
    board.play(golf, "Cy", AFM, 500_000)
    # Medieval Madness not finished yet (one stroke of three): it counts three.
    assert table(board.standings(golf)) == [(1, "Cy", 3 + 1)]
    board.play(golf, "Cy", MM, 1_000_000)
    assert table(board.standings(golf)) == [(1, "Cy", 2 + 1)]
    with pytest.raises(Refused, match="Cy has finished Medieval Madness") as refused:
        board.start(golf, "Cy", MM)
    assert refused.value.code == "hole_finished"


def test_a_voided_game_is_no_stroke(board, golf):
    board.play(golf, "Ada", MM, None)
    board.play(golf, "Ada", MM, 1_000_000)
    assert [(m.machine, m.score) for m in board.standings(golf).rows[0].machines] == [
        (MM, 1),
        (AFM, 3),
    ]


def test_a_machine_without_a_target_cannot_be_played(board):
    t = board.tournament("pingolf", [MM])
    board.sell("Ada", 1, t)
    with pytest.raises(Refused, match="Medieval Madness has no target yet"):
        board.start(t, "Ada", MM)
