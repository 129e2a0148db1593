"""The TV screen: standings paged with the cut line under the last qualifier, machine boards with
who plays and the queue's names, slides other parts of pss add, and the director's settings
(permission, CSRF, validation, audit)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import AuditLog, Event, Tournament
from pss_core.plugins import Pss
from pss_core.services import games, queues, setup, tickets
from pss_testing.web import JSON, login_as, post_form, post_json
from pss_web.views import tv

DESK = Actor("desk test")


def play(session: Session, pss: Pss, t: Tournament, number: int, score: int) -> None:
    ep = setup.player_by_number(session, t.event_id, number)
    tm = t.machines[0]
    tickets.sell_tickets(session, pss, player=ep, count=1, tournament=t, actor=DESK)
    games.start_game(session, pss, machine=tm, player=ep, actor=DESK)
    games.record_score(session, pss, machine=tm, score=score, actor=DESK)


@pytest.fixture
def crowd(dbsession: Session, pss: Pss, demo_event: Event) -> Tournament:
    """The demo's HERB tournament (cut: 4) with ten scores, best first by number."""
    main = demo_event.tournaments[0]
    for i in range(2):
        setup.register_player(
            dbsession, demo_event, f"Late{i}", "Player", number=109 + i, pin="4321"
        )
    for number in range(101, 111):
        play(dbsession, pss, main, number, (200 - number) * 1_000_000)
    dbsession.flush()
    return main


def slides_of(app: TestApp, kind: str, slug: str = "main") -> list[dict[str, Any]]:
    data = app.get("/events/demo/tv", headers=JSON).json
    return [s for s in data["slides"] if s["kind"] == kind and s["tournament"]["slug"] == slug]


def test_long_standings_are_paged_with_the_cut_on_its_page(
    webapp: TestApp, dbsession: Session, demo_event: Event, crowd: Tournament
) -> None:
    demo_event.tv_rows = 4
    dbsession.flush()
    pages = slides_of(webapp, "standings")
    assert [(s["page"], s["pages"], len(s["rows"])) for s in pages] == [
        (1, 3, 4),
        (2, 3, 4),
        (3, 3, 2),
    ]
    names = [r["name"] for s in pages for r in s["rows"]]
    assert len(names) == len(set(names)) == 10
    # The cut (top 4) is the last row of page 1, and nowhere else.
    assert [[r["cut_after"] for r in s["rows"]] for s in pages] == [
        [False, False, False, True],
        [False] * 4,
        [False] * 2,
    ]
    html = webapp.get("/events/demo/tv").text
    assert len(re.findall(r'<tr class="in cut">', html)) == 1
    assert "qualifying cut: top 4" in html
    assert ">2/3<" in html


def test_an_empty_cut_when_everyone_qualifies(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    main = demo_event.tournaments[0]
    for number in (101, 102):
        play(dbsession, pss, main, number, 1_000_000 * number)
    dbsession.flush()
    (page,) = slides_of(webapp, "standings")
    assert [r["cut_after"] for r in page["rows"]] == [False, False]


def test_machine_boards_name_who_plays_and_who_waits(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    main = demo_event.tournaments[0]
    tm = main.machines[0]
    players = [setup.player_by_number(dbsession, demo_event.id, n) for n in range(101, 108)]
    for ep in players:
        tickets.sell_tickets(dbsession, pss, player=ep, count=1, tournament=main, actor=DESK)
    games.start_game(dbsession, pss, machine=tm, player=players[0], actor=DESK)
    for ep in players[1:]:
        queues.join_queue(dbsession, pss, machine=tm, player=ep, actor=DESK)
    dbsession.flush()
    (board_slide,) = slides_of(webapp, "machines")
    board = next(m for m in board_slide["machines"] if m["id"] == tm.id)
    assert board["playing"]["name"] == players[0].name
    assert board["next"] == [ep.name for ep in players[1:5]]
    assert (board["queue"], board["more"]) == (6, 2)
    html = webapp.get("/events/demo/tv").text
    assert f"<li>{players[1].name}</li>" in html
    assert "+2 more" in html


@pytest.fixture
def bracket_slides() -> Iterator[None]:
    def maker(
        request: Any, t: Tournament, event: Event, settings: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return [
            {
                "kind": "standings",
                "tournament": {"name": t.name, "slug": t.slug},
                "title": "Bracket",
                "page": 1,
                "pages": 1,
                "rows": [],
                "cut": None,
                "entrants": 0,
            }
        ]

    tv.add_tv_slides("test-bracket", maker, order=15)
    yield
    tv._SLIDE_MAKERS[:] = [m for m in tv._SLIDE_MAKERS if m[1] != "test-bracket"]


def test_other_parts_add_slides_in_their_order(
    webapp: TestApp, demo_event: Event, bracket_slides: None
) -> None:
    titles = [
        s["title"]
        for s in webapp.get("/events/demo/tv", headers=JSON).json["slides"]
        if s["tournament"]["slug"] == "main"
    ]
    assert titles == ["Standings", "Bracket", "Machines"]


def test_the_director_sets_how_the_tv_cycles(
    webapp: TestApp, dbsession: Session, demo_event: Event, make_webapp: Any
) -> None:
    desk = make_webapp()
    login_as(desk, demo_event, "desk")
    desk.get("/events/demo/tv-settings", status=403)
    post_json(desk, "/events/demo/tv-settings", {"seconds": 20, "rows": 10}, status=403)

    login_as(webapp, demo_event, "td")
    page = webapp.get("/events/demo/tv-settings")
    assert 'id="f-seconds"' in page.text
    assert 'value="12"' in page.text
    post_form(
        webapp, "/events/demo/tv-settings", {"seconds": "20", "rows": "10"}, csrf=False, status=403
    )
    refused = post_json(
        webapp, "/events/demo/tv-settings", {"seconds": 2, "rows": 10}, status=400
    ).json
    assert refused["message"] == "Seconds per slide must be at least 3."
    saved = post_json(
        webapp, "/events/demo/tv-settings", {"seconds": 20, "rows": 10, "machines": False}
    ).json
    assert saved["settings"] == {"seconds": 20, "rows": 10, "machines": False}
    data = webapp.get("/events/demo/tv", headers=JSON).json
    assert data["seconds"] == 20
    assert {s["kind"] for s in data["slides"]} == {"standings"}
    assert webapp.get("/events/demo/tv?seconds=7", headers=JSON).json["seconds"] == 7
    row = dbsession.scalars(select(AuditLog).where(AuditLog.action == "event.tv_settings")).one()
    assert row.details["before"]["seconds"] == 12
    assert row.details["after"]["seconds"] == 20
