"""Constraints the database itself enforces, on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from pss_core.models import (
    EventPlayer,
    Purchase,
    Score,
    Token,
    TournamentMachine,
)
from pss_core.services import setup


@pytest.fixture
def two_events(dbsession, pss):
    owner = setup.create_user(dbsession, "own", password="secret-1", event_owner=True)
    dbsession.flush()
    a = setup.create_event(dbsession, owner, "Event A")
    b = setup.create_event(dbsession, owner, "Event B")
    return a, b


def _flush_fails(dbsession, *objs):
    savepoint = dbsession.begin_nested()
    dbsession.add_all(objs)
    with pytest.raises(IntegrityError):
        dbsession.flush()
    savepoint.rollback()


def test_player_number_unique_within_event(dbsession, two_events):
    a, b = two_events
    ep, _ = setup.register_player(dbsession, a, "Ada", number=7, pin="1234")
    other = setup.register_player(dbsession, a, "Bo", pin="1234")[0]
    _flush_fails(
        dbsession, EventPlayer(event_id=a.id, player_id=other.player_id + 0, number=7, pin_hash="x")
    )
    # The same number in another event is fine.
    ep_b, _ = setup.register_player(dbsession, b, "Cy", number=7, pin="1234")
    assert ep_b.number == ep.number == 7


def test_service_refuses_taken_number_with_clear_message(dbsession, two_events):
    from pss_core.errors import Refused

    a, _ = two_events
    setup.register_player(dbsession, a, "Ada", number=7, pin="1234")
    with pytest.raises(Refused, match="Player number 7 is taken"):
        setup.register_player(dbsession, a, "Bo", number=7, pin="1234")


def test_token_cannot_belong_to_two_owners(dbsession, two_events, pss):
    a, _ = two_events
    t = setup.create_tournament(dbsession, pss, a, "Main", "herb")
    ep, _ = setup.register_player(dbsession, a, "Ada", pin="1234")
    team = setup.create_team(dbsession, a, "Flippers", [ep])
    _flush_fails(
        dbsession, Token(event_id=a.id, player_id=ep.id, team_id=team.id, tournament_id=t.id)
    )
    _flush_fails(dbsession, Token(event_id=a.id, tournament_id=t.id))
    ok = Token(event_id=a.id, team_id=team.id, tournament_id=t.id)
    dbsession.add(ok)
    dbsession.flush()
    assert ok.id is not None


def test_token_has_one_scope_and_one_ending(dbsession, two_events, pss):
    a, _ = two_events
    t = setup.create_tournament(dbsession, pss, a, "Main", "herb")
    ep, _ = setup.register_player(dbsession, a, "Ada", pin="1234")
    now = datetime.now(UTC)
    _flush_fails(dbsession, Token(event_id=a.id, player_id=ep.id))
    _flush_fails(
        dbsession,
        Token(
            event_id=a.id,
            player_id=ep.id,
            tournament_id=t.id,
            paid_at=now,
            used_at=now,
            voided_at=now,
        ),
    )
    _flush_fails(dbsession, Token(event_id=a.id, player_id=ep.id, tournament_id=t.id, used_at=now))


def test_player_on_one_machine_at_a_time(dbsession, two_events, pss):
    a, _ = two_events
    t = setup.create_tournament(dbsession, pss, a, "Main", "herb")
    m1 = setup.add_machine(dbsession, t, "Medieval Madness")
    m2 = setup.add_machine(dbsession, t, "Attack from Mars")
    ep, _ = setup.register_player(dbsession, a, "Ada", pin="1234")
    now = datetime.now(UTC)
    tok1 = Token(event_id=a.id, player_id=ep.id, tournament_id=t.id, paid_at=now)
    tok2 = Token(event_id=a.id, player_id=ep.id, tournament_id=t.id, paid_at=now)
    dbsession.add_all([tok1, tok2])
    dbsession.flush()
    m1.player_id, m1.token_id = ep.id, tok1.id
    dbsession.flush()
    savepoint = dbsession.begin_nested()
    m2.player_id, m2.token_id = ep.id, tok2.id
    with pytest.raises(IntegrityError):
        dbsession.flush()
    savepoint.rollback()


def test_a_game_in_progress_needs_a_token(dbsession, two_events, pss):
    a, _ = two_events
    t = setup.create_tournament(dbsession, pss, a, "Main", "herb")
    ep, _ = setup.register_player(dbsession, a, "Ada", pin="1234")
    machine = setup.machine_by_name(dbsession, "Godzilla")
    _flush_fails(
        dbsession,
        TournamentMachine(
            event_id=a.id, tournament_id=t.id, machine_id=machine.id, player_id=ep.id
        ),
    )


def test_scores_are_64_bit(dbsession, two_events, pss):
    from pss_core.models import Entry

    a, _ = two_events
    t = setup.create_tournament(dbsession, pss, a, "Main", "herb")
    tm = setup.add_machine(dbsession, t, "Twilight Zone")
    ep, _ = setup.register_player(dbsession, a, "Ada", pin="1234")
    entry = Entry(event_id=a.id, tournament_id=t.id, player_id=ep.id)
    dbsession.add(entry)
    dbsession.flush()
    big = 9_876_543_210_123
    dbsession.add(Score(event_id=a.id, entry_id=entry.id, tournament_machine_id=tm.id, score=big))
    dbsession.flush()
    dbsession.expire_all()
    assert dbsession.scalar(select(Score.score)) == big
    _flush_fails(
        dbsession, Score(event_id=a.id, entry_id=entry.id, tournament_machine_id=tm.id, score=-1)
    )


def test_purchase_checks(dbsession, two_events, pss):
    a, _ = two_events
    t = setup.create_tournament(dbsession, pss, a, "Main", "herb")
    ep, _ = setup.register_player(dbsession, a, "Ada", pin="1234")
    _flush_fails(
        dbsession,
        Purchase(
            event_id=a.id,
            player_id=ep.id,
            tournament_id=t.id,
            tickets=1,
            amount_cents=300,
            channel="comp",
        ),
    )
    _flush_fails(
        dbsession,
        Purchase(
            event_id=a.id,
            player_id=ep.id,
            tournament_id=t.id,
            tickets=0,
            amount_cents=0,
            channel="desk",
        ),
    )
    dbsession.add(
        Purchase(
            event_id=a.id,
            player_id=ep.id,
            tournament_id=t.id,
            tickets=1,
            amount_cents=0,
            channel="barter",
        )
    )
    with pytest.raises(StatementError, match="barter"):
        dbsession.flush()


def test_times_are_utc_aware(dbsession, two_events):
    a, _ = two_events
    dbsession.expire_all()
    assert a.created_at.tzinfo is not None
    assert a.created_at.utcoffset().total_seconds() == 0
