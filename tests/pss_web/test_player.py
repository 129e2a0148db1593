"""The player's own page through WebTest, as forms and as JSON: games left, joining and leaving a
queue and the place in it, playing now, results; only the player acts for themselves; the
permission matrix over two events; CSRF refusal; the OpenAPI document describes these pages."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import Event, EventPlayer, QueueSlot, TournamentMachine
from pss_core.plugins import Pss
from pss_core.services import games, setup, tickets
from pss_testing.web import (
    JSON,
    WHO,
    MatrixView,
    Who,
    check_matrix,
    login_as,
    login_player,
    post_form,
    post_json,
)

STAFF = Actor("scorekeeper test", user_id=None)


def player_here(number: str) -> Any:
    def allowed(who: Who, ev: str) -> bool:
        return who.kind == "player" and who.event == ev and who.role == number

    return allowed


def player_or_staff_here(number: str) -> Any:
    def allowed(who: Who, ev: str) -> bool:
        return who.event == ev and (who.kind == "staff" or who.role == number)

    return allowed


def any_player_here(who: Who, ev: str) -> bool:
    return who.kind == "player" and who.event == ev


VIEWS: list[MatrixView] = [
    ("GET", "/events/{slug}/me", any_player_here),
    ("GET", "/events/{slug}/players/101/play", player_or_staff_here("101")),
    ("GET", "/events/{slug}/players/101/join", player_or_staff_here("101")),
    ("GET", "/events/{slug}/players/101/leave", player_or_staff_here("101")),
    ("POST", "/events/{slug}/players/101/join", player_here("101")),
    ("POST", "/events/{slug}/players/101/leave", player_here("101")),
    ("GET", "/events/{slug}/players/102/play", player_or_staff_here("102")),
    ("POST", "/events/{slug}/players/102/join", player_here("102")),
    ("POST", "/events/{slug}/players/102/leave", player_here("102")),
    ("GET", "/events/{slug}/players/101/give-up", player_or_staff_here("101")),
    ("POST", "/events/{slug}/players/101/give-up", player_here("101")),
    ("GET", "/events/{slug}/players/101/purchases", player_or_staff_here("101")),
    ("GET", "/events/{slug}/players/102/purchases", player_or_staff_here("102")),
]


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_permission_matrix(
    webapp: TestApp, dbsession: Session, two_events: dict[str, Event], who: Who
) -> None:
    assert check_matrix(webapp, dbsession, two_events, who, VIEWS) == []


# --- helpers ----------------------------------------------------------------------------------


def player(session: Session, event: Event, number: int) -> EventPlayer:
    return setup.player_by_number(session, event.id, number)


def sell(session: Session, pss: Pss, event: Event, number: int, count: int = 2) -> None:
    tickets.sell_tickets(
        session,
        pss,
        player=player(session, event, number),
        count=count,
        tournament=event.tournaments[0],
        actor=Actor("desk test"),
    )
    session.flush()


@pytest.fixture
def machines(demo_event: Event) -> list[TournamentMachine]:
    return list(demo_event.tournaments[0].machines)


def me(app: TestApp, number: int = 101) -> Any:
    return app.get(f"/events/demo/players/{number}/play", headers=JSON).json


# --- the page ---------------------------------------------------------------------------------


def test_me_leads_to_the_players_page(webapp: TestApp, demo_event: Event) -> None:
    login_player(webapp, demo_event, 104, "4321")
    res = webapp.get("/events/demo/me", status=303)
    assert res.location == "http://localhost/events/demo/players/104/play"
    page = res.follow()
    assert page.html.find("h1").text.split()[:2] == ["Di", "Drain"]
    assert "No tickets yet." in page.text
    assert "My page" in page.html.find("nav", class_="tabs").text


def test_joining_and_leaving_a_queue_with_the_forms(
    webapp: TestApp,
    make_webapp: Any,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machines: list[TournamentMachine],
) -> None:
    sell(dbsession, pss, demo_event, 101)
    sell(dbsession, pss, demo_event, 102)
    other = make_webapp()
    login_player(other, demo_event, 102, "4321")
    post_json(other, "/events/demo/players/102/join", {"machine": machines[1].id}, status=201)
    login_player(webapp, demo_event, 101, "4321")
    page = webapp.get("/events/demo/players/101/play")
    assert "2 games left in Main (HERB)" in " ".join(page.html.find(id="live-tickets").text.split())
    join = next(
        f
        for f in page.forms.values()
        if f.get("machine", default=None) is not None and f["machine"].value == str(machines[1].id)
    )
    page = join.submit(status=303).follow()
    assert "You are 2nd in the queue for Medieval Madness." in page.text
    now = " ".join(page.html.find(id="now").text.split())
    assert now.startswith("You are 2nd in the queue for Medieval Madness")
    data = me(webapp)
    assert (data["place"]["position"], data["place"]["waiting"]) == (2, 2)
    assert data["place"]["machine"]["name"] == "Medieval Madness"
    # Bo leaves: Ada moves up to first, and her page says so.
    post_json(other, "/events/demo/players/102/leave")
    page = webapp.get("/events/demo/players/101/play")
    assert "You are next: go to the machine." in page.html.find(id="now").text
    # Joining another machine leaves the first queue.
    post_json(webapp, "/events/demo/players/101/join", {"machine": machines[2].id}, status=201)
    assert me(webapp)["place"]["machine"]["name"] == "The Addams Family"
    assert dbsession.scalar(select(func.count(QueueSlot.id))) == 1
    page = post_form(webapp, "/events/demo/players/101/leave", {}, status=303).follow()
    assert "You left the queue for The Addams Family." in page.text
    assert me(webapp)["place"] is None


def test_join_refusals_show_the_page_with_the_message(
    webapp: TestApp,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machines: list[TournamentMachine],
) -> None:
    login_player(webapp, demo_event, 101, "4321")
    page = post_form(
        webapp, "/events/demo/players/101/join", {"machine": str(machines[0].id)}, status=409
    )
    assert page.html.find(id="form-error").text == (
        "Ada Flipper has no tickets left for Main (HERB)."
    )
    assert page.html.find("h1").text.startswith("Ada Flipper")
    sell(dbsession, pss, demo_event, 101)
    # A machine that is down has its queue closed.
    machines[0].status = "disabled"  # type: ignore[assignment]
    dbsession.flush()
    res = post_json(
        webapp, "/events/demo/players/101/join", {"machine": machines[0].id}, status=409
    )
    assert res.json["error"] == "machine_down"
    # A machine of another event, or no machine at all.
    res = post_json(webapp, "/events/demo/players/101/join", {"machine": 999999}, status=400)
    assert res.json["error"] == "unknown_machine"
    res = post_json(webapp, "/events/demo/players/101/join", {}, status=400)
    assert res.json["field"] == "machine"
    # Playing now: no queue.
    games.start_game(
        dbsession, pss, machine=machines[1], player=player(dbsession, demo_event, 101), actor=STAFF
    )
    dbsession.flush()
    res = post_json(
        webapp, "/events/demo/players/101/join", {"machine": machines[2].id}, status=409
    )
    assert res.json["message"] == "Ada Flipper is already playing Medieval Madness."
    res = post_json(webapp, "/events/demo/players/101/leave", status=409)
    assert res.json["error"] == "not_queued"


def test_a_player_cannot_act_for_another(
    webapp: TestApp,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machines: list[TournamentMachine],
) -> None:
    sell(dbsession, pss, demo_event, 102)
    login_player(webapp, demo_event, 101, "4321")
    res = post_json(
        webapp, "/events/demo/players/102/join", {"machine": machines[0].id}, status=403
    )
    assert res.json["message"] == "Players can only do this for themselves."
    res = webapp.get("/events/demo/players/102/play", headers=JSON, status=403)
    assert dbsession.scalar(select(func.count(QueueSlot.id))) == 0


def test_playing_and_results(
    webapp: TestApp,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machines: list[TournamentMachine],
) -> None:
    sell(dbsession, pss, demo_event, 101)
    login_player(webapp, demo_event, 101, "4321")
    ep = player(dbsession, demo_event, 101)
    games.start_game(dbsession, pss, machine=machines[0], player=ep, actor=STAFF)
    dbsession.flush()
    page = webapp.get("/events/demo/players/101/play")
    assert page.html.find(id="now").text == "Your game: Attack from Mars. Play well!"
    # No join buttons while playing.
    assert not [f for f in page.forms.values() if f.action.endswith("/join")]
    games.record_score(dbsession, pss, machine=machines[0], score=4_321_000_000, actor=STAFF)
    dbsession.flush()
    data = me(webapp)
    assert data["playing"] is None
    [result] = data["results"]
    assert (result["tournament"]["slug"], result["standing"]["rank"]) == ("main", 1)
    assert result["standing"]["machines"][0]["score"] == 4_321_000_000
    assert (
        "Attack from Mars: 4,321,000,000"
        in webapp.get("/events/demo/players/101/play").html.find(id="live-results").text
    )
    [main] = [t for t in data["tournaments"] if t["slug"] == "main"]
    assert main["games_left"] == 1
    assert [s["remaining"] for s in data["summary"]] == [1]


def test_staff_see_what_the_player_sees(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    sell(dbsession, pss, demo_event, 101)
    login_as(webapp, demo_event, "desk")
    page = webapp.get("/events/demo/players/101/play")
    assert "This is what Ada Flipper sees when logged in." in page.text
    assert not [f for f in page.forms.values() if f.action.endswith("/join")]
    assert me(webapp)["is_me"] is False


def test_the_page_refreshes_when_the_queue_moves(
    webapp: TestApp,
    make_webapp: Any,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machines: list[TournamentMachine],
) -> None:
    sell(dbsession, pss, demo_event, 101)
    sell(dbsession, pss, demo_event, 102)
    login_player(webapp, demo_event, 101, "4321")
    scorekeeper = make_webapp()
    login_as(scorekeeper, demo_event, "scorekeeper")
    post_json(scorekeeper, f"/events/demo/machines/{machines[0].id}/queue", {"player": 102})
    post_json(webapp, "/events/demo/players/101/join", {"machine": machines[0].id})
    page = webapp.get("/events/demo/players/101/play")
    etag = page.headers["ETag"]
    webapp.get("/events/demo/players/101/play", headers={"If-None-Match": etag}, status=304)
    post_json(scorekeeper, f"/events/demo/machines/{machines[0].id}/start")
    fresh = webapp.get("/events/demo/players/101/play", headers={"If-None-Match": etag})
    assert "You are next: go to the machine." in fresh.html.find(id="now").text
    assert fresh.html.find(id="now-state")["data-state"] == f"queued:{machines[0].id}:1"


def test_csrf_is_required(
    webapp: TestApp,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machines: list[TournamentMachine],
) -> None:
    sell(dbsession, pss, demo_event, 101)
    login_player(webapp, demo_event, 101, "4321")
    res = post_json(
        webapp, "/events/demo/players/101/join", {"machine": machines[0].id}, status=403, csrf=False
    )
    assert res.json["error"] == "csrf_failed"
    post_form(
        webapp,
        "/events/demo/players/101/join",
        {"machine": str(machines[0].id)},
        status=403,
        csrf=False,
    )
    assert dbsession.scalar(select(func.count(QueueSlot.id))) == 0


def test_openapi_describes_the_desk_scorekeeper_and_player_api(
    webapp: TestApp, demo_event: Event
) -> None:
    doc = webapp.get("/api/openapi.json").json
    paths = doc["paths"]
    sell = paths["/events/{event}/players/{number}/sell"]
    assert sell["post"]["x-permission"] == "sell"
    body = sell["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["scope", "tickets"]
    assert body["properties"]["tickets"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "description": "Number of tickets",
    }
    score = paths["/events/{event}/machines/{machine}/score"]["post"]
    assert score["x-permission"] == "scorekeep"
    assert set(score["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {
        "score",
        "token_id",
    }
    assert paths["/events/{event}/board"]["get"]["responses"]["304"]
    assert paths["/events/{event}/players/{number}/join"]["post"]["x-permission"] == "play"
    assert paths["/events/{event}/desk"]["post"]["summary"].startswith("Register a player")
    for path in (
        "/events/{event}/players/{number}/price",
        "/events/{event}/me",
        "/events/{event}/players/{number}/history",
        "/events/{event}/machines/{machine}/dequeue",
    ):
        assert path in paths


def test_a_team_member_queues_for_the_team(
    webapp: TestApp, make_webapp: Any, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    doubles = setup.create_tournament(dbsession, pss, demo_event, "Doubles", "team", slug="doubles")
    tm = setup.add_machine(dbsession, doubles, "Twilight Zone")
    setup.create_team(
        dbsession,
        demo_event,
        "Flippers",
        [player(dbsession, demo_event, 101), player(dbsession, demo_event, 102)],
    )
    tickets.sell_tickets(
        dbsession,
        pss,
        player=player(dbsession, demo_event, 101),
        count=2,
        tournament=doubles,
        actor=Actor("desk test"),
    )
    dbsession.flush()
    login_player(webapp, demo_event, 102, "4321")
    [row] = [t for t in me(webapp, 102)["tournaments"] if t["slug"] == "doubles"]
    assert row["games_left"] == 2
    res = post_json(webapp, "/events/demo/players/102/join", {"machine": tm.id}, status=201)
    assert res.json["place"]["team"] is True
    assert res.json["place"]["name"] == "Team Flippers"
    # The teammate sees the team's place on their own page, and may take it out.
    mate = make_webapp()
    login_player(mate, demo_event, 101, "4321")
    place = me(mate)["place"]
    assert (place["machine"]["name"], place["position"], place["team"]) == (
        "Twilight Zone",
        1,
        True,
    )
    post_json(mate, "/events/demo/players/101/leave")
    assert me(webapp, 102)["place"] is None


def test_giving_up_an_unfinished_entry(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    classics = next(t for t in demo_event.tournaments if t.format == "papa")
    ada = player(dbsession, demo_event, 101)
    tickets.sell_tickets(
        dbsession, pss, player=ada, count=1, tournament=classics, actor=Actor("desk test")
    )
    machine = classics.machines[0]
    games.start_game(dbsession, pss, machine=machine, player=ada, actor=STAFF)
    games.record_score(dbsession, pss, machine=machine, score=1_000, actor=STAFF)
    dbsession.flush()
    login_player(webapp, demo_event, 101, "4321")
    page = webapp.get("/events/demo/players/101/play")
    assert "1 of 3 games played" in page.text
    form = next(f for f in page.forms.values() if f.get("entry", default=None) is not None)
    page = form.submit(status=303).follow()
    assert "Entry given up" in page.text
    assert "Unfinished entries" not in page.text
    summary = next(s for s in tickets.ticket_summary(dbsession, ada) if s.slug == classics.slug)
    assert (summary.used, summary.voided, summary.remaining) == (1, 2, 0)
    # Another player's entry id is refused, and nothing changes.
    res = post_json(webapp, "/events/demo/players/101/give-up", {"entry": 999999}, status=400)
    assert res.json["error"] == "unknown_entry"


def test_the_player_reaches_their_purchases_from_their_page(
    webapp: TestApp, make_webapp: Any, stripe_shop: Any, demo_event: Event
) -> None:
    """The player's page links to their purchases: the desk's sale and the online purchase
    they started, each with its page; another player's are not theirs to see."""
    desk = make_webapp()
    login_as(desk, demo_event, "desk")
    post_json(
        desk,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": 1},
        status=201,
    )
    login_player(webapp, demo_event, 101, "4321")
    held = post_json(
        webapp, "/events/demo/purchases/", {"scope": "tournament:main", "tickets": 3}, status=201
    )
    page = webapp.get("/events/demo/players/101/play")
    link = page.html.find(id="my-purchases")["href"]
    assert link == "http://localhost/events/demo/players/101/purchases"
    mine = webapp.get(link, headers=JSON).json["purchases"]
    assert [(p["channel"], p["tickets"], p["status"]) for p in mine] == [
        ("online", 3, "pending"),
        ("desk", 1, "completed"),
    ]
    assert mine[0]["url"] == held.json["purchase"]["url"]
    assert webapp.get(mine[0]["url"], headers=JSON).json["can_pay"] is True
    assert "3 \u00d7 Main (HERB)" in webapp.get(link).text
    webapp.get("/events/demo/players/102/purchases", headers=JSON, status=403)
