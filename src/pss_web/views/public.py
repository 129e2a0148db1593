"""Public pages: the events list, an event's home, standings with the cut line, machines, players,
teams and metatournaments. Everything here needs no login and has a JSON twin."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from pss_core.contract import points_json
from pss_core.errors import Refused
from pss_core.models import (
    Event,
    EventPlayer,
    MachineStatus,
    Metatournament,
    Player,
    QueueSlot,
    Team,
    TeamMember,
    Tournament,
    TournamentMachine,
    TournamentStatus,
)
from pss_core.standings import Standings, compute_standings
from pss_web.live import event_fingerprint
from pss_web.present import (
    app_url,
    event_json,
    event_url,
    machine_json,
    metatournament_json,
    player_json,
    team_json,
    tournament_json,
)
from pss_web.resources import (
    EventResource,
    EventsContainer,
    MachineResource,
    MachinesContainer,
    MetatournamentResource,
    MetatournamentsContainer,
    PlayerResource,
    PlayersContainer,
    Root,
    TeamResource,
    TeamsContainer,
    TournamentResource,
    TournamentsContainer,
)
from pss_web.sanity import plain_number
from pss_web.security import Permission
from pss_web.viewkit import JsonReady, page
from pss_web.views.manage import new_tournament_form
from pss_web.views.shared_queue import shared_queue_json

P = Permission
EVENTS_PER_PAGE = 20
PLAYERS_PER_PAGE = 50


def page_number(request: Any) -> int:
    try:
        return max(int(request.params.get("page", 1)), 1)
    except ValueError:
        return 1


def pagination(request: Any, total: int, per_page: int) -> dict[str, Any]:
    number = page_number(request)
    pages = max(math.ceil(total / per_page), 1)
    number = min(number, pages)

    def link(n: int) -> str:
        params = {**request.GET, "page": str(n)}
        return request.path_url + "?" + "&".join(f"{k}={v}" for k, v in params.items())

    return {
        "page": number,
        "pages": pages,
        "per_page": per_page,
        "total": total,
        "prev": link(number - 1) if number > 1 else None,
        "next": link(number + 1) if number < pages else None,
        "offset": (number - 1) * per_page,
    }


def standings_of(request: Any, tournament: Tournament) -> Standings | None:
    """The tournament's standings (cached per version), or ``None`` if its format has none."""
    try:
        return compute_standings(
            request.dbsession,
            request.pss,
            tournament,
            cache=request.registry.get("pss.standings_cache"),
        )
    except Refused:
        return None


def tournament_machines(request: Any, tournament: Tournament) -> list[TournamentMachine]:
    """The tournament's machines with their games and whoever is on them, in one query."""
    return list(
        request.dbsession.scalars(
            select(TournamentMachine)
            .where(TournamentMachine.tournament_id == tournament.id)
            .options(
                joinedload(TournamentMachine.machine),
                joinedload(TournamentMachine.player),
                joinedload(TournamentMachine.team),
            )
            .order_by(TournamentMachine.id)
        )
    )


def queue_lengths(request: Any, event_id: int) -> dict[int, int]:
    rows = request.dbsession.execute(
        select(QueueSlot.tournament_machine_id, func.count(QueueSlot.id))
        .where(QueueSlot.event_id == event_id)
        .group_by(QueueSlot.tournament_machine_id)
    ).all()
    return dict(rows)


def visible_tournaments(request: Any, event: Event) -> list[Tournament]:
    """Tournaments the public sees: everything but cancelled ones; drafts only to staff."""
    staff = request.has_permission(P.MANAGE)
    return [
        t
        for t in event.tournaments
        if t.status != TournamentStatus.CANCELLED and (staff or t.status != TournamentStatus.DRAFT)
    ]


# --- events -----------------------------------------------------------------------------------


@page(context=Root, permission=P.VIEW, template="public/events.html")
@page(context=EventsContainer, permission=P.VIEW, template="public/events.html")
def events_list(context: Any, request: Any) -> dict[str, Any]:
    """All events, newest first, a page at a time (``?page=2``)."""
    session = request.dbsession
    total = session.scalar(select(func.count(Event.id))) or 0
    pages = pagination(request, total, EVENTS_PER_PAGE)
    events = session.scalars(
        select(Event)
        .order_by(Event.active.desc(), Event.starts_at.desc().nulls_last(), Event.id.desc())
        .offset(pages["offset"])
        .limit(EVENTS_PER_PAGE)
    ).all()
    return {
        "events": [event_json(request, e) for e in events],
        "pagination": pages,
        "admin_url": app_url(request, "admin", ""),
    }


@page(
    context=EventResource, permission=P.VIEW, template="public/event.html", live=event_fingerprint
)
def event_home(context: EventResource, request: Any) -> dict[str, Any]:
    """An event's home: its tournaments with their machines and leaders."""
    event = context.event
    queues = queue_lengths(request, event.id)
    tournaments = []
    for t in visible_tournaments(request, event):
        standings = standings_of(request, t)
        machines = [m for m in t.machines if m.status != MachineStatus.REMOVED]
        tournaments.append(
            {
                **tournament_json(request, t, event),
                "machines_active": sum(1 for m in machines if m.status == MachineStatus.ACTIVE),
                "machines_total": len(machines),
                "machines_free": sum(
                    1
                    for m in machines
                    if m.status == MachineStatus.ACTIVE
                    and m.player_id is None
                    and m.team_id is None
                    and not queues.get(m.id)
                ),
                "leaders": [row.as_dict() for row in (standings.rows[:3] if standings else ())],
                "entrants": len(standings) if standings else 0,
            }
        )
    return {
        "event": event_json(request, event),
        "tournaments": tournaments,
        "tv_url": event_url(request, event, "tv"),
        "can_manage": bool(request.has_permission(P.MANAGE)),
    }


# --- tournaments ------------------------------------------------------------------------------


@page(context=TournamentsContainer, permission=P.VIEW, template="public/tournaments.html")
def tournaments_list(context: TournamentsContainer, request: Any) -> dict[str, Any]:
    """The event's tournaments (a tournament director also gets the form to add one)."""

    event = context.event
    data: dict[str, Any] = {
        "event": event_json(request, event),
        "tournaments": [
            tournament_json(request, t, event) for t in visible_tournaments(request, event)
        ],
    }
    if request.has_permission(P.MANAGE):
        data["new_tournament"] = new_tournament_form(request)
    return data


def standings_json(standings: Standings | None, *, breakdown: bool) -> dict[str, Any] | None:
    """Standings as data; without ``breakdown`` each row leaves out its machines and entries
    (a player's page has them), which keeps a 400-player table small enough for a phone."""
    if standings is None:
        return None
    # Plain JSON already: the JSON twin writes it without another pass over every row.
    return JsonReady(standings.as_dict(breakdown=breakdown))


def wants_breakdown(request: Any) -> bool:
    return request.params.get("breakdown", "") in ("1", "true", "yes")


@page(
    context=TournamentResource,
    permission=P.VIEW,
    template="public/tournament.html",
    live=event_fingerprint,
)
def tournament_standings(context: TournamentResource, request: Any) -> dict[str, Any]:
    """A tournament's standings, the qualifying cut marked, and its machines.
    ``?breakdown=1`` adds every row's machine results and entries."""
    t = context.tournament
    event = context.event
    standings = standings_of(request, t)
    queues = queue_lengths(request, event.id)
    machines = [
        {**machine_json(request, m, event), "queue": queues.get(m.id, 0)}
        for m in tournament_machines(request, t)
        if m.status != MachineStatus.REMOVED
    ]
    return {
        "event": event_json(request, event),
        "tournament": tournament_json(request, t, event),
        "standings": standings_json(standings, breakdown=wants_breakdown(request)),
        "machines": machines,
        "can_manage": bool(request.has_permission(P.MANAGE)),
    }


# --- machines ---------------------------------------------------------------------------------


def machine_results(standings: Standings | None, tm_id: int) -> list[dict[str, Any]]:
    """Every score on one machine, best first, with its rank and points there."""
    if standings is None:
        return []
    out = []
    for row in standings.rows:
        games = [g for g in row.machines if g.machine_id == tm_id]
        for entry in row.entries:
            games += [g for g in entry.games if g.machine_id == tm_id]
        for g in games:
            out.append(
                {
                    "rank": g.rank,
                    "points": points_json(g.points),
                    "score": g.score,
                    "competitor": row.competitor.as_dict(),
                    "name": row.competitor.name,
                }
            )
    out.sort(key=lambda r: (r["rank"], r["name"]))
    return out


@page(
    context=MachinesContainer,
    permission=P.VIEW,
    template="public/machines.html",
    live=event_fingerprint,
)
def machines_list(context: MachinesContainer, request: Any) -> dict[str, Any]:
    """Every machine of the event, by tournament: whether it is up, who is on it and how many
    wait (the target of a machine page's breadcrumb)."""
    event = context.event
    queues = queue_lengths(request, event.id)
    return {
        "event": event_json(request, event),
        "tournaments": [
            {
                **tournament_json(request, t, event),
                "machines": [
                    {**machine_json(request, m, event), "queue": queues.get(m.id, 0)}
                    for m in t.machines
                    if m.status != MachineStatus.REMOVED
                ],
            }
            for t in visible_tournaments(request, event)
        ],
    }


@page(
    context=MachineResource,
    permission=P.VIEW,
    template="public/machine.html",
    live=event_fingerprint,
)
def machine_page(context: MachineResource, request: Any) -> dict[str, Any]:
    """One machine: who is on it, how long its queue is, and every score on it; for a machine
    that several tournaments share, everyone waiting for it (``shared_queue``)."""
    tm = context.machine
    event = context.event
    return {
        "event": event_json(request, event),
        "tournament": tournament_json(request, tm.tournament, event),
        "machine": {
            **machine_json(request, tm, event),
            "queue": queue_lengths(request, event.id).get(tm.id, 0),
        },
        "results": machine_results(standings_of(request, tm.tournament), tm.id),
        "shared_queue": shared_queue_json(request, event, tm),
        "can_manage": bool(request.has_permission(P.MANAGE)),
    }


# --- players and teams ------------------------------------------------------------------------


@page(context=PlayersContainer, permission=P.VIEW, template="public/players.html")
def players_list(context: PlayersContainer, request: Any) -> dict[str, Any]:
    """Registered players by number; ``?q=`` finds by name or number."""
    event = context.event
    q = (request.params.get("q") or "").strip()
    query = (
        select(EventPlayer)
        .join(Player, Player.id == EventPlayer.player_id)
        .where(EventPlayer.event_id == event.id)
    )
    if q:
        if q.lstrip("#").isdigit():
            # A number too large (or not in plain digits) to be anyone's finds nobody.
            query = query.where(EventPlayer.number == (plain_number(q.lstrip("#")) or -1))
        else:
            like = f"%{q.lower()}%"
            query = query.where(
                or_(
                    func.lower(Player.first_name + " " + Player.last_name).like(like),
                    func.lower(Player.last_name).like(like),
                )
            )
    session = request.dbsession
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = pagination(request, total, PLAYERS_PER_PAGE)
    players = session.scalars(
        query.order_by(EventPlayer.number).offset(pages["offset"]).limit(PLAYERS_PER_PAGE)
    ).all()
    return {
        "event": event_json(request, event),
        "q": q,
        "pagination": pages,
        "players": [player_json(request, ep, event) for ep in players],
    }


@page(
    context=PlayerResource, permission=P.VIEW, template="public/player.html", live=event_fingerprint
)
def player_page(context: PlayerResource, request: Any) -> dict[str, Any]:
    """One player's results in every tournament, and where they are playing or queued."""
    ep = context.player
    event = context.event
    session = request.dbsession
    team_ids = list(
        session.scalars(
            select(TeamMember.team_id)
            .join(Team)
            .where(Team.event_id == event.id, TeamMember.event_player_id == ep.id)
        )
    )
    results = []
    for t in visible_tournaments(request, event):
        standings = standings_of(request, t)
        if standings is None:
            continue
        row = None
        if t.is_team:
            for team_id in team_ids:
                row = standings.find(id=team_id) or row
        else:
            row = standings.find(id=ep.id)
        if row is not None:
            results.append(
                {
                    "tournament": tournament_json(request, t, event),
                    "standing": row.as_dict(),
                    "cut": standings.cut,
                    "points_label": standings.points_label,
                    "entrants": len(standings),
                }
            )
    playing = session.scalars(
        select(TournamentMachine).where(TournamentMachine.player_id == ep.id)
    ).first()
    slot = session.scalars(select(QueueSlot).where(QueueSlot.player_id == ep.id)).first()
    queued = None
    if slot is not None:
        tm = session.get(TournamentMachine, slot.tournament_machine_id)
        assert tm is not None
        queued = {"machine": machine_json(request, tm, event), "position": slot.position}
    teams = (
        [
            team_json(request, team, event)
            for team in session.scalars(select(Team).where(Team.id.in_(team_ids)))
        ]
        if team_ids
        else []
    )
    return {
        "event": event_json(request, event),
        "player": player_json(request, ep, event),
        "results": results,
        "playing": machine_json(request, playing, event) if playing else None,
        "queued": queued,
        "teams": teams,
        "is_me": request.identity is not None and request.identity.player_id == ep.id,
    }


@page(context=TeamsContainer, permission=P.VIEW, template="public/teams.html")
def teams_list(context: TeamsContainer, request: Any) -> dict[str, Any]:
    """The event's teams and their members (the desk also gets the form to add one)."""
    event = context.event
    teams = request.dbsession.scalars(
        select(Team).where(Team.event_id == event.id).order_by(Team.name)
    ).all()
    return {
        "event": event_json(request, event),
        "teams": [team_json(request, team, event) for team in teams],
        "can_create": bool(request.has_permission(P.SELL)),
    }


@page(context=TeamResource, permission=P.VIEW, template="public/team.html")
def team_page(context: TeamResource, request: Any) -> dict[str, Any]:
    """One team and its members."""
    return {
        "event": event_json(request, context.event),
        "team": team_json(request, context.team, context.event),
    }


@page(context=MetatournamentsContainer, permission=P.VIEW, template="public/metatournaments.html")
def metatournaments_list(context: MetatournamentsContainer, request: Any) -> dict[str, Any]:
    """Metatournaments: tickets good in any of several tournaments."""
    event = context.event
    metas = request.dbsession.scalars(
        select(Metatournament)
        .where(Metatournament.event_id == event.id)
        .order_by(Metatournament.name)
    ).all()
    data: dict[str, Any] = {
        "event": event_json(request, event),
        "metatournaments": [metatournament_json(request, m, event) for m in metas],
    }
    if request.has_permission(P.MANAGE):
        taken = {m.tournament_id for meta in metas for m in meta.members}
        data["free_tournaments"] = [
            {"slug": t.slug, "name": t.name, "format": t.format}
            for t in event.tournaments
            if t.id not in taken and not t.is_team
        ]
    return data


@page(context=MetatournamentResource, permission=P.VIEW, template="public/metatournament.html")
def metatournament_page(context: MetatournamentResource, request: Any) -> dict[str, Any]:
    """One metatournament and the tournaments its tickets are good in."""
    meta = context.metatournament
    event = context.event
    by_id = {t.id: t for t in event.tournaments}
    return {
        "event": event_json(request, event),
        "metatournament": metatournament_json(request, meta, event),
        "tournaments": [
            tournament_json(request, by_id[m.tournament_id], event) for m in meta.members
        ],
    }
