"""Downloads through WebTest: public standings CSV and JSON (refused for drafts), the tournament
director's scores, IFPA file and page, score sheet, downloads page and zip; the permission matrix
over two events."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import exports
from pss_core.demo import MAIN_SCORES, play_demo
from pss_core.models import Event, TournamentStatus
from pss_core.plugins import Pss
from pss_core.standings import compute_standings
from pss_testing.web import JSON, WHO, MatrixView, Who, check_matrix, login_as

T = "/events/{slug}/tournaments/main/"


def everyone(who: Who, ev: str) -> bool:
    return True


def td_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.role == "td"


VIEWS: list[MatrixView] = [
    ("GET", T + "results.csv", everyone),
    ("GET", T + "results.json", everyone),
    ("GET", T + "scores.csv", td_here),
    ("GET", T + "ifpa.csv", td_here),
    ("GET", T + "ifpa", td_here),
    ("GET", T + "scoresheet", td_here),
    ("GET", "/events/{slug}/exports", td_here),
    ("GET", "/events/{slug}/export.zip", td_here),
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


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_public_standings_csv_and_json(
    webapp: TestApp, dbsession: Session, pss: Pss, played: Event
) -> None:
    main = played.tournaments[0]
    standings = compute_standings(dbsession, pss, main)
    res = webapp.get("/events/demo/tournaments/main/results.csv")
    assert res.content_type == "text/csv"
    assert 'filename="demo-main-results.csv"' in res.headers["Content-Disposition"]
    assert res.text == exports.standings_csv(standings)
    doc = webapp.get("/events/demo/tournaments/main/results.json").json
    assert [r["name"] for r in doc["standings"]] == [r.name for r in standings.rows]
    page = webapp.get("/events/demo/tournaments/main/")
    assert "results.csv" in page.text


def test_drafts_have_no_public_download(webapp: TestApp, dbsession: Session, played: Event) -> None:
    played.tournaments[0].status = TournamentStatus.DRAFT
    dbsession.flush()
    # A draft is a 404 for anyone who may not see drafts, like a name nobody uses.
    res = webapp.get("/events/demo/tournaments/main/results.csv", headers=JSON, status=404)
    assert res.json["error"] == "not_found"
    login_as(webapp, played, "td")
    res = webapp.get("/events/demo/tournaments/main/results.csv", headers=JSON, status=409)
    assert res.json["error"] == "draft_tournament"


def test_td_downloads_scores_and_ifpa(webapp: TestApp, played: Event) -> None:
    login_as(webapp, played, "td")
    scores = rows(webapp.get("/events/demo/tournaments/main/scores.csv").text)
    assert len(scores) == len(MAIN_SCORES)
    assert {"player", "ifpa_id", "machine", "score", "recorded_at", "entry", "entry_status"} <= set(
        scores[0]
    )
    ifpa = rows(webapp.get("/events/demo/tournaments/main/ifpa.csv").text)
    assert list(ifpa[0]) == list(exports.IFPA_COLUMNS)
    assert ifpa[0]["Place"] == "1"
    page = webapp.get("/events/demo/tournaments/classics/ifpa", headers=JSON).json
    assert page["placings"] == []
    assert [p["number"] for p in page["left_out"]] == [101, 102, 103, 104]
    html = webapp.get("/events/demo/tournaments/classics/ifpa")
    assert "#102 Bo Tilt: never played" in html.text


def test_score_sheet_lists_the_qualifiers(
    webapp: TestApp, dbsession: Session, pss: Pss, played: Event
) -> None:
    login_as(webapp, played, "td")
    standings = compute_standings(dbsession, pss, played.tournaments[0])
    sheet = webapp.get("/events/demo/tournaments/main/scoresheet?games=4", headers=JSON).json
    assert sheet["games"] == 4
    assert [s["name"] for s in sheet["seeds"]] == [r.name for r in standings.qualifiers]
    html = webapp.get("/events/demo/tournaments/main/scoresheet?games=2").text
    assert html.count('class="box"') == 3 * len(standings.qualifiers)


def test_downloads_page_and_zip(webapp: TestApp, played: Event) -> None:
    login_as(webapp, played, "td")
    page = webapp.get("/events/demo/exports", headers=JSON).json
    assert [t["slug"] for t in page["tournaments"]] == ["main", "classics"]
    res = webapp.get(page["zip_url"])
    assert res.content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(res.body)) as archive:
        assert "main/scores.csv" in archive.namelist()
        assert len(rows(archive.read("main/scores.csv").decode())) == len(MAIN_SCORES)
    for link in page["tournaments"][0]["downloads"].values():
        assert webapp.get(link).status_int == 200
