"""Starting, scoring, voiding and removing games; machine status; corrections (both backends)."""

import pytest
from sqlalchemy import func, select

from pss_core import audit
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
from pss_core.services import games, setup
from pss_core.services.games import MAX_SCORE, parse_score


@pytest.mark.parametrize(("text", "value"), [
    ("12345670", 12_345_670), ("12,345,670", 12_345_670), ("12.345.670", 12_345_670),
    (" 1 234 ", 1234), ("0", 0), (7, 7), (str(MAX_SCORE), MAX_SCORE), ("999", 999),
    ("12'345", 12345),
])
def test_parse_score_accepts(text, value):
    assert parse_score(text) == value


@pytest.mark.parametrize(("text", "code"), [
    ("-5", "negative_score"), (-5, "negative_score"), ("1.5", "invalid_score"),
    ("12,34", "invalid_score"), ("1,234.567", "invalid_score"), ("", "invalid_score"),
    ("abc", "invalid_score"), (str(MAX_SCORE + 1), "score_too_large"), (True, "invalid_score"),
    (1.5, "invalid_score"), ("١٢٣", "invalid_score"),
])
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
    assert (score.score, score.token_id, score.entry_id) == (1_234_567_890,
                                                             started.token_id, started.entry_id)
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


@pytest.mark.parametrize(("setup_fn", "code"), [
    (lambda w: setattr(w.m(), "status", MachineStatus.DISABLED), "machine_down"),
    (lambda w: setattr(w.m(), "status", MachineStatus.REMOVED), "machine_removed"),
    (lambda w: setattr(w.tournaments["main"], "active", False), "tournament_inactive"),
])
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
        games.start_game(world.session, world.pss, machine=world.m(), player=ada,
                         actor=Actor("ada", player_id=ada.id))


def test_void_uses_the_token_without_a_score(world):
    ada = world.players[0]
    world.sell(ada, 1)
    started = world.start(ada, world.m())
    ended = games.void_game(world.session, world.pss, machine=world.m(), actor=world.sk,
                            reason="tilted on plunge")
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
    games.misconduct(world.session, world.pss, machine=world.m(), actor=world.sk,
                     reason="slam tilt on purpose")
    assert ada.offences == 1
    row = world.session.scalars(select(AuditLog).where(
        AuditLog.action == "game.misconduct")).one()
    assert row.details["reason"] == "slam tilt on purpose"


def test_remove_does_not_use_the_token(world):
    ada = world.players[0]
    world.sell(ada, 1)
    started = world.start(ada, world.m())
    ended = games.remove_from_machine(world.session, world.pss, machine=world.m(),
                                      actor=world.sk, reason="ball stuck")
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
    started = games.start_game(world.session, world.pss, machine=world.m("split"), player=bo,
                               actor=world.sk)
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


def test_disable_freezes_queue_and_lets_the_game_finish(world):
    ada, bo, cy = world.players[:3]
    for p in (ada, bo, cy):
        world.sell(p, 2)
    m = world.m()
    world.start(ada, m)
    world.join(bo, m)
    world.join(cy, m)
    change = games.set_machine_status(world.session, world.pss, machine=m, status="disable",
                                      actor=world.sk, reason="flipper coil")
    assert change.changed
    assert sorted(change.told) == sorted([bo.id, cy.id])
    assert world.notes(bo) == ["machine_down"]
    with pytest.raises(Refused) as err:
        world.join(world.players[3], m)
    assert err.value.code == "machine_down"
    ended = world.record(m, 42)
    assert ended.next_game is None  # frozen: nobody is started
    assert world.queue(m) == [bo.id, cy.id]
    games.set_machine_status(world.session, world.pss, machine=m, status="enable",
                             actor=world.sk)
    assert world.notes(cy) == ["machine_down", "machine_up"]
    assert world.queue(m) == [bo.id, cy.id]
    same = games.set_machine_status(world.session, world.pss, machine=m, status="enable",
                                    actor=world.sk)
    assert not same.changed


def test_remove_machine_takes_player_off_and_clears_queue(world):
    ada, bo = world.players[:2]
    world.sell(ada, 1)
    world.sell(bo, 1)
    m = world.m()
    started = world.start(ada, m)
    world.join(bo, m)
    change = games.set_machine_status(world.session, world.pss, machine=m,
                                      status=MachineStatus.REMOVED, actor=world.td)
    assert change.taken_off is not None
    assert change.taken_off.removed
    assert world.session.get(Token, started.token_id).used_at is None
    assert world.queue(m) == []
    assert world.notes(bo) == ["machine_removed"]
    assert m.status == MachineStatus.REMOVED
    row = world.session.scalars(select(AuditLog).where(
        AuditLog.action == "machine.status")).one()
    assert (row.details["old"], row.details["new"]) == ("active", "removed")
    with pytest.raises(Refused, match="no longer in Main"):
        world.start(ada, m)
    # Re-adding it brings it back.
    setup.add_machine(world.session, world.tournaments["main"], m.machine.name)
    assert m.status == MachineStatus.ACTIVE


def test_who_may_change_a_machines_status(world):
    """Scorekeepers mark a machine down and back up; only the tournament director removes it;
    the desk and players do neither. A refusal changes nothing and writes no audit row."""
    m = world.m()
    player = Actor("Ada", player_id=world.players[0].id)

    def refused(status, actor):
        before = world.session.scalar(select(func.count(AuditLog.id)))
        with pytest.raises(PermissionDenied) as err:
            games.set_machine_status(world.session, world.pss, machine=m, status=status,
                                     actor=actor)
        assert world.session.scalar(select(func.count(AuditLog.id))) == before
        return err.value.code

    assert refused("remove", world.sk) == "td_only"
    assert refused("disable", world.desk) == "scorekeepers_only"
    assert refused("disable", player) == "staff_only"
    assert m.status == MachineStatus.ACTIVE
    games.set_machine_status(world.session, world.pss, machine=m, status="disable",
                             actor=world.sk)
    assert m.status == MachineStatus.DISABLED
    assert refused("remove", world.sk) == "td_only"
    assert refused("enable", world.desk) == "scorekeepers_only"
    games.set_machine_status(world.session, world.pss, machine=m, status="enable",
                             actor=world.sk)
    assert m.status == MachineStatus.ACTIVE
    games.set_machine_status(world.session, world.pss, machine=m, status="remove",
                             actor=world.td)
    assert m.status == MachineStatus.REMOVED
    # pss itself (no user: the command line, workers) may do it all.
    setup.add_machine(world.session, world.tournaments["main"], m.machine.name)
    games.set_machine_status(world.session, world.pss, machine=m, status="remove",
                             actor=Actor("pss"))
    assert m.status == MachineStatus.REMOVED
    actions = world.session.scalars(select(AuditLog.details).where(
        AuditLog.action == "machine.status").order_by(AuditLog.id)).all()
    assert [(d["old"], d["new"]) for d in actions] == [
        ("active", "disabled"), ("disabled", "active"), ("active", "removed"),
        ("active", "removed")]


def test_unknown_status_word(world):
    with pytest.raises(InvalidInput):
        games.set_machine_status(world.session, world.pss, machine=world.m(), status="explode",
                                 actor=world.sk)


def _scored(world, player, score=100, i=0):
    world.start(player, world.m(i=i))
    return world.record(world.m(i=i), score)


def test_edit_score_is_audited_before_and_after(world):
    ada = world.players[0]
    world.sell(ada, 1)
    ended = _scored(world, ada, 1000)
    score = world.session.get(Score, ended.score_id)
    v = world.tournaments["main"].version
    games.edit_score(world.session, world.pss, score=score, new_score="10,000", actor=world.td,
                     reason="typo")
    assert score.score == 10_000
    assert world.tournaments["main"].version == v + 1
    row = world.session.scalars(select(AuditLog).where(AuditLog.action == "score.edit")).one()
    assert (row.details["before"], row.details["after"], row.player_id) == (1000, 10_000, ada.id)
    assert row.details["tickets_left"][0]["used"] == 1


def test_corrections_are_for_directors(world):
    ada = world.players[0]
    world.sell(ada, 1)
    ended = _scored(world, ada)
    score = world.session.get(Score, ended.score_id)
    with pytest.raises(PermissionDenied):
        games.edit_score(world.session, world.pss, score=score, new_score=5, actor=world.sk)
    with pytest.raises(PermissionDenied):
        games.void_entry(world.session, world.pss, entry=score.entry,
                         actor=Actor("ada", player_id=ada.id))


def test_void_and_unvoid_entry(world):
    ada = world.players[0]
    world.sell(ada, 2)
    ended = _scored(world, ada)
    entry = world.session.get(Entry, ended.entry_id)
    games.void_entry(world.session, world.pss, entry=entry, actor=world.td, reason="wrong player")
    assert entry.status == EntryStatus.VOIDED
    with pytest.raises(Refused):
        games.void_entry(world.session, world.pss, entry=entry, actor=world.td)
    games.unvoid_entry(world.session, world.pss, entry=entry, actor=world.td)
    assert entry.status == EntryStatus.COMPLETE
    actions = [r.action for r in audit.player_history(world.session, world.event.id, ada.id)]
    assert actions[-2:] == ["entry.void", "entry.unvoid"]
    # An entry voided at the machine has no score to bring back.
    world.start(ada, world.m())
    voided = games.void_game(world.session, world.pss, machine=world.m(), actor=world.sk)
    with pytest.raises(Refused) as err:
        games.unvoid_entry(world.session, world.pss,
                           entry=world.session.get(Entry, voided.entry_id), actor=world.td)
    assert err.value.code == "entry_has_no_scores"


def test_void_entry_in_play_is_refused(world):
    world.tournament("classics", "papa", options={"games_per_entry": 2})
    ada = world.players[0]
    world.sell(ada, 1, "classics")
    started = world.start(ada, world.m("classics"))
    with pytest.raises(Refused) as err:
        games.void_entry(world.session, world.pss,
                         entry=world.session.get(Entry, started.entry_id), actor=world.td)
    assert err.value.code == "entry_in_play"


def test_add_missing_score_uses_a_token(world):
    ada = world.players[0]
    world.sell(ada, 1)
    row = games.add_missing_score(world.session, world.pss, machine=world.m(), player=ada,
                                  score="55,000", actor=world.td, reason="forgot to enter")
    assert row.score == 55_000
    assert row.entry.status == EntryStatus.COMPLETE
    assert world.summary(ada).used == 1
    with pytest.raises(Refused) as err:
        games.add_missing_score(world.session, world.pss, machine=world.m(), player=ada,
                                score=1, actor=world.td)
    assert err.value.code == "no_tokens"


def test_add_missing_score_into_a_papa_entry(world):
    world.tournament("classics", "papa", options={"games_per_entry": 2})
    ada = world.players[0]
    world.sell(ada, 1, "classics")
    a, b = world.m("classics", 0), world.m("classics", 1)
    first = world.start(ada, a)
    world.record(a, 10)
    entry = world.session.get(Entry, first.entry_id)
    with pytest.raises(Refused) as err:
        games.add_missing_score(world.session, world.pss, machine=a, player=ada, score=5,
                                actor=world.td, entry=entry)
    assert err.value.code == "score_exists"
    games.add_missing_score(world.session, world.pss, machine=b, player=ada, score=5,
                            actor=world.td, entry=entry)
    assert entry.status == EntryStatus.COMPLETE
    assert sorted(s.score for s in entry.scores) == [5, 10]


def test_giving_up_an_open_papa_entry_uses_its_remaining_games(world):
    world.tournament("classics", "papa", options={"games_per_entry": 3})
    ada, bo = world.players[0], world.players[1]
    world.sell(ada, 2, "classics")  # two entries: six games
    a = world.m("classics", 0)
    started = world.start(ada, a)
    world.record(a, 10_000)
    entry = world.session.get(Entry, started.entry_id)
    with pytest.raises(PermissionDenied):
        games.abandon_entry(world.session, world.pss, entry=entry,
                            actor=Actor("bo", player_id=bo.id))
    games.abandon_entry(world.session, world.pss, entry=entry,
                        actor=Actor("ada", player_id=ada.id))
    assert entry.status == EntryStatus.VOIDED
    summary = world.summary(ada, "classics")
    # One game played, the entry's two unplayed games voided, the second entry untouched.
    assert (summary.used, summary.voided, summary.remaining) == (1, 2, 3)
    # The next game starts a fresh entry of three games.
    again = world.start(ada, a)
    assert again.entry_id != entry.id
    with pytest.raises(Refused) as err:
        games.abandon_entry(world.session, world.pss, entry=entry, actor=world.sk)
    assert err.value.code == "entry_not_open"


def test_td_void_of_open_entry_and_unvoid_gives_the_games_back(world):
    world.tournament("classics", "papa", options={"games_per_entry": 3})
    ada = world.players[0]
    world.sell(ada, 1, "classics")
    a = world.m("classics", 0)
    started = world.start(ada, a)
    world.record(a, 500)
    entry = world.session.get(Entry, started.entry_id)
    games.void_entry(world.session, world.pss, entry=entry, actor=world.td)
    assert world.summary(ada, "classics").remaining == 0
    games.unvoid_entry(world.session, world.pss, entry=entry, actor=world.td)
    assert entry.status == EntryStatus.OPEN
    assert world.summary(ada, "classics").remaining == 2
    resumed = world.start(ada, world.m("classics", 1))
    assert resumed.entry_id == entry.id
