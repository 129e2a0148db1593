"""The event's audit trail page for its tournament director, and the shared queue on a machine
page: newest first, filtered by action, player, machine, staff member and time (typed and shown
in the event's time zone), paged, each row linking to what it changed (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import AuditLog, Event, Score
from pss_core.plugins import Pss
from pss_core.services import games, queues, setup, tickets
from pss_testing.web import JSON, WHO, MatrixView, Who, check_matrix, login_as, post_json
from pss_web.views import audit

STAFF = Actor("test staff")


def td_here(who: Who, ev: str) -> bool:
    return who.kind == "staff" and who.event == ev and who.role == "td"


VIEWS: list[MatrixView] = [("GET", "/events/{slug}/audit", td_here)]


@pytest.mark.parametrize("who", WHO, ids=[w.name for w in WHO])
def test_permission_matrix(
    webapp: TestApp, dbsession: Session, two_events: dict[str, Event], who: Who
) -> None:
    assert check_matrix(webapp, dbsession, two_events, who, VIEWS) == []


def _play(session: Session, pss: Pss, event: Event, number: int, machine: int, score: int) -> None:
    main = event.tournaments[0]
    ep = setup.player_by_number(session, event.id, number)
    tickets.sell_tickets(session, pss, player=ep, count=1, tournament=main, actor=STAFF)
    tm = main.machines[machine]
    games.start_game(session, pss, machine=tm, player=ep, actor=STAFF)
    games.record_score(session, pss, machine=tm, score=score, actor=STAFF)
    session.flush()


@pytest.fixture
def played(webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event) -> dict[str, int]:
    """Ada (101) scores 1,000 on the first machine, Bo (102) 2,000 on the second; the tournament
    director then corrects Ada's score to 1,500 through the web (and stays logged in)."""
    _play(dbsession, pss, demo_event, 101, 0, 1_000)
    _play(dbsession, pss, demo_event, 102, 1, 2_000)
    ada = dbsession.scalars(select(Score).where(Score.score == 1_000)).one()
    m0, m1 = (tm.id for tm in demo_event.tournaments[0].machines[:2])
    login_as(webapp, demo_event, "td")
    post_json(
        webapp,
        f"/events/demo/machines/{m0}/correct-score",
        {"score_id": ada.id, "score": "1,500", "confirm": True, "reason": "typo"},
    )
    return {"score": ada.id, "m0": m0, "m1": m1}


def trail(app: TestApp, **params: object) -> Any:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return app.get(f"/events/demo/audit?{query}", headers=JSON).json


def actions_of(data: Any) -> list[str]:
    return [row["action"] for row in data["rows"]]


def test_every_row_newest_first(
    webapp: TestApp, dbsession: Session, demo_event: Event, played: dict[str, int]
) -> None:
    data = trail(webapp)
    all_rows = list(
        dbsession.scalars(
            select(AuditLog)
            .where(AuditLog.event_id == demo_event.id)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        )
    )
    assert [r["id"] for r in data["rows"]] == [r.id for r in all_rows]
    assert data["pagination"]["total"] == len(all_rows)
    newest = data["rows"][0]
    assert newest["action"] == "score.edit"
    assert (newest["details"]["before"], newest["details"]["after"]) == (1_000, 1_500)
    assert newest["by"] == "td-demo"
    assert newest["player"]["number"] == 101
    # The row links to the machine and to the correction of that very score.
    assert newest["subject_url"].endswith(f"/machines/{played['m0']}/")
    assert newest["correct_url"].endswith(
        f"/machines/{played['m0']}/corrections#score-{played['score']}"
    )
    page = webapp.get("/events/demo/audit")
    row = page.html.find(id=f"audit-{newest['id']}")
    assert "1000 → 1500" in " ".join(row.text.split())
    assert row.find("a", class_="correct")["href"] == newest["correct_url"]


def test_filters(webapp: TestApp, demo_event: Event, played: dict[str, int]) -> None:
    assert set(actions_of(trail(webapp, action="score"))) == {"score.edit"}
    assert set(actions_of(trail(webapp, action="game.score"))) == {"game.score"}
    assert len(actions_of(trail(webapp, action="game.score"))) == 2
    by_player = trail(webapp, player=102)
    assert {r["player"]["number"] for r in by_player["rows"]} == {102}
    assert "score.edit" not in actions_of(by_player)
    on_m0 = actions_of(trail(webapp, machine=played["m0"]))
    # Put in the bank, a game started and scored there, and the score on it corrected.
    assert set(on_m0) == {"machine.add", "game.start", "game.score", "score.edit"}
    on_m1 = actions_of(trail(webapp, machine=played["m1"]))
    assert set(on_m1) == {"machine.add", "game.start", "game.score"}
    assert actions_of(trail(webapp, staff="td-demo")) == ["score.edit", "login"]
    assert actions_of(trail(webapp, action="score", player=102)) == []


def test_bad_filters_are_refused_in_words(webapp: TestApp, played: dict[str, int]) -> None:
    for params, field in (
        ("staff=nobody", "staff"),
        ("machine=abc", "machine"),
        ("machine=99999", "machine"),
        ("since=yesterday", "since"),
    ):
        res = webapp.get(f"/events/demo/audit?{params}", headers=JSON, status=400)
        assert (res.json["error"], res.json["field"]) == ("invalid_field", field)
    res = webapp.get("/events/demo/audit?player=999", headers=JSON, status=404)
    assert res.json["message"]
    page = webapp.get("/events/demo/audit?staff=nobody", status=400)
    assert "nobody" in page.text


def test_times_in_the_event_time_zone(
    webapp: TestApp, dbsession: Session, demo_event: Event, played: dict[str, int]
) -> None:
    demo_event.time_zone = "Europe/Berlin"
    rows = list(dbsession.scalars(select(AuditLog).where(AuditLog.event_id == demo_event.id)))
    for row in rows:
        row.created_at = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    late = rows[0]
    late.created_at = datetime(2026, 6, 1, 12, 30, tzinfo=UTC)  # 14:30 in Berlin (CEST)
    dbsession.flush()
    # Typed in Berlin time: from 14:00 there is the one row of 12:30 UTC.
    data = trail(webapp, since="2026-06-01T14:00")
    assert [r["id"] for r in data["rows"]] == [late.id]
    assert data["rows"][0]["at"].startswith("2026-06-01T12:30")
    assert len(trail(webapp, until="2026-06-01T14:00")["rows"]) == len(rows) - 1
    page = webapp.get("/events/demo/audit?since=2026-06-01T14:00")
    assert "2026-06-01 14:30 CEST" in page.html.find(id=f"audit-{late.id}").text


def test_paged(
    webapp: TestApp, monkeypatch: pytest.MonkeyPatch, dbsession: Session, played: dict[str, int]
) -> None:
    everything = [r["id"] for r in trail(webapp)["rows"]]
    assert len(everything) > 4
    monkeypatch.setattr(audit, "ROWS_PER_PAGE", 2)
    first, second = trail(webapp), trail(webapp, page=2)
    assert [r["id"] for r in first["rows"]] == everything[:2]
    assert [r["id"] for r in second["rows"]] == everything[2:4]
    assert first["pagination"]["next"].endswith("page=2")
    page = webapp.get("/events/demo/audit")
    assert page.html.find("a", rel="next") is not None


# --- the shared queue on the machine page -----------------------------------------------------


def test_the_machine_page_shows_who_waits_for_a_shared_machine(
    webapp: TestApp, dbsession: Session, pss: Pss, demo_event: Event
) -> None:
    main, classics = demo_event.tournaments[:2]
    herb_m = main.machines[0]
    papa_m = setup.add_machine(dbsession, classics, herb_m.machine.name)
    dbsession.flush()
    ada, bo, cy = (setup.player_by_number(dbsession, demo_event.id, n) for n in (101, 102, 103))
    for ep, t in ((ada, main), (bo, classics), (cy, main)):
        tickets.sell_tickets(dbsession, pss, player=ep, count=1, tournament=t, actor=STAFF)
    games.start_game(dbsession, pss, machine=herb_m, player=ada, actor=STAFF)
    queues.join_queue(dbsession, pss, machine=papa_m, player=bo, actor=STAFF)  # first, for PAPA
    queues.join_queue(dbsession, pss, machine=herb_m, player=cy, actor=STAFF)
    dbsession.flush()
    for tm, here in ((herb_m, [False, True]), (papa_m, [True, False])):
        shared = webapp.get(f"/events/demo/machines/{tm.id}/", headers=JSON).json["shared_queue"]
        assert [(w["who"]["number"], w["tournament"]) for w in shared["waiting"]] == [
            (102, classics.name),
            (103, main.name),
        ]
        assert [w["here"] for w in shared["waiting"]] == here
    page = webapp.get(f"/events/demo/machines/{herb_m.id}/")
    lines = [" ".join(li.text.split()) for li in page.html.find(id="shared-queue").find_all("li")]
    assert lines == [f"Bo Tilt for {classics.name}", f"Cy Nudge for {main.name}"]
    # A machine in one bank only has no shared queue.
    alone = main.machines[1].id
    assert webapp.get(f"/events/demo/machines/{alone}/", headers=JSON).json["shared_queue"] is None
    assert webapp.get(f"/events/demo/machines/{alone}/").html.find(id="shared-queue") is None
