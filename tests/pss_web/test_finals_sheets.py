"""Printable finals score sheets: a sheet per group of the round, players by seed, each game's
playing order (best seed first, turning by one) and boxes to fill in."""

from __future__ import annotations

from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import Event
from pss_testing.web import JSON, login_as, post_json

from .test_finals import create, qualifying, record


def _settled(webapp: TestApp, dbsession: Session, event: Event) -> str:
    """Finals of 8 from the qualifying tournament, the tie at the cut settled."""
    _t, q = qualifying(dbsession, event)
    url = create(webapp, event, "f", 8, games="3")
    post_json(
        webapp,
        url + "tiebreaker",
        {"players": [str(q[8].id), str(q[7].id)], "scores": ["50", "40"]},
    )
    return url


def test_a_sheet_per_group_with_each_games_playing_order(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    url = _settled(webapp, dbsession, demo_event)
    empty = webapp.get(url + "scoresheet", headers=JSON).json
    assert empty["groups"] == []
    assert "No round has been started yet" in webapp.get(url + "scoresheet").text

    post_json(webapp, url + "start-round", {})
    sheet = webapp.get(url + "scoresheet", headers=JSON).json
    assert sheet["round"] == 1
    assert [(g["label"], [p["seed"] for p in g["players"]]) for g in sheet["groups"]] == [
        ("1A", [1, 4, 5, 8]),
        ("1B", [2, 3, 6, 7]),
    ]
    a = sheet["groups"][0]
    assert a["games"] == 3
    assert a["orders"] == [[1, 4, 5, 8], [4, 5, 8, 1], [5, 8, 1, 4]]
    html = webapp.get(url + "scoresheet").text
    assert html.count('class="sheet-page"') == 2
    assert "round 1, group 1A" in html
    assert "order 4, 5, 8, 1" in html
    # The order on the sheet is the one the scorekeeper's page asks for, game by game.
    login_as(webapp, demo_event, "scorekeeper")
    bracket = webapp.get(url, headers=JSON).json
    group_a = next(g for g in bracket["rounds"][0]["groups"] if g["label"] == "1A")
    assert group_a["play_order"] == a["orders"][0]
    record(webapp, url + "1A", [8, 5, 1, 4])
    bracket = webapp.get(url, headers=JSON).json
    group_a = next(g for g in bracket["rounds"][0]["groups"] if g["label"] == "1A")
    assert group_a["play_order"] == a["orders"][1]


def test_another_round_and_a_missing_one(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    url = _settled(webapp, dbsession, demo_event)
    post_json(webapp, url + "start-round", {})
    assert webapp.get(url + "scoresheet?round=1", headers=JSON).json["round"] == 1
    missing = webapp.get(url + "scoresheet?round=5", headers=JSON, status=400).json
    assert missing["error"] == "no_such_round"
    assert "rounds 1 to 1 are made" in missing["message"]


def test_who_prints_the_sheets(webapp: TestApp, dbsession: Session, demo_event: Event) -> None:
    url = _settled(webapp, dbsession, demo_event)
    for role, status in (("scorekeeper", 200), ("desk", 403), ("td", 200)):
        login_as(webapp, demo_event, role)
        webapp.get(url + "scoresheet", headers=JSON, status=status)
