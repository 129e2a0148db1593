"""Team (split-flipper) play through the services: tokens belong to the team, any member may use
them, and the standings rank teams and list their members."""

import pytest
from sqlalchemy import select

from pss_core.errors import Refused
from pss_core.models import Token
from pss_core.services import setup
from pss_core.standings import compute_standings


@pytest.fixture
def teams(board):
    t = board.tournament("team", ["A", "B"], options={"team_size": 2, "machines_counted": 2})
    herb = board.tournament("herb", ["X"])
    flippers = setup.create_team(
        board.session, board.event, "Flippers", [board.player("Ada"), board.player("Bo")]
    )
    tilt = setup.create_team(
        board.session, board.event, "Tilt", [board.player("Cy"), board.player("Di")]
    )
    return t, herb, flippers, tilt


def test_tokens_belong_to_the_team_and_any_member_uses_them(board, teams):
    t, _, flippers, _ = teams
    board.sell("Ada", 2, t)
    owners = board.session.execute(
        select(Token.player_id, Token.team_id).where(Token.tournament_id == t.id)
    ).all()
    assert owners == [(None, flippers.id)] * 2
    board.play(t, "Bo", "A", 10)  # Bo plays on the ticket Ada bought
    board.play(t, "Ada", "B", 20)
    s = compute_standings(board.session, board.pss, t)
    assert [(row.name, row.points, row.competitor.members) for row in s] == [
        ("Flippers", 200, ("Ada", "Bo"))
    ]


def test_team_standings_rank_teams(board, teams):
    t, _, _, _ = teams
    board.sell("Ada", 2, t)
    board.sell("Di", 2, t)
    board.play(t, "Ada", "A", 50)
    board.play(t, "Cy", "A", 60)
    board.play(t, "Bo", "B", 70)
    board.play(t, "Di", "B", 70)
    s = compute_standings(board.session, board.pss, t)
    assert [(row.rank, row.name, row.points) for row in s] == [
        (1, "Tilt", 200),
        (2, "Flippers", 190),
    ]
    assert s.team
    assert s.as_dict()["standings"][1]["competitor"]["members"] == ["Ada", "Bo"]


def test_a_team_cannot_start_while_a_member_is_on_another_machine(board, teams):
    t, herb, _, _ = teams
    board.sell("Ada", 1, t)
    board.sell("Bo", 1, herb)
    board.start(herb, "Bo", "X")  # Bo plays his own HERB game
    with pytest.raises(Refused) as err:
        board.start(t, "Ada", "A")
    assert err.value.code == "team_member_busy"
    assert "is playing X" in err.value.message


def test_a_player_without_a_team_cannot_play_team_games(board, teams):
    t, _, _, _ = teams
    with pytest.raises(Refused, match="not on a team") as err:
        board.sell("Loner", 1, t)
    assert err.value.code == "not_on_team"
