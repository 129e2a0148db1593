"""Formats are dispatched, not broadcast: pss calls the methods of the tournament's own format,
and a minimal format (a name, options and a standings function) plays like HERB."""

import pytest
from sqlalchemy import func, select

from pss_core import Format, FormatSpec, OptionSpec, hookimpl
from pss_core.errors import Refused
from pss_core.models import Entry, EntryStatus, Token
from pss_core.plugins import get_plugin_manager
from pss_core.standings import compute_standings, standings_from_rows


class Sprint(Format):
    """Only a standings function: a player's single best game anywhere, one point per place."""

    def standings_from_rows(self, rows, options, ranking):
        return ranking.herb(
            rows, machines_counted=int(options["machines_counted"]), curve=ranking.curve(options)
        )


class Closed(Format):
    """Refuses every sale, queue join and game start of its own tournaments."""

    def check_ticket_sale(self, session, sale, options):
        raise Refused("Closed for sales.", code="closed")

    def check_game_start(self, session, game, options):
        raise Refused("Closed for play.", code="closed")


class Formats:
    @hookimpl
    def pss_register_formats(self, registry):
        registry.add(
            FormatSpec(
                "sprint",
                "Sprint",
                options=(
                    OptionSpec("machines_counted", "int", 1),
                    OptionSpec("points_curve", "points_curve", "linear"),
                ),
                format=Sprint,
            )
        )
        registry.add(FormatSpec("closed", "Closed", format=Closed()))


@pytest.fixture
def sprint_board(board, make_pss):
    board.pss = make_pss(Formats())
    return board


def test_a_minimal_format_plays_like_herb(sprint_board):
    board = sprint_board
    t = board.tournament("sprint", ["A", "B"])
    board.sell("Ada", 2, t)
    board.sell("Bo", 1, t)
    held = board.session.scalar(
        select(func.count(Token.id)).where(
            Token.player_id == board.player("Ada").id, Token.tournament_id == t.id
        )
    )
    assert held == 2  # one game per ticket by default
    board.play(t, "Ada", "A", 500)
    board.play(t, "Ada", "B", 900)
    board.play(t, "Bo", "A", 700)
    entries = board.session.scalars(select(Entry).where(Entry.tournament_id == t.id)).all()
    assert [(e.games_allowed, e.status) for e in entries] == [(1, EntryStatus.COMPLETE)] * 3
    s = compute_standings(board.session, board.pss, t)
    assert [(r.rank, r.name, r.points) for r in s] == [(1, "Ada", 100), (1, "Bo", 100)]
    assert (s.format, s.options["points_curve"]) == ("sprint", "linear")


def test_a_format_refusing_everything_stops_only_its_own_tournaments(sprint_board):
    board = sprint_board
    closed = board.tournament("closed", ["A"])
    herb = board.tournament("herb", ["A"])
    with pytest.raises(Refused, match="Closed for sales") as err:
        board.sell("Ada", 1, closed)
    assert err.value.code == "closed"
    board.sell("Ada", 1, herb)
    ended = board.play(herb, "Ada", "A", 100)
    assert not ended.voided
    assert [r.name for r in compute_standings(board.session, board.pss, herb)] == ["Ada"]


def test_a_format_without_standings_refuses_rows_too(sprint_board):
    with pytest.raises(Refused, match="The Closed format does not compute standings") as err:
        standings_from_rows(sprint_board.pss, "closed", [])
    assert err.value.code == "no_standings"


def test_a_format_object_is_called_for_its_own_tournaments_only(sprint_board):
    calls = []

    class Spy(Format):
        def tokens_per_ticket(self, tournament, options):
            calls.append(tournament.name)
            return 1

    class SpyPlugin:
        @hookimpl
        def pss_register_formats(self, registry):
            registry.add(FormatSpec("spy", "Spy", format=Spy()))

    board = sprint_board
    board.pss = get_plugin_manager([SpyPlugin()], load_entrypoints=False)
    spied = board.tournament("spy", ["A"], name="Spied")
    herb = board.tournament("herb", ["A"], name="Plain")
    board.sell("Ada", 1, herb)
    assert calls == []
    board.sell("Ada", 1, spied)
    assert calls == ["Spied"]
