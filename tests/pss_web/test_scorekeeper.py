"""Scorekeeping through WebTest, as forms and as JSON: the machine board, starting games from the
queue or by number, recording scores with thousands separators (past 2^31), void, misconduct,
taking a player off, and the queue (add, put first, bump, remove); live refresh; the permission
matrix over two events; CSRF refusal."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import (
    AuditLog,
    Event,
    EventPlayer,
    Notification,
    QueueSlot,
    Score,
    Token,
    TournamentMachine,
)
from pss_core.plugins import Pss
from pss_core.services import setup, tickets
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

DESK = Actor("desk test")


def scorekeep_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.role in ("td", "scorekeeper")


ACTIONS = (
    "keep",
    "start",
    "score",
    "void",
    "misconduct",
    "remove-player",
    "queue",
    "bump",
    "dequeue",
    "status",
)
VIEWS: list[MatrixView] = [("GET", "/events/{slug}/board", scorekeep_here)]
VIEWS += [
    ("GET", f"/events/{{slug}}/machines/{{machine}}/{name}", scorekeep_here) for name in ACTIONS
]
VIEWS += [
    ("POST", f"/events/{{slug}}/machines/{{machine}}/{name}", scorekeep_here)
    for name in ACTIONS
    if name != "keep"
]


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_permission_matrix(
    webapp: TestApp, dbsession: Session, two_events: dict[str, Event], who: Who
) -> None:
    assert check_matrix(webapp, dbsession, two_events, who, VIEWS) == []


# --- helpers ----------------------------------------------------------------------------------


def player(session: Session, event: Event, number: int) -> EventPlayer:
    return setup.player_by_number(session, event.id, number)


def sell(session: Session, pss: Pss, event: Event, *numbers: int, count: int = 2) -> None:
    for number in numbers:
        tickets.sell_tickets(
            session,
            pss,
            player=player(session, event, number),
            count=count,
            tournament=event.tournaments[0],
            actor=DESK,
        )
    session.flush()


@pytest.fixture
def machine(demo_event: Event) -> TournamentMachine:
    """The first machine of the demo's HERB tournament (Attack from Mars)."""
    return demo_event.tournaments[0].machines[0]


def keep(app: TestApp, tm: TournamentMachine) -> Any:
    return app.get(f"/events/demo/machines/{tm.id}/keep", headers=JSON).json["machine"]


def url(tm: TournamentMachine, name: str) -> str:
    return f"/events/demo/machines/{tm.id}/{name}"


# --- games ------------------------------------------------------------------------------------


def test_a_game_from_the_queue_with_the_forms(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event, machine: TournamentMachine
) -> None:
    sell(dbsession, pss, demo_event, 101, 102)
    login_as(webapp, demo_event, "scorekeeper")
    page = webapp.get(url(machine, "keep"))
    assert "Nobody is playing." in page.text
    for number in (101, 102):
        form = page.forms["queue-form"]
        form["player"] = str(number)
        page = form.submit(status=303).follow()
    assert "Bo Tilt is 2nd in the queue for Attack from Mars." in page.text
    assert [
        li.find(class_="who").text.split()[0:2]
        for li in page.html.find(id="queue-list").find_all("li")
    ] == [["Ada", "Flipper"], ["Bo", "Tilt"]]
    # Start the head of the queue with its button.
    start = next(
        f for f in page.forms.values() if f.action.endswith("/start") and "player" not in f.fields
    )
    assert page.html.find(id="start-next").text == "Start Ada Flipper"
    page = start.submit(status=303).follow()
    assert page.html.find(id="now-playing").text == "Ada Flipper"
    # The score, typed with separators; it is kept exactly, and Bo starts at once.
    form = page.forms["score-form"]
    form["score"] = "12,345,670"
    page = form.submit(status=303).follow()
    assert (
        "12,345,670 recorded for Ada Flipper on Attack from Mars. "
        "Bo Tilt is playing Attack from Mars."
    ) in page.text
    assert page.html.find(id="now-playing").text == "Bo Tilt"
    score = dbsession.scalars(select(Score)).one()
    assert score.score == 12_345_670
    token = dbsession.get(Token, score.token_id)
    assert token is not None
    assert token.used_at is not None
    # The latest scores on the page show what was saved.
    assert "12,345,670 Ada Flipper" in " ".join(page.html.find(id="live-recent").text.split())


def test_big_scores_and_bad_scores(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event, machine: TournamentMachine
) -> None:
    sell(dbsession, pss, demo_event, 101)
    login_as(webapp, demo_event, "scorekeeper")
    post_json(webapp, url(machine, "start"), {"player": 101}, status=201)
    game = keep(webapp, machine)["game"]
    assert game["who"]["number"] == 101
    # A refused score leaves the game as it was and shows the page again with what was typed.
    page = post_form(
        webapp,
        url(machine, "score"),
        {"score": "12,34,5", "token_id": str(game["token_id"])},
        status=400,
    )
    assert page.html.find(id="form-error").text == (
        "'12,34,5' is not a score; type a whole number like 12,345,670."
    )
    assert page.forms["score-form"]["score"].value == "12,34,5"
    res = post_json(
        webapp, url(machine, "score"), {"score": "-5", "token_id": game["token_id"]}, status=400
    )
    assert res.json["error"] == "negative_score"
    res = post_json(webapp, url(machine, "score"), {"token_id": game["token_id"]}, status=400)
    assert (res.json["error"], res.json["field"]) == ("missing_field", "score")
    assert keep(webapp, machine)["game"]["token_id"] == game["token_id"]
    # Past 2^31 (and 2^32): stored and shown exactly.
    res = post_json(
        webapp, url(machine, "score"), {"score": "9.876.543.210", "token_id": game["token_id"]}
    )
    assert res.json["ended"]["score"] == 9_876_543_210
    assert dbsession.scalars(select(Score.score)).one() == 9_876_543_210
    assert keep(webapp, machine)["recent"][0]["score"] == 9_876_543_210


def test_a_late_second_score_is_refused(
    webapp: TestApp,
    make_webapp: Any,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machine: TournamentMachine,
) -> None:
    """Two scorekeepers look at the same game; the second save is refused, not put on the next
    player (who started from the queue meanwhile)."""
    sell(dbsession, pss, demo_event, 101, 102)
    login_as(webapp, demo_event, "scorekeeper")
    other = make_webapp()
    login_as(other, demo_event, "td")
    post_json(webapp, url(machine, "queue"), {"player": 101})
    post_json(webapp, url(machine, "queue"), {"player": 102})
    post_json(webapp, url(machine, "start"))
    seen = keep(webapp, machine)["game"]["token_id"]
    first = post_json(other, url(machine, "score"), {"score": "100", "token_id": seen})
    assert first.json["ended"]["next_game"] is not None
    late = post_json(webapp, url(machine, "score"), {"score": "200", "token_id": seen}, status=409)
    assert late.json["error"] == "game_changed"
    assert dbsession.scalars(select(Score.score)).all() == [100]
    assert keep(webapp, machine)["game"]["who"]["number"] == 102


@pytest.mark.parametrize("how", ["score", "void", "misconduct", "remove-player"])
def test_an_action_on_the_game_must_name_it(
    webapp: TestApp,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machine: TournamentMachine,
    how: str,
) -> None:
    """Without ``token_id`` an action would land on whoever plays the machine when it arrives
    (the next player, started from the queue by the first save): it is refused, naming the
    field, as JSON and as a form, and the game stays as it was."""
    sell(dbsession, pss, demo_event, 101, 102)
    login_as(webapp, demo_event, "scorekeeper")
    post_json(webapp, url(machine, "queue"), {"player": 101})
    post_json(webapp, url(machine, "queue"), {"player": 102})
    post_json(webapp, url(machine, "start"), status=201)
    game = keep(webapp, machine)["game"]
    body = {"score": "1,000"} if how == "score" else {"reason": "test"}
    res = post_json(webapp, url(machine, how), body, status=400)
    assert (res.json["error"], res.json["field"]) == ("missing_field", "token_id")
    assert "is required" in res.json["message"]
    res = post_json(webapp, url(machine, how), {**body, "token_id": None}, status=400)
    assert res.json["field"] == "token_id"
    post_form(webapp, url(machine, how), body, status=400)
    assert keep(webapp, machine)["game"] == game
    assert dbsession.scalar(select(func.count(Score.id))) == 0


def test_a_score_for_a_game_that_ended_is_a_conflict(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event, machine: TournamentMachine
) -> None:
    """Sent again (a retry after a lost answer, say), a score for a game that has ended is a
    409 ``game_changed``: nothing lands on the next player, nor on a free machine."""
    sell(dbsession, pss, demo_event, 101, 102)
    login_as(webapp, demo_event, "scorekeeper")
    post_json(webapp, url(machine, "queue"), {"player": 101})
    post_json(webapp, url(machine, "queue"), {"player": 102})
    post_json(webapp, url(machine, "start"), status=201)
    first = keep(webapp, machine)["game"]["token_id"]
    post_json(webapp, url(machine, "score"), {"score": "100", "token_id": first})
    second = keep(webapp, machine)["game"]["token_id"]
    for how, body in (
        ("score", {"score": "200"}),
        ("void", {}),
        ("misconduct", {}),
        ("remove-player", {}),
    ):
        res = post_json(webapp, url(machine, how), {**body, "token_id": first}, status=409)
        assert res.json["error"] == "game_changed"
    post_json(webapp, url(machine, "score"), {"score": "300", "token_id": second})
    assert keep(webapp, machine)["game"] is None
    res = post_json(webapp, url(machine, "score"), {"score": "400", "token_id": second}, status=409)
    assert res.json["error"] == "game_changed"
    assert dbsession.scalars(select(Score.score).order_by(Score.id)).all() == [100, 300]


@pytest.mark.parametrize(
    ("how", "used", "voided", "offences"),
    [
        ("void", False, True, 0),
        ("misconduct", False, True, 1),
        ("remove-player", False, False, 0),
    ],
)
def test_ending_a_game_without_a_score(
    webapp: TestApp,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machine: TournamentMachine,
    how: str,
    used: bool,
    voided: bool,
    offences: int,
) -> None:
    sell(dbsession, pss, demo_event, 101, count=1)
    login_as(webapp, demo_event, "scorekeeper")
    post_json(webapp, url(machine, "start"), {"player": 101}, status=201)
    token_id = keep(webapp, machine)["game"]["token_id"]
    page = post_form(
        webapp, url(machine, how), {"token_id": str(token_id), "reason": "test"}, status=303
    ).follow()
    assert page.html.find(id="now-playing-none") is not None
    token = dbsession.get(Token, token_id)
    assert token is not None
    dbsession.refresh(token)
    assert (token.used_at is not None, token.voided_at is not None) == (used, voided)
    assert dbsession.scalar(select(func.count(Score.id))) == 0
    ep = player(dbsession, demo_event, 101)
    dbsession.refresh(ep)
    assert ep.offences == offences
    left = tickets.count_usable(dbsession, pss, demo_event.tournaments[0], player_id=ep.id)
    assert left == (1 if how == "remove-player" else 0)
    words = {
        "void": "The game of Ada Flipper on Attack from Mars is void; the ticket is used.",
        "misconduct": "is void for misconduct; the offence is on record.",
        "remove-player": "Ada Flipper is off Attack from Mars; the ticket was not used.",
    }
    assert words[how] in page.text


def test_start_refusals(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event, machine: TournamentMachine
) -> None:
    sell(dbsession, pss, demo_event, 101, 102)
    login_as(webapp, demo_event, "scorekeeper")
    res = post_json(webapp, url(machine, "start"), status=409)
    assert (res.json["error"], res.json["message"]) == (
        "queue_empty",
        "Nobody is waiting for Attack from Mars.",
    )
    res = post_json(webapp, url(machine, "start"), {"player": 103}, status=409)
    assert res.json["message"] == "Cy Nudge has no tickets left for Main (HERB)."
    res = post_json(webapp, url(machine, "start"), {"player": 999}, status=404)
    assert res.json["message"] == "There is no player number 999 in this event."
    post_json(webapp, url(machine, "queue"), {"player": 101})
    res = post_json(webapp, url(machine, "start"), {"player": 102}, status=409)
    assert res.json["error"] == "queue_waiting"
    # The form shows the page again with the number typed.
    page = post_form(webapp, url(machine, "start"), {"player": "102"}, status=409)
    assert "1 waiting in the queue for Attack from Mars; Ada Flipper is next." in page.text
    assert page.forms["start-form"]["player"].value == "102"
    res = post_json(webapp, url(machine, "score"), {"score": "5", "token_id": 1}, status=409)
    assert res.json["error"] == "game_changed"


# --- the queue --------------------------------------------------------------------------------


def test_queue_management(
    webapp: TestApp,
    make_webapp: Any,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machine: TournamentMachine,
) -> None:
    sell(dbsession, pss, demo_event, 101, 102, 103, 104)
    login_as(webapp, demo_event, "scorekeeper")
    for number in (101, 102, 103):
        post_json(webapp, url(machine, "queue"), {"player": number}, status=201)

    def order() -> list[int]:
        return [q["who"]["number"] for q in keep(webapp, machine)["queue"]]

    assert order() == [101, 102, 103]
    res = post_json(webapp, url(machine, "queue"), {"player": 101}, status=409)
    assert res.json["message"] == "Ada Flipper is already 1st in the queue for Attack from Mars."
    # Only a tournament director puts someone first.
    res = post_json(webapp, url(machine, "queue"), {"player": 104, "at_head": True}, status=403)
    assert res.json["error"] == "td_only"
    td = make_webapp()
    login_as(td, demo_event, "td")
    res = post_json(td, url(machine, "queue"), {"player": 104, "at_head": True}, status=201)
    assert res.json["place"]["position"] == 1
    assert order() == [104, 101, 102, 103]
    # Bump: down one place; bumped again: out.
    res = post_json(webapp, url(machine, "bump"))
    assert res.json["message"] == "Di Drain is now 2nd in the queue."
    assert order() == [101, 104, 102, 103]
    post_json(webapp, url(machine, "bump"))
    assert order() == [104, 101, 102, 103]
    res = post_json(webapp, url(machine, "bump"))
    assert res.json["message"] == "Di Drain was bumped a second time and is out of the queue."
    assert order() == [101, 102, 103]
    # Remove someone in the middle: the places close up.
    res = post_form(webapp, url(machine, "dequeue"), {"player": "102"}, status=303)
    assert order() == [101, 103]
    assert [q["position"] for q in keep(webapp, machine)["queue"]] == [1, 2]
    res = post_json(webapp, url(machine, "dequeue"), {"player": 102}, status=409)
    assert res.json["error"] == "not_queued"
    # Someone without tickets cannot queue.
    res = post_json(webapp, url(machine, "queue"), {"player": 105}, status=409)
    assert res.json["message"] == "Ed Multiball has no tickets left for Main (HERB)."
    assert dbsession.scalar(select(func.count(QueueSlot.id))) == 2


def test_the_board(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event, machine: TournamentMachine
) -> None:
    sell(dbsession, pss, demo_event, 101, 102, 103)
    login_as(webapp, demo_event, "td")
    post_json(webapp, url(machine, "start"), {"player": 101})
    post_json(webapp, url(machine, "queue"), {"player": 102})
    post_json(webapp, url(machine, "queue"), {"player": 103})
    second = demo_event.tournaments[0].machines[1]
    post_json(webapp, f"/events/demo/machines/{second.id}/status", {"status": "disable"})
    board = webapp.get("/events/demo/board", headers=JSON).json
    assert [t["slug"] for t in board["tournaments"]] == ["main", "classics"]
    main = {m["name"]: m for m in board["tournaments"][0]["machines"]}
    afm = main["Attack from Mars"]
    assert (afm["playing"]["name"], afm["queue"], afm["next"]["name"]) == (
        "Ada Flipper",
        2,
        "Bo Tilt",
    )
    assert afm["keep_url"] == f"http://localhost/events/demo/machines/{machine.id}/keep"
    assert main["Medieval Madness"]["status"] == "disabled"
    assert (main["Twilight Zone"]["playing"], main["Twilight Zone"]["queue"]) == (None, 0)
    html = webapp.get("/events/demo/board")
    card = next(
        li for li in html.html.find_all("li", class_="machine") if "Attack from Mars" in li.text
    )
    assert "2 waiting · next: Bo Tilt" in card.text


def test_the_pages_refresh_by_themselves(
    webapp: TestApp,
    make_webapp: Any,
    dbsession: Session,
    pss: Pss,
    demo_event: Event,
    machine: TournamentMachine,
) -> None:
    """The board and a machine's page carry an ETag: polled unchanged they answer 304, and a
    change anywhere in the event (here a player joining a queue) gives a fresh page."""
    sell(dbsession, pss, demo_event, 101)
    login_as(webapp, demo_event, "scorekeeper")
    for path in ("/events/demo/board", url(machine, "keep")):
        page = webapp.get(path)
        etag = page.headers["ETag"]
        assert page.html.find("meta", attrs={"name": "pss-etag"})["content"] == etag
        assert page.html.find(attrs={"data-live": True}) is not None
        webapp.get(path, headers={"If-None-Match": etag}, status=304)
        phone = make_webapp()
        login_player(phone, demo_event, 101, "4321")
        post_json(phone, "/events/demo/players/101/join", {"machine": machine.id}, status=201)
        fresh = webapp.get(path, headers={"If-None-Match": etag}, status=200)
        assert fresh.headers["ETag"] != etag
        assert "Ada Flipper" in fresh.text
        post_json(phone, "/events/demo/players/101/leave")


def test_csrf_is_required(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event, machine: TournamentMachine
) -> None:
    sell(dbsession, pss, demo_event, 101)
    login_as(webapp, demo_event, "scorekeeper")
    post_json(webapp, url(machine, "start"), {"player": 101})
    res = post_json(webapp, url(machine, "score"), {"score": "100"}, status=403, csrf=False)
    assert res.json["error"] == "csrf_failed"
    page = post_form(webapp, url(machine, "void"), {}, status=403, csrf=False)
    assert "This form has expired" in page.text
    assert keep(webapp, machine)["game"] is not None
    assert dbsession.scalar(select(func.count(Score.id))) == 0


def test_a_team_game(webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event) -> None:
    """In a team tournament a member's number queues, starts and scores for the whole team."""
    doubles = setup.create_tournament(dbsession, pss, demo_event, "Doubles", "team", slug="doubles")
    tm = setup.add_machine(dbsession, doubles, "Twilight Zone")
    team = setup.create_team(
        dbsession,
        demo_event,
        "Flippers",
        [player(dbsession, demo_event, 101), player(dbsession, demo_event, 102)],
    )
    tickets.sell_tickets(
        dbsession,
        pss,
        player=player(dbsession, demo_event, 102),
        count=1,
        tournament=doubles,
        actor=DESK,
    )
    dbsession.flush()
    login_as(webapp, demo_event, "scorekeeper")
    res = post_json(webapp, url(tm, "queue"), {"player": 101}, status=201)
    assert res.json["message"] == "Team Flippers is 1st in the queue for Twilight Zone."
    page = webapp.get(url(tm, "keep"))
    assert page.html.find(id="start-next").text == "Start Team Flippers"
    post_form(webapp, url(tm, "start"), {}, status=303)
    game = keep(webapp, tm)["game"]
    assert (game["who"]["kind"], game["who"]["id"], game["who"]["numbers"]) == (
        "team",
        team.id,
        [101, 102],
    )
    assert webapp.get(url(tm, "keep")).html.find(id="now-playing").text == "Team Flippers"
    res = post_json(webapp, url(tm, "score"), {"score": "1,000", "token_id": game["token_id"]})
    assert res.json["message"] == "1,000 recorded for Team Flippers on Twilight Zone."
    board = webapp.get("/events/demo/board", headers=JSON).json
    assert [t["slug"] for t in board["tournaments"]] == ["main", "classics", "doubles"]


# --- the machine down and up ------------------------------------------------------------------


def test_a_scorekeeper_marks_the_machine_down_and_up(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event, machine: TournamentMachine
) -> None:
    sell(dbsession, pss, demo_event, 101, 102)
    login_as(webapp, demo_event, "scorekeeper")
    post_json(webapp, url(machine, "queue"), {"player": 101}, status=201)
    page = webapp.get(url(machine, "keep"))
    assert page.html.find(id="up-form") is None
    form = page.forms["down-form"]
    form["reason"] = "left flipper weak"
    res = form.submit(status=303)
    assert res.location == f"http://localhost/events/demo/machines/{machine.id}/keep"
    page = res.follow()
    assert "Attack from Mars is down." in page.text
    assert "DOWN" in page.html.find(id="live-game").text
    assert page.html.find(id="down-form") is None
    assert machine.status == "disabled"
    # Nobody starts on it; the queue keeps its places.
    res = post_json(webapp, url(machine, "start"), {"player": 102}, status=409)
    assert res.json["error"] == "machine_down"
    assert [q["who"]["number"] for q in keep(webapp, machine)["queue"]] == [101]
    row = dbsession.scalars(select(AuditLog).where(AuditLog.action == "machine.status")).one()
    assert (row.actor, row.details["new"], row.details["reason"]) == (
        "scorekeeper-demo",
        "disabled",
        "left flipper weak",
    )
    # The player waiting is told.
    kinds = dbsession.scalars(
        select(Notification.kind).where(
            Notification.player_id == player(dbsession, demo_event, 101).id
        )
    ).all()
    assert list(kinds) == ["machine_down"]
    page = page.forms["up-form"].submit(status=303).follow()
    assert "Attack from Mars is back in play." in page.text
    assert machine.status == "active"
    assert page.html.find(id="start-next").text == "Start Ada Flipper"


def test_only_the_director_removes_a_machine(
    webapp: TestApp,
    make_webapp: Any,
    dbsession: Session,
    demo_event: Event,
    machine: TournamentMachine,
) -> None:
    login_as(webapp, demo_event, "scorekeeper")
    res = post_json(webapp, url(machine, "status"), {"status": "remove"}, status=403)
    assert (res.json["error"], res.json["message"]) == (
        "td_only",
        "Only a tournament director can remove a machine from the bank; mark it "
        "down for repair instead.",
    )
    page = post_form(webapp, url(machine, "status"), {"status": "remove"}, status=403)
    assert page.html.find(id="form-error").text == res.json["message"]
    assert page.html.find("h1").text == "Attack from Mars"
    assert machine.status == "active"
    # The desk does not run machines at all.
    desk = make_webapp()
    login_as(desk, demo_event, "desk")
    assert (
        post_json(desk, url(machine, "status"), {"status": "disable"}, status=403).json["error"]
        == "forbidden"
    )
    assert (
        dbsession.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == "machine.status"))
        == 0
    )
    # The director: from the machine's page back to it, from the bank back to the bank.
    td = make_webapp()
    login_as(td, demo_event, "td")
    page = td.get(url(machine, "keep"))
    assert page.html.find("a", string="the bank")["href"] == (
        "http://localhost/events/demo/tournaments/main/machines"
    )
    res = page.forms["down-form"].submit(status=303)
    assert res.location == f"http://localhost/events/demo/machines/{machine.id}/keep"
    res = post_form(td, url(machine, "status"), {"status": "remove"}, status=303)
    assert res.location == "http://localhost/events/demo/tournaments/main/machines"
    assert machine.status == "removed"
    # A scorekeeper asking for the bank is sent to the machine's page (the bank is not theirs).
    res = post_form(
        webapp, url(machine, "status"), {"status": "enable", "back": "machines"}, status=303
    )
    assert res.location == f"http://localhost/events/demo/machines/{machine.id}/keep"
