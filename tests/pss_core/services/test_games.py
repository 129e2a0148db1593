"""Starting, scoring, voiding and removing games (both backends)."""

import pytest
from sqlalchemy import func, select

from pss_core.audit import Actor
from pss_core.errors import InvalidInput, PermissionDenied, Refused
from pss_core.models import (
    AuditLog,
    Entry,
    EntryStatus,
    MachineStatus,
    Score,
    Token,
)
from pss_core.services import games
from pss_core.services.games import MAX_SCORE, parse_score


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12345670", 12_345_670),
        ("12,345,670", 12_345_670),
        ("12.345.670", 12_345_670),
        (" 1 234 ", 1234),
        ("0", 0),
        (7, 7),
        (str(MAX_SCORE), MAX_SCORE),
        ("999", 999),
        ("12'345", 12345),
    ],
)
def test_parse_score_accepts(text, value):
    assert parse_score(text) == value


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-5", "negative_score"),
        (-5, "negative_score"),
        ("1.5", "invalid_score"),
        ("12,34", "invalid_score"),
        ("1,234.567", "invalid_score"),
        ("", "invalid_score"),
        ("abc", "invalid_score"),
        (str(MAX_SCORE + 1), "score_too_large"),
        (True, "invalid_score"),
        (1.5, "invalid_score"),
        ("١٢٣", "invalid_score"),
        # Past what int() reads (4,300 digits), exponents, NaN and Infinity, typed or as floats.
        ("9" * 5000, "score_too_large"),
        ("-" + "9" * 5000, "score_too_large"),
        ("1" + ",000" * 2000, "score_too_large"),
        ("1E+999999999", "invalid_score"),
        ("NaN", "invalid_score"),
        ("Infinity", "invalid_score"),
        (float("nan"), "invalid_score"),
        (float("inf"), "invalid_score"),
        (-0.0, "invalid_score"),
    ],
)
def test_parse_score_refuses(text, code):
    with pytest.raises(InvalidInput) as err:
        parse_score(text)
    assert err.value.code == code


def test_start_and_record_uses_the_token_and_frees_the_machine(world):
    ada = world.players[0]
    world.sell(ada, 2)
    m = world.m()
    v0 = world.tournaments["main"].version
    started = world.start(ada, m)
    assert (m.player_id, m.token_id) == (ada.id, started.token_id)
    assert world.summary(ada).in_play == 1
    ended = world.record(m, "1,234,567,890", token_id=started.token_id)
    assert ended.score == 1_234_567_890
    assert (m.player_id, m.token_id, m.game_started_at) == (None, None, None)
    score = world.session.get(Score, ended.score_id)
    assert (score.score, score.token_id, score.entry_id) == (
        1_234_567_890,
        started.token_id,
        started.entry_id,
    )
    assert world.session.get(Entry, started.entry_id).status == EntryStatus.COMPLETE
    s = world.summary(ada)
    assert (s.paid, s.used, s.remaining, s.in_play) == (2, 1, 1, 0)
    assert world.tournaments["main"].version == v0 + 2  # entry created, score recorded


def test_big_scores_survive_the_round_trip(world):
    ada = world.players[0]
    world.sell(ada, 1)
    world.start(ada, world.m())
    ended = world.record(world.m(), MAX_SCORE)
    world.session.expire_all()
    assert world.session.get(Score, ended.score_id).score == MAX_SCORE


def test_bad_score_changes_nothing(world):
    ada = world.players[0]
    world.sell(ada, 1)
    started = world.start(ada, world.m())
    with pytest.raises(InvalidInput):
        world.record(world.m(), "-3")
    assert world.m().token_id == started.token_id
    assert world.session.get(Token, started.token_id).used_at is None


@pytest.mark.parametrize(
    ("setup_fn", "code"),
    [
        (lambda w: setattr(w.m(), "status", MachineStatus.DISABLED), "machine_down"),
        (lambda w: setattr(w.m(), "status", MachineStatus.REMOVED), "machine_removed"),
        (lambda w: setattr(w.tournaments["main"], "active", False), "tournament_inactive"),
    ],
)
def test_start_refusals_for_machine_and_tournament(world, setup_fn, code):
    ada = world.players[0]
    world.sell(ada, 1)
    setup_fn(world)
    with pytest.raises(Refused) as err:
        world.start(ada, world.m())
    assert err.value.code == code
    assert world.m().player_id is None


def test_start_refused_without_tokens_or_when_busy(world):
    ada, bo = world.players[:2]
    with pytest.raises(Refused) as err:
        world.start(ada, world.m())
    assert err.value.code == "no_tokens"
    assert err.value.message.endswith("has no tickets left for Main.")
    world.sell(ada, 2)
    world.sell(bo, 1)
    world.start(ada, world.m(i=0))
    with pytest.raises(Refused) as err:
        world.start(ada, world.m(i=1))
    assert err.value.code == "already_playing"
    with pytest.raises(Refused) as err:
        world.start(bo, world.m(i=0))
    assert err.value.code == "machine_busy"


def test_player_cannot_start_games(world):
    ada = world.players[0]
    world.sell(ada, 1)
    with pytest.raises(PermissionDenied):
        games.start_game(
            world.session,
            world.pss,
            machine=world.m(),
            player=ada,
            actor=Actor("ada", player_id=ada.id),
        )


def test_void_uses_the_token_without_a_score(world):
    ada = world.players[0]
    world.sell(ada, 1)
    started = world.start(ada, world.m())
    ended = games.void_game(
        world.session, world.pss, machine=world.m(), actor=world.sk, reason="tilted on plunge"
    )
    assert ended.voided
    assert ended.score_id is None
    token = world.session.get(Token, started.token_id)
    assert token.voided_at is not None
    assert token.used_at is None
    assert world.session.get(Entry, started.entry_id).status == EntryStatus.VOIDED
    s = world.summary(ada)
    assert (s.voided, s.remaining) == (1, 0)


def test_misconduct_counts_an_offence(world):
    ada = world.players[0]
    world.sell(ada, 1)
    world.start(ada, world.m())
    games.misconduct(
        world.session, world.pss, machine=world.m(), actor=world.sk, reason="slam tilt on purpose"
    )
    assert ada.offences == 1
    row = world.session.scalars(select(AuditLog).where(AuditLog.action == "game.misconduct")).one()
    assert row.details["reason"] == "slam tilt on purpose"


def test_remove_does_not_use_the_token(world):
    ada = world.players[0]
    world.sell(ada, 1)
    started = world.start(ada, world.m())
    ended = games.remove_from_machine(
        world.session, world.pss, machine=world.m(), actor=world.sk, reason="ball stuck"
    )
    assert ended.removed
    token = world.session.get(Token, started.token_id)
    assert (token.used_at, token.voided_at, token.entry_id) == (None, None, None)
    # The HERB entry made for the game is gone with it.
    assert world.session.get(Entry, started.entry_id) is None
    assert world.summary(ada).remaining == 1
    world.start(ada, world.m(i=1))


def test_record_on_a_free_machine_or_changed_game_is_refused(world):
    ada, bo = world.players[:2]
    with pytest.raises(Refused) as err:
        world.record(world.m(), 5)
    assert err.value.code == "no_game"
    world.sell(ada, 1)
    world.sell(bo, 1)
    first = world.start(ada, world.m())
    world.join(bo, world.m())
    ended = world.record(world.m(), 100, token_id=first.token_id)
    assert ended.next_game is not None
    assert ended.next_game.player_id == bo.id
    # A second scorekeeper submitting for the game they saw does not score Bo's game.
    with pytest.raises(Refused) as err:
        world.record(world.m(), 200, token_id=first.token_id)
    assert err.value.code == "game_changed"
    assert world.session.scalar(select(func.count(Score.id))) == 1


def test_papa_entry_needs_distinct_machines_and_completes(world):
    world.tournament("classics", "papa", options={"games_per_entry": 2})
    ada = world.players[0]
    world.sell(ada, 1, "classics")
    a, b = world.m("classics", 0), world.m("classics", 1)
    first = world.start(ada, a)
    world.record(a, 10)
    with pytest.raises(Refused) as err:
        world.start(ada, a)
    assert err.value.code == "machine_already_in_entry"
    second = world.start(ada, b)
    assert second.entry_id == first.entry_id
    world.record(b, 20)
    assert world.session.get(Entry, first.entry_id).status == EntryStatus.COMPLETE


def test_team_game_and_member_conflicts(world):
    world.tournament("split", "team", options={"team_size": 2})
    ada, bo, cy = world.players[:3]
    team = world.team("Flippers", ada, bo)
    world.sell(ada, 2, "split")
    world.sell(bo, 1)
    started = games.start_game(
        world.session, world.pss, machine=world.m("split"), player=bo, actor=world.sk
    )
    assert (started.team_id, started.player_id) == (team.id, None)
    # Bo is at the team game, so cannot start on Main.
    with pytest.raises(Refused) as err:
        world.start(bo, world.m())
    assert err.value.code == "already_playing"
    world.record(world.m("split"), 5000)
    world.start(bo, world.m())
    # Now a member is busy: the team cannot start.
    with pytest.raises(Refused) as err:
        world.start(ada, world.m("split", 1))
    assert err.value.code == "team_member_busy"
    # Every member gets an audit row for the team game.
    rows = world.session.scalars(select(AuditLog).where(AuditLog.action == "game.score")).all()
    assert sorted(r.player_id for r in rows) == sorted([ada.id, bo.id])
    assert cy.id not in {r.player_id for r in rows}
