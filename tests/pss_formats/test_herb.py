"""HERB and limited HERB played through the desk and scorekeeper services: what the format's hooks
allow and refuse, and the standings the games make."""

import pytest
from sqlalchemy import func, select

from pss_core.errors import Refused
from pss_core.models import Entry, EntryStatus, Token
from pss_core.services import machines
from pss_core.standings import compute_standings


def table(s):
    return [(row.rank, row.name, row.points) for row in s]


def tokens(board, player, t):
    return (
        board.session.scalar(
            select(func.count(Token.id)).where(
                Token.player_id == board.player(player).id, Token.tournament_id == t.id
            )
        )
        or 0
    )


def test_a_ticket_is_one_game(board):
    t = board.tournament("herb")
    board.sell("Ada", 3, t)
    assert tokens(board, "Ada", t) == 3


def test_herb_played_through_the_services(board, pss):
    t = board.tournament("herb", ["A", "B", "C"], options={"machines_counted": 2}, cut=1)
    board.sell("Ada", 3, t)
    board.sell("Bo", 2, t)
    board.sell("Cy", 1, t)
    board.play(t, "Ada", "A", 100)
    board.play(t, "Bo", "A", 200)
    board.play(t, "Ada", "A", 300)  # a replay: the better score is Ada's best on A
    board.play(t, "Ada", "B", 50)
    board.play(t, "Bo", "B", 60)
    board.play(t, "Cy", "C", 10**12 + 7)  # past 2^31: scores are 64-bit
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Ada", 190), (1, "Bo", 190), (3, "Cy", 100)]
    assert [(m.machine, m.score, m.rank, m.counted) for m in s.rows[0].machines] == [
        ("A", 300, 1, True),
        ("B", 50, 2, True),
    ]
    assert s.rows[2].machines[0].score == 10**12 + 7
    assert s.version == t.version > 0
    assert [row.name for row in s.qualifiers] == ["Ada", "Bo"]


def test_voided_games_never_count(board, pss):
    t = board.tournament("herb", ["A"])
    board.sell("Ada", 1, t)
    board.sell("Bo", 1, t)
    board.play(t, "Ada", "A", 10)
    ended = board.play(t, "Bo", "A", None)
    assert ended.voided
    assert table(compute_standings(board.session, pss, t)) == [(1, "Ada", 100)]


def test_without_replays_a_machine_is_played_once(board):
    t = board.tournament("herb", ["A", "B"], options={"replay_same_machine": False})
    board.sell("Ada", 4, t)
    board.play(t, "Ada", "A", 10)
    with pytest.raises(
        Refused, match="Ada has already played A in herb 1, and replays are not allowed there"
    ) as err:
        board.start(t, "Ada", "A")
    assert err.value.code == "machine_already_played"
    # A voided game was never played: the machine may be tried again.
    board.play(t, "Ada", "B", None)
    board.play(t, "Ada", "B", 20)
    assert [row.points for row in compute_standings(board.session, board.pss, t)] == [200]


def test_limited_herb_caps_sales(board):
    t = board.tournament("limited_herb", options={"max_entries": 3})
    board.sell("Ada", 2, t)
    with pytest.raises(
        Refused,
        match="Ada may have at most 3 entries in limited_herb 1; they "
        "already have 2, so at most 1 more can be sold",
    ) as err:
        board.sell("Ada", 2, t)
    assert err.value.code == "entry_cap_reached"
    assert tokens(board, "Ada", t) == 2
    board.sell("Ada", 1, t)
    with pytest.raises(Refused, match="at most 0 more"):
        board.sell("Ada", 1, t)
    board.sell("Bo", 3, t)  # the cap is per player
    assert (tokens(board, "Ada", t), tokens(board, "Bo", t)) == (3, 3)


def test_limited_herb_caps_games_when_tokens_outnumber_the_cap(board):
    t = board.tournament("limited_herb", ["A", "B", "C"], options={"max_entries": 3})
    board.sell("Ada", 3, t)
    board.play(t, "Ada", "A", 1)
    board.play(t, "Ada", "B", 2)
    # The director lowers the cap after the tickets were sold.
    t.format_options = {**t.format_options, "max_entries": 2}
    with pytest.raises(Refused, match="Ada has already played all 2 entries allowed") as err:
        board.start(t, "Ada", "C")
    assert err.value.code == "entry_cap_reached"
    assert [row.points for row in compute_standings(board.session, board.pss, t)] == [200]


def test_a_removed_machine_keeps_counting_unless_the_tournament_drops_it(board, pss):
    """The seed: a removed machine is "removed from the UI except for results" — its scores
    keep counting; a tournament may choose to drop them. A disabled one always counts."""
    t = board.tournament("herb", ["A", "B"], options={"machines_counted": 2})
    board.sell("Ada", 2, t)
    board.play(t, "Ada", "A", 10)
    board.play(t, "Ada", "B", 10)
    machines.set_machine_status(
        board.session, pss, machine=board.machine(t, "B"), status="disable", actor=board.sk
    )
    assert table(compute_standings(board.session, pss, t)) == [(1, "Ada", 200)]
    machines.set_machine_status(
        board.session, pss, machine=board.machine(t, "B"), status="remove", actor=board.td
    )
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Ada", 200)]
    assert s.machines == ("A", "B")
    t.count_removed_machines = False
    board.session.flush()
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Ada", 100)]
    assert s.machines == ("A",)


def test_herb_entries_are_one_game_each(board):
    t = board.tournament("herb", ["A"])
    board.sell("Ada", 2, t)
    first = board.play(t, "Ada", "A", 1)
    second = board.play(t, "Ada", "A", 2)
    assert first.entry_id != second.entry_id
    rows = board.session.scalars(select(Entry).where(Entry.tournament_id == t.id)).all()
    assert [(e.status, e.games_allowed) for e in rows] == [(EntryStatus.COMPLETE, 1)] * 2
