"""Registrations through WebTest, as forms and as JSON: "same person?" at the desk, corrections,
merging and unregistering, the registration questions (defined by the TD, asked at the desk and
online, shown and exported), and players registering themselves online; who may do what."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import AuditLog, Event, EventPlayer
from pss_core.services import players, setup
from pss_testing.web import (
    JSON,
    WHO,
    MatrixView,
    Who,
    check_matrix,
    login_as,
    post_form,
    post_json,
)


def desk_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.role in ("td", "desk")


def td_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.role == "td"


def anyone(who: Who, ev: str) -> bool:
    return True


def player_102_here(who: Who, ev: str) -> bool:
    return who.event == ev and (who.kind == "staff" or who.role == "102")


VIEWS: list[MatrixView] = [
    ("GET", "/events/{slug}/players/101/edit", desk_here),
    ("POST", "/events/{slug}/players/101/edit", desk_here),
    ("POST", "/events/{slug}/players/101/merge", td_here),
    ("POST", "/events/{slug}/players/101/unregister", td_here),
    ("GET", "/events/{slug}/players.csv", td_here),
    ("GET", "/events/{slug}/questions/", td_here),
    ("POST", "/events/{slug}/questions/", td_here),
    ("POST", "/events/{slug}/questions/self-registration", td_here),
    ("GET", "/events/{slug}/register", anyone),
    ("GET", "/events/{slug}/players/102/welcome", player_102_here),
]


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_permission_matrix(
    webapp: TestApp, dbsession: Session, two_events: dict[str, Event], who: Who
) -> None:
    assert check_matrix(webapp, dbsession, two_events, who, VIEWS) == []


def _question(dbsession: Session, event: Event, *args: Any, **kw: Any) -> Any:
    q = players.add_question(dbsession, event, *args, **kw)
    dbsession.flush()
    return q


# --- "same person?" at the desk ---------------------------------------------------------------


def test_desk_asks_same_person_before_a_second_registration(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "desk")
    res = post_json(
        webapp, "/events/demo/desk", {"first_name": "ada", "last_name": "FLIPPER"}, status=409
    )
    assert res.json["error"] == "possible_duplicate"
    assert res.json["candidates"] == [{"number": 101, "name": "Ada Flipper", "reasons": ["name"]}]
    # The form shows who it may be, with a link to open theirs, and the confirmation box.
    form = webapp.get("/events/demo/desk").forms["register-form"]
    form["first_name"] = "Adá"
    form["last_name"] = "Flipper"
    page = form.submit(status=409)
    box = page.html.find(id="duplicates")
    assert "#101" in box.text
    assert box.find("a")["href"] == "http://localhost/events/demo/players/101/sell"
    again = page.forms["register-form"]
    assert again["first_name"].value == "Adá"
    again.set("confirm_new", True, index=1)
    done = again.submit(status=303)
    assert done.location == "http://localhost/events/demo/players/109/slip"
    assert setup.player_by_number(dbsession, demo_event.id, 109).name == "Adá Flipper"


# --- questions --------------------------------------------------------------------------------


def test_td_defines_questions_the_desk_asks_and_the_csv_exports(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "td")
    page = webapp.get("/events/demo/questions/")
    form = page.forms["add-question-form"]
    form["label"] = "T-shirt size"
    form["kind"] = "choice"
    form["choices"] = "S\nM\nL"
    form.set("required", True, index=1)
    form.submit(status=303)
    res = post_json(
        webapp,
        "/events/demo/questions/",
        {"label": "Club", "kind": "text", "help": "Your home league"},
        status=201,
    )
    club = res.json["question"]
    assert club["input"] == f"answer.{club['id']}"
    res = post_json(
        webapp,
        "/events/demo/questions/",
        {"label": "Pick", "kind": "choice", "choices": ["only"]},
        status=400,
    )
    assert res.json["field"] == "choices"
    listed = webapp.get("/events/demo/questions/", headers=JSON).json["questions"]
    shirt = listed[0]
    assert [q["label"] for q in listed] == ["T-shirt size", "Club"]
    post_json(webapp, f"/events/demo/questions/{club['id']}/move", {"direction": "up"})
    listed = webapp.get("/events/demo/questions/", headers=JSON).json["questions"]
    assert [q["label"] for q in listed] == ["Club", "T-shirt size"]

    desk = webapp.get("/events/demo/desk")
    form = desk.forms["register-form"]
    form["first_name"] = "Quinn"
    refused = form.submit(status=400)
    assert "“T-shirt size” needs an answer." in refused.html.find(id="form-error").text
    form = refused.forms["register-form"]
    form[shirt["input"]] = "M"
    form[club["input"]] = "=HYPERLINK(1)"
    slip = form.submit(status=303)
    assert slip.location.endswith("/players/109/slip")
    sell = webapp.get("/events/demo/players/109/sell")
    answers = sell.html.find(id="answers").text
    assert "T-shirt size" in answers
    assert "M" in answers
    assert webapp.get("/events/demo/players/109/sell", headers=JSON).json["answers"][1] == {
        "question": "T-shirt size",
        "question_id": shirt["id"],
        "answer": "M",
        "active": True,
    }

    # Stop asking the shirt question: the desk no longer needs it, the answer stays exported.
    post_json(
        webapp,
        f"/events/demo/questions/{shirt['id']}/",
        {
            "label": "T-shirt size",
            "kind": "choice",
            "choices": ["S", "M", "L"],
            "required": True,
            "active": False,
        },
    )
    post_json(webapp, "/events/demo/desk", {"first_name": "Rae"}, status=201)
    res = webapp.get("/events/demo/players.csv")
    assert res.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(res.text)))
    assert rows[0][-2:] == ["Club", "T-shirt size"]
    quinn = next(r for r in rows if r[0] == "109")
    # A formula typed as an answer is exported as text.
    assert quinn[-2:] == ["'=HYPERLINK(1)", "M"]
    assert [r[0] for r in rows[1:]] == [str(n) for n in range(101, 111)]


# --- corrections, merging, unregistering --------------------------------------------------------


def test_desk_corrects_a_registration_and_its_answers(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    q = _question(dbsession, demo_event, "Club", "text")
    login_as(webapp, demo_event, "desk")
    page = webapp.get("/events/demo/players/101/edit")
    form = page.forms["edit-form"]
    assert form["first_name"].value == "Ada"
    form["first_name"] = "Adah"
    form["ifpa_rank"] = "321"
    form["email"] = "ADA@example.org"
    form[f"answer.{q.id}"] = "Tilt Club"
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/players/101/sell"
    ep = setup.player_by_number(dbsession, demo_event.id, 101)
    assert (ep.name, ep.ifpa_rank, ep.player.email) == ("Adah Flipper", 321, "ada@example.org")
    assert players.answers_of(dbsession, ep) == {q.id: "Tilt Club"}
    row = dbsession.scalars(select(AuditLog).where(AuditLog.action == "player.edit")).one()
    assert row.actor == "desk-demo"
    assert row.details["before"]["first_name"] == "Ada"
    # The desk sees no merge or unregister controls; the TD does.
    assert page.html.find(id="merge-form") is None
    res = post_json(
        webapp,
        "/events/demo/players/101/edit",
        {"first_name": "A", "email": "not-an-address"},
        status=400,
    )
    assert res.json["error"] == "invalid_email"


def test_td_merges_two_registrations_and_unregisters_a_mistake(
    webapp: TestApp, dbsession: Session, pss: Any, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "td")
    twin = post_json(
        webapp,
        "/events/demo/desk",
        {"first_name": "Bo", "last_name": "Tilt", "confirm_new": True},
        status=201,
    ).json
    number = twin["player"]["number"]
    post_json(
        webapp,
        f"/events/demo/players/{number}/sell",
        {"scope": "tournament:main", "tickets": 2},
        status=201,
    )
    page = webapp.get("/events/demo/players/102/edit")
    form = page.forms["merge-form"]
    form["other"] = str(number)
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/players/102/sell"
    assert webapp.get(f"/events/demo/players/{number}/sell", status=404)
    summary = webapp.get("/events/demo/players/102/tickets", headers=JSON).json["summary"]
    main = next(s for s in summary if s["slug"] == "main")
    assert main["remaining"] == 2
    history = webapp.get("/events/demo/players/102/history", headers=JSON).json["history"]
    assert history[0]["text"] == f"Registration #{number} merged into #102"
    res = post_json(webapp, "/events/demo/players/102/merge", {"other": 102}, status=400)
    assert res.json["error"] == "same_player"
    post_json(webapp, "/events/demo/players/102/merge", {"other": 999}, status=404)

    mistake = post_json(webapp, "/events/demo/desk", {"first_name": "Oops"}, status=201).json
    n = mistake["player"]["number"]
    res = post_json(webapp, f"/events/demo/players/{n}/unregister", status=200)
    assert res.json["unregistered"] == n
    assert (
        dbsession.scalar(
            select(EventPlayer.id).where(
                EventPlayer.event_id == demo_event.id, EventPlayer.number == n
            )
        )
        is None
    )
    # A player with tickets: refused, saying what to do instead, and the page shows it.
    page = post_form(webapp, "/events/demo/players/102/unregister", status=409)
    assert "refund them first" in page.html.find(id="form-error").text
    assert page.html.find(id="edit-form") is not None


# --- registering yourself online ----------------------------------------------------------------


def test_self_registration_page_is_closed_by_default(webapp: TestApp, demo_event: Event) -> None:
    page = webapp.get("/events/demo/register")
    assert page.html.find(id="closed") is not None
    assert page.html.find(id="register-form") is None
    res = post_json(webapp, "/events/demo/register", {"first_name": "Sal"}, status=409)
    assert res.json["error"] == "self_registration_closed"
    assert webapp.get("/events/demo/").html.find(id="register-link") is None


def test_a_player_registers_online_sees_the_pin_once_and_can_buy(
    webapp: TestApp, make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    td = make_webapp()
    login_as(td, demo_event, "td")
    post_form(
        td,
        "/events/demo/questions/self-registration",
        {"enabled": "on", "choose_number": "on"},
        status=303,
    )
    q = _question(dbsession, demo_event, "I accept the rules", "yes_no", required=True)
    home = webapp.get("/events/demo/")
    assert home.html.find(id="register-link")["href"] == "http://localhost/events/demo/register"
    form = webapp.get("/events/demo/register").forms["register-form"]
    form["first_name"] = "Sal"
    form["last_name"] = "Self"
    form["email"] = "sal@example.org"
    form["number"] = "321"
    refused = form.submit(status=400)
    assert "must be answered yes" in refused.html.find(id="form-error").text
    form = refused.forms["register-form"]
    form.set(f"answer.{q.id}", True, index=1)
    res = form.submit(status=303)
    assert res.location == "http://localhost/events/demo/players/321/welcome"
    welcome = res.follow()
    pin = welcome.html.find(id="welcome-pin").text
    assert pin.isdigit()
    assert welcome.html.find(id="buy-link")["href"] == "http://localhost/events/demo/purchases/"
    assert webapp.get("/events/demo/players/321/welcome").html.find(id="welcome-pin") is None
    # Logged in as the new player: the purchase page is theirs, before any desk saw them.
    buy = webapp.get("/events/demo/purchases/", headers=JSON)
    assert buy.status_code == 200
    ep = setup.player_by_number(dbsession, demo_event.id, 321)
    assert players.answers_of(dbsession, ep) == {q.id: "yes"}
    row = dbsession.scalars(select(AuditLog).where(AuditLog.action == "player.self_register")).one()
    assert row.details["address"] == "192.0.2.10"
    # The desk sees the registration, flagged as made online in the export.
    rows = list(csv.reader(io.StringIO(td.get("/events/demo/players.csv").text)))
    assert next(r for r in rows if r[0] == "321")[7] == "yes"


def test_self_registration_json_duplicates_and_limit(
    make_webapp: Any, dbsession: Session, demo_event: Event
) -> None:
    players.set_self_registration(dbsession, demo_event, enabled=True)
    dbsession.flush()
    phone = make_webapp(REMOTE_ADDR="203.0.113.77")
    res = post_json(
        phone, "/events/demo/register", {"first_name": "Cy", "last_name": "Nudge"}, status=409
    )
    assert res.json["error"] == "possible_duplicate"
    assert res.json["candidates"][0]["number"] == 103
    res = post_json(
        phone,
        "/events/demo/register",
        {"first_name": "Cy", "last_name": "Nudge", "confirm_new": True},
        status=201,
    )
    assert res.json["pin"].isdigit()
    assert res.json["player"]["number"] == 109
    me = phone.get("/events/demo/players/109/welcome", headers=JSON).json
    assert me["player"]["number"] == 109
    res = post_json(phone, "/events/demo/register", {"first_name": "No", "number": 5}, status=400)
    assert res.json["error"] == "number_not_chosen"
    for i in range(players.SELF_REGISTRATIONS_PER_ADDRESS - 1):
        post_json(
            make_webapp(REMOTE_ADDR="203.0.113.77"),
            "/events/demo/register",
            {"first_name": f"Kid{i}"},
            status=201,
        )
    res = post_json(
        make_webapp(REMOTE_ADDR="203.0.113.77"),
        "/events/demo/register",
        {"first_name": "One", "last_name": "Toomany"},
        status=429,
    )
    assert res.json["error"] == "too_many_registrations"
    assert int(res.headers["Retry-After"]) > 0
    # Without the CSRF token nothing happens.
    post_json(
        make_webapp(), "/events/demo/register", {"first_name": "Forged"}, status=403, csrf=False
    )
