"""League night: field-size points with ties averaged, from the database and from score rows,
exact and shown without noise."""

import json
from fractions import Fraction
from importlib.metadata import entry_points

from pss_core.standings import ScoreRow, standings_from_rows


def test_installed_through_its_entry_point(installed_pss):
    assert {"league_night"} <= {ep.name for ep in entry_points(group="pss")}
    assert installed_pss.curves.owner("field") == "league_night"


def test_two_tied_for_third_of_twenty_get_seventeen_and_a_half(board):
    t = board.tournament("league_night", ["A"], options={"machines_counted": 1})
    scores = [1000 - 10 * i for i in range(20)]
    scores[3] = scores[2]  # the 3rd and 4th best are equal
    for i, score in enumerate(scores, 1):
        board.game(t, f"P{i:02d}", "A", score)
    s = board.standings(t)
    assert [(row.rank, row.name, row.points) for row in s][:5] == [
        (1, "P01", 20),
        (2, "P02", 19),
        (3, "P03", Fraction(35, 2)),
        (3, "P04", Fraction(35, 2)),
        (5, "P05", 16),
    ]
    assert s.rows[2].points_text == "17.5"
    data = json.loads(s.to_json())["standings"][2]
    assert (data["points"], data["points_exact"]) == (17.5, "35/2")
    # The same scores as rows (what `pss standings` reads) rank the same.
    rows = [ScoreRow(f"P{i:02d}", "A", score) for i, score in enumerate(scores, 1)]
    again = standings_from_rows(board.pss, "league_night", rows, options={"machines_counted": 1})
    assert [(r.rank, r.name, r.points) for r in again] == [(r.rank, r.name, r.points) for r in s]


def test_shared_ties_give_both_the_higher_place(board):
    t = board.tournament("league_night", ["A", "B"], options={"ties": "share"})
    for name, score in (("Ada", 50), ("Bo", 50), ("Cy", 10)):
        board.game(t, name, "A", score)
    board.game(t, "Cy", "B", 1)
    # A: Ada and Bo tied for 1st of three, 3 points each; Cy 3rd, 1. B: Cy alone, 1.
    assert [(row.rank, row.name, row.points) for row in board.standings(t)] == [
        (1, "Ada", 3),
        (1, "Bo", 3),
        (3, "Cy", 2),
    ]
