"""IFPA look-ups when players are added to an event (both backends, against the local fake IFPA):
deferred in the registration's transaction and run after its commit (in this process on
SQLite; on PostgreSQL the committed job rows are run here as ``pss worker`` would run them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core.errors import InvalidInput
from pss_core.ifpa import IfpaClient, IfpaUnavailable
from pss_core.models import AuditLog, EventPlayer, Player, utcnow
from pss_core.services import ifpa, players, setup
from pss_testing.fakeifpa import FakeIfpa
from pss_testing.fakeifpa import IfpaJobs as Jobs

from .conftest import World, build_world


@pytest.fixture
def world(dbsession: Session, pss: Any, fake_ifpa: FakeIfpa) -> World:
    world = build_world(dbsession, pss, players=0)
    ifpa.set_api_key(dbsession, world.event, api_key=fake_ifpa.api_key, actor=world.td)
    fake_ifpa.add_player(1001, "Ada", "Lovelace", rank=7)
    fake_ifpa.add_player(1002, "Ada", "Lovelacey", rank=900)  # a partial match only
    fake_ifpa.add_player(2001, "Bob", "Smith", rank=40)
    fake_ifpa.add_player(2002, "Bob", "Smith", rank=41)
    fake_ifpa.add_player(3001, "Cy", "Unranked", rank=None)
    fake_ifpa.add_player(5555, "Dora", "Hand", rank=123)
    dbsession.commit()
    return world


@pytest.fixture
def jobs(world: World) -> Jobs:
    return Jobs(world.session, world.pss)


def register(world: World, first: str, last: str, **kw: Any) -> EventPlayer:
    ep, _ = players.register(world.session, world.event, first, last, actor=world.desk, **kw)
    return ep


def test_an_exact_single_match_stores_the_ifpa_number_and_rank(
    world: World, jobs: Jobs, fake_ifpa: FakeIfpa
) -> None:
    ep = register(world, "ada", "LOVELACE")
    assert ep.ifpa_lookup == ifpa.PENDING  # asked for in the registration's transaction
    assert fake_ifpa.request_count == 0  # nothing before the commit
    jobs.commit()
    assert ep.player.ifpa_id == 1001  # "Ada Lovelacey" matched the search, not the name
    assert ep.ifpa_rank == 7
    assert ep.ifpa_lookup == ifpa.FOUND
    assert ep.ifpa_lookup_note == "IFPA #1001 Ada Lovelace, WPPR rank 7."
    assert [p for p, _ in fake_ifpa.requests] == [
        "/player/search?name=ada+LOVELACE",
        "/player/1001",
    ]
    assert {k for _, k in fake_ifpa.requests} == {fake_ifpa.api_key}
    row = world.session.scalars(
        select(AuditLog).where(AuditLog.action == "player.ifpa_lookup", AuditLog.player_id == ep.id)
    ).one()
    assert (row.details["ifpa_id"], row.details["ifpa_rank"]) == (1001, 7)


def test_several_or_no_matches_store_nothing_and_say_so(world: World, jobs: Jobs) -> None:
    bob = register(world, "Bob", "Smith")
    zed = register(world, "Zed", "Nobody")
    cy = register(world, "Cy", "Unranked")
    jobs.commit()
    assert (bob.ifpa_lookup, bob.player.ifpa_id, bob.ifpa_rank) == (ifpa.SEVERAL, None, None)
    assert bob.ifpa_lookup_note == (
        "2 IFPA players are named Bob Smith (#2001, #2002); enter the number."
    )
    assert (zed.ifpa_lookup, zed.player.ifpa_id, zed.ifpa_rank) == (ifpa.NONE, None, None)
    assert "No IFPA player is named Zed Nobody" in (zed.ifpa_lookup_note or "")
    # One match but not ranked: the number is stored, the rank stays empty.
    assert (cy.ifpa_lookup, cy.player.ifpa_id, cy.ifpa_rank) == (ifpa.FOUND, 3001, None)
    assert cy.ifpa_lookup_note == "IFPA #3001 Cy Unranked, not ranked."


def test_the_number_entered_after_several_matches_gets_its_rank(
    world: World, jobs: Jobs, fake_ifpa: FakeIfpa
) -> None:
    bob = register(world, "Bob", "Smith")
    jobs.commit()
    assert bob.ifpa_lookup == ifpa.SEVERAL
    players.edit_player(
        world.session, bob, first_name="Bob", last_name="Smith", ifpa_id=2002, actor=world.desk
    )
    jobs.commit()
    assert (bob.ifpa_lookup, bob.player.ifpa_id, bob.ifpa_rank) == (ifpa.FOUND, 2002, 41)
    assert fake_ifpa.requests[-1][0] == "/player/2002"


def test_a_hand_entered_number_is_never_overwritten(
    world: World, jobs: Jobs, fake_ifpa: FakeIfpa
) -> None:
    # "Ada Lovelace" has a single exact match (1001), but she gave 5555: that is kept and
    # only its rank is looked up, by number (no search by name at all).
    ada = register(world, "Ada", "Lovelace", ifpa_id=5555)
    jobs.commit()
    assert ada.player.ifpa_id == 5555
    assert (ada.ifpa_lookup, ada.ifpa_rank) == (ifpa.FOUND, 123)
    assert [p for p, _ in fake_ifpa.requests] == ["/player/5555"]
    # A number the IFPA does not know stays too, with a note to check it.
    wrong = register(world, "Eve", "Typo", ifpa_id=999999)
    jobs.commit()
    assert (wrong.player.ifpa_id, wrong.ifpa_lookup, wrong.ifpa_rank) == (999999, ifpa.NONE, None)
    assert "no player number 999999" in (wrong.ifpa_lookup_note or "")
    # Number and rank both entered: nothing to look up, nothing asked.
    before = fake_ifpa.request_count
    ep, _ = setup.register_player(
        world.session, world.event, "Fay", "Full", ifpa_id=2001, ifpa_rank=3, actor=world.desk
    )
    jobs.commit()
    assert (ep.ifpa_lookup, ep.player.ifpa_id, ep.ifpa_rank) == (None, 2001, 3)
    assert fake_ifpa.request_count == before


def test_a_number_known_to_pss_as_someone_else_is_not_stored(world: World, jobs: Jobs) -> None:
    world.session.add(Player(first_name="Ada", last_name="Lovelace-King", ifpa_id=1001))
    ada = register(world, "Ada", "Lovelace")
    jobs.commit()
    assert (ada.ifpa_lookup, ada.player.ifpa_id, ada.ifpa_rank) == (ifpa.TAKEN, None, None)
    assert "Ada Lovelace-King" in (ada.ifpa_lookup_note or "")


@pytest.mark.parametrize("fault", ["server_error", "drop", "hang"])
def test_the_ifpa_down_never_fails_registration_and_is_retried_later(
    world: World, jobs: Jobs, fake_ifpa: FakeIfpa, fault: Any
) -> None:
    fake_ifpa.fail(1, fault)
    ada = register(world, "Ada", "Lovelace")
    jobs.commit()
    fake_ifpa.release()
    # The registration is there, the look-up is waiting for its next try.
    assert world.session.get(EventPlayer, ada.id) is not None
    assert (ada.ifpa_lookup, ada.ifpa_lookup_attempts, ada.player.ifpa_id) == (
        ifpa.PENDING,
        1,
        None,
    )
    assert "tried again" in (ada.ifpa_lookup_note or "")
    due_at = ada.ifpa_lookup_due_at
    assert due_at is not None
    # Not before it is due...
    assert jobs.retry_pass(due_at - timedelta(seconds=1)) == {}
    assert ada.ifpa_lookup == ifpa.PENDING
    # ...then the worker's pass finds it.
    assert jobs.retry_pass(due_at + timedelta(seconds=1)) == {ifpa.FOUND: 1}
    assert (ada.ifpa_lookup, ada.player.ifpa_id, ada.ifpa_rank) == (ifpa.FOUND, 1001, 7)


def test_a_look_up_gives_up_after_its_last_try(
    world: World, jobs: Jobs, fake_ifpa: FakeIfpa
) -> None:
    fake_ifpa.fail(100)
    ada = register(world, "Ada", "Lovelace")
    jobs.commit()
    for _ in range(ifpa.MAX_ATTEMPTS - 1):
        assert ada.ifpa_lookup == ifpa.PENDING
        assert ada.ifpa_lookup_due_at is not None
        jobs.retry_pass(ada.ifpa_lookup_due_at + timedelta(seconds=1))
    assert (ada.ifpa_lookup, ada.ifpa_lookup_due_at) == (ifpa.FAILED, None)
    assert "enter the IFPA number and rank by hand" in (ada.ifpa_lookup_note or "")
    assert fake_ifpa.request_count == ifpa.MAX_ATTEMPTS
    assert jobs.retry_pass(utcnow() + timedelta(days=1)) == {}


def test_no_key_no_request(dbsession: Session, pss: Any, fake_ifpa: FakeIfpa) -> None:
    fake_ifpa.add_player(1001, "Ada", "Lovelace", rank=7)
    plain = build_world(dbsession, pss, players=0)
    jobs = Jobs(dbsession, pss)
    ada, _ = players.register(dbsession, plain.event, "Ada", "Lovelace", actor=plain.desk)
    jobs.commit()
    assert (ada.ifpa_lookup, ada.player.ifpa_id) == (None, None)
    assert fake_ifpa.request_count == 0
    # The control: the same registration where the event has a key asks the IFPA.
    keyed = build_world(dbsession, pss, players=0)
    ifpa.set_api_key(dbsession, keyed.event, api_key=fake_ifpa.api_key, actor=keyed.td)
    other, _ = players.register(dbsession, keyed.event, "Ada", "Lovelace", actor=keyed.desk)
    jobs.commit()
    assert fake_ifpa.request_count == 2
    assert other.player.ifpa_id == 1001


def test_self_registration_is_looked_up_too(world: World, jobs: Jobs) -> None:
    players.set_self_registration(world.session, world.event, enabled=True, actor=world.td)
    ep, _, _ = players.self_register(
        world.session, world.event, "Ada", "Lovelace", address="203.0.113.7"
    )
    jobs.commit()
    assert (ep.ifpa_lookup, ep.player.ifpa_id, ep.ifpa_rank) == (ifpa.FOUND, 1001, 7)


def test_a_wrong_key_is_a_failure_to_retry(world: World, jobs: Jobs, fake_ifpa: FakeIfpa) -> None:
    ifpa.set_api_key(world.session, world.event, api_key="not-the-key", actor=world.td)
    ada = register(world, "Ada", "Lovelace")
    jobs.commit()
    assert (ada.ifpa_lookup, ada.player.ifpa_id) == (ifpa.PENDING, None)
    assert "refused the event's API key" in (ada.ifpa_lookup_note or "")


def test_the_key_is_checked_and_never_logged(world: World) -> None:
    with pytest.raises(InvalidInput) as err:
        ifpa.set_api_key(world.session, world.event, api_key="two words", actor=world.td)
    assert err.value.code == "invalid_ifpa_key"
    assert ifpa.set_api_key(world.session, world.event, api_key="  ", actor=world.td)  # kept
    assert not ifpa.set_api_key(world.session, world.event, clear=True, actor=world.td)
    rows = world.session.scalars(
        select(AuditLog).where(
            AuditLog.event_id == world.event.id, AuditLog.action == "event.ifpa_key"
        )
    ).all()
    assert len(rows) == 2
    assert all("ifpa-test-key" not in str(r.details) for r in rows)


def test_the_client_reads_both_answer_shapes(fake_ifpa: FakeIfpa) -> None:
    fake_ifpa.add_player(1001, "Ada", "Lovelace", rank=7)
    client = IfpaClient("ifpa-test-key")
    assert [(p.player_id, p.rank) for p in client.search("lovelace")] == [(1001, 7)]
    found = client.player(1001)
    assert found is not None
    assert (found.name, found.rank) == ("Ada Lovelace", 7)
    assert client.player(4) is None
    with pytest.raises(IfpaUnavailable, match="refused"):
        IfpaClient("wrong").search("x")
