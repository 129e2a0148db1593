"""The reference standings engine, the standings values, the qualifying cut and reading score CSVs
(no database here; the SQL engine is tested against this one in tests/pss_formats)."""

import json
import random

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pss_core.contract import PointsCurve
from pss_core.errors import InvalidInput
from pss_core.standings import (
    MAX_SCORE,
    Competitor,
    ScoreRow,
    Standing,
    Standings,
    apply_cut,
    competition_ranks,
    curve_lookup,
    entry_standings,
    herb_standings,
    parse_score,
    read_score_rows,
    standings_from_rows,
)
from pss_core.standings.sql import CurveLookup
from pss_formats.curves import linear_points, papa_points

PAPA = PointsCurve("papa", "PAPA", papa_points)
LINEAR = PointsCurve("linear", "Linear", linear_points)


def rows(*games, team=None):
    """``rows(("Ada", "A", 500), ...)``; a 4th item is the entry."""
    return [
        ScoreRow(g[0], g[1], g[2], entry=g[3] if len(g) > 3 else None, team=team) for g in games
    ]


def table(standings):
    return [(s.rank, s.name, s.points) for s in standings]


def breakdown(standing):
    return [(m.machine, m.score, m.rank, m.points, m.counted) for m in standing.machines]


# --- ranks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("totals", "ranks"),
    [
        ([], []),
        ([7], [1]),
        ([10, 10, 8], [1, 1, 3]),
        ([10, 9, 9, 9, 1], [1, 2, 2, 2, 5]),
        ([3, 2, 1, 1], [1, 2, 3, 3]),
        ([5, 5, 5], [1, 1, 1]),
    ],
)
def test_competition_ranks_share_and_skip(totals, ranks):
    assert competition_ranks(totals) == ranks


# --- HERB by hand ---------------------------------------------------------------------------

# Ties on every machine and in the totals, at the top, in the middle and at the bottom.
#   A: P1 500, P2 500 (1, 1 -> 100 each), P3 400 (3 -> 85), P4 300, P5 300 (4, 4 -> 84 each)
#   B: P3 90 (1 -> 100), P1 80, P4 80, P6 80 (2, 2, 2 -> 90 each), P2 70 (5 -> 83)
#   C: P5 1000 (1 -> 100), P4 900, P2 900, P6 900 (2, 2, 2 -> 90 each)
# Best two: P1 100+90=190, P2 100+90=190, P3 100+85=185, P4 90+90=180, P5 100+84=184,
# P6 90+90=180.
HERB_GAMES = rows(
    ("P1", "A", 500),
    ("P2", "A", 500),
    ("P3", "A", 400),
    ("P4", "A", 300),
    ("P5", "A", 300),
    ("P3", "B", 90),
    ("P1", "B", 80),
    ("P4", "B", 80),
    ("P6", "B", 80),
    ("P2", "B", 70),
    ("P5", "C", 1000),
    ("P4", "C", 900),
    ("P2", "C", 900),
    ("P6", "C", 900),
)


def test_herb_by_hand_with_ties_everywhere():
    s = herb_standings(HERB_GAMES, machines_counted=2, curve=PAPA)
    assert table(s) == [
        (1, "P1", 190),
        (1, "P2", 190),
        (3, "P3", 185),
        (4, "P5", 184),
        (5, "P4", 180),
        (5, "P6", 180),
    ]
    p2 = s.find(name="P2")
    assert breakdown(p2) == [
        ("A", 500, 1, 100, True),
        ("C", 900, 2, 90, True),
        ("B", 70, 5, 83, False),
    ]
    # Equal points: the machine first in name order counts (B before C); A's 84 does not.
    assert breakdown(s.find(name="P4")) == [
        ("B", 80, 2, 90, True),
        ("C", 900, 2, 90, True),
        ("A", 300, 4, 84, False),
    ]
    assert s.machines == ("A", "B", "C")


def test_herb_one_machine_counted_with_linear_curve():
    s = herb_standings(HERB_GAMES, machines_counted=1, curve=LINEAR)
    # Linear: rank 1 = 100, 2 = 99, 3 = 98, 4 = 97, 5 = 96. Everyone's best machine:
    # P1 A 100, P2 A 100, P3 B 100, P5 C 100, P4 B/C 99, P6 B/C 99.
    assert table(s) == [
        (1, "P1", 100),
        (1, "P2", 100),
        (1, "P3", 100),
        (1, "P5", 100),
        (5, "P4", 99),
        (5, "P6", 99),
    ]
    assert [m.counted for m in s.find(name="P4").machines] == [True, False, False]


def test_herb_all_machines_counted_when_n_exceeds_played():
    s = herb_standings(HERB_GAMES, machines_counted=10, curve=PAPA)
    # P2 100 + 90 + 83, P4 84 + 90 + 90, P6 90 + 90, P1 100 + 90, P3 85 + 100, P5 84 + 100.
    assert table(s) == [
        (1, "P2", 273),
        (2, "P4", 264),
        (3, "P1", 190),
        (4, "P3", 185),
        (5, "P5", 184),
        (6, "P6", 180),
    ]
    assert all(m.counted for row in s for m in row.machines)


def test_herb_best_score_per_machine_counts_and_replays_do_not_add_up():
    s = herb_standings(
        rows(("Ada", "A", 10), ("Ada", "A", 30), ("Ada", "A", 20), ("Bo", "A", 25)),
        machines_counted=4,
        curve=PAPA,
    )
    assert table(s) == [(1, "Ada", 100), (2, "Bo", 90)]
    assert breakdown(s.find(name="Ada")) == [("A", 30, 1, 100, True)]


def test_herb_everyone_tied_everywhere():
    s = herb_standings(
        rows(("Ada", "A", 5), ("Bo", "A", 5), ("Cy", "A", 5)), machines_counted=1, curve=PAPA
    )
    assert table(s) == [(1, "Ada", 100), (1, "Bo", 100), (1, "Cy", 100)]


def test_herb_papa_curve_deep_ranks_reach_zero():
    games = [ScoreRow(f"P{i:03d}", "A", 1000 - i) for i in range(1, 91)]
    s = herb_standings(games, machines_counted=1, curve=PAPA)
    points = {row.name: row.points for row in s}
    assert points["P001"] == 100
    assert points["P004"] == 84
    assert points["P087"] == 1
    assert points["P088"] == 0
    assert points["P090"] == 0
    assert [row.rank for row in s][-3:] == [88, 88, 88]  # three players tied on 0 points


def test_herb_no_rows_is_empty_standings():
    s = herb_standings([], machines_counted=3, curve=PAPA)
    assert s.rows == ()
    assert s.machines == ()


def test_team_rows_rank_teams_and_list_members():
    games = [
        ScoreRow("Ada", "A", 50, team="Flippers"),
        ScoreRow("Bo", "B", 70, team="Flippers"),
        ScoreRow("Cy", "A", 60, team="Tilt"),
        ScoreRow("Di", "B", 70, team="Tilt"),
    ]
    s = herb_standings(games, machines_counted=2, curve=PAPA, team=True, format="team")
    # A: Tilt 60 (100), Flippers 50 (90); B: both 70 (100 each).
    assert table(s) == [(1, "Tilt", 200), (2, "Flippers", 190)]
    assert s.find(name="Flippers").competitor.members == ("Ada", "Bo")
    assert s.team
    assert s.rows[0].competitor.team


# --- PAPA-style by hand ---------------------------------------------------------------------

# Three-game entries on A, B, C, D.
#   A: e1 100, e2 90, e3 90, e4 80   -> ranks 1, 2, 2, 4    (100, 90, 90, 84)
#   B: e1 10, e3 30, e4 30           -> ranks 3, 1, 1       (85, 100, 100)
#   C: e2 7, e4 9, e5 9              -> ranks 3, 1, 1       (85, 100, 100)
#   D: e1 1, e2 2, e3 3, e5 3        -> ranks 4, 3, 1, 1    (84, 85, 100, 100)
# Entries: e1 (Ada) 100+85+84=269, e2 (Ada) 90+85+85=260, e3 (Bo) 90+100+100=290,
#          e4 (Cy) 84+100+100=284, e5 (Di, incomplete: two games) not counted.
PAPA_GAMES = rows(
    ("Ada", "A", 100, "e1"),
    ("Ada", "B", 10, "e1"),
    ("Ada", "D", 1, "e1"),
    ("Ada", "A", 90, "e2"),
    ("Ada", "C", 7, "e2"),
    ("Ada", "D", 2, "e2"),
    ("Bo", "A", 90, "e3"),
    ("Bo", "B", 30, "e3"),
    ("Bo", "D", 3, "e3"),
    ("Cy", "A", 80, "e4"),
    ("Cy", "B", 30, "e4"),
    ("Cy", "C", 9, "e4"),
    ("Di", "C", 9, "e5"),
    ("Di", "D", 3, "e5"),
)


def test_papa_by_hand_best_entry_counts():
    s = entry_standings(PAPA_GAMES, entries_counted=1, curve=PAPA, games_per_entry=3)
    # Without e5 (incomplete), C is e2 7 (2 -> 90), e4 9 (1 -> 100); D is e1 1 (3 -> 85),
    # e2 2 (2 -> 90), e3 3 (1 -> 100).
    # e1 = 100 + 85 + 85 = 270, e2 = 90 + 90 + 90 = 270, e3 = 90 + 100 + 100 = 290,
    # e4 = 84 + 100 + 100 = 284.
    assert table(s) == [(1, "Bo", 290), (2, "Cy", 284), (3, "Ada", 270)]
    ada = s.find(name="Ada")
    # Equal entries: the first in entry order counts.
    assert [(e.entry, e.points, e.counted) for e in ada.entries] == [
        ("e1", 270, True),
        ("e2", 270, False),
    ]
    assert [(g.machine, g.score, g.rank, g.points, g.counted) for g in ada.entries[0].games] == [
        ("A", 100, 1, 100, True),
        ("B", 10, 3, 85, True),
        ("D", 1, 3, 85, True),
    ]
    assert s.notes == ("Incomplete entries are not counted: e5.",)


def test_papa_best_two_entries_summed():
    s = entry_standings(PAPA_GAMES, entries_counted=2, curve=PAPA, games_per_entry=3)
    assert table(s) == [(1, "Ada", 540), (2, "Bo", 290), (3, "Cy", 284)]
    assert all(e.counted for e in s.find(name="Ada").entries)


def test_papa_complete_entries_only_when_games_per_entry_is_known():
    # Without a games-per-entry figure every entry given counts (e5 included).
    s = entry_standings(PAPA_GAMES, entries_counted=1, curve=PAPA)
    assert s.find(name="Di") is not None
    assert s.notes == ()


def test_papa_same_players_entries_rank_against_each_other():
    s = entry_standings(
        rows(("Ada", "A", 10, "1"), ("Ada", "A", 20, "2")),
        entries_counted=2,
        curve=PAPA,
        games_per_entry=1,
    )
    assert [(e.entry, e.points) for e in s.rows[0].entries] == [("2", 100), ("1", 90)]
    assert s.rows[0].points == 190


@pytest.mark.parametrize(
    ("games", "message"),
    [
        (rows(("Ada", "A", 1)), "No entry given"),
        (rows(("Ada", "A", 1, "1"), ("Bo", "B", 1, "1")), "Entry 1 belongs to Ada, not Bo"),
        (rows(("Ada", "A", 1, "1"), ("Ada", "A", 2, "1")), "already has a game on A"),
        (
            rows(("Ada", "A", 1, "1"), ("Ada", "B", 2, "1"), ("Ada", "C", 2, "1")),
            "Entry 1 has more than 2 games",
        ),
    ],
)
def test_papa_rows_that_cannot_be_are_refused(games, message):
    games = [attrs.evolve(g, line=i + 2) for i, g in enumerate(games)]
    with pytest.raises(InvalidInput, match=message) as err:
        entry_standings(games, entries_counted=1, curve=PAPA, games_per_entry=2)
    assert err.value.details["line"] == games[-1].line
    assert err.value.message.startswith(f"Line {games[-1].line}: ")


# --- the cut --------------------------------------------------------------------------------


def _standings(ranks):
    return Standings(
        "herb",
        tuple(Standing(rank, Competitor(f"P{i}"), 100 - rank) for i, rank in enumerate(ranks)),
    )


@pytest.mark.parametrize(
    ("ranks", "cut", "qualified"),
    [
        ([1, 2, 3, 4, 4, 6], 4, 5),  # tied at the line: both in
        ([1, 2, 3, 3, 5], 3, 4),
        ([1, 2, 3, 3, 5], 4, 4),  # the line falls inside a tie that starts above it
        ([1, 1, 1, 4], 1, 3),
        ([1, 1, 1, 4], 2, 3),
        ([1, 2, 3], 0, 0),
        ([1, 2, 3], 10, 3),  # fewer players than places
        ([1, 2, 3], None, 0),
    ],
)
def test_cut_takes_everyone_tied_at_the_line(ranks, cut, qualified):
    s = apply_cut(_standings(ranks), cut)
    assert len(s.qualifiers) == qualified
    assert s.cut == cut
    assert [row.qualified for row in s] == [i < qualified for i in range(len(ranks))]
    assert s.as_dict()["qualifiers"] == qualified


def test_cut_can_be_moved_and_removed():
    s = apply_cut(_standings([1, 2, 3]), 1)
    assert len(apply_cut(s, 3).qualifiers) == 3
    assert len(apply_cut(s, None).qualifiers) == 0


def test_negative_cut_is_refused():
    with pytest.raises(InvalidInput, match="cannot be negative"):
        apply_cut(_standings([1]), -1)


# --- values ---------------------------------------------------------------------------------


def test_score_rows_hold_64_bit_scores_and_refuse_others():
    assert ScoreRow("Ada", "A", MAX_SCORE).score == 2**63 - 1
    with pytest.raises(ValueError, match="between 0"):
        ScoreRow("Ada", "A", -1)
    with pytest.raises(ValueError, match="between 0"):
        ScoreRow("Ada", "A", 2**63)
    with pytest.raises(TypeError):
        ScoreRow("Ada", "A", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ScoreRow("Ada", "A", True)


def test_standings_are_frozen_and_json_ready():
    s = apply_cut(
        herb_standings(HERB_GAMES, machines_counted=2, curve=PAPA, options={"machines_counted": 2}),
        2,
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        s.rows[0].points = 0  # type: ignore[misc]
    data = json.loads(s.to_json())
    assert data["format"] == "herb"
    assert data["cut"] == 2
    assert data["qualifiers"] == 2
    assert data["options"] == {"machines_counted": 2}
    first = data["standings"][0]
    assert first["rank"] == 1
    assert first["name"] == "P1"
    assert first["points"] == 190
    assert first["qualified"] is True
    assert first["machines"][0] == {
        "machine": "A",
        "machine_id": None,
        "score": 500,
        "rank": 1,
        "points": 100,
        "counted": True,
    }
    assert [row["name"] for row in data["standings"]] == [r.name for r in s]
    assert s.csv_rows()[0] == (1, "P1", 190)
    assert s.find(name="nobody") is None


def test_curve_lookup_is_as_short_as_the_curve_allows():
    points, tail = curve_lookup(PAPA, 1024)
    assert (len(points), tail) == (87, 0)
    assert points[:4] == [100, 90, 85, 84]
    assert curve_lookup(LINEAR, 1024) == ([101 - r for r in range(1, 101)], 0)
    slope = PointsCurve("slope", "Slope", lambda r: 10_000 - r)
    points, tail = curve_lookup(slope, 50)
    assert len(points) == 49
    assert points[-1] == 9_951
    assert tail == 9_950
    assert curve_lookup(PointsCurve("flat", "Flat", lambda r: 3), 10) == ([3], 3)


# --- properties -----------------------------------------------------------------------------

PLAYERS = [f"P{i}" for i in range(1, 7)]
MACHINES = ["A", "B", "C", "D"]
scores = st.integers(min_value=0, max_value=40)  # small, so ties happen often
games = st.lists(
    st.tuples(st.sampled_from(PLAYERS), st.sampled_from(MACHINES), scores), max_size=30
).map(lambda gs: [ScoreRow(*g) for g in gs])
counted = st.integers(min_value=1, max_value=5)
curves = st.sampled_from([PAPA, LINEAR])


def totals(s):
    return {row.name: row.points for row in s}


@settings(max_examples=150, deadline=None)
@given(games, counted, curves, st.randoms(use_true_random=False))
def test_permuting_rows_never_changes_herb_standings(gs, n, curve, rnd):
    shuffled = list(gs)
    rnd.shuffle(shuffled)
    assert herb_standings(shuffled, machines_counted=n, curve=curve) == herb_standings(
        gs, machines_counted=n, curve=curve
    )


@settings(max_examples=150, deadline=None)
@given(games, counted, curves)
def test_herb_totals_are_best_n_points_and_ranks_are_competition_ranks(gs, n, curve):
    s = herb_standings(gs, machines_counted=n, curve=curve)
    best = {}
    for g in gs:
        best[(g.player, g.machine)] = max(best.get((g.player, g.machine), -1), g.score)
    for row in s:
        assert len(row.machines) == len({m for p, m in best if p == row.name})
        assert sum(1 for m in row.machines if m.counted) == min(n, len(row.machines))
        assert row.points == sum(m.points for m in row.machines if m.counted)
        points = sorted((m.points for m in row.machines), reverse=True)
        assert row.points == sum(points[:n])
        for m in row.machines:
            assert m.score == best[(row.name, m.machine)]
            above = sum(1 for (p, mach), sc in best.items() if mach == m.machine and sc > m.score)
            assert m.rank == above + 1
            assert m.points == curve.points(m.rank)
    assert [row.rank for row in s] == competition_ranks([row.points for row in s])


@settings(max_examples=150, deadline=None)
@given(games.filter(bool), counted, curves, st.data())
def test_raising_a_score_never_lowers_that_players_total(gs, n, curve, data):
    i = data.draw(st.integers(min_value=0, max_value=len(gs) - 1))
    raise_by = data.draw(st.integers(min_value=1, max_value=50))
    before = totals(herb_standings(gs, machines_counted=n, curve=curve))
    raised = list(gs)
    raised[i] = attrs.evolve(gs[i], score=gs[i].score + raise_by)
    after = totals(herb_standings(raised, machines_counted=n, curve=curve))
    assert after[gs[i].player] >= before[gs[i].player]


newcomer_games = st.lists(st.tuples(st.sampled_from(MACHINES), scores), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(games, newcomer_games, counted, curves)
def test_adding_a_player_never_raises_anyone_elses_total_or_machine_rank(gs, new, n, curve):
    before = herb_standings(gs, machines_counted=n, curve=curve)
    after = herb_standings(
        gs + [ScoreRow("New", m, sc) for m, sc in new], machines_counted=n, curve=curve
    )
    for row in before:
        later = after.find(name=row.name)
        assert later.points <= row.points
        ranks_after = {m.machine: m.rank for m in later.machines}
        assert all(ranks_after[m.machine] >= m.rank for m in row.machines)


def test_adding_a_player_can_improve_someone_elses_overall_rank():
    # Why the property above is about totals, not overall ranks: X trails Z on A and sits below
    # Y (B) and W (C); a newcomer who beats Y and W pushes both down to X's level.
    base = rows(("Z", "A", 20), ("X", "A", 10), ("Y", "B", 10), ("W", "C", 10))
    before = herb_standings(base, machines_counted=1, curve=PAPA)
    after = herb_standings(
        base + rows(("N", "B", 99), ("N", "C", 99)), machines_counted=1, curve=PAPA
    )
    assert before.find(name="X").rank == 4
    assert after.find(name="X").rank == 3
    assert after.find(name="X").points == before.find(name="X").points == 90


entry_games = st.lists(
    st.tuples(
        st.sampled_from(PLAYERS[:4]),
        st.lists(
            st.tuples(st.sampled_from(MACHINES), scores),
            min_size=2,
            max_size=2,
            unique_by=lambda g: g[0],
        ),
    ),
    max_size=10,
).map(
    lambda entries: [
        ScoreRow(p, m, sc, entry=str(i)) for i, (p, gs) in enumerate(entries, 1) for m, sc in gs
    ]
)


@settings(max_examples=100, deadline=None)
@given(entry_games, st.integers(min_value=1, max_value=3), curves, st.randoms())
def test_papa_permuting_rows_never_changes_standings(gs, k, curve, rnd):
    shuffled = list(gs)
    rnd.shuffle(shuffled)
    kwargs = {"entries_counted": k, "curve": curve, "games_per_entry": 2}
    assert entry_standings(shuffled, **kwargs) == entry_standings(gs, **kwargs)


def entry_points(s):
    return {e.entry: e.points for row in s for e in row.entries}


@settings(max_examples=100, deadline=None)
@given(entry_games.filter(bool), st.integers(min_value=1, max_value=3), curves, st.data())
def test_papa_raising_a_score_never_lowers_that_entry_nor_raises_another(gs, k, curve, data):
    i = data.draw(st.integers(min_value=0, max_value=len(gs) - 1))
    kwargs = {"entries_counted": k, "curve": curve, "games_per_entry": 2}
    before = entry_standings(gs, **kwargs)
    raised = list(gs)
    raised[i] = attrs.evolve(gs[i], score=gs[i].score + 7)
    after = entry_standings(raised, **kwargs)
    old, new = entry_points(before), entry_points(after)
    assert new[gs[i].entry] >= old[gs[i].entry]
    assert all(new[e] <= old[e] for e in old if e != gs[i].entry)
    others = {row.name: row.points for row in before if row.name != gs[i].player}
    assert all(after.find(name=name).points <= points for name, points in others.items())


def test_papa_raising_a_score_can_lower_that_players_total():
    # Why the property above is about entries: a player's entries rank against each other, so a
    # better game in one entry pushes their own best entry down on that machine.
    games = rows(
        ("Ada", "A", 50, "1"),
        ("Ada", "B", 50, "1"),
        ("Ada", "A", 40, "2"),
        ("Ada", "C", 1, "2"),
        ("Bo", "C", 5, "3"),
        ("Bo", "B", 1, "3"),
    )
    before = entry_standings(games, entries_counted=1, curve=PAPA, games_per_entry=2)
    games[2] = attrs.evolve(games[2], score=60)
    after = entry_standings(games, entries_counted=1, curve=PAPA, games_per_entry=2)
    # Entry 1: A 100 + B 100 = 200 -> A 90 + B 100 = 190; entry 2: A 90 + C 90 -> A 100 + C 90.
    assert before.find(name="Ada").points == 200
    assert after.find(name="Ada").points == 190


@settings(max_examples=100, deadline=None)
@given(entry_games, st.integers(min_value=1, max_value=3), curves)
def test_papa_total_is_the_best_k_entries(gs, k, curve):
    s = entry_standings(gs, entries_counted=k, curve=curve, games_per_entry=2)
    for row in s:
        sums = sorted((sum(g.points for g in e.games) for e in row.entries), reverse=True)
        assert row.points == sum(sums[:k])
        assert [e.counted for e in row.entries] == [i < k for i in range(len(row.entries))]


def test_standings_from_rows_uses_the_formats_plugin(pss):
    s = standings_from_rows(pss, "herb", HERB_GAMES, options={"machines_counted": "1"}, cut=4)
    assert s.options["machines_counted"] == 1
    assert s.format == "herb"
    assert len(s.qualifiers) == 4


def test_big_random_field_matches_between_row_orders():
    rng = random.Random(7)
    gs = [
        ScoreRow(f"P{rng.randint(1, 200)}", f"M{rng.randint(1, 20)}", rng.randint(0, 10**9))
        for _ in range(3000)
    ]
    a = herb_standings(gs, machines_counted=4, curve=PAPA)
    rng.shuffle(gs)
    assert herb_standings(gs, machines_counted=4, curve=PAPA) == a
    assert len(a) == len({g.player for g in gs})


# --- scores from CSV ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0", 0),
        ("42", 42),
        (" 1234567 ", 1234567),
        ("1,234,567", 1234567),
        ("1 234 567", 1234567),
        ("12_345", 12345),
        ("1.234.567", 1234567),
        ("12'345", 12345),
        ("1\u00a0234", 1234),
        ("999", 999),
        (str(MAX_SCORE), MAX_SCORE),
    ],
)
def test_scores_may_be_grouped_in_threes(raw, value):
    assert parse_score(raw) == value


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "empty"),
        ("1.5", "not a whole number"),
        ("-5", "not a whole number"),
        ("1,23,456", "not a whole number"),
        ("12,345 678", "not a whole number"),
        ("1,2345", "not a whole number"),
        ("abc", "not a whole number"),
        ("1e6", "not a whole"),
        ("12.5", "not a whole number"),
        ("1.234,567", "not a whole number"),
        (str(2**63), "larger than pss can store"),
    ],
)
def test_bad_scores_are_refused(raw, problem):
    with pytest.raises(ValueError, match=problem):
        parse_score(raw)


def test_read_score_rows_any_column_order_and_case_with_line_numbers():
    text = '\ufeffScore, Machine ,PLAYER\n\n1000,AFM,Ada\n"2,000",MM,Bo\n'
    got = read_score_rows(text.splitlines(keepends=True))
    assert got == [ScoreRow("Ada", "AFM", 1000), ScoreRow("Bo", "MM", 2000)]
    assert [r.line for r in got] == [3, 4]


def test_read_score_rows_with_entries_and_teams():
    got = read_score_rows(["player,machine,score,entry,team\n", "Ada,A,5,7,Flippers\n"], team=True)
    assert got == [ScoreRow("Ada", "A", 5, entry="7", team="Flippers")]


@pytest.mark.parametrize(
    ("text", "team", "message"),
    [
        ("", False, "The file is empty"),
        ("player,machine\nAda,A\n", False, "Line 1: the header needs the column\\(s\\) score"),
        (
            "player,machine,score\nAda,A,5\n",
            True,
            "Line 1: the header needs the column\\(s\\) team",
        ),
        ("player,machine,score,bonus\n", False, "Line 1: unknown column 'bonus'"),
        ("player,machine,score,score\n", False, "Line 1: the column 'score' appears twice"),
        ("player,machine,score\nAda,A,5\nBo,A\n", False, "Line 3: expected 3 values"),
        ("player,machine,score\nAda,A,5\n,A,6\n", False, "Line 3: the player is empty"),
        ("player,machine,score\n\nAda,A,5\nBo,,6\n", False, "Line 4: the machine is empty"),
        ("player,machine,score\nAda,A,5.5\n", False, "Line 2: the score '5.5' is not a whole"),
    ],
)
def test_read_score_rows_names_the_line_of_the_problem(text, team, message):
    with pytest.raises(InvalidInput, match=message):
        read_score_rows(text.splitlines(keepends=True), team=team)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=-5, max_value=300), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=80),
)
def test_curve_expression_gives_the_curves_points_for_every_rank(values, bound):
    # Any curve, even one that rises or jumps: the query's CASE expression agrees with it.
    import sqlite3

    curve = PointsCurve("any", "Any", lambda rank: values[(rank - 1) % len(values)])
    lookup = CurveLookup.of(curve, bound)
    con = sqlite3.connect(":memory:")
    ranks = range(1, bound + 1)
    got = [
        con.execute(f"SELECT {lookup.sql()} FROM (SELECT ? AS place)", (r,)).fetchone()[0]  # noqa: S608  integers only
        for r in ranks
    ]
    assert got == [curve.points(r) for r in ranks]
    assert [lookup(r) for r in ranks] == got


def test_curve_expressions_are_short_for_the_usual_curves():
    assert len(CurveLookup.of(PAPA, 1024).pieces()) == 2
    assert len(CurveLookup.of(LINEAR, 1024).pieces()) == 1
