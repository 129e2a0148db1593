"""PAPA-style entries played through the desk and scorekeeper services: a ticket is an entry of G
games on different machines, the entry counts once complete, and a voided entry never counts."""

import pytest
from sqlalchemy import func, select

from pss_core.errors import Refused
from pss_core.models import Entry, EntryStatus, Token
from pss_core.services import corrections
from pss_core.standings import compute_standings


def table(s):
    return [(row.rank, row.name, row.points) for row in s]


def test_a_ticket_is_an_entry_of_g_games(board):
    t = board.tournament("papa", options={"games_per_entry": 3})
    board.sell("Ada", 2, t)
    assert (
        board.session.scalar(
            select(func.count(Token.id)).where(Token.player_id == board.player("Ada").id)
        )
        == 6
    )


def test_an_entry_counts_once_complete(board, pss):
    t = board.tournament("papa", ["A", "B", "C"], options={"games_per_entry": 2})
    board.sell("Ada", 1, t)
    board.sell("Bo", 1, t)
    board.play(t, "Ada", "A", 500)
    board.play(t, "Bo", "A", 100)
    board.play(t, "Bo", "B", 100)
    # Ada's entry is open (one game of two): it neither counts nor ranks Bo down on A.
    assert table(compute_standings(board.session, pss, t)) == [(1, "Bo", 200)]
    ended = board.play(t, "Ada", "C", 5)
    entry = board.session.get(Entry, ended.entry_id)
    assert entry.status == EntryStatus.COMPLETE
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Ada", 200), (2, "Bo", 190)]
    assert [(g.machine, g.score, g.rank, g.points) for g in s.rows[0].entries[0].games] == [
        ("A", 500, 1, 100),
        ("C", 5, 1, 100),
    ]


def test_games_of_an_entry_are_on_different_machines(board):
    t = board.tournament("papa", ["A", "B"], options={"games_per_entry": 2})
    board.sell("Ada", 1, t)
    board.play(t, "Ada", "A", 1)
    with pytest.raises(Refused, match="Ada already played A in this entry") as err:
        board.start(t, "Ada", "A")
    assert err.value.code == "machine_already_in_entry"


def test_the_next_entry_starts_after_the_last_game(board, pss):
    t = board.tournament("papa", ["A", "B"], options={"games_per_entry": 2, "entries_counted": 2})
    board.sell("Ada", 2, t)
    first = [board.play(t, "Ada", m, sc).entry_id for m, sc in (("A", 10), ("B", 10))]
    second = [board.play(t, "Ada", m, sc).entry_id for m, sc in (("A", 20), ("B", 5))]
    assert first[0] == first[1] != second[0] == second[1]
    s = compute_standings(board.session, pss, t)
    # A: 20 (1), 10 (2); B: 10 (1), 5 (2). Entry 1: 90 + 100; entry 2: 100 + 90; both count.
    assert table(s) == [(1, "Ada", 380)]
    assert [(e.entry_id, e.points, e.counted) for e in s.rows[0].entries] == [
        (first[0], 190, True),
        (second[0], 190, True),
    ]


def test_voiding_an_entry_before_it_is_complete(board, pss):
    t = board.tournament("papa", ["A", "B", "C"], options={"games_per_entry": 3})
    board.sell("Ada", 1, t)
    board.sell("Bo", 1, t)
    for m in ("A", "B", "C"):
        board.play(t, "Bo", m, 10)
    ada = board.play(t, "Ada", "A", 99)
    entry = board.session.get(Entry, ada.entry_id)
    corrections.void_entry(board.session, pss, entry=entry, actor=board.td, reason="gave up")
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Bo", 300)]
    # The game played stays used and the entry's two unplayed games are used up with it, so
    # Ada has nothing left to start with until she buys another ticket.
    assert (
        board.session.scalar(
            select(func.count(Token.id)).where(
                Token.entry_id == entry.id, Token.used_at.is_not(None)
            )
        )
        == 1
    )
    assert (
        board.session.scalar(
            select(func.count(Token.id)).where(
                Token.entry_id == entry.id, Token.voided_at.is_not(None)
            )
        )
        == 2
    )
    with pytest.raises(Refused) as err:
        board.start(t, "Ada", "B")
    assert err.value.code == "no_tokens"
    board.sell("Ada", 1, t)
    assert board.start(t, "Ada", "B").entry_id != entry.id


def test_a_voided_game_ends_its_turn_and_the_entry_counts_its_scores(board, pss):
    t = board.tournament("papa", ["A", "B"], options={"games_per_entry": 2})
    board.sell("Ada", 1, t)
    board.play(t, "Ada", "A", None)
    ended = board.play(t, "Ada", "B", 7)
    assert board.session.get(Entry, ended.entry_id).status == EntryStatus.COMPLETE
    s = compute_standings(board.session, pss, t)
    assert table(s) == [(1, "Ada", 100)]
    assert [g.machine for g in s.rows[0].entries[0].games] == ["B"]
