"""Standings from stored scores, through ``compute_standings`` and the format plugins, on SQLite and
PostgreSQL: hand-worked tournaments, what never counts, the cut, freshness and the cache, formats
that only rank rows, and the SQL engine checked against the reference engine."""

import threading
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pss_core import hookimpl
from pss_core.contract import Format, FormatSpec, OptionSpec, PointsCurve
from pss_core.errors import Refused
from pss_core.models import EntryStatus, MachineStatus
from pss_core.services import corrections
from pss_core.standings import (
    ScoreRow,
    Standings,
    StandingsCache,
    compute_standings,
    entry_standings,
    herb_standings,
    score_rows,
    sql_entry_standings,
    sql_herb_standings,
)
from pss_core.standings import sql as standings_module
from pss_formats.curves import circuit_points, linear_points, papa_points, percent_of_top

PAPA = PointsCurve("papa", "PAPA", papa_points)
LINEAR = PointsCurve("linear", "Linear", linear_points)


def table(s):
    return [(row.rank, row.name, row.points) for row in s]


def herb_view(s):
    return [
        (
            row.rank,
            row.name,
            row.points,
            [(m.machine, m.score, m.rank, m.points, m.counted) for m in row.machines],
        )
        for row in s
    ]


def entry_view(s):
    return [
        (
            row.rank,
            row.name,
            row.points,
            [
                (
                    e.entry,
                    e.points,
                    e.counted,
                    [(g.machine, g.score, g.rank, g.points, g.counted) for g in e.games],
                )
                for e in row.entries
            ],
        )
        for row in s
    ]


# The hand-worked HERB tournament of tests/pss_core/test_standings.py, stored.
HERB_GAMES = [
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
]


@pytest.fixture
def herb(board):
    t = board.tournament("herb", ["A", "B", "C"], options={"machines_counted": 2}, cut=4)
    for i in range(1, 7):
        board.player(f"P{i}")
    for player, machine, score in HERB_GAMES:
        board.game(t, player, machine, score)
    return t


def test_herb_from_the_database_by_hand(board, pss, herb):
    s = compute_standings(board.session, pss, herb)
    assert table(s) == [
        (1, "P1", 190),
        (1, "P2", 190),
        (3, "P3", 185),
        (4, "P5", 184),
        (5, "P4", 180),
        (5, "P6", 180),
    ]
    assert herb_view(s) == herb_view(
        herb_standings([ScoreRow(*g) for g in HERB_GAMES], machines_counted=2, curve=PAPA)
    )
    p2 = s.find(name="P2")
    assert p2.competitor.number == board.players["P2"].number
    assert p2.competitor.id == board.players["P2"].id
    assert [m.machine_id for m in p2.machines] == [
        board.machine(herb, name).id for name in ("A", "C", "B")
    ]
    assert s.machines == ("A", "B", "C")
    assert s.format == "herb"
    assert s.tournament_id == herb.id
    assert s.version == herb.version == len(HERB_GAMES)


def test_herb_cut_takes_in_the_tie_at_the_line(board, pss, herb):
    s = compute_standings(board.session, pss, herb)
    assert (s.cut, [row.name for row in s.qualifiers]) == (4, ["P1", "P2", "P3", "P5"])
    herb.qualifying_cut = 5
    s = compute_standings(board.session, pss, herb)
    # P4 and P6 share 5th place: a cut of five qualifies six.
    assert [row.qualified for row in s] == [True] * 6
    herb.qualifying_cut = 2
    assert [row.name for row in compute_standings(board.session, pss, herb).qualifiers] == [
        "P1",
        "P2",
    ]


def test_removed_machines_count_unless_dropped_and_disabled_ones_count(board, pss, herb):
    board.set_machine_status(herb, "B", MachineStatus.DISABLED)
    assert table(compute_standings(board.session, pss, herb))[0] == (1, "P1", 190)
    board.set_machine_status(herb, "B", MachineStatus.REMOVED)
    # By default a removed machine stays in the results (the seed).
    kept = compute_standings(board.session, pss, herb)
    assert table(kept)[0] == (1, "P1", 190)
    assert kept.machines == ("A", "B", "C")
    herb.count_removed_machines = False
    board.session.flush()
    s = compute_standings(board.session, pss, herb)
    # Without B: P1 A 100, P2 A 100 + C 90, P3 A 85, P4 C 90 + A 84, P5 C 100 + A 84, P6 C 90.
    assert table(s) == [
        (1, "P2", 190),
        (2, "P5", 184),
        (3, "P4", 174),
        (4, "P1", 100),
        (5, "P6", 90),
        (6, "P3", 85),
    ]
    assert s.machines == ("A", "C")
    assert all(m.machine != "B" for row in s for m in row.machines)


def test_voided_and_open_entries_never_count(board, pss, herb):
    board.game(herb, "P6", "A", 10_000, status=EntryStatus.VOIDED)
    board.game(herb, "P6", "A", 20_000, status=EntryStatus.OPEN)
    board.game(herb, "Nobody", "A", 30_000, status=EntryStatus.VOIDED)
    s = compute_standings(board.session, pss, herb)
    assert table(s)[-1] == (5, "P6", 180)
    assert s.find(name="Nobody") is None


def test_players_with_the_same_name_stay_apart(board, pss):
    t = board.tournament("herb", ["A"])
    board.player("Sam", number=7)
    board.game(t, "Sam", "A", 10)
    twin = board.player("Sam 2", number=3)
    twin.player.first_name = "Sam"
    board.session.flush()
    board.game(t, "Sam 2", "A", 10)
    s = compute_standings(board.session, pss, t)
    # Tied on the same name: the lower player number first.
    assert [(row.rank, row.name, row.competitor.number) for row in s] == [
        (1, "Sam", 3),
        (1, "Sam", 7),
    ]


def test_limited_herb_ranks_like_herb(board, pss):
    t = board.tournament(
        "limited_herb", ["A", "B"], options={"max_entries": 3, "machines_counted": 1}
    )
    board.game(t, "Ada", "A", 5)
    board.game(t, "Bo", "A", 7)
    board.game(t, "Bo", "B", 1)
    assert table(compute_standings(board.session, pss, t)) == [(1, "Bo", 100), (2, "Ada", 90)]


def test_empty_tournaments(board, pss):
    assert compute_standings(board.session, pss, board.tournament("herb", [])).rows == ()
    t = board.tournament("papa", ["A", "B"])
    s = compute_standings(board.session, pss, t)
    assert (s.rows, s.machines) == ((), ("A", "B"))
    assert s.as_dict()["standings"] == []


# --- PAPA-style -----------------------------------------------------------------------------


def test_papa_from_the_database_by_hand(board, pss):
    t = board.tournament("papa", ["A", "B", "C", "D"], options={"games_per_entry": 3}, cut=1)
    for name in ("Ada", "Bo", "Cy", "Di"):
        board.player(name)
    e1 = board.entry(t, "Ada", [("A", 100), ("B", 10), ("D", 1)])
    e2 = board.entry(t, "Ada", [("A", 90), ("C", 7), ("D", 2)])
    board.entry(t, "Bo", [("A", 90), ("B", 30), ("D", 3)])
    board.entry(t, "Cy", [("A", 80), ("B", 30), ("C", 9)])
    # An open entry (two games of three) and a voided one never count, nor rank anyone down.
    board.entry(t, "Di", [("C", 9), ("D", 3)], status=EntryStatus.OPEN, games_allowed=3)
    board.entry(t, "Di", [("A", 999), ("B", 999)], status=EntryStatus.VOIDED, games_allowed=3)
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Bo", 290), (2, "Cy", 284), (3, "Ada", 270)]
    assert [row.name for row in s.qualifiers] == ["Bo"]
    ada = s.find(name="Ada")
    assert [(e.entry_id, e.points, e.counted) for e in ada.entries] == [
        (e1.id, 270, True),
        (e2.id, 270, False),
    ]
    assert [(g.machine, g.score, g.rank, g.points) for g in ada.entries[0].games] == [
        ("A", 100, 1, 100),
        ("B", 10, 3, 85),
        ("D", 1, 3, 85),
    ]
    assert ada.machines == ()
    t.format_options = {**t.format_options, "entries_counted": 2}
    assert table(compute_standings(board.session, pss, t))[0] == (1, "Ada", 540)


def test_papa_voiding_an_entry_takes_it_out(board, pss):
    t = board.tournament("papa", ["A", "B"], options={"games_per_entry": 2})
    entry = board.entry(t, "Ada", [("A", 10), ("B", 10)])
    board.entry(t, "Bo", [("A", 5), ("B", 5)])
    assert table(compute_standings(board.session, pss, t)) == [(1, "Ada", 200), (2, "Bo", 180)]
    corrections.void_entry(board.session, pss, entry=entry, actor=board.td)
    assert table(compute_standings(board.session, pss, t)) == [(1, "Bo", 200)]


def test_papa_games_on_removed_machines_drop_out_of_their_entry_when_dropped(board, pss):
    t = board.tournament("papa", ["A", "B"], options={"games_per_entry": 2})
    board.entry(t, "Ada", [("A", 10), ("B", 1)])
    board.entry(t, "Bo", [("A", 5), ("B", 5)])
    board.set_machine_status(t, "B", MachineStatus.REMOVED)
    assert [
        len(e.games) for row in compute_standings(board.session, pss, t) for e in row.entries
    ] == [2, 2]
    t.count_removed_machines = False
    board.session.flush()
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Ada", 100), (2, "Bo", 90)]
    assert [len(e.games) for row in s for e in row.entries] == [1, 1]


# --- team -----------------------------------------------------------------------------------


def test_team_standings_list_teams_with_members(board, pss):
    t = board.tournament("team", ["A", "B"], options={"team_size": 2, "machines_counted": 2})
    board.team("Flippers", ["Ada", "Bo"])
    board.team("Tilt", ["Cy", "Di"])
    board.team("Idle", ["Ed"])
    board.game(t, "Flippers", "A", 50, team=True)
    board.game(t, "Flippers", "B", 70, team=True)
    board.game(t, "Tilt", "A", 60, team=True)
    board.game(t, "Tilt", "B", 70, team=True)
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Tilt", 200), (2, "Flippers", 190)]
    assert s.team
    assert s.find(name="Flippers").competitor.members == ("Ada", "Bo")
    assert s.find(name="Tilt").competitor.id == board.teams["Tilt"].id
    data = s.as_dict()["standings"][0]["competitor"]
    assert data == {
        "name": "Tilt",
        "id": board.teams["Tilt"].id,
        "team": True,
        "members": ["Cy", "Di"],
    }


# --- freshness and the cache ----------------------------------------------------------------


def test_cache_serves_a_version_until_something_changes(board, pss, herb):
    cache = StandingsCache()
    first = compute_standings(board.session, pss, herb, cache=cache)
    assert compute_standings(board.session, pss, herb, cache=cache) is first
    assert (cache.hits, cache.misses) == (1, 1)
    # A new score bumps the version: recomputed, and the new score shows.
    board.game(herb, "P6", "A", 999)
    second = compute_standings(board.session, pss, herb, cache=cache)
    assert second is not first
    assert second.version == first.version + 1
    assert second.find(name="P6").points > first.find(name="P6").points
    # Removing a machine changes no version, but the machines are part of the key.
    herb.count_removed_machines = False
    board.set_machine_status(herb, "C", MachineStatus.REMOVED)
    third = compute_standings(board.session, pss, herb, cache=cache)
    assert third is not second
    assert third.machines == ("A", "B")
    # So are the options and the cut.
    herb.format_options = {**herb.format_options, "machines_counted": 1}
    assert compute_standings(board.session, pss, herb, cache=cache).rows[0].points == 100
    herb.qualifying_cut = 1
    assert compute_standings(board.session, pss, herb, cache=cache).cut == 1
    assert cache.hits == 1


def test_without_a_cache_every_call_reads_the_scores(board, pss, herb):
    before = compute_standings(board.session, pss, herb)
    board.game(herb, "P6", "B", 10**6)
    after = compute_standings(board.session, pss, herb)
    assert after.find(name="P6").points > before.find(name="P6").points


def test_cache_is_bounded():
    cache = StandingsCache(maxsize=2)
    values = [Standings("herb", ()) for _ in range(3)]
    for i, value in enumerate(values):
        cache.put((i,), value)
    assert cache.get((0,)) is None
    assert cache.get((2,)) is values[2]
    cache.clear()
    assert cache.get((2,)) is None


def test_breakdowns_decode_once_when_threads_share_cached_standings(board, pss, herb):
    s = compute_standings(board.session, pss, herb, cache=StandingsCache())
    seen = []
    threads = [
        threading.Thread(target=lambda: seen.append(tuple(s.rows[3].machines))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert len(set(seen)) == 1
    assert [(m.machine, m.points) for m in seen[0]] == [("C", 100), ("A", 84)]


# --- formats that only rank rows ------------------------------------------------------------


class Lowball(Format):
    """A toy format that ranks only rows: the lowest single score wins."""

    def standings_from_rows(self, rows, options, ranking):
        flipped = [ScoreRow(r.player, r.machine, 10**9 - r.score, entry=r.entry) for r in rows]
        return ranking.herb(flipped, machines_counted=1, curve=ranking.curve(options))


class LowScore:
    """The plugin that registers the toy format."""

    @hookimpl
    def pss_register_formats(self, registry):
        registry.add(
            FormatSpec(
                "lowball",
                "Lowball",
                options=(OptionSpec("points_curve", "points_curve", "linear"),),
                format=Lowball,
            )
        )


def test_a_rows_only_format_gets_its_stored_scores_as_rows(board, make_pss):
    pss = board.pss = make_pss(LowScore())
    t = board.tournament("lowball", ["A", "B"], cut=1)
    board.game(t, "Ada", "A", 30)
    board.game(t, "Bo", "A", 10)
    board.game(t, "Bo", "B", 99, status=EntryStatus.VOIDED)
    # Rows from the database carry names as well as ids.
    a = board.machine(t, "A").id
    assert [
        (r.score, r.machine, r.machine_id, r.player, r.player_id)
        for r in score_rows(board.session, t)
    ] == [(30, "A", a, "Ada", board.players["Ada"].id), (10, "A", a, "Bo", board.players["Bo"].id)]
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Bo", 100), (2, "Ada", 99)]
    bo = s.rows[0]
    assert (bo.competitor.id, bo.competitor.number) == (
        board.players["Bo"].id,
        board.players["Bo"].number,
    )
    assert [(m.machine, m.machine_id) for m in bo.machines] == [("A", board.machine(t, "A").id)]
    assert s.qualifiers == (bo,)


class NoStandings:
    @hookimpl
    def pss_register_formats(self, registry):
        registry.add(FormatSpec("casual", "Casual"))


def test_a_format_without_standings_says_so(board, make_pss):
    pss = board.pss = make_pss(NoStandings())
    t = board.tournament("casual", ["A"])
    with pytest.raises(Refused, match="The Casual format does not compute standings") as err:
        compute_standings(board.session, pss, t)
    assert err.value.code == "no_standings"


# --- deep ranks -----------------------------------------------------------------------------


def test_more_places_than_the_curve_lookup_covers(board, make_pss, monkeypatch):
    class Slope:
        @hookimpl
        def pss_register_points_curves(self, registry):
            registry.add(PointsCurve("slope", "Slope", lambda rank: 1000 - rank))

    pss = board.pss = make_pss(Slope())
    monkeypatch.setattr(standings_module, "RANK_BOUND", 2)
    t = board.tournament("herb", ["A"], options={"points_curve": "slope"})
    for i in range(1, 7):
        board.game(t, f"P{i}", "A", 100 - i)
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(i, f"P{i}", 1000 - i) for i in range(1, 7)]
    assert [row.machines[0].points for row in s] == [1000 - i for i in range(1, 7)]


# --- the SQL engine against the reference engine --------------------------------------------

PLAYERS = [f"P{i}" for i in range(1, 6)]
MACHINES = ["A", "B", "C", "D"]
TEAMS = {"T1": ["P1", "P2"], "T2": ["P3"], "T3": ["P4", "P5"]}
scores = st.integers(min_value=0, max_value=12)
herb_games = st.lists(
    st.tuples(st.sampled_from(PLAYERS), st.sampled_from(MACHINES), scores), max_size=16
)
db_settings = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def in_savepoint(dbsession, make_board, check):
    savepoint = dbsession.begin_nested()
    try:
        check(make_board())
    finally:
        savepoint.rollback()


@db_settings
@given(
    herb_games,
    st.integers(min_value=1, max_value=4),
    st.sampled_from(["papa", "linear"]),
    st.lists(st.sampled_from(["removed", "disabled"]), max_size=4),
    st.booleans(),
)
def test_sql_herb_equals_the_reference(
    dbsession, make_board, games, n, curve, statuses, keep_removed
):
    def check(board):
        t = board.tournament(
            "herb", MACHINES, options={"machines_counted": n, "points_curve": curve}
        )
        t.count_removed_machines = keep_removed
        for p in PLAYERS:
            board.player(p)
        for p, m, score in games:
            board.game(t, p, m, score)
        for machine, status in zip(MACHINES, statuses, strict=False):
            board.set_machine_status(t, machine, MachineStatus(status))
        kept = [
            ScoreRow(p, m, sc)
            for p, m, sc in games
            if keep_removed or board.machine(t, m).status != MachineStatus.REMOVED
        ]
        expected = herb_standings(kept, machines_counted=n, curve=board.pss.curves[curve])
        assert herb_view(compute_standings(board.session, board.pss, t)) == herb_view(expected)

    in_savepoint(dbsession, make_board, check)


@db_settings
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(TEAMS)), st.sampled_from(MACHINES), scores), max_size=12
    ),
    st.integers(min_value=1, max_value=3),
)
def test_sql_team_equals_the_reference(dbsession, make_board, games, n):
    def check(board):
        t = board.tournament("team", MACHINES, options={"machines_counted": n})
        for name, members in TEAMS.items():
            board.team(name, members)
        for team, m, score in games:
            board.game(t, team, m, score, team=True)
        expected = herb_standings(
            [ScoreRow(TEAMS[team][0], m, sc, team=team) for team, m, sc in games],
            machines_counted=n,
            curve=PAPA,
            team=True,
        )
        got = compute_standings(board.session, board.pss, t)
        assert herb_view(got) == herb_view(expected)
        assert all(row.competitor.members == tuple(TEAMS[row.name]) for row in got)

    in_savepoint(dbsession, make_board, check)


papa_entries = st.lists(
    st.tuples(
        st.sampled_from(PLAYERS[:4]),
        st.lists(
            st.tuples(st.sampled_from(MACHINES), scores),
            min_size=2,
            max_size=2,
            unique_by=lambda g: g[0],
        ),
        st.sampled_from([EntryStatus.COMPLETE] * 4 + [EntryStatus.OPEN, EntryStatus.VOIDED]),
    ),
    max_size=8,
)


@db_settings
@given(papa_entries, st.integers(min_value=1, max_value=3), st.sampled_from(["papa", "linear"]))
def test_sql_papa_equals_the_reference(dbsession, make_board, entries, k, curve):
    def check(board):
        t = board.tournament(
            "papa",
            MACHINES,
            options={"games_per_entry": 2, "entries_counted": k, "points_curve": curve},
        )
        for p in PLAYERS:
            board.player(p)
        rows = []
        for player, games, status in entries:
            entry = board.entry(t, player, games, status=status)
            if status == EntryStatus.COMPLETE:
                rows += [ScoreRow(player, m, sc, entry=str(entry.id)) for m, sc in games]
        expected = entry_standings(
            rows, entries_counted=k, curve=board.pss.curves[curve], games_per_entry=2
        )
        assert entry_view(compute_standings(board.session, board.pss, t)) == entry_view(expected)

    in_savepoint(dbsession, make_board, check)


def test_standings_are_computed_in_one_ranking_query(board, pss, herb):
    # Statements per call: the version, the machines, the ranking query itself.
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    connection = board.session.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        s = compute_standings(board.session, pss, herb)
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert len(s) == 6
    assert len(statements) == 3
    assert sum("RANK() OVER" in statement for statement in statements) == 1


# --- the richer values: fractions, averaged ties, direction, curves of the place -------------

FIELD = PointsCurve("field", "Field size", lambda p: p.players - p.rank + 1, by_place=True)
DECAY = PointsCurve("decay", "Decaying", lambda rank: 100 * Fraction(9, 10) ** (rank - 1))
CURVES = {
    "papa": PAPA,
    "linear": LINEAR,
    "circuit": PointsCurve("c", "C", circuit_points),
    "field": FIELD,
    "decay": DECAY,
    "percent": PointsCurve("pct", "Pct", percent_of_top, by_place=True),
}
rankings = st.fixed_dictionaries(
    {
        "curve": st.sampled_from(sorted(CURVES)),
        "ties": st.sampled_from(["share", "average"]),
        "lowest_wins": st.booleans(),
        "fewest_points_win": st.booleans(),
    }
)


def engine_args(ranking):
    return {**ranking, "curve": CURVES[ranking["curve"]]}


@db_settings
@given(herb_games, st.integers(min_value=1, max_value=4), rankings)
def test_sql_herb_with_richer_values_equals_the_reference(dbsession, make_board, games, n, ranking):
    def check(board):
        t = board.tournament("herb", MACHINES)
        for p in PLAYERS:
            board.player(p)
        for p, m, score in games:
            board.game(t, p, m, score)
        got = sql_herb_standings(board.session, t, machines_counted=n, **engine_args(ranking))
        expected = herb_standings(
            [ScoreRow(*g) for g in games], machines_counted=n, **engine_args(ranking)
        )
        assert herb_view(got) == herb_view(expected)
        assert got.lowest_wins == expected.lowest_wins == ranking["fewest_points_win"]

    in_savepoint(dbsession, make_board, check)


@db_settings
@given(papa_entries, st.integers(min_value=1, max_value=3), rankings)
def test_sql_papa_with_richer_values_equals_the_reference(
    dbsession, make_board, entries, k, ranking
):
    def check(board):
        t = board.tournament("papa", MACHINES, options={"games_per_entry": 2})
        for p in PLAYERS:
            board.player(p)
        rows = []
        for player, games, status in entries:
            entry = board.entry(t, player, games, status=status)
            if status == EntryStatus.COMPLETE:
                rows += [ScoreRow(player, m, sc, entry=str(entry.id)) for m, sc in games]
        got = sql_entry_standings(board.session, t, entries_counted=k, **engine_args(ranking))
        expected = entry_standings(
            rows, entries_counted=k, games_per_entry=2, **engine_args(ranking)
        )
        assert entry_view(got) == entry_view(expected)

    in_savepoint(dbsession, make_board, check)


def test_ties_averaged_by_hand_from_the_database(board):
    t = board.tournament("herb", ["A"])
    for name, score in (("Ada", 90), ("Bo", 80), ("Cy", 80), ("Di", 80), ("Ed", 70)):
        board.game(t, name, "A", score)
    s = sql_herb_standings(board.session, t, machines_counted=1, curve=FIELD, ties="average")
    # Five players: 5, 4, 3, 2, 1. Bo, Cy and Di share 2nd to 4th: (4 + 3 + 2) / 3 = 3 each.
    assert table(s) == [(1, "Ada", 5), (2, "Bo", 3), (2, "Cy", 3), (2, "Di", 3), (5, "Ed", 1)]
    assert all(isinstance(row.points, int) for row in s)
    s = sql_herb_standings(
        board.session, t, machines_counted=1, curve=LINEAR, ties="average", lowest_wins=True
    )
    # Lowest first: Ed 100; the three 80s share 99, 98, 97 (98 each); Ada 96.
    assert table(s) == [(1, "Ed", 100), (2, "Bo", 98), (2, "Cy", 98), (2, "Di", 98), (5, "Ada", 96)]


def test_percent_of_top_is_exact_and_shown_without_noise(board, pss):
    t = board.tournament(
        "herb", ["A", "B"], options={"points_curve": "percent_of_top", "machines_counted": 2}
    )
    board.game(t, "Ada", "A", 3_000_000)
    board.game(t, "Bo", "A", 1_000_000)
    board.game(t, "Bo", "B", 7)
    board.game(t, "Ada", "B", 3)
    s = compute_standings(board.session, pss, t)
    # Ada: 100 + 300/7 (142.857…); Bo: 100/3 + 100 (133.333…).
    assert table(s) == [(1, "Ada", Fraction(1000, 7)), (2, "Bo", Fraction(400, 3))]
    assert [row.points_text for row in s] == ["142.86", "133.33"]
    data = s.as_dict()["standings"][0]
    assert (data["points"], data["points_exact"]) == (142.857143, "1000/7")
    assert data["machines"][1]["points"] == 42.857143
