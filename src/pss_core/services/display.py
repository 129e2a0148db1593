"""How an event shows itself on a TV over the bank: the director's settings for the slides."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import InvalidInput
from pss_core.models import Event

#: Slides shorter than this cannot be read; longer ones make a cycle of many tournaments too slow.
TV_SECONDS = (3, 600)
#: Fewer rows waste the screen; more cannot be read from across a room at 1080p.
TV_ROWS = (4, 40)


def tv_settings(event: Event) -> dict[str, Any]:
    return {"seconds": event.tv_seconds, "rows": event.tv_rows, "machines": event.tv_machines}


def set_tv_settings(
    session: Session,
    event: Event,
    *,
    seconds: int,
    rows: int,
    machines: bool = True,
    actor: Actor = audit.SYSTEM,
) -> Event:
    """Seconds per slide, standings rows per slide, and whether machine boards are shown."""
    low, high = TV_SECONDS
    if not low <= seconds <= high:
        raise InvalidInput(f"A slide shows for {low} to {high} seconds.", code="tv_seconds")
    low, high = TV_ROWS
    if not low <= rows <= high:
        raise InvalidInput(f"A slide shows {low} to {high} rows of standings.", code="tv_rows")
    before = tv_settings(event)
    event.tv_seconds, event.tv_rows, event.tv_machines = seconds, rows, machines
    session.flush()
    audit.record(
        session,
        actor,
        "event.tv_settings",
        event_id=event.id,
        subject=event,
        before=before,
        after=tv_settings(event),
    )
    return event
