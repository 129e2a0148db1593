"""Event statistics from a day played through the services at known times: sales per tournament,
channel and hour, the desk's cash-up with a refund, games per machine, game time, queue wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from pss_core import stats
from pss_core.audit import Actor
from pss_core.models import Channel, Event, EventPlayer
from pss_core.payments import refunds
from pss_core.plugins import Pss
from pss_core.services import games, queues, setup, tickets

T0 = datetime(2030, 5, 1, 10, 5, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def day(dbsession: Session, pss: Pss, demo_event: Event) -> Any:
    event = demo_event
    main, classics = event.tournaments
    desk_eu = setup.event_user(dbsession, event, "desk")
    keeper_eu = setup.event_user(dbsession, event, "scorekeeper")
    assert desk_eu is not None
    assert keeper_eu is not None
    desk = Actor("desk", user_id=desk_eu.user_id)
    keeper = Actor("scorekeeper", user_id=keeper_eu.user_id)
    p = {ep.number: ep for ep in dbsession.query(EventPlayer).filter_by(event_id=event.id)}
    tickets.sell_tickets(
        dbsession,
        pss,
        player=p[101],
        count=3,
        tournament=main,
        actor=desk,
        sold_by_id=desk_eu.id,
        now=at(0),
    )
    tickets.sell_tickets(
        dbsession,
        pss,
        player=p[103],
        count=1,
        tournament=main,
        actor=desk,
        channel=Channel.COMP,
        sold_by_id=desk_eu.id,
        now=at(1),
    )
    classic = tickets.sell_tickets(
        dbsession,
        pss,
        player=p[102],
        count=1,
        tournament=classics,
        actor=desk,
        sold_by_id=desk_eu.id,
        now=at(65),
    )
    refunds.request_refund(
        dbsession, classic.id, tokens=3, actor=desk, refunded_by_id=desk_eu.id, now=at(70)
    )
    machine = main.machines[0]
    games.start_game(dbsession, pss, machine=machine, player=p[101], actor=keeper, now=at(5))
    queues.join_queue(dbsession, pss, machine=machine, player=p[103], actor=keeper, now=at(10))
    # 101's score ends a 12-minute game and starts 103's after a 7-minute wait.
    games.record_score(dbsession, pss, machine=machine, score=1_000_000, actor=keeper, now=at(17))
    games.record_score(dbsession, pss, machine=machine, score=2_000_000, actor=keeper, now=at(25))
    dbsession.flush()
    return stats.event_stats(dbsession, event.id)


def test_sales_per_tournament_and_channel(day: stats.EventStats) -> None:
    by_t = {r[0]: r[1:] for r in day["sales_by_tournament"].rows}
    assert by_t == {"Main (HERB)": (2, 4, 800, 0), "Classics (PAPA-style)": (1, 1, 500, 500)}
    by_c = {r[0]: r[1:] for r in day["sales_by_channel"].rows}
    assert by_c == {"desk": (2, 4, 1300, 500), "comp": (1, 1, 0, 0)}


def test_sales_per_day_and_hour(day: stats.EventStats) -> None:
    assert day["sales_per_day"].rows == (("2030-05-01", 3, 5, 1300),)
    assert day["sales_per_hour"].rows == (
        ("2030-05-01 10:00", 2, 4, 800),
        ("2030-05-01 11:00", 1, 1, 500),
    )


def test_cash_up_subtracts_refunds(day: stats.EventStats) -> None:
    (row,) = day["cash_up"].rows
    assert row == ("Desk Dee (desk)", 2, 1300, 500, 800)
    assert day["refunds"].rows == (("desk", 1, 3, 500),)


def test_games_and_their_times(day: stats.EventStats) -> None:
    assert day["games_per_machine"].rows[0] == ("Attack from Mars", "Main (HERB)", 2)
    assert day["game_times"].rows == (("Attack from Mars", "Main (HERB)", 2, 10.0),)
    assert day["queue_waits"].rows == (("Attack from Mars", "Main (HERB)", 1, 7.0, 7.0),)
    assert day["busiest_hours"].rows == (("10:00", 2, 2), ("11:00", 0, 1))


def test_an_empty_event_has_empty_tables(dbsession: Session, demo_event: Event) -> None:
    empty = stats.event_stats(dbsession, demo_event.id)
    assert all(t.rows == () for t in empty.tables)
    assert {t["name"] for t in empty.as_dict()["tables"]} >= {"cash_up", "queue_waits"}
