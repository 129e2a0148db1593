"""IFPA look-ups through the web app (both backends, against the local fake IFPA): the owner sets
the event's key (never shown back), the desk registers, and the desk's list and its JSON twin show
the IFPA number, the WPPR rank and what the look-up found; "look up again" asks once more."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.models import AuditLog, Event
from pss_core.services import ifpa
from pss_testing.fakeifpa import FakeIfpa, IfpaJobs
from pss_testing.web import JSON, login_admin, login_as, post_form, post_json


def test_owner_sets_the_ifpa_key_and_never_sees_it(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    login_admin(webapp)
    assert "/admin/events/demo/ifpa" in webapp.get("/admin/events/demo/").text
    page = webapp.get("/admin/events/demo/ifpa")
    assert page.html.find(id="ifpa-key").text == "not set"
    res = post_form(webapp, "/admin/events/demo/ifpa", {"api_key": "owner-ifpa-key"}, status=303)
    page = res.follow()
    assert page.html.find(id="ifpa-key").text == "set"
    assert "owner-ifpa-key" not in page.text
    assert demo_event.ifpa_api_key == "owner-ifpa-key"
    twin = webapp.get("/admin/events/demo/ifpa", headers=JSON).json
    assert twin["ifpa"] == {"api_key_set": True}
    assert "owner-ifpa-key" not in str(twin)
    bad = post_json(webapp, "/admin/events/demo/ifpa", {"api_key": "two words"}, status=400)
    assert bad.json["error"] == "invalid_ifpa_key"
    cleared = post_json(webapp, "/admin/events/demo/ifpa", {"clear": True})
    assert cleared.json["ifpa"] == {"api_key_set": False}
    audit = dbsession.scalars(select(AuditLog).where(AuditLog.action == "event.ifpa_key")).all()
    assert len(audit) == 2
    assert all("owner-ifpa-key" not in str(a.details) for a in audit)


def test_the_desk_sees_what_the_look_up_found(
    webapp: TestApp, dbsession: Session, demo_event: Event, pss: Any, fake_ifpa: FakeIfpa
) -> None:
    jobs = IfpaJobs(dbsession, pss)
    fake_ifpa.add_player(1001, "Ada", "Lovelace", rank=7)
    fake_ifpa.add_player(2001, "Bob", "Smith", rank=40)
    fake_ifpa.add_player(2002, "Bob", "Smith", rank=41)
    demo_event.ifpa_api_key = fake_ifpa.api_key
    dbsession.commit()
    login_as(webapp, demo_event, "desk")
    ada = post_json(webapp, "/events/demo/desk", {"first_name": "Ada", "last_name": "Lovelace"})
    bob = post_json(webapp, "/events/demo/desk", {"first_name": "Bob", "last_name": "Smith"})
    assert ada.status_int == bob.status_int == 201
    assert fake_ifpa.request_count == 0  # registered before the IFPA was asked
    jobs.commit()
    found = webapp.get("/events/demo/desk", {"q": "Lovelace"}, headers=JSON).json["players"]
    assert [(p["ifpa_id"], p["ifpa_rank"], p["ifpa_lookup"]["state"]) for p in found] == [
        (1001, 7, ifpa.FOUND)
    ]
    page = webapp.get("/events/demo/desk", {"q": "Smith"})
    line = page.html.find(id="found").text
    assert "2 IFPA players are named Bob Smith (#2001, #2002); enter the number." in line
    ada_page = webapp.get("/events/demo/desk", {"q": "Lovelace"}).html.find(id="found").text
    assert "IFPA #1001 · WPPR 7" in ada_page
    # The edit page shows the look-up; "look up again" asks the IFPA once more.
    number = bob.json["player"]["number"]
    edit = webapp.get(f"/events/demo/players/{number}/edit")
    assert edit.html.find(id="ifpa-lookup")["data-state"] == ifpa.SEVERAL
    before = fake_ifpa.request_count
    again = post_json(webapp, f"/events/demo/players/{number}/ifpa-lookup", {})
    assert again.json["requested"] is True
    jobs.commit()
    assert fake_ifpa.request_count == before + 1


def test_without_a_key_the_desk_sees_no_look_up(
    webapp: TestApp, dbsession: Session, demo_event: Event, pss: Any, fake_ifpa: FakeIfpa
) -> None:
    jobs = IfpaJobs(dbsession, pss)
    fake_ifpa.add_player(1001, "Ada", "Lovelace", rank=7)
    login_as(webapp, demo_event, "desk")
    ada = post_json(webapp, "/events/demo/desk", {"first_name": "Ada", "last_name": "Lovelace"})
    jobs.commit()
    assert ada.json["player"]["ifpa_lookup"] is None
    found = webapp.get("/events/demo/desk", {"q": "Lovelace"}, headers=JSON).json["players"]
    assert [(p["ifpa_id"], p["ifpa_lookup"]) for p in found] == [(None, None)]
    assert fake_ifpa.request_count == 0
    again = post_json(
        webapp, f"/events/demo/players/{ada.json['player']['number']}/ifpa-lookup", {}
    )
    assert again.json["requested"] is False
