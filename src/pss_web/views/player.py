"""The player's own page (logged in with number and PIN): games left, where they play or wait and
their place in the queue, the machines they can queue for, and their results.

    /events/<slug>/me                   the logged-in player's page (a redirect)
    /events/<slug>/players/<n>/play     the page (the player; staff see what the player sees)
    /events/<slug>/players/<n>/join     POST (the player): join ``machine``'s queue
    /events/<slug>/players/<n>/leave    POST (the player): leave their queue

Like the scorekeeper's pages, the action URLs answer GET with the page, so a refused action shows
the page again with the message. The page refreshes by itself (``live``).
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from pss_core.errors import DomainError, InvalidInput, PermissionDenied
from pss_core.models import (
    Entry,
    EntryStatus,
    EventPlayer,
    MachineStatus,
    Tournament,
    TournamentMachine,
    TournamentStatus,
)
from pss_core.payments.providers import sells_online
from pss_core.services import corrections, occupants, queues, tickets
from pss_web.forms import Field, parse
from pss_web.layout import add_event_nav
from pss_web.live import event_fingerprint
from pss_web.present import event_json, event_url, machine_json, tournament_json
from pss_web.resources import EventResource, PlayerResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page
from pss_web.views.desk import player_links, summary_json
from pss_web.views.public import player_page, queue_lengths

P = Permission

add_event_nav("My page", "me", permission=P.PLAY, order=5)


def own_player(request: Any, context: Any) -> EventPlayer:
    """The logged-in player, who must be the page's player."""
    identity = request.identity
    player: EventPlayer = context.player
    if identity is None or identity.player_id != player.id:
        raise PermissionDenied("Players can only do this for themselves.", code="not_yourself")
    return player


@view_config(context=EventResource, name="me", permission=P.PLAY, request_method=("GET", "HEAD"))
def me(context: EventResource, request: Any) -> Response:
    """Where the logged-in player's own page is (a redirect to it)."""
    number = request.identity.player_number
    return HTTPSeeOther(location=event_url(request, context.event, "players", number, "play"))


def _place_json(request: Any, event: Any, place: queues.QueuePlace | None) -> dict[str, Any] | None:
    if place is None:
        return None
    tm = request.dbsession.get(TournamentMachine, place.machine_id)
    assert tm is not None
    waiting = queue_lengths(request, event.id).get(tm.id, 0)
    return {
        "machine": machine_json(request, tm, event),
        "position": place.position,
        "ordinal": occupants.ordinal(place.position),
        "waiting": waiting,
        "bumped": place.bumped,
        "team": place.team_id is not None,
        "name": place.name,
    }


def _playable(request: Any, event: Any, ep: EventPlayer) -> list[dict[str, Any]]:
    """The tournaments where games start now, with the player's games left in each and the
    machines whose queues they could join."""
    session = request.dbsession
    waiting = queue_lengths(request, event.id)
    out = []
    for t in event.tournaments:
        if t.status != TournamentStatus.ACTIVE or not t.active:
            continue
        note = None
        try:
            team = tickets.token_owner(session, request.pss, t, ep)
            left = tickets.count_usable(
                session,
                request.pss,
                t,
                player_id=None if team else ep.id,
                team_id=team.id if team else None,
            )
        except DomainError as exc:
            left, note = 0, exc.message
        machines = [
            {
                **machine_json(request, tm, event),
                "queue": waiting.get(tm.id, 0),
                "open": tm.status == MachineStatus.ACTIVE and t.queuing_enabled,
            }
            for tm in t.machines
            if tm.status != MachineStatus.REMOVED
        ]
        out.append(
            {
                **tournament_json(request, t, event),
                "games_left": left,
                "note": note,
                "machines": machines,
            }
        )
    return out


def _open_entries(session: Any, ep: EventPlayer) -> list[dict[str, Any]]:
    """The player's unfinished multi-game entries (PAPA-style), which they may give up."""
    rows = session.scalars(
        select(Entry)
        .where(Entry.player_id == ep.id, Entry.status == EntryStatus.OPEN, Entry.games_allowed > 1)
        .order_by(Entry.id)
    ).all()
    return [
        {
            "id": e.id,
            "tournament": e.tournament_id,
            "tournament_name": session.get(Tournament, e.tournament_id).name,
            "games_played": len(e.scores),
            "games_allowed": e.games_allowed,
        }
        for e in rows
    ]


def play_page(context: PlayerResource, request: Any) -> dict[str, Any]:
    """A player's own page: games left per tournament, the game they are playing or their place
    in a queue, the machines they can queue for, and their results."""
    ep = context.player
    event = context.event
    session = request.dbsession
    public = player_page(context, request)
    base = event_url(request, event, "players", ep.number, "")
    return {
        "event": event_json(request, event),
        "player": player_links(request, event, ep),
        "is_me": public["is_me"],
        "playing": public["playing"],
        "place": _place_json(request, event, queues.place_of(session, ep)),
        "summary": summary_json(tickets.ticket_summary(session, ep)),
        "tournaments": _playable(request, event, ep),
        "results": public["results"],
        "teams": public["teams"],
        "open_entries": _open_entries(session, ep),
        "join_url": base + "join",
        "leave_url": base + "leave",
        "give_up_url": base + "give-up",
        "push_url": base + "push",
        "buy_url": event_url(request, event, "purchases", ""),
        # Links to buying online only where the event sells online.
        "sells_online": sells_online(session, request.pss, event),
    }


GIVE_UP_FIELDS = (
    Field(
        "entry",
        "int",
        required=True,
        label="Entry",
        minimum=1,
        help="The id of your unfinished entry to give up.",
    ),
)


@action(context=PlayerResource, name="give-up", permission=P.PLAY, fields=GIVE_UP_FIELDS)
def give_up(context: PlayerResource, request: Any) -> Response:
    """Give up your unfinished entry: its remaining games are used up and it never counts."""
    ep = own_player(request, context)
    values = parse(request, GIVE_UP_FIELDS)
    entry = request.dbsession.get(Entry, values["entry"])
    if entry is None or entry.event_id != context.event.id or entry.player_id != ep.id:
        raise InvalidInput("You have no such entry.", code="unknown_entry", field="entry")
    corrections.abandon_entry(
        request.dbsession, request.pss, entry=entry, actor=request.identity.actor
    )
    return done(
        request,
        event_url(request, context.event, "players", ep.number, "play"),
        {"entry": {"id": entry.id, "status": entry.status.value}},
        message="Entry given up; its remaining games are used.",
    )


for _name in ("play", "join", "leave", "give-up"):
    page(
        context=PlayerResource,
        name=_name,
        permission=P.SEE_PLAYER,
        template="player/play.html",
        live=event_fingerprint,
    )(play_page)


JOIN_FIELDS = (
    Field(
        "machine",
        "int",
        required=True,
        label="Machine",
        minimum=1,
        help="The id of the tournament machine whose queue to join.",
    ),
)


@action(context=PlayerResource, name="join", permission=P.PLAY, fields=JOIN_FIELDS)
def join(context: PlayerResource, request: Any) -> Response:
    """Join a machine's queue (leaving any other queue); refused without games left, when the
    queue is full or closed, or while playing."""
    ep = own_player(request, context)
    values = parse(request, JOIN_FIELDS)
    event = context.event
    tm = request.dbsession.get(TournamentMachine, values["machine"])
    if tm is None or tm.event_id != event.id:
        raise InvalidInput(
            "There is no such machine in this event.", code="unknown_machine", field="machine"
        )
    place = queues.join_queue(
        request.dbsession, request.pss, machine=tm, player=ep, actor=request.identity.actor
    )
    data = _place_json(request, event, place)
    message = f"You are {occupants.ordinal(place.position)} in the queue for {tm.machine.name}."
    return done(
        request,
        event_url(request, event, "players", ep.number, "play"),
        {"place": data},
        message=message,
        status=201,
    )


@action(context=PlayerResource, name="leave", permission=P.PLAY)
def leave(context: PlayerResource, request: Any) -> Response:
    """Leave the queue you are in."""
    ep = own_player(request, context)
    event = context.event
    left = queues.leave_queue(
        request.dbsession, request.pss, player=ep, actor=request.identity.actor
    )
    tm = request.dbsession.get(TournamentMachine, left.machine_id)
    where = tm.machine.name if tm is not None else "the machine"
    return done(
        request,
        event_url(request, event, "players", ep.number, "play"),
        {"left": {"machine_id": left.machine_id, "position": left.position}},
        message=f"You left the queue for {where}.",
    )
