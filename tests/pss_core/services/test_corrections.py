"""The tournament director's corrections and a player giving up an entry (both backends)."""

import pytest
from sqlalchemy import select

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import PermissionDenied, Refused
from pss_core.models import AuditLog, Entry, EntryStatus, Score
from pss_core.services import corrections, games


def _scored(world, player, score=100, i=0):
    world.start(player, world.m(i=i))
    return world.record(world.m(i=i), score)


def test_edit_score_is_audited_before_and_after(world):
    ada = world.players[0]
    world.sell(ada, 1)
    ended = _scored(world, ada, 1000)
    score = world.session.get(Score, ended.score_id)
    v = world.tournaments["main"].version
    corrections.edit_score(
        world.session, world.pss, score=score, new_score="10,000", actor=world.td, reason="typo"
    )
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
        corrections.edit_score(world.session, world.pss, score=score, new_score=5, actor=world.sk)
    with pytest.raises(PermissionDenied):
        corrections.void_entry(
            world.session, world.pss, entry=score.entry, actor=Actor("ada", player_id=ada.id)
        )


def test_void_and_unvoid_entry(world):
    ada = world.players[0]
    world.sell(ada, 2)
    ended = _scored(world, ada)
    entry = world.session.get(Entry, ended.entry_id)
    corrections.void_entry(
        world.session, world.pss, entry=entry, actor=world.td, reason="wrong player"
    )
    assert entry.status == EntryStatus.VOIDED
    with pytest.raises(Refused):
        corrections.void_entry(world.session, world.pss, entry=entry, actor=world.td)
    corrections.unvoid_entry(world.session, world.pss, entry=entry, actor=world.td)
    assert entry.status == EntryStatus.COMPLETE
    actions = [r.action for r in audit.player_history(world.session, world.event.id, ada.id)]
    assert actions[-2:] == ["entry.void", "entry.unvoid"]
    # An entry voided at the machine has no score to bring back.
    world.start(ada, world.m())
    voided = games.void_game(world.session, world.pss, machine=world.m(), actor=world.sk)
    with pytest.raises(Refused) as err:
        corrections.unvoid_entry(
            world.session,
            world.pss,
            entry=world.session.get(Entry, voided.entry_id),
            actor=world.td,
        )
    assert err.value.code == "entry_has_no_scores"


def test_void_entry_in_play_is_refused(world):
    world.tournament("classics", "papa", options={"games_per_entry": 2})
    ada = world.players[0]
    world.sell(ada, 1, "classics")
    started = world.start(ada, world.m("classics"))
    with pytest.raises(Refused) as err:
        corrections.void_entry(
            world.session,
            world.pss,
            entry=world.session.get(Entry, started.entry_id),
            actor=world.td,
        )
    assert err.value.code == "entry_in_play"


def test_add_missing_score_uses_a_token(world):
    ada = world.players[0]
    world.sell(ada, 1)
    row = corrections.add_missing_score(
        world.session,
        world.pss,
        machine=world.m(),
        player=ada,
        score="55,000",
        actor=world.td,
        reason="forgot to enter",
    )
    assert row.score == 55_000
    assert row.entry.status == EntryStatus.COMPLETE
    assert world.summary(ada).used == 1
    with pytest.raises(Refused) as err:
        corrections.add_missing_score(
            world.session, world.pss, machine=world.m(), player=ada, score=1, actor=world.td
        )
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
        corrections.add_missing_score(
            world.session, world.pss, machine=a, player=ada, score=5, actor=world.td, entry=entry
        )
    assert err.value.code == "score_exists"
    corrections.add_missing_score(
        world.session, world.pss, machine=b, player=ada, score=5, actor=world.td, entry=entry
    )
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
        corrections.abandon_entry(
            world.session, world.pss, entry=entry, actor=Actor("bo", player_id=bo.id)
        )
    corrections.abandon_entry(
        world.session, world.pss, entry=entry, actor=Actor("ada", player_id=ada.id)
    )
    assert entry.status == EntryStatus.VOIDED
    summary = world.summary(ada, "classics")
    # One game played, the entry's two unplayed games voided, the second entry untouched.
    assert (summary.used, summary.voided, summary.remaining) == (1, 2, 3)
    # The next game starts a fresh entry of three games.
    again = world.start(ada, a)
    assert again.entry_id != entry.id
    with pytest.raises(Refused) as err:
        corrections.abandon_entry(world.session, world.pss, entry=entry, actor=world.sk)
    assert err.value.code == "entry_not_open"


def test_td_void_of_open_entry_and_unvoid_gives_the_games_back(world):
    world.tournament("classics", "papa", options={"games_per_entry": 3})
    ada = world.players[0]
    world.sell(ada, 1, "classics")
    a = world.m("classics", 0)
    started = world.start(ada, a)
    world.record(a, 500)
    entry = world.session.get(Entry, started.entry_id)
    corrections.void_entry(world.session, world.pss, entry=entry, actor=world.td)
    assert world.summary(ada, "classics").remaining == 0
    corrections.unvoid_entry(world.session, world.pss, entry=entry, actor=world.td)
    assert entry.status == EntryStatus.OPEN
    assert world.summary(ada, "classics").remaining == 2
    resumed = world.start(ada, world.m("classics", 1))
    assert resumed.entry_id == entry.id


def test_reverse_misconduct_gives_the_token_back_and_takes_the_offence_off(world):
    from pss_core.models import Token

    ada = world.players[0]
    world.sell(ada, 1)
    world.start(ada, world.m())
    ended = games.misconduct(
        world.session, world.pss, machine=world.m(), actor=world.sk, reason="slapped the glass"
    )
    assert ada.offences == 1
    assert world.unused_tokens(ada) == 0
    token = world.session.get(Token, ended.token_id)
    with pytest.raises(PermissionDenied):
        corrections.reverse_misconduct(world.session, world.pss, token=token, actor=world.sk)
    v = world.tournaments["main"].version
    corrections.reverse_misconduct(
        world.session, world.pss, token=token, actor=world.td, reason="it was the machine"
    )
    assert ada.offences == 0
    assert world.unused_tokens(ada) == 1
    assert world.session.get(Entry, ended.entry_id) is None  # HERB's entry for that game
    assert world.tournaments["main"].version > v
    row = world.session.scalars(
        select(AuditLog).where(AuditLog.action == "game.misconduct_reversed")
    ).one()
    assert (row.details["before"], row.details["after"]) == ("voided for misconduct", "unused")
    assert row.player_id == ada.id
    assert row.details["reason"] == "it was the machine"
    with pytest.raises(Refused) as exc:
        corrections.reverse_misconduct(world.session, world.pss, token=token, actor=world.td)
    assert exc.value.code == "not_misconduct"
    # The score that should have stood can now be added.
    corrections.add_missing_score(
        world.session, world.pss, machine=world.m(), player=ada, score=5000, actor=world.td
    )
    assert world.unused_tokens(ada) == 0


def test_a_plain_void_is_not_reversed_as_misconduct(world):
    from pss_core.models import Token

    ada = world.players[0]
    world.sell(ada, 1)
    world.start(ada, world.m())
    ended = games.void_game(world.session, world.pss, machine=world.m(), actor=world.sk)
    with pytest.raises(Refused) as exc:
        corrections.reverse_misconduct(
            world.session, world.pss, token=world.session.get(Token, ended.token_id), actor=world.td
        )
    assert exc.value.code == "not_misconduct"
