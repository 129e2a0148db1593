"""The status page and its JSON twin: transitions as buttons for the TD, the job's state,
``locked`` and ``invalid_status_change`` as 409s, and the tournament's JSON with its lifecycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.jobs import Runtime
from pss_core.lifecycle import work
from pss_core.mail.settings import MailSettings
from pss_core.models import Event
from pss_testing.web import JSON, login_as, post_form, post_json

URL = "/events/demo/tournaments/classics/"


def test_the_td_changes_the_status_and_sees_the_job(
    webapp: TestApp, dbsession: Session, demo_event: Event, pss: Any
) -> None:
    login_as(webapp, demo_event, "td")
    page = webapp.get(URL + "status")
    assert "Cancel the tournament" in page.text
    assert "Finalize" in page.text
    assert 'data-confirm="' in page.text
    res = post_json(webapp, URL + "status", {"status": "finalized"})
    assert (res.json["old_status"], res.json["status"]) == ("active", "finalized")
    job = res.json["scope"]["job"]
    assert job["kind"] == "freeze"
    # The test's transaction never really commits, so no job has run: it waits, and the
    # tournament is locked.
    assert job["state"] == "queued"
    assert res.json["scope"]["locked"] is True
    shown = webapp.get(URL, headers=JSON).json["tournament"]
    assert (shown["status"], shown["locked"], shown["job"]["state"]) == (
        "finalized",
        True,
        "queued",
    )
    refused = post_json(webapp, URL + "status", {"status": "active"}, status=409)
    assert refused.json["error"] == "locked"
    assert "being frozen" in refused.json["message"]
    # The worker runs it.
    work.run(
        Runtime(bind=dbsession.connection(), pss=pss, payments=None, mail=MailSettings()), job["id"]
    )
    status = webapp.get(URL + "status", headers=JSON).json["scope"]
    assert (status["job"]["state"], status["locked"]) == ("done", False)
    assert [s["number"] for s in status["snapshots"]] == [1]
    assert "Reopen" in webapp.get(URL + "status").text
    refused = post_json(webapp, URL + "status", {"status": "draft"}, status=409)
    assert refused.json["error"] == "invalid_status_change"


def test_draft_to_finalized_is_refused_and_settings_no_longer_set_the_status(
    webapp: TestApp, demo_event: Event
) -> None:
    login_as(webapp, demo_event, "td")
    post_form(webapp, URL + "status", {"status": "draft"}, status=303)
    refused = post_json(webapp, URL + "status", {"status": "finalized"}, status=409)
    assert refused.json["error"] in ("invalid_status_change", "locked")
    bad = post_json(webapp, URL + "status", {"status": "settled"}, status=400)
    assert bad.json["field"] == "status"
    edit = webapp.get(URL + "edit")
    assert 'name="status"' not in edit.text
    assert "Change the status" in edit.text


def test_only_directors_change_the_status(webapp: TestApp, demo_event: Event) -> None:
    login_as(webapp, demo_event, "desk")
    post_json(webapp, URL + "status", {"status": "draft"}, status=403)
