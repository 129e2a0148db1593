"""The statistics page through WebTest: charts, tables and CSVs for the director and the owner,
refused to the desk, scorekeepers, players and other events' staff."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import stats
from pss_core.demo import play_demo
from pss_core.models import Event, EventUser, EventUserRole, Role
from pss_core.plugins import Pss
from pss_testing.web import JSON, WHO, MatrixView, Who, check_matrix, login_as


def td_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.role == "td"


VIEWS: list[MatrixView] = [
    ("GET", "/events/{slug}/stats/", td_here),
    ("GET", "/events/{slug}/stats/cash_up.csv", td_here),
    ("GET", "/events/{slug}/stats/games_per_machine.csv", td_here),
]


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_permission_matrix(
    webapp: TestApp, dbsession: Session, two_events: dict[str, Event], who: Who
) -> None:
    assert check_matrix(webapp, dbsession, two_events, who, VIEWS) == []


@pytest.fixture
def played(dbsession: Session, pss: Pss, demo_event: Event) -> Event:
    play_demo(dbsession, pss, demo_event)
    dbsession.flush()
    return demo_event


def test_page_has_charts_tables_and_csv(webapp: TestApp, dbsession: Session, played: Event) -> None:
    login_as(webapp, played, "td")
    expected = stats.event_stats(dbsession, played.id)
    data = webapp.get("/events/demo/stats/", headers=JSON).json
    by_name = {t["name"]: t for t in data["tables"]}
    assert by_name["games_per_machine"]["rows"] == [
        list(r) for r in expected["games_per_machine"].rows
    ]
    assert "_chart" not in by_name["games_per_machine"]
    html = webapp.get("/events/demo/stats/")
    assert html.text.count('<svg class="chart"') == sum(
        1 for t in expected.tables if t.chart and t.rows
    )
    assert "Medieval Madness" in html.text
    assert "$84.00" in html.text  # the desk's takings in the cash-up
    res = webapp.get(by_name["games_per_machine"]["csv_url"])
    assert res.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(res.text)))
    assert tuple(rows[0]) == expected["games_per_machine"].columns
    assert len(rows) - 1 == len(expected["games_per_machine"].rows)


def test_unknown_table_is_not_found(webapp: TestApp, played: Event) -> None:
    login_as(webapp, played, "td")
    webapp.get("/events/demo/stats/nope.csv", headers=JSON, status=404)
    webapp.get("/events/demo/stats/cash_up", headers=JSON, status=404)


def test_owner_sees_stats_even_without_the_director_role(
    webapp: TestApp, dbsession: Session, played: Event
) -> None:
    eu = dbsession.query(EventUser).filter_by(event_id=played.id, user_id=played.owner_id).one()
    eu.roles[:] = [EventUserRole(role=Role.DESK)]
    dbsession.flush()
    login_as(webapp, played, "owner")
    assert webapp.get("/events/demo/stats/", headers=JSON).json["tables"]
    assert webapp.get("/events/demo/stats/cash_up.csv").text.startswith("worker,")


def test_stats_are_in_the_openapi_document(webapp: TestApp) -> None:
    doc = webapp.get("/api/openapi.json").json
    assert "/events/{event}/stats/" in doc["paths"]
    assert doc["paths"]["/events/{event}/stats/"]["get"]["x-permission"] == "manage"
