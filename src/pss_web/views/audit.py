"""The event's audit trail for its tournament director (``/events/<slug>/audit``): every change,
newest first, found by action, player, machine, staff member and time (typed in the event's time
zone), a page at a time. Each row links to what it changed and, for a score, entry or misconduct,
to the page that corrects it."""

from __future__ import annotations

from typing import Any

from pss_core.errors import InvalidInput
from pss_core.models import AuditLog, Event, EventPlayer, Score, TournamentMachine
from pss_core.services import audit_trail, setup
from pss_web.forms import Field, parse_value
from pss_web.layout import add_event_nav
from pss_web.present import event_json, event_url
from pss_web.resources import EventResource
from pss_web.security import Permission
from pss_web.viewkit import page
from pss_web.views.desk import history_json, removed_staff_ids, scope_names
from pss_web.views.public import pagination
from pss_web.zones import zone_name

P = Permission

add_event_nav("Audit", "audit", permission=P.MANAGE, order=92)

ROWS_PER_PAGE = 50

FILTERS = (
    Field(
        "action",
        label="Action",
        max_length=64,
        help="An action (score.edit) or its kind (score).",
    ),
    Field("player", "int", label="Player number", minimum=1),
    Field("machine", "int", label="Machine", minimum=1),
    Field("staff", label="Staff member", max_length=200, help="A username."),
    Field("since", "datetime", label="From"),
    Field("until", "datetime", label="Until"),
)


def _filters(request: Any) -> dict[str, Any]:
    zone = zone_name(request)
    return {f.name: parse_value(f, request.GET.get(f.name), zone) for f in FILTERS}


def _query(request: Any, event: Event, values: dict[str, Any]) -> audit_trail.AuditQuery:
    session = request.dbsession
    player_id = None
    if values["player"] is not None:
        player_id = setup.player_by_number(session, event.id, values["player"]).id
    machine_id = values["machine"]
    if machine_id is not None:
        tm = session.get(TournamentMachine, machine_id)
        if tm is None or tm.event_id != event.id:
            raise InvalidInput(
                f"This event has no machine #{machine_id}.", code="invalid_field", field="machine"
            )
    user_id = None
    if values["staff"]:
        wanted = values["staff"].lower()
        found = [
            uid for uid, name in audit_trail.staff(session, event.id) if name.lower() == wanted
        ]
        if not found:
            raise InvalidInput(
                f"Nobody called {values['staff']!r} is on this event's staff.",
                code="invalid_field",
                field="staff",
            )
        user_id = found[0]
    return audit_trail.AuditQuery(
        action=values["action"] or None,
        player_id=player_id,
        machine_id=machine_id,
        user_id=user_id,
        since=values["since"],
        until=values["until"],
    )


def _links(request: Any, event: Event, row: AuditLog) -> dict[str, str | None]:
    """Where the row's change can be seen, and where it can be corrected."""
    session = request.dbsession
    subject: str | None = None
    correct: str | None = None
    if row.subject_type == Score.__name__ and row.subject_id is not None:
        score = session.get(Score, row.subject_id)
        if score is not None:
            subject = event_url(request, event, "machines", score.tournament_machine_id, "")
            correct = (
                event_url(request, event, "machines", score.tournament_machine_id, "corrections")
                + f"#score-{score.id}"
            )
    elif row.subject_type == TournamentMachine.__name__ and row.subject_id is not None:
        subject = event_url(request, event, "machines", row.subject_id, "")
        if row.action in ("game.score", "game.misconduct"):
            correct = event_url(request, event, "machines", row.subject_id, "corrections")
    player = session.get(EventPlayer, row.player_id) if row.player_id is not None else None
    if player is not None:
        subject = subject or event_url(request, event, "players", player.number, "")
        if row.action == "game.misconduct" or row.subject_type in ("Entry", "Token"):
            correct = event_url(request, event, "players", player.number, "corrections")
    return {"subject_url": subject, "correct_url": correct}


def _player_of(request: Any, event: Event, row: AuditLog) -> dict[str, Any] | None:
    if row.player_id is None:
        return None
    ep = request.dbsession.get(EventPlayer, row.player_id)
    if ep is None:
        return None
    return {
        "number": ep.number,
        "name": ep.name,
        "url": event_url(request, event, "players", ep.number, ""),
    }


@page(context=EventResource, name="audit", permission=P.MANAGE, template="manage/audit.html")
def audit_page(context: EventResource, request: Any) -> dict[str, Any]:
    """Every audit row of the event, newest first, 50 a page (``?page=``): who did what to whom
    and when, with the value before and after a correction. Filter with ``action`` (an action or
    its kind), ``player`` (a number), ``machine`` (an id), ``staff`` (a username), ``since`` and
    ``until`` (times in the event's time zone)."""
    event = context.event
    session = request.dbsession
    values = _filters(request)
    query = _query(request, event, values)
    pages = pagination(request, audit_trail.count(session, event.id, query), ROWS_PER_PAGE)
    rows = audit_trail.search(session, event.id, query, offset=pages["offset"], limit=ROWS_PER_PAGE)
    names = scope_names(session, event)
    actions = audit_trail.actions(session, event.id)
    removed = removed_staff_ids(session, event.id)
    machines = [
        {"id": tm.id, "name": f"{tm.machine.name} ({t.name})"}
        for t in event.tournaments
        for tm in t.machines
    ]
    return {
        "event": event_json(request, event),
        "filters": {
            k: request.GET.get(k, "")
            for k in ("action", "player", "machine", "staff", "since", "until")
        },
        "actions": actions,
        "kinds": sorted({a.partition(".")[0] for a in actions if "." in a}),
        "staff": [name for _, name in audit_trail.staff(session, event.id)],
        "machines": machines,
        "pagination": pages,
        "rows": [
            {
                **history_json(row, event.currency, names, removed),
                "player": _player_of(request, event, row),
                **_links(request, event, row),
            }
            for row in rows
        ],
        "url": event_url(request, event, "audit"),
    }
