"""The event's time zone through WebTest: set on the event form (checked), the start and end typed
in it (across daylight saving time), every page showing times in it, and the page telling its
scripts which zone to show."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core.audit import Actor
from pss_core.models import Event, Purchase
from pss_core.services import admin
from pss_testing.web import JSON, login_admin, login_as, post_json


def test_the_event_form_sets_the_zone_and_reads_times_in_it(
    webapp: TestApp, demo_event: Event
) -> None:
    login_admin(webapp)
    page = webapp.get("/admin/events/demo/")
    form = next(f for f in page.forms.values() if "time_zone" in f.fields)
    assert form["time_zone"].value == "UTC"
    assert "Europe/Berlin" in page.text  # offered in the list of zones
    form["time_zone"] = "Europe/Berlin"
    form["starts_at"] = "2026-06-05T09:00"
    form["ends_at"] = "2026-06-07T18:30"
    form.submit(status=303)
    assert demo_event.time_zone == "Europe/Berlin"
    # Typed in Berlin's summer time (UTC+2), stored in UTC.
    assert demo_event.starts_at == datetime(2026, 6, 5, 7, 0, tzinfo=UTC)
    assert demo_event.ends_at == datetime(2026, 6, 7, 16, 30, tzinfo=UTC)
    # The form shows them back as they were typed.
    page = webapp.get("/admin/events/demo/")
    form = next(f for f in page.forms.values() if "time_zone" in f.fields)
    assert (form["starts_at"].value, form["ends_at"].value) == (
        "2026-06-05T09:00",
        "2026-06-07T18:30",
    )
    assert "Starts (Europe/Berlin)" in page.text
    # The JSON twin: UTC with its offset, and the zone.
    event = webapp.get("/admin/events/demo/", headers=JSON).json["event"]
    assert event["time_zone"] == "Europe/Berlin"
    assert event["starts_at"] == "2026-06-05T07:00:00+00:00"


def test_json_sets_the_zone_and_a_winter_time(webapp: TestApp, demo_event: Event) -> None:
    login_admin(webapp)
    res = post_json(
        webapp,
        "/admin/events/demo/",
        {"time_zone": "America/Chicago", "starts_at": "2026-01-10T09:00"},
    )
    assert res.json["changed"] == ["starts_at", "time_zone"]
    # Chicago in January is UTC-6.
    assert demo_event.starts_at == datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
    # A time with its own offset keeps it.
    post_json(webapp, "/admin/events/demo/", {"starts_at": "2026-01-10T09:00:00+00:00"})
    assert demo_event.starts_at == datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


def test_a_time_the_clocks_skip_is_refused_on_the_form(webapp: TestApp, demo_event: Event) -> None:
    login_admin(webapp)
    res = post_json(
        webapp,
        "/admin/events/demo/",
        {"time_zone": "Europe/Berlin", "starts_at": "2026-03-29T02:30"},
        status=400,
    )
    assert res.json["error"] == "nonexistent_time"
    assert demo_event.time_zone == "UTC"  # nothing of the refused form was kept


def test_an_unknown_zone_is_refused(webapp: TestApp, demo_event: Event) -> None:
    login_admin(webapp)
    res = post_json(webapp, "/admin/events/demo/", {"time_zone": "Berlin"}, status=400)
    assert res.json["error"] == "invalid_time_zone"
    page = webapp.get("/admin/events/demo/")
    form = next(f for f in page.forms.values() if "time_zone" in f.fields)
    form["time_zone"] = "Mars/Olympus"
    res = form.submit(status=400)
    assert "Mars/Olympus is not a time zone" in res.text
    assert demo_event.time_zone == "UTC"


def test_pages_show_times_in_the_event_zone(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    admin.update_event(dbsession, demo_event, actor=Actor("owner"), time_zone="Asia/Kolkata")
    login_as(webapp, demo_event, "desk")
    post_json(
        webapp,
        "/events/demo/players/101/sell",
        {"scope": "tournament:main", "tickets": 1},
        status=201,
    )
    purchase = dbsession.scalars(select(Purchase)).one()
    # Kolkata is UTC+05:30 all year: a zone no browser or server default would guess.
    local = purchase.created_at.astimezone(UTC).replace(tzinfo=None)
    expected = f"{local + timedelta(hours=5, minutes=30):%Y-%m-%d %H:%M} IST"
    history = webapp.get("/events/demo/players/101/history")
    assert expected in history.text
    assert 'data-time-zone="Asia/Kolkata"' in history.text
    purchases = webapp.get("/events/demo/players/101/purchases")
    assert expected in purchases.text
    assert "UTC" not in re.sub(r"<script.*?</script>", "", purchases.text, flags=re.S)


def test_pages_outside_an_event_are_in_utc_and_the_list_in_each_events_zone(
    webapp: TestApp, dbsession: Session, demo_event: Event
) -> None:
    admin.update_event(
        dbsession,
        demo_event,
        actor=Actor("owner"),
        time_zone="Europe/Berlin",
        starts_at=datetime(2026, 6, 5, 7, 0, tzinfo=UTC),
    )
    page = webapp.get("/events/")
    assert 'data-time-zone="UTC"' in page.text  # the page itself
    assert "2026-06-05 09:00 CEST" in page.text
    assert 'data-time-zone="Europe/Berlin"' in page.text  # the event's own time
