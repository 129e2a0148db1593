"""The tournament director's corrections, from the machine and the player (the services are
:mod:`pss_core.services.corrections`):

    /events/<slug>/machines/<id>/corrections        every score on the machine, to correct
    /events/<slug>/machines/<id>/correct-score      POST: change a recorded score
    /events/<slug>/machines/<id>/add-score          POST: add a score that was never recorded
    /events/<slug>/players/<n>/corrections          the player's entries and misconduct voids
    /events/<slug>/players/<n>/void-entry           POST: void an entry (its scores stop counting)
    /events/<slug>/players/<n>/unvoid-entry         POST: count a voided entry again
    /events/<slug>/players/<n>/reverse-misconduct   POST: undo a misconduct void

Every action needs ``confirm`` (the form's "yes, I checked" box), writes an audit row with the
value before and after, and the standings follow at once. A refused one shows its page again
with the message and what was typed.
"""

from __future__ import annotations

from typing import Any

from pyramid.response import Response

from pss_core.errors import InvalidInput
from pss_core.models import Entry, EntryStatus, Event, Tournament, TournamentMachine
from pss_core.services import correctable, corrections, setup
from pss_web.forms import Field, parse
from pss_web.live import event_fingerprint
from pss_web.present import event_json, event_url, machine_json, player_json, tournament_json
from pss_web.resources import MachineResource, PlayerResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page
from pss_web.views.scorekeeper import SCORE_FIELDS, person_json

P = Permission

CONFIRM_FIELD = Field(
    "confirm",
    "bool",
    required=True,
    label="Yes, I checked this correction",
    help="Must be true: corrections change the standings at once.",
)
REASON_FIELD = Field("reason", label="Why (for the log)")
#: The score as the scorekeeper types it (separators fine, 64-bit).
SCORE_FIELD = SCORE_FIELDS[0]


def _confirmed(request: Any, values: dict[str, Any], what: str) -> None:
    """Refuse the correction unless ``confirm`` is true: ``missing_field`` when it was not sent
    at all (a form's unticked box), ``not_confirmed`` when it was sent false. Checked before any
    lookup, so an unconfirmed request is refused the same way whatever it names."""
    if values["confirm"]:
        return
    raise InvalidInput(
        f"Tick “Yes, I checked” to {what}; nothing was changed.",
        code="missing_field" if request.submitted.get("confirm") in (None, "") else "not_confirmed",
        field="confirm",
    )


def _tournament_url(request: Any, event: Event, tournament: Tournament) -> str:
    return event_url(request, event, "tournaments", tournament.slug, "")


def _corrections_pages(context: type, actions: tuple[str, ...], what: str, view: Any) -> None:
    """The corrections page, also at each action's URL (a refused action shows it again)."""
    for name in ("corrections", *actions):
        page(
            context=context,
            name=name,
            permission=P.MANAGE,
            template=f"manage/{what}_corrections.html",
            live=event_fingerprint,
        )(view)


# --- on a machine -----------------------------------------------------------------------------

MACHINE_ACTIONS = ("correct-score", "add-score")


def _machine_url(request: Any, context: MachineResource, name: str = "corrections") -> str:
    return event_url(request, context.event, "machines", context.machine.id, name)


def _entry_json(request: Any, event: Event, entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "status": entry.status,
        "games_allowed": entry.games_allowed,
        "created_at": entry.created_at,
        "voided_at": entry.voided_at,
        "who": person_json(request, event, entry.player_id, entry.team_id),
    }


def machine_corrections(context: MachineResource, request: Any) -> dict[str, Any]:
    """Every score recorded on this machine, newest first, each with a form to correct it; and a
    form to add a score that was played but never recorded (tournament director)."""
    tm = context.machine
    event = context.event
    lines = correctable.machine_scores(request.dbsession, tm)
    return {
        "event": event_json(request, event),
        "tournament": tournament_json(request, tm.tournament, event),
        "machine": machine_json(request, tm, event),
        "scores": [
            {
                "id": line.score.id,
                "score": line.score.score,
                "recorded_at": line.score.recorded_at,
                "entry": _entry_json(request, event, line.entry),
            }
            for line in lines
        ],
        "urls": {
            "correct_score": _machine_url(request, context, "correct-score"),
            "add_score": _machine_url(request, context, "add-score"),
            "standings": _tournament_url(request, event, tm.tournament),
            "audit": event_url(request, event, "audit", query={"machine": tm.id}),
        },
    }


_corrections_pages(MachineResource, MACHINE_ACTIONS, "machine", machine_corrections)


CORRECT_SCORE_FIELDS = (
    Field("score_id", "int", required=True, label="The score to correct", minimum=1),
    SCORE_FIELD,
    REASON_FIELD,
    CONFIRM_FIELD,
)


@action(
    context=MachineResource,
    name="correct-score",
    permission=P.MANAGE,
    fields=CORRECT_SCORE_FIELDS,
)
def correct_score(context: MachineResource, request: Any) -> Response:
    """Change a score recorded on this machine (a typo); the standings follow. ``score_id``
    names the score (the corrections page's ``scores[].id``); ``confirm`` must be true."""
    values = parse(request, CORRECT_SCORE_FIELDS)
    _confirmed(request, values, "change this score")
    session = request.dbsession
    row = correctable.score_on_machine(session, context.machine, values["score_id"])
    before = row.score
    corrections.edit_score(
        session,
        request.pss,
        score=row,
        new_score=values["score"],
        actor=request.actor,
        reason=values["reason"] or "",
    )
    name = context.machine.machine.name
    message = (
        f"The score on {name} is {row.score:,} (it was {before:,})."
        if row.score != before
        else f"The score on {name} was already {row.score:,}; nothing changed."
    )
    return done(
        request,
        _machine_url(request, context),
        {"score": {"id": row.id, "before": before, "after": row.score}},
        message=message,
    )


ADD_SCORE_FIELDS = (
    Field("player", "int", required=True, label="Player number", minimum=1),
    SCORE_FIELD,
    Field(
        "entry_id",
        "int",
        label="Entry",
        minimum=1,
        help="The entry it belongs to (PAPA-style); empty: as the format would choose.",
    ),
    REASON_FIELD,
    CONFIRM_FIELD,
)


@action(context=MachineResource, name="add-score", permission=P.MANAGE, fields=ADD_SCORE_FIELDS)
def add_score(context: MachineResource, request: Any) -> Response:
    """Add a score that was played on this machine but never recorded. It uses one of the
    player's (or team's) unused tickets; ``confirm`` must be true."""
    values = parse(request, ADD_SCORE_FIELDS)
    _confirmed(request, values, "add this score")
    session = request.dbsession
    event = context.event
    ep = setup.player_by_number(session, event.id, values["player"])
    entry = (
        correctable.entry_of_player(session, ep, values["entry_id"])
        if values["entry_id"] is not None
        else None
    )
    row = corrections.add_missing_score(
        session,
        request.pss,
        machine=context.machine,
        player=ep,
        score=values["score"],
        entry=entry,
        actor=request.actor,
        reason=values["reason"] or "",
    )
    return done(
        request,
        _machine_url(request, context),
        {"score": {"id": row.id, "score": row.score, "entry_id": row.entry_id}},
        message=f"{row.score:,} added for {ep.name} on {context.machine.machine.name}.",
        status=201,
    )


# --- for a player -----------------------------------------------------------------------------

PLAYER_ACTIONS = ("void-entry", "unvoid-entry", "reverse-misconduct")


def _machine_name(session: Any, tm_id: int) -> str:
    tm = session.get(TournamentMachine, tm_id)
    assert tm is not None
    return str(tm.machine.name)


def _player_url(request: Any, context: PlayerResource, name: str = "corrections") -> str:
    return event_url(request, context.event, "players", context.player.number, name)


def player_corrections(context: PlayerResource, request: Any) -> dict[str, Any]:
    """A player's entries in every tournament (their own and their teams'), with their scores,
    to void or count again; and their games voided for misconduct, to reverse (tournament
    director)."""
    ep = context.player
    event = context.event
    session = request.dbsession
    entries = []
    for entry in correctable.player_entries(session, ep):
        tournament = session.get(Tournament, entry.tournament_id)
        assert tournament is not None
        entries.append(
            {
                **_entry_json(request, event, entry),
                "tournament": {
                    "slug": tournament.slug,
                    "name": tournament.name,
                    "url": _tournament_url(request, event, tournament),
                },
                "scores": [
                    {
                        "id": s.id,
                        "score": s.score,
                        "recorded_at": s.recorded_at,
                        "machine": _machine_name(session, s.tournament_machine_id),
                        "corrections_url": event_url(
                            request, event, "machines", s.tournament_machine_id, "corrections"
                        ),
                    }
                    for s in entry.scores
                ],
                "can_void": entry.status != EntryStatus.VOIDED,
                "can_unvoid": entry.status == EntryStatus.VOIDED and bool(entry.scores),
            }
        )
    misconduct = [
        {"token_id": g.token.id, "machine": g.machine, "at": g.at, "reason": g.reason}
        for g in correctable.misconduct_games(session, ep)
    ]
    return {
        "event": event_json(request, event),
        "player": player_json(request, ep, event),
        "entries": entries,
        "misconduct": misconduct,
        "urls": {
            **{
                name.replace("-", "_"): _player_url(request, context, name)
                for name in PLAYER_ACTIONS
            },
            "history": _player_url(request, context, "history"),
            "audit": event_url(request, event, "audit", query={"player": ep.number}),
        },
    }


_corrections_pages(PlayerResource, PLAYER_ACTIONS, "player", player_corrections)


ENTRY_FIELDS = (
    Field("entry_id", "int", required=True, label="The entry", minimum=1),
    REASON_FIELD,
    CONFIRM_FIELD,
)


def _entry_action(
    context: PlayerResource, request: Any, service: Any, what: str, words: str
) -> Response:
    values = parse(request, ENTRY_FIELDS)
    _confirmed(request, values, what)
    session = request.dbsession
    entry = correctable.entry_of_player(session, context.player, values["entry_id"])
    service(session, request.pss, entry=entry, actor=request.actor, reason=values["reason"] or "")
    return done(
        request,
        _player_url(request, context),
        {"entry": {"id": entry.id, "status": entry.status}},
        message=words.format(id=entry.id, name=context.player.name, status=entry.status.value),
    )


@action(context=PlayerResource, name="void-entry", permission=P.MANAGE, fields=ENTRY_FIELDS)
def void_entry(context: PlayerResource, request: Any) -> Response:
    """Void one of the player's entries: its scores stop counting (an open entry's unplayed
    games are used up with it). ``confirm`` must be true."""
    return _entry_action(
        context,
        request,
        corrections.void_entry,
        "void this entry",
        "Entry #{id} of {name} is void; its scores no longer count.",
    )


@action(context=PlayerResource, name="unvoid-entry", permission=P.MANAGE, fields=ENTRY_FIELDS)
def unvoid_entry(context: PlayerResource, request: Any) -> Response:
    """Count a voided entry of the player again (complete when all its games are played, else
    open). ``confirm`` must be true."""
    return _entry_action(
        context,
        request,
        corrections.unvoid_entry,
        "count this entry again",
        "Entry #{id} of {name} counts again ({status}).",
    )


MISCONDUCT_FIELDS = (
    Field("token_id", "int", required=True, label="The game voided for misconduct", minimum=1),
    REASON_FIELD,
    CONFIRM_FIELD,
)


@action(
    context=PlayerResource,
    name="reverse-misconduct",
    permission=P.MANAGE,
    fields=MISCONDUCT_FIELDS,
)
def reverse_misconduct(context: PlayerResource, request: Any) -> Response:
    """Undo a misconduct void: the offence is taken off and the game's ticket is given back
    unused. Should the game have stood, add its score on the machine afterwards. ``token_id``
    is the page's ``misconduct[].token_id``; ``confirm`` must be true."""
    values = parse(request, MISCONDUCT_FIELDS)
    _confirmed(request, values, "reverse this misconduct")
    session = request.dbsession
    token = correctable.misconduct_token_of_player(session, context.player, values["token_id"])
    corrections.reverse_misconduct(
        session, request.pss, token=token, actor=request.actor, reason=values["reason"] or ""
    )
    return done(
        request,
        _player_url(request, context),
        {"token": {"id": token.id, "unused": token.voided_at is None}},
        message=f"The misconduct of {context.player.name} is reversed; the ticket is unused again.",
    )
