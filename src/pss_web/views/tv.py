"""The TV view: one full screen over the bank that cycles through each tournament's standings
(paged, with the cut line) and its machine boards (who plays, who waits), with the event's name and
a QR code to its page. It keeps itself fresh by polling with ``If-None-Match`` (a 304 costs one
query). The director sets how long each slide shows, how many rows it holds and whether machine
boards are shown, on ``tv-settings``.

Other parts of pss add slides with :func:`add_tv_slides`: a function of ``(request, tournament,
event, settings)`` returning slide dicts, each with a ``kind`` that names its template
``public/tv_<kind>.html`` (finals brackets come in this way)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pyramid.response import Response
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from pss_core.models import (
    Event,
    EventPlayer,
    MachineStatus,
    QueueSlot,
    Team,
    Tournament,
    TournamentStatus,
)
from pss_core.services import display
from pss_web.forms import Field, parse
from pss_web.layout import add_event_nav
from pss_web.live import event_fingerprint
from pss_web.present import event_json, event_url, machine_json, tournament_json
from pss_web.resources import EventResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page
from pss_web.views.badges import lan_event_url
from pss_web.views.public import standings_of

P = Permission
#: Machine boards one slide shows (three rows of three cards at 1080p).
MACHINES_PER_SLIDE = 9
#: Names of a queue a machine card shows; the rest are counted.
QUEUE_NAMES = 4

SlideMaker = Callable[[Any, Tournament, Event, dict[str, Any]], list[dict[str, Any]]]
_SLIDE_MAKERS: list[tuple[int, str, SlideMaker]] = []


def add_tv_slides(name: str, maker: SlideMaker, *, order: int = 50) -> None:
    """Show ``maker``'s slides for every tournament on the TV, in ``order`` among the others
    (standings are 10, machines 20); registering a name again replaces its maker."""
    _SLIDE_MAKERS[:] = [m for m in _SLIDE_MAKERS if m[1] != name]
    _SLIDE_MAKERS.append((order, name, maker))
    _SLIDE_MAKERS.sort(key=lambda m: (m[0], m[1]))


def paged(items: list[Any], per_page: int) -> list[tuple[int, int, list[Any]]]:
    """``(page, pages, items)`` for each page of ``items`` (at least one page)."""
    pages = max(1, math.ceil(len(items) / per_page))
    return [(n + 1, pages, items[n * per_page : (n + 1) * per_page]) for n in range(pages)]


def standings_slides(
    request: Any, t: Tournament, event: Event, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    standings = standings_of(request, t)
    if standings is None:
        return []
    info = tournament_json(request, t, event)
    rows = [r.as_dict() for r in standings.rows]
    # The cut line goes under the last qualifier, decided over all rows, not one page.
    for i, row in enumerate(rows):
        row["cut_after"] = (
            bool(row.get("qualified")) and i + 1 < len(rows) and not rows[i + 1].get("qualified")
        )
    return [
        {
            "kind": "standings",
            "tournament": info,
            "title": "Standings",
            "page": n,
            "pages": pages,
            "rows": chunk,
            "cut": standings.cut,
            "entrants": len(rows),
            "points_label": standings.points_label,
            "lowest_wins": standings.lowest_wins,
        }
        for n, pages, chunk in paged(rows, settings["rows"])
    ]


def queue_names(request: Any, event_id: int) -> dict[int, list[str]]:
    """Tournament machine id → the names waiting there, first in line first."""
    slots = request.dbsession.scalars(
        select(QueueSlot)
        .where(QueueSlot.event_id == event_id)
        .order_by(QueueSlot.tournament_machine_id, QueueSlot.position)
    ).all()
    players = {s.player_id for s in slots if s.player_id is not None}
    teams = {s.team_id for s in slots if s.team_id is not None}
    player_names = (
        {
            ep.id: ep.name
            for ep in request.dbsession.scalars(
                select(EventPlayer)
                .where(EventPlayer.id.in_(players))
                .options(joinedload(EventPlayer.player))
            )
        }
        if players
        else {}
    )
    team_names = (
        dict(
            request.dbsession.execute(select(Team.id, Team.name).where(Team.id.in_(teams)))
            .tuples()
            .all()
        )
        if teams
        else {}
    )
    out: dict[int, list[str]] = {}
    for s in slots:
        name = (
            player_names.get(s.player_id)
            if s.player_id is not None
            else team_names.get(s.team_id or 0)
        )
        out.setdefault(s.tournament_machine_id, []).append(name or "?")
    return out


def machines_slides(
    request: Any, t: Tournament, event: Event, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    if not settings["machines"]:
        return []
    queues = settings["queues"]
    machines = []
    for m in t.machines:
        if m.status == MachineStatus.REMOVED:
            continue
        waiting = queues.get(m.id, [])
        machines.append(
            {
                **machine_json(request, m, event),
                "queue": len(waiting),
                "next": waiting[:QUEUE_NAMES],
                "more": max(0, len(waiting) - QUEUE_NAMES),
            }
        )
    if not machines:
        return []
    info = tournament_json(request, t, event)
    return [
        {
            "kind": "machines",
            "tournament": info,
            "title": "Machines",
            "page": n,
            "pages": pages,
            "machines": chunk,
        }
        for n, pages, chunk in paged(machines, MACHINES_PER_SLIDE)
    ]


add_tv_slides("standings", standings_slides, order=10)
add_tv_slides("machines", machines_slides, order=20)
add_event_nav("TV settings", "tv-settings", permission=P.MANAGE, order=91)


def seconds_of(request: Any, event: Event) -> int:
    """The director's seconds per slide; ``?seconds=`` overrides them for one screen."""
    try:
        seconds = int(request.params.get("seconds", event.tv_seconds))
    except ValueError:
        seconds = event.tv_seconds
    low, high = display.TV_SECONDS
    return min(max(seconds, low), high)


@page(
    context=EventResource,
    name="tv",
    permission=P.VIEW,
    template="public/tv.html",
    live=event_fingerprint,
)
def tv(context: EventResource, request: Any) -> dict[str, Any]:
    """Slides for a TV: per running tournament, its standings (paged, with the cut line) and its
    machines with who is playing and who waits, in the order the director chose."""
    event = context.event
    settings = {**display.tv_settings(event), "queues": queue_names(request, event.id)}
    slides: list[dict[str, Any]] = []
    for t in event.tournaments:
        if t.status != TournamentStatus.ACTIVE:
            continue
        for _order, _name, maker in _SLIDE_MAKERS:
            slides.extend(maker(request, t, event, settings))
    return {
        "event": event_json(request, event),
        "seconds": seconds_of(request, event),
        "slides": slides,
        "qr_url": event_url(request, event, "qr.svg"),
        "home_url": event_url(request, event, ""),
        "lan_url": lan_event_url(request, event),
    }


TV_FIELDS = (
    Field(
        "seconds",
        "int",
        required=True,
        label="Seconds per slide",
        minimum=display.TV_SECONDS[0],
        maximum=display.TV_SECONDS[1],
    ),
    Field(
        "rows",
        "int",
        required=True,
        label="Standings rows per slide",
        minimum=display.TV_ROWS[0],
        maximum=display.TV_ROWS[1],
        help="Longer standings are shown over several slides.",
    ),
    Field("machines", "bool", label="Show the machines (who plays, who waits)"),
)


@page(
    context=EventResource,
    name="tv-settings",
    permission=P.MANAGE,
    template="manage/tv_settings.html",
)
def tv_settings_page(context: EventResource, request: Any) -> dict[str, Any]:
    """How the TV cycles: seconds per slide, rows per slide, and whether machines are shown."""
    event = context.event
    return {
        "event": event_json(request, event),
        "settings": display.tv_settings(event),
        "tv_url": event_url(request, event, "tv"),
        "url": event_url(request, event, "tv-settings"),
    }


@action(context=EventResource, name="tv-settings", permission=P.MANAGE, fields=TV_FIELDS)
def save_tv_settings(context: EventResource, request: Any) -> Response:
    """Save how the TV cycles; every TV showing the event picks it up on its next refresh."""
    values = parse(request, TV_FIELDS)
    event = display.set_tv_settings(
        request.dbsession,
        context.event,
        seconds=values["seconds"],
        rows=values["rows"],
        machines=values["machines"],
        actor=request.actor,
    )
    return done(
        request,
        event_url(request, event, "tv-settings"),
        {"settings": display.tv_settings(event)},
        message="TV settings saved.",
    )
