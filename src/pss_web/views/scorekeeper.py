"""Scorekeeping: the machine board, and per machine the game in progress (start the next player,
record the score, void, misconduct, take off) and its queue (add, bump, put first, remove).

    /events/<slug>/board                        every machine: status, who plays, how many wait
    /events/<slug>/machines/<id>/keep           one machine for its scorekeeper
    /events/<slug>/machines/<id>/start          POST: start the head of the queue, or ``player``
    /events/<slug>/machines/<id>/score          POST: record the score of the game in progress
    /events/<slug>/machines/<id>/void           POST: void the game (its ticket is used)
    /events/<slug>/machines/<id>/misconduct     POST: void it for misconduct (an offence noted)
    /events/<slug>/machines/<id>/remove-player  POST: take the player off (the ticket is kept)
    /events/<slug>/machines/<id>/queue          POST: add ``player`` to the queue (``at_head``: TD)
    /events/<slug>/machines/<id>/bump           POST: the head is not there: move them down one
    /events/<slug>/machines/<id>/dequeue        POST: take ``player`` out of the queue
    /events/<slug>/machines/<id>/status         POST: down for repair, back in play (see manage)

Each action's URL also answers GET with the machine's page, so a refused action shows that page
again with the message and what was typed. Both pages refresh by themselves (``live``).
"""

from __future__ import annotations

from typing import Any

from pyramid.response import Response
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from pss_core.models import (
    Entry,
    Event,
    EventPlayer,
    MachineStatus,
    QueueSlot,
    Score,
    Team,
    TournamentMachine,
    TournamentStatus,
)
from pss_core.services import games, occupants, queues, setup
from pss_web.forms import Field, parse
from pss_web.layout import add_event_nav
from pss_web.live import event_fingerprint
from pss_web.present import event_json, event_url, machine_json, tournament_json
from pss_web.resources import EventResource, MachineResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page
from pss_web.views.public import queue_lengths

P = Permission

add_event_nav("Scorekeeping", "board", permission=P.SCOREKEEP, order=26)

#: How many of a machine's latest scores its page shows (to check what was typed).
RECENT_SCORES = 5


def person_json(
    request: Any, event: Event, player_id: int | None, team_id: int | None
) -> dict[str, Any] | None:
    """Who a game, queue place or score belongs to: a player with their number, or a team."""
    session = request.dbsession
    if team_id is not None:
        team = session.get(Team, team_id)
        assert team is not None
        members = [m.event_player for m in team.members]
        return {
            "kind": "team",
            "id": team.id,
            "name": f"Team {team.name}",
            "numbers": [m.number for m in members],
            "members": [f"{m.name} (#{m.number})" for m in members],
            "url": event_url(request, event, "teams", team.id, ""),
        }
    if player_id is not None:
        ep = session.get(EventPlayer, player_id)
        assert ep is not None
        return {
            "kind": "player",
            "id": ep.id,
            "name": ep.name,
            "number": ep.number,
            "numbers": [ep.number],
            "url": event_url(request, event, "players", ep.number, ""),
        }
    return None


def keep_url(request: Any, event: Event, tm: TournamentMachine, name: str = "keep") -> str:
    return event_url(request, event, "machines", tm.id, name)


def _tournaments_in_play(request: Any, event: Event) -> list[Any]:
    """Active tournaments, and drafts for those who may manage (nobody else may see them)."""
    drafts = bool(request.has_permission(P.MANAGE))
    return [
        t
        for t in event.tournaments
        if t.status == TournamentStatus.ACTIVE or (drafts and t.status == TournamentStatus.DRAFT)
    ]


# --- the board --------------------------------------------------------------------------------


@page(
    context=EventResource,
    name="board",
    permission=P.SCOREKEEP,
    template="scorekeeper/board.html",
    live=event_fingerprint,
)
def board(context: EventResource, request: Any) -> dict[str, Any]:
    """Every machine of the tournaments in play: its status, who is playing it since when, how
    many wait in its queue and who is next."""
    event = context.event
    session = request.dbsession
    waiting = queue_lengths(request, event.id)
    heads = {
        slot.tournament_machine_id: slot
        for slot in session.scalars(
            select(QueueSlot).where(QueueSlot.event_id == event.id, QueueSlot.position == 1)
        )
    }
    tournaments = []
    for t in _tournaments_in_play(request, event):
        machines = []
        for tm in t.machines:
            if tm.status == MachineStatus.REMOVED:
                continue
            head = heads.get(tm.id)
            machines.append(
                {
                    **machine_json(request, tm, event),
                    "queue": waiting.get(tm.id, 0),
                    "next": person_json(request, event, head.player_id, head.team_id)
                    if head is not None
                    else None,
                    "keep_url": keep_url(request, event, tm),
                }
            )
        tournaments.append({**tournament_json(request, t, event), "machines": machines})
    return {"event": event_json(request, event), "tournaments": tournaments}


# --- one machine ------------------------------------------------------------------------------


def machine_state(request: Any, event: Event, tm: TournamentMachine) -> dict[str, Any]:
    """A machine as its scorekeeper sees it: the game in progress, the queue, the latest scores."""
    session = request.dbsession
    game = None
    if tm.token_id is not None:
        game = {
            "token_id": tm.token_id,
            "started_at": tm.game_started_at,
            "who": person_json(request, event, tm.player_id, tm.team_id),
        }
    queue = [
        {
            "position": place.position,
            "name": place.name,
            "bumped": place.bumped,
            "joined_at": place.joined_at,
            "who": person_json(request, event, place.player_id, place.team_id),
        }
        for place in queues.queue_for(session, tm)
    ]
    recent = []
    # One query names them all (not a lookup per score).
    for score, entry, ep, team in session.execute(
        select(Score, Entry, EventPlayer, Team)
        .join(Entry, Entry.id == Score.entry_id)
        .outerjoin(EventPlayer, EventPlayer.id == Entry.player_id)
        .outerjoin(Team, Team.id == Entry.team_id)
        .where(Score.tournament_machine_id == tm.id)
        .order_by(Score.id.desc())
        .limit(RECENT_SCORES)
        .options(joinedload(EventPlayer.player))
    ):
        name = f"Team {team.name}" if team is not None else ep.name if ep is not None else "?"
        recent.append(
            {
                "score": score.score,
                "recorded_at": score.recorded_at,
                "name": name,
                "entry_status": entry.status,
            }
        )
    return {**machine_json(request, tm, event), "queue": queue, "game": game, "recent": recent}


_ACTIONS = (
    "start",
    "score",
    "void",
    "misconduct",
    "remove-player",
    "queue",
    "bump",
    "dequeue",
    "status",
)


def keep_page(context: MachineResource, request: Any) -> dict[str, Any]:
    """One machine for its scorekeeper: start the next player, record the score (or void, note
    misconduct, take the player off) and manage the queue."""
    tm = context.machine
    event = context.event
    urls = {
        name.replace("-", "_"): keep_url(request, event, tm, name) for name in ("keep", *_ACTIONS)
    }
    return {
        "event": event_json(request, event),
        "tournament": tournament_json(request, tm.tournament, event),
        "machine": machine_state(request, event, tm),
        "urls": {
            **urls,
            "board": event_url(request, event, "board"),
            "bank": event_url(request, event, "tournaments", tm.tournament.slug, "machines"),
        },
        "can_insert_at_head": bool(request.has_permission(P.MANAGE, context)),
    }


for _name in ("keep", *_ACTIONS):
    page(
        context=MachineResource,
        name=_name,
        permission=P.SCOREKEEP,
        template="scorekeeper/machine.html",
        live=event_fingerprint,
    )(keep_page)


def _player(request: Any, event: Event, number: int) -> EventPlayer:
    return setup.player_by_number(request.dbsession, event.id, number)


def _name_of(request: Any, event: Event, player_id: int | None, team_id: int | None) -> str:
    who = person_json(request, event, player_id, team_id)
    return who["name"] if who else "Nobody"


def _answer(
    context: MachineResource,
    request: Any,
    message: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    tm = context.machine
    event = context.event
    data = {"machine": machine_state(request, event, tm), **(extra or {})}
    return done(request, keep_url(request, event, tm), data, message=message, status=status)


def _started_words(
    request: Any, event: Event, started: games.GameStarted, tm: TournamentMachine
) -> str:
    return f"{started.name} is playing {tm.machine.name}."


def _started_json(started: games.GameStarted | None) -> dict[str, Any] | None:
    if started is None:
        return None
    return {
        "machine_id": started.machine_id,
        "token_id": started.token_id,
        "entry_id": started.entry_id,
    }


START_FIELDS = (
    Field(
        "player",
        "int",
        label="Player number",
        minimum=1,
        help="Empty: the first in the machine's queue.",
    ),
)


@action(context=MachineResource, name="start", permission=P.SCOREKEEP, fields=START_FIELDS)
def start(context: MachineResource, request: Any) -> Response:
    """Start a game: the first in the machine's queue, or the player with number ``player``
    (refused while others wait ahead of them)."""
    values = parse(request, START_FIELDS)
    tm = context.machine
    event = context.event
    actor = request.actor
    if values["player"] is None:
        started = queues.start_from_head(request.dbsession, request.pss, machine=tm, actor=actor)
    else:
        started = games.start_game(
            request.dbsession,
            request.pss,
            machine=tm,
            player=_player(request, event, values["player"]),
            actor=actor,
        )
    return _answer(
        context,
        request,
        _started_words(request, event, started, tm),
        {"started": _started_json(started)},
        status=201,
    )


#: Required: an action without it would land on whoever is on the machine by the time it
#: arrives (the next player, started from the queue by a first scorekeeper's save).
TOKEN_FIELD = Field(
    "token_id",
    "int",
    required=True,
    label="The game (token) you are looking at",
    minimum=1,
    help="The game's token_id, as the machine's page shows it: a game that "
    "ended or changed meanwhile is refused (409 game_changed), never "
    "overwritten.",
)
SCORE_FIELDS = (
    Field(
        "score",
        required=True,
        label="Score",
        max_length=40,
        help="A whole number; thousands separators are fine (12,345,670).",
    ),
    TOKEN_FIELD,
)
END_FIELDS = (TOKEN_FIELD, Field("reason", label="Why (for the log)"))


def _after(request: Any, event: Event, ended: games.GameEnded, tm: TournamentMachine) -> str:
    if ended.next_game is not None:
        return " " + _started_words(request, event, ended.next_game, tm)
    if ended.advance_refused:
        return f" The next in the queue could not start: {ended.advance_refused}"
    return ""


def _ended_json(ended: games.GameEnded) -> dict[str, Any]:
    return {
        "token_id": ended.token_id,
        "entry_id": ended.entry_id,
        "score": ended.score,
        "voided": ended.voided,
        "misconduct": ended.misconduct,
        "removed": ended.removed,
        "next_game": _started_json(ended.next_game),
        "advance_refused": ended.advance_refused,
    }


@action(context=MachineResource, name="score", permission=P.SCOREKEEP, fields=SCORE_FIELDS)
def score(context: MachineResource, request: Any) -> Response:
    """Record the score of the game in progress (its ticket is used); the next in the queue
    starts at once.

    ``token_id`` names the game the score is for (the machine page's ``game.token_id``) and is
    required; when that game has ended or was replaced meanwhile the answer is 409
    ``game_changed`` and nothing is recorded."""
    values = parse(request, SCORE_FIELDS)
    tm = context.machine
    event = context.event
    ended = games.record_score(
        request.dbsession,
        request.pss,
        machine=tm,
        score=values["score"],
        token_id=values["token_id"],
        actor=request.actor,
    )
    message = f"{ended.score:,} recorded for {ended.name} on {tm.machine.name}." + _after(
        request, event, ended, tm
    )
    return _answer(context, request, message, {"ended": _ended_json(ended)})


def _end(context: MachineResource, request: Any, how: str) -> Response:
    values = parse(request, END_FIELDS)
    tm = context.machine
    event = context.event
    service = {
        "void": games.void_game,
        "misconduct": games.misconduct,
        "remove": games.remove_from_machine,
    }[how]
    ended = service(
        request.dbsession,
        request.pss,
        machine=tm,
        token_id=values["token_id"],
        reason=values["reason"] or "",
        actor=request.actor,
    )
    who = ended.name
    words = {
        "void": f"The game of {who} on {tm.machine.name} is void; the ticket is used.",
        "misconduct": f"The game of {who} on {tm.machine.name} is void for misconduct; "
        "the offence is on record.",
        "remove": f"{who} is off {tm.machine.name}; the ticket was not used.",
    }[how]
    return _answer(
        context, request, words + _after(request, event, ended, tm), {"ended": _ended_json(ended)}
    )


@action(context=MachineResource, name="void", permission=P.SCOREKEEP, fields=END_FIELDS)
def void(context: MachineResource, request: Any) -> Response:
    """Void the game in progress: no score is kept and its ticket is used.

    ``token_id`` (required) names the game; 409 ``game_changed`` when it is no longer on."""
    return _end(context, request, "void")


@action(context=MachineResource, name="misconduct", permission=P.SCOREKEEP, fields=END_FIELDS)
def misconduct(context: MachineResource, request: Any) -> Response:
    """Void the game in progress for misconduct: as void, and an offence on the player.

    ``token_id`` (required) names the game; 409 ``game_changed`` when it is no longer on."""
    return _end(context, request, "misconduct")


@action(context=MachineResource, name="remove-player", permission=P.SCOREKEEP, fields=END_FIELDS)
def remove_player(context: MachineResource, request: Any) -> Response:
    """Take the player off the machine without using their ticket (the machine broke, the wrong
    player was started).

    ``token_id`` (required) names the game; 409 ``game_changed`` when it is no longer on."""
    return _end(context, request, "remove")


# --- the queue --------------------------------------------------------------------------------

QUEUE_FIELDS = (
    Field("player", "int", required=True, label="Player number", minimum=1),
    Field("at_head", "bool", label="Put them first (tournament director)"),
)
DEQUEUE_FIELDS = (Field("player", "int", required=True, label="Player number", minimum=1),)


@action(context=MachineResource, name="queue", permission=P.SCOREKEEP, fields=QUEUE_FIELDS)
def enqueue(context: MachineResource, request: Any) -> Response:
    """Add a player (or their team) to the end of the machine's queue; with ``at_head`` a
    tournament director puts them first."""
    values = parse(request, QUEUE_FIELDS)
    tm = context.machine
    event = context.event
    service = queues.insert_at_head if values["at_head"] else queues.join_queue
    place = service(
        request.dbsession,
        request.pss,
        machine=tm,
        player=_player(request, event, values["player"]),
        actor=request.actor,
    )
    message = (
        f"{place.name} is {occupants.ordinal(place.position)} in the queue for {tm.machine.name}."
    )
    return _answer(
        context,
        request,
        message,
        {"place": {"position": place.position, "name": place.name}},
        status=201,
    )


@action(context=MachineResource, name="bump", permission=P.SCOREKEEP)
def bump(context: MachineResource, request: Any) -> Response:
    """The first in the queue is not at the machine: move them down one place (bumped a second
    time, they lose their place)."""
    tm = context.machine
    event = context.event
    bumped = queues.bump(request.dbsession, request.pss, machine=tm, actor=request.actor)
    who = _name_of(request, event, bumped.player_id, bumped.team_id)
    message = (
        f"{who} was bumped a second time and is out of the queue."
        if bumped.removed
        else f"{who} is now {occupants.ordinal(bumped.position or 1)} in the queue."
    )
    return _answer(
        context,
        request,
        message,
        {"bumped": {"removed": bumped.removed, "position": bumped.position}},
    )


@action(context=MachineResource, name="dequeue", permission=P.SCOREKEEP, fields=DEQUEUE_FIELDS)
def dequeue(context: MachineResource, request: Any) -> Response:
    """Take a player (or their team) out of the machine's queue."""
    values = parse(request, DEQUEUE_FIELDS)
    tm = context.machine
    event = context.event
    left = queues.leave_queue(
        request.dbsession,
        request.pss,
        player=_player(request, event, values["player"]),
        machine=tm,
        actor=request.actor,
    )
    return _answer(
        context,
        request,
        f"{left.name} is out of the queue for {tm.machine.name}.",
        {"left": {"position": left.position, "name": left.name}},
    )
