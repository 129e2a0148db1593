"""Metatournaments: tickets good in any member tournament, used after the member's own; results
stay per tournament."""

import pytest
from sqlalchemy import select

from pss_core.contract import TokenScope
from pss_core.errors import Refused
from pss_core.models import Token
from pss_core.services import setup
from pss_core.standings import compute_standings


@pytest.fixture
def classics(board):
    day1 = board.tournament("herb", ["A"], name="Classics Friday")
    day2 = board.tournament("herb", ["A"], name="Classics Saturday")
    meta = setup.create_metatournament(board.session, board.event, "Classics", [day1, day2])
    return day1, day2, meta


def test_member_tournaments_name_the_metatournament_as_a_later_scope(board, classics):
    day1, _, meta = classics
    other = board.tournament("herb", ["B"])
    hook = board.pss.hook.pss_token_scopes
    assert hook(session=board.session, tournament=day1) == [
        [TokenScope(priority=10, metatournament_id=meta.id)]
    ]
    assert hook(session=board.session, tournament=other) == []


def test_own_tokens_first_then_the_metatournaments(board, classics):
    day1, day2, meta = classics
    board.sell("Ada", 2, meta)
    board.sell("Ada", 1, day1)
    games = [board.play(day1, "Ada", "A", score) for score in (10, 20)]
    used = [board.session.get(Token, g.token_id) for g in games]
    assert [(tok.tournament_id, tok.metatournament_id) for tok in used] == [
        (day1.id, None),
        (None, meta.id),
    ]
    board.play(day2, "Ada", "A", 5)  # the last classics ticket, on the other day
    with pytest.raises(Refused) as err:
        board.start(day1, "Ada", "A")
    assert err.value.code == "no_tokens"
    meta_tokens = board.session.scalars(
        select(Token).where(Token.metatournament_id == meta.id)
    ).all()
    assert all(tok.used_at is not None for tok in meta_tokens)


def test_results_stay_per_tournament(board, pss, classics):
    day1, day2, meta = classics
    board.sell("Ada", 2, meta)
    board.sell("Bo", 1, meta)
    board.play(day1, "Ada", "A", 10)
    board.play(day2, "Ada", "A", 30)
    board.play(day2, "Bo", "A", 40)
    assert [(r.name, r.points) for r in compute_standings(board.session, pss, day1)] == [
        ("Ada", 100)
    ]
    assert [(r.name, r.points) for r in compute_standings(board.session, pss, day2)] == [
        ("Bo", 100),
        ("Ada", 90),
    ]


def test_limited_herb_cap_holds_for_metatournament_tokens(board):
    friday = board.tournament(
        "limited_herb", ["A", "B"], name="Limited Friday", options={"max_entries": 1}
    )
    saturday = board.tournament(
        "limited_herb", ["A"], name="Limited Saturday", options={"max_entries": 1}
    )
    meta = setup.create_metatournament(board.session, board.event, "Limited", [friday, saturday])
    board.sell("Ada", 3, meta)  # good anywhere, so the sale cannot be capped per tournament
    board.play(friday, "Ada", "A", 10)
    with pytest.raises(Refused, match="already played all 1 entries allowed in Limited Friday"):
        board.start(friday, "Ada", "B")
    board.play(saturday, "Ada", "A", 10)
