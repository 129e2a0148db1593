"""The TV view: one screen over the bank that cycles through each tournament's standings and its
machines, and keeps itself fresh by polling with ``If-None-Match`` (a 304 costs one query)."""

from __future__ import annotations

from typing import Any

from pss_core.models import MachineStatus, TournamentStatus
from pss_web.live import event_fingerprint
from pss_web.present import event_json, machine_json, tournament_json
from pss_web.resources import EventResource
from pss_web.security import Permission
from pss_web.viewkit import page
from pss_web.views.public import queue_lengths, standings_of

P = Permission
#: Rows of standings one slide shows (a TV is read from across the room).
ROWS_PER_SLIDE = 16


@page(context=EventResource, name="tv", permission=P.VIEW, template="public/tv.html",
      live=event_fingerprint)
def tv(context: EventResource, request: Any) -> dict[str, Any]:
    """Slides for a TV: per active tournament, the top of its standings and its machines.
    ``?seconds=`` sets how long each slide shows (default 12)."""
    event = context.event
    try:
        seconds = min(max(int(request.params.get("seconds", 12)), 3), 120)
    except ValueError:
        seconds = 12
    queues = queue_lengths(request, event.id)
    slides: list[dict[str, Any]] = []
    for t in event.tournaments:
        if t.status != TournamentStatus.ACTIVE:
            continue
        info = tournament_json(request, t, event)
        standings = standings_of(request, t)
        if standings is not None:
            rows = [r.as_dict() for r in standings.rows[:ROWS_PER_SLIDE]]
            slides.append({"kind": "standings", "tournament": info, "rows": rows,
                           "cut": standings.cut, "entrants": len(standings),
                           "points_label": standings.points_label,
                           "lowest_wins": standings.lowest_wins})
        machines = [{**machine_json(request, m, event), "queue": queues.get(m.id, 0)}
                    for m in t.machines if m.status != MachineStatus.REMOVED]
        if machines:
            slides.append({"kind": "machines", "tournament": info, "machines": machines})
    return {"event": event_json(request, event), "seconds": seconds, "slides": slides}
