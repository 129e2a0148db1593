"""The event's time zone: names are checked, wall-clock times become UTC across daylight saving
time (a skipped time is refused, a repeated one is the first), and the admin service stores it
with an audit row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import timezones
from pss_core.audit import Actor
from pss_core.errors import InvalidInput
from pss_core.models import AuditLog, Event
from pss_core.services import admin


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/Chicago", "UTC"])
def test_known_zones(name: str) -> None:
    assert timezones.check_time_zone(f" {name} ") == name


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "CEST+2", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "x" * 65]
)
def test_unknown_zones_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        timezones.check_time_zone(name)
    assert info.value.code == "invalid_time_zone"


def test_a_summer_time_in_berlin() -> None:
    utc = timezones.from_local(datetime(2026, 6, 1, 9, 0), "Europe/Berlin")
    assert utc == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    assert timezones.to_local(utc, "Europe/Berlin").strftime("%H:%M %Z") == "09:00 CEST"


def test_a_time_the_clocks_skip_is_refused() -> None:
    # 2026-03-29: Berlin's clocks go from 02:00 straight to 03:00.
    with pytest.raises(InvalidInput) as info:
        timezones.from_local(datetime(2026, 3, 29, 2, 30), "Europe/Berlin", field="starts_at")
    assert info.value.code == "nonexistent_time"
    assert info.value.details["field"] == "starts_at"
    assert timezones.from_local(datetime(2026, 3, 29, 3, 0), "Europe/Berlin") == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )


def test_a_time_the_clocks_show_twice_is_the_first() -> None:
    # 2026-10-25: Berlin shows 02:00-03:00 twice, first in summer time (UTC+2).
    utc = timezones.from_local(datetime(2026, 10, 25, 2, 30), "Europe/Berlin")
    assert utc == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    later = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert timezones.to_local(later, "Europe/Berlin").strftime("%H:%M %Z") == "02:30 CET"


def test_a_time_with_an_offset_keeps_it() -> None:
    typed = datetime.fromisoformat("2026-06-01T09:00:00-05:00")
    assert timezones.from_local(typed, "Europe/Berlin") == datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


def test_a_name_no_longer_known_shows_utc() -> None:
    assert timezones.zone("Nowhere/Gone").key == "UTC"


def test_the_admin_service_sets_the_zone(dbsession: Session, demo_event: Event) -> None:
    assert demo_event.time_zone == "UTC"
    diff = admin.update_event(
        dbsession, demo_event, actor=Actor("owner"), time_zone="America/Chicago"
    )
    assert diff == {"time_zone": {"before": "UTC", "after": "America/Chicago"}}
    row = dbsession.scalars(
        select(AuditLog).where(AuditLog.action == "event.update").order_by(AuditLog.id.desc())
    ).first()
    assert row is not None
    assert row.details["changes"]["time_zone"]["after"] == "America/Chicago"
    with pytest.raises(InvalidInput):
        admin.update_event(dbsession, demo_event, actor=Actor("owner"), time_zone="Chicago")
    assert demo_event.time_zone == "America/Chicago"
