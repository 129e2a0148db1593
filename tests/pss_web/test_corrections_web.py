"""The tournament director's corrections through the web, as forms and as JSON: change a score,
add a missing one, void and unvoid an entry, reverse a misconduct. Each needs its confirmation,
refuses bad input with a message, writes an audit row with before and after, and the standings
follow; only the event's tournament director may use them (both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import AuditLog, Entry, EntryStatus, Event, EventPlayer, Score, Token
from pss_core.plugins import Pss
from pss_core.services import games, setup, tickets
from pss_testing.web import (
    JSON,
    WHO,
    MatrixView,
    Who,
    check_matrix,
    login_as,
    post_json,
)

STAFF = Actor("test staff")


def td_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.role == "td"


MACHINE_PAGES = ("corrections", "correct-score", "add-score")
PLAYER_PAGES = ("corrections", "void-entry", "unvoid-entry", "reverse-misconduct")
VIEWS: list[MatrixView] = [
    *[("GET", f"/events/{{slug}}/machines/{{machine}}/{n}", td_here) for n in MACHINE_PAGES],
    *[("POST", f"/events/{{slug}}/machines/{{machine}}/{n}", td_here) for n in MACHINE_PAGES[1:]],
    *[("GET", f"/events/{{slug}}/players/101/{n}", td_here) for n in PLAYER_PAGES],
    *[("POST", f"/events/{{slug}}/players/101/{n}", td_here) for n in PLAYER_PAGES[1:]],
]


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_permission_matrix(
    webapp: TestApp, dbsession: Session, two_events: dict[str, Event], who: Who
) -> None:
    assert check_matrix(webapp, dbsession, two_events, who, VIEWS) == []


# --- helpers ----------------------------------------------------------------------------------


def player(session: Session, event: Event, number: int) -> EventPlayer:
    return setup.player_by_number(session, event.id, number)


def play(
    session: Session, pss: Pss, event: Event, number: int, machine: int, score: int | None
) -> Token:
    """Player ``number`` buys a game of Main and plays it on its ``machine``-th machine; with a
    ``score`` it is recorded, else it is voided for misconduct."""
    main = event.tournaments[0]
    ep = player(session, event, number)
    tickets.sell_tickets(session, pss, player=ep, count=1, tournament=main, actor=STAFF)
    tm = main.machines[machine]
    started = games.start_game(session, pss, machine=tm, player=ep, actor=STAFF)
    if score is None:
        games.misconduct(
            session, pss, machine=tm, token_id=started.token_id, reason="slapped", actor=STAFF
        )
    else:
        games.record_score(session, pss, machine=tm, score=score, actor=STAFF)
    session.flush()
    token = session.get(Token, started.token_id)
    assert token is not None
    return token


def standings(app: TestApp) -> dict[int, int]:
    """Player number → their total score counted on Main (from the standings' breakdown)."""
    data = app.get("/events/demo/tournaments/main/?breakdown=1", headers=JSON).json["standings"]
    out = {}
    for row in data["standings"]:
        scores = [g["score"] for g in row.get("machines", [])]
        for entry in row.get("entries", []):
            scores += [g["score"] for g in entry.get("games", [])]
        out[row["competitor"]["number"]] = sum(scores)
    return out


def refused(app: TestApp, url: str, body: dict[str, Any], status: int) -> str:
    """POST ``body`` as JSON, expecting a refusal at ``status``; its code."""
    res = post_json(app, url, body, status=status)
    assert res.json["message"]
    return str(res.json["error"])


def confirm(form: Any) -> None:
    """Tick the form's "Yes, I checked" box (after its hidden "off")."""
    form.set("confirm", True, index=1)


def audit_rows(session: Session, action: str) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).where(AuditLog.action == action)))


def corrections_url(event: Event, machine: int = 0) -> str:
    return f"/events/demo/machines/{event.tournaments[0].machines[machine].id}/corrections"


# --- scores -----------------------------------------------------------------------------------


def test_correct_a_score_with_the_form(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    play(dbsession, pss, demo_event, 101, 0, 1_000)
    play(dbsession, pss, demo_event, 102, 0, 2_000)
    score = dbsession.scalars(select(Score).where(Score.score == 1_000)).one()
    login_as(webapp, demo_event, "td")
    assert standings(webapp)[101] == 1_000
    page = webapp.get(corrections_url(demo_event))
    assert page.html.find(id=f"score-{score.id}") is not None
    form = page.forms[f"correct-{score.id}"]
    form["score"] = "12,000,000,000"
    form["reason"] = "typo at the machine"
    # Not confirmed: refused, shown with the message and what was typed; nothing changes.
    refused = form.submit(status=400)
    assert refused.html.find(id="form-error").text == (
        "Tick “Yes, I checked” to change this score; nothing was changed."
    )
    assert refused.forms[f"correct-{score.id}"]["score"].value == "12,000,000,000"
    dbsession.refresh(score)
    assert score.score == 1_000
    confirm(form)
    done = form.submit(status=303).follow()
    assert "The score on Attack from Mars is 12,000,000,000 (it was 1,000)." in done.text
    dbsession.refresh(score)
    assert score.score == 12_000_000_000
    [row] = audit_rows(dbsession, "score.edit")
    assert (row.details["before"], row.details["after"]) == (1_000, 12_000_000_000)
    assert row.details["reason"] == "typo at the machine"
    assert row.actor == "td-demo"
    assert standings(webapp)[101] == 12_000_000_000


def test_score_corrections_refuse_bad_input(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    play(dbsession, pss, demo_event, 101, 0, 1_000)
    play(dbsession, pss, demo_event, 102, 1, 2_000)
    on_first = dbsession.scalars(select(Score).where(Score.score == 1_000)).one()
    on_second = dbsession.scalars(select(Score).where(Score.score == 2_000)).one()
    login_as(webapp, demo_event, "td")
    url = corrections_url(demo_event).replace("corrections", "correct-score")
    # What is not a score, with its own message.
    for typed, code in (("12.5M", "invalid_score"), ("-5", "negative_score"), ("O", None)):
        res = post_json(
            webapp,
            url,
            {"score_id": on_first.id, "score": typed, "confirm": True},
            status=400,
        )
        assert res.json["message"]
        if code is not None:
            assert res.json["error"] == code
    # A score of another machine is not reached from this one.
    res = post_json(
        webapp, url, {"score_id": on_second.id, "score": "5", "confirm": True}, status=404
    )
    assert res.json["error"] == "no_such_score"
    res = post_json(webapp, url, {"score_id": on_first.id, "score": "5"}, status=400)
    assert (res.json["error"], res.json["field"]) == ("missing_field", "confirm")
    assert "Yes, I checked" in res.json["message"]
    res = post_json(
        webapp, url, {"score_id": on_first.id, "score": "5", "confirm": False}, status=400
    )
    assert (res.json["error"], res.json["field"]) == ("not_confirmed", "confirm")
    # Unconfirmed is refused before anything is looked up.
    res = post_json(webapp, url, {"score_id": 999_999, "score": "5"}, status=400)
    assert res.json["error"] == "missing_field"
    # Without the CSRF token nothing happens.
    webapp.post_json(
        url,
        {"score_id": on_first.id, "score": "5", "confirm": True},
        headers=JSON,
        status=403,
    )
    dbsession.refresh(on_first)
    assert on_first.score == 1_000
    assert audit_rows(dbsession, "score.edit") == []
    # And as JSON it works, answering before and after.
    res = post_json(webapp, url, {"score_id": on_first.id, "score": "1,500", "confirm": True})
    assert res.json["score"] == {"id": on_first.id, "before": 1_000, "after": 1_500}


def test_add_a_missing_score(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    main = demo_event.tournaments[0]
    ep = player(dbsession, demo_event, 103)
    login_as(webapp, demo_event, "td")
    url = corrections_url(demo_event).replace("corrections", "add-score")
    # No ticket to put it on: refused in words.
    res = post_json(webapp, url, {"player": 103, "score": "4,000", "confirm": True}, status=409)
    assert res.json["error"] == "no_tokens"
    tickets.sell_tickets(dbsession, pss, player=ep, count=1, tournament=main, actor=STAFF)
    dbsession.flush()
    page = webapp.get(corrections_url(demo_event))
    form = page.forms["add-score-form"]
    form["player"] = "103"
    form["score"] = "4,000"
    confirm(form)
    done = form.submit(status=303).follow()
    assert "4,000 added for" in done.text
    [row] = audit_rows(dbsession, "score.add_missing")
    assert (row.details["before"], row.details["after"]) == (None, 4_000)
    assert row.player_id == ep.id
    assert standings(webapp)[103] == 4_000
    token = dbsession.scalars(select(Token).where(Token.player_id == ep.id)).one()
    assert token.used_at is not None
    # An unknown player is refused.
    res = post_json(webapp, url, {"player": 999, "score": "1", "confirm": True}, status=404)
    assert res.json["message"]


# --- entries ----------------------------------------------------------------------------------


def test_void_and_unvoid_an_entry(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    play(dbsession, pss, demo_event, 101, 0, 1_000)
    entry = dbsession.scalars(select(Entry)).one()
    login_as(webapp, demo_event, "td")
    page = webapp.get("/events/demo/players/101/corrections")
    form = page.forms[f"void-{entry.id}"]
    form["reason"] = "played on a broken machine"
    form.submit(status=400)  # unconfirmed
    dbsession.refresh(entry)
    assert entry.status == EntryStatus.COMPLETE
    confirm(form)
    done = form.submit(status=303).follow()
    assert f"Entry #{entry.id} of Ada Flipper is void" in done.text
    dbsession.refresh(entry)
    assert entry.status == EntryStatus.VOIDED
    assert 101 not in standings(webapp) or standings(webapp)[101] == 0
    [row] = audit_rows(dbsession, "entry.void")
    assert (row.details["before"], row.details["after"]) == ("complete", "voided")
    # Again: refused in words (no longer a form for it; JSON says why).
    assert (
        refused(
            webapp,
            "/events/demo/players/101/void-entry",
            {"entry_id": entry.id, "confirm": True},
            409,
        )
        == "already_voided"
    )
    # Counted again from its form.
    form = done.forms[f"unvoid-{entry.id}"]
    confirm(form)
    form.submit(status=303)
    dbsession.refresh(entry)
    assert entry.status == EntryStatus.COMPLETE
    assert standings(webapp)[101] == 1_000
    [row] = audit_rows(dbsession, "entry.unvoid")
    assert (row.details["before"], row.details["after"]) == ("voided", "complete")


def test_an_entry_of_someone_else_is_not_reached(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    play(dbsession, pss, demo_event, 102, 0, 1_000)
    entry = dbsession.scalars(select(Entry)).one()
    login_as(webapp, demo_event, "td")
    assert (
        refused(
            webapp,
            "/events/demo/players/101/void-entry",
            {"entry_id": entry.id, "confirm": True},
            404,
        )
        == "no_such_entry"
    )
    dbsession.refresh(entry)
    assert entry.status == EntryStatus.COMPLETE


# --- misconduct -------------------------------------------------------------------------------


def test_reverse_a_misconduct(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    token = play(dbsession, pss, demo_event, 101, 0, None)
    ep = player(dbsession, demo_event, 101)
    assert ep.offences == 1
    login_as(webapp, demo_event, "td")
    page = webapp.get("/events/demo/players/101/corrections")
    assert "slapped" in page.html.find(id=f"misconduct-{token.id}").text
    form = page.forms[f"reverse-{token.id}"]
    form["reason"] = "it was the machine"
    confirm(form)
    done = form.submit(status=303).follow()
    assert "The misconduct of Ada Flipper is reversed" in done.text
    assert done.html.find(id=f"misconduct-{token.id}") is None
    dbsession.refresh(token)
    dbsession.refresh(ep)
    assert (token.voided_at, token.used_at, ep.offences) == (None, None, 0)
    [row] = audit_rows(dbsession, "game.misconduct_reversed")
    assert (row.details["before"], row.details["after"]) == ("voided for misconduct", "unused")
    assert row.details["reason"] == "it was the machine"
    # Twice: refused in words.
    assert (
        refused(
            webapp,
            "/events/demo/players/101/reverse-misconduct",
            {"token_id": token.id, "confirm": True},
            409,
        )
        == "not_misconduct"
    )
    # A game of another player is not reached from this one.
    other = play(dbsession, pss, demo_event, 102, 1, None)
    assert (
        refused(
            webapp,
            "/events/demo/players/101/reverse-misconduct",
            {"token_id": other.id, "confirm": True},
            404,
        )
        == "no_such_game"
    )


def test_the_pages_link_to_the_corrections(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    play(dbsession, pss, demo_event, 101, 0, 1_000)
    machine = demo_event.tournaments[0].machines[0].id
    login_as(webapp, demo_event, "scorekeeper")
    assert webapp.get(f"/events/demo/machines/{machine}/").html.find(id="corrections-link") is None
    assert webapp.get("/events/demo/players/101/").html.find(id="corrections-link") is None
    login_as(webapp, demo_event, "td")
    link = webapp.get(f"/events/demo/machines/{machine}/").html.find(id="corrections-link")
    assert link["href"].endswith(f"/machines/{machine}/corrections")
    link = webapp.get("/events/demo/players/101/").html.find(id="corrections-link")
    assert link["href"].endswith("/players/101/corrections")


def _json_pages(webapp: TestApp, demo_event: Event) -> tuple[Any, Any]:
    machine = webapp.get(corrections_url(demo_event), headers=JSON).json
    person = webapp.get("/events/demo/players/101/corrections", headers=JSON).json
    return machine, person


def test_the_json_twins(webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event) -> None:
    play(dbsession, pss, demo_event, 101, 0, 1_000)
    token = play(dbsession, pss, demo_event, 101, 1, None)
    login_as(webapp, demo_event, "td")
    machine, person = _json_pages(webapp, demo_event)
    assert [(s["score"], s["entry"]["who"]["number"]) for s in machine["scores"]] == [(1_000, 101)]
    assert machine["urls"]["correct_score"].endswith("/correct-score")
    assert [e["status"] for e in person["entries"]] == ["voided", "complete"]
    assert [g["token_id"] for g in person["misconduct"]] == [token.id]
    paths = webapp.get("/api/openapi.json").json["paths"]
    for name in ("corrections", "correct-score", "add-score"):
        assert f"/events/{{event}}/machines/{{machine}}/{name}" in paths
    for name in ("corrections", "void-entry", "unvoid-entry", "reverse-misconduct"):
        assert f"/events/{{event}}/players/{{number}}/{name}" in paths
    post = paths["/events/{event}/machines/{machine}/correct-score"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"score_id", "score", "confirm"}
    assert post["x-permission"] == "manage"
