"""The time zone a request's times are shown and typed in: its event's (see
:mod:`pss_core.timezones`), UTC outside any event."""

from __future__ import annotations

from typing import Any

from pyramid.location import lineage

from pss_core import timezones
from pss_core.models import Event


def event_of(request: Any) -> Event | None:
    for node in lineage(getattr(request, "context", None)):
        event = getattr(node, "event", None)
        if isinstance(event, Event):
            return event
    return None


def zone_name(request: Any) -> str:
    event = event_of(request) if request is not None else None
    return event.time_zone if event is not None and event.time_zone else timezones.DEFAULT
