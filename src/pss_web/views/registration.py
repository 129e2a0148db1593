"""Registrations after the desk: correcting one, unregistering one made by mistake, merging two of
the same person; the event's registration questions; the players' list as a spreadsheet; and
players registering themselves online.

    /events/<slug>/players/<n>/edit                 the registration; POST corrects it (desk)
    /events/<slug>/players/<n>/merge                POST ``other``: merge #other into #n (TD)
    /events/<slug>/players/<n>/unregister           POST: take the registration back (TD)
    /events/<slug>/players.csv                      registrations and answers (TD)
    /events/<slug>/questions/                       the questions; POST adds one (TD)
    /events/<slug>/questions/<id>/                  one question; POST changes it (TD)
    /events/<slug>/questions/<id>/move              POST ``direction`` up or down (TD)
    /events/<slug>/questions/self-registration      POST: the online registration settings (TD)
    /events/<slug>/register                         register yourself online (anyone, if open)
    /events/<slug>/players/<n>/welcome              the new player's number and PIN, once
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlsplit

from pyramid.csrf import get_csrf_token, new_csrf_token
from pyramid.response import Response
from pyramid.security import remember
from pyramid.view import view_config

from pss_core.models import RegistrationQuestion, utcnow
from pss_core.services import players, setup
from pss_web.forms import Field, parse
from pss_web.layout import add_event_nav
from pss_web.present import event_json, event_url
from pss_web.questions import (
    ANSWERS_FIELD,
    CONFIRM_NEW_FIELD,
    answers_json,
    question_json,
    submitted_answers,
)
from pss_web.resources import EventChild, EventResource, PlayerResource, add_event_child
from pss_web.security import Permission, scope_of
from pss_web.viewkit import action, done, page
from pss_web.views.desk import player_links

P = Permission

WELCOME_COOKIE = "pss_welcome"


# --- the tree ---------------------------------------------------------------------------------


class QuestionsContainer(EventChild):
    api_paths = ("/events/{event}/questions",)
    title = "Registration questions"

    def __getitem__(self, name: str) -> QuestionResource:
        return QuestionResource(
            self.request, name, self, self.event_row(RegistrationQuestion, name)
        )


class QuestionResource(EventChild):
    api_paths = ("/events/{event}/questions/{question}",)

    def __init__(self, request: Any, name: str, parent: Any, q: RegistrationQuestion) -> None:
        super().__init__(request, name, parent)
        self.question = q
        self.title = q.label


add_event_child("questions", QuestionsContainer)
add_event_nav("Registration", "questions", "", permission=P.MANAGE, order=75)


# --- correcting, merging, unregistering -------------------------------------------------------

EDIT_FIELDS = (
    Field("first_name", required=True, label="First name", max_length=100),
    Field("last_name", label="Last name", max_length=100),
    Field("ifpa_id", "int", label="IFPA number", minimum=1),
    Field("ifpa_rank", "int", label="IFPA rank", minimum=1),
    Field("email", label="Email", max_length=254),
    ANSWERS_FIELD,
)
MERGE_FIELDS = (
    Field(
        "other",
        "int",
        required=True,
        label="Player number to merge into this one",
        minimum=1,
        help="That registration's tickets, games and history become this one's; "
        "its number and PIN stop working.",
    ),
)


@page(context=PlayerResource, name="edit", permission=P.SELL, template="desk/edit.html")
@page(context=PlayerResource, name="merge", permission=P.SELL, template="desk/edit.html")
@page(context=PlayerResource, name="unregister", permission=P.SELL, template="desk/edit.html")
def edit_page(context: PlayerResource, request: Any) -> dict[str, Any]:
    """A registration as the desk can correct it: name, IFPA number and rank, e-mail and the
    answers; for the tournament director also merging and unregistering."""
    ep = context.player
    event = context.event
    session = request.dbsession
    asked = players.questions_of(session, event)
    mine = players.answers_of(session, ep)
    person = ep.player
    return {
        "event": event_json(request, event),
        "player": {
            **player_links(request, event, ep),
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
        },
        "questions": [question_json(q) for q in asked],
        "answers": answers_json(players.questions_of(session, event, active_only=False), mine),
        "values": {f"answer.{k}": v for k, v in mine.items()},
        "edit_url": event_url(request, event, "players", ep.number, "edit"),
        "merge_url": event_url(request, event, "players", ep.number, "merge"),
        "unregister_url": event_url(request, event, "players", ep.number, "unregister"),
        "can_manage": bool(request.has_permission(P.MANAGE, context)),
    }


@action(context=PlayerResource, name="edit", permission=P.SELL, fields=EDIT_FIELDS)
def edit(context: PlayerResource, request: Any) -> Response:
    """Correct a registration: the person's name, IFPA number and e-mail (theirs in every event),
    the IFPA rank, and answers (only the questions sent change). Every field is sent: an empty
    one clears it."""
    values = parse(request, EDIT_FIELDS)
    ep = context.player
    session = request.dbsession
    players.edit_player(
        session,
        ep,
        first_name=values["first_name"],
        last_name=values["last_name"] or "",
        ifpa_id=values["ifpa_id"],
        ifpa_rank=values["ifpa_rank"],
        email=values["email"],
        actor=request.actor,
    )
    answers = submitted_answers(request, players.questions_of(session, context.event))
    if answers:
        players.set_answers(session, ep, answers, actor=request.actor)
    return done(
        request,
        event_url(request, context.event, "players", ep.number, "sell"),
        {"player": player_links(request, context.event, ep)},
        message=f"{ep.name}'s registration is corrected.",
    )


@action(context=PlayerResource, name="merge", permission=P.MANAGE, fields=MERGE_FIELDS)
def merge(context: PlayerResource, request: Any) -> Response:
    """Merge registration ``other`` into this one (the same person registered twice): its
    tickets, purchases, games, queue place, team place, answers and history become this one's;
    this number and PIN stay, the other's stop working. Refused while both are on machines or
    in queues, for two different teams, for two unfinished entries in one tournament, and where
    a format's rules would be broken."""
    values = parse(request, MERGE_FIELDS)
    keep = context.player
    event = context.event
    other = _event_player(request, event, values["other"])
    result = players.merge(request.dbsession, request.pss, keep, other, actor=request.actor)
    return done(
        request,
        event_url(request, event, "players", keep.number, "sell"),
        {"player": player_links(request, event, keep), **result},
        message=f"#{result['merged']} is merged into #{keep.number} {keep.name}.",
    )


def _event_player(request: Any, event: Any, number: int) -> Any:
    return setup.player_by_number(request.dbsession, event.id, number)


@action(context=PlayerResource, name="unregister", permission=P.MANAGE)
def unregister(context: PlayerResource, request: Any) -> Response:
    """Take back a registration made by mistake: only for a player with no games, no tickets and
    no team (the answer says what to do instead otherwise)."""
    ep = context.player
    event = context.event
    name, number = ep.name, ep.number
    players.unregister(request.dbsession, ep, actor=request.actor)
    return done(
        request,
        event_url(request, event, "desk"),
        {"unregistered": number},
        message=f"{name} (#{number}) is no longer registered.",
    )


@view_config(
    context=EventResource, name="players.csv", permission=P.MANAGE, request_method=("GET", "HEAD")
)
def players_csv(context: EventResource, request: Any) -> Response:
    """Every registration with its answers to the registration questions, as CSV (one row a
    player, by number; deactivated questions included)."""
    header, rows = players.registration_rows(request.dbsession, context.event)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    response = Response(
        body=out.getvalue().encode("utf-8"), content_type="text/csv", charset="utf-8"
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{context.event.slug}-players.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _cell(value: Any) -> str:
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula; players choose their own answers.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("-").isdigit():
        return "'" + text
    return text


# --- the questions ----------------------------------------------------------------------------

KINDS = ("text", "choice", "yes_no", "number")
QUESTION_FIELDS = (
    Field("label", required=True, label="Question", max_length=200),
    Field("kind", "choice", required=True, label="Kind of answer", choices=KINDS),
    Field(
        "choices",
        "list",
        label="Choices",
        help="For a choice: a list, or one text with a choice a line.",
    ),
    Field("required", "bool", label="An answer is required"),
    Field("help", label="Help text", max_length=500),
)
EDIT_QUESTION_FIELDS = (
    *QUESTION_FIELDS,
    Field("active", "bool", label="Asked", help="Off: no longer asked; answers given are kept."),
)
MOVE_FIELDS = (
    Field("direction", "choice", required=True, label="Direction", choices=("up", "down")),
)
SETTINGS_FIELDS = (
    Field("enabled", "bool", label="Players may register themselves online"),
    Field(
        "closes_at",
        "datetime",
        label="Online registration closes at",
        help="Optional, in the event's time zone (like 2026-06-01T09:00).",
    ),
    Field("choose_number", "bool", label="Players may choose a free number"),
    Field("email_required", "bool", label="An e-mail address is required"),
)


def _choices(raw: list[str]) -> list[str]:
    return [part.strip() for item in raw for part in item.splitlines()]


def _settings_json(request: Any, event: Any) -> dict[str, Any]:
    return {
        "enabled": event.self_registration,
        "closes_at": event.self_registration_closes_at,
        "choose_number": event.self_registration_choose_number,
        "email_required": event.self_registration_email_required,
        "open": players.self_registration_open(event),
        "register_url": event_url(request, event, "register"),
    }


@page(context=QuestionsContainer, permission=P.MANAGE, template="manage/questions.html")
@page(
    context=QuestionsContainer,
    name="self-registration",
    permission=P.MANAGE,
    template="manage/questions.html",
)
def questions_page(context: QuestionsContainer, request: Any) -> dict[str, Any]:
    """The registration questions (asked at the desk and online, in this order), the form to add
    one, and the online registration settings."""
    event = context.event
    base = event_url(request, event, "questions", "")
    return {
        "event": event_json(request, event),
        "questions": [
            {**question_json(q), "url": f"{base}{q.id}/", "move_url": f"{base}{q.id}/move"}
            for q in players.questions_of(request.dbsession, event, active_only=False)
        ],
        "kinds": list(KINDS),
        "add_url": base,
        "settings": _settings_json(request, event),
        "settings_url": f"{base}self-registration",
        "export_url": event_url(request, event, "players.csv"),
    }


@action(context=QuestionsContainer, permission=P.MANAGE, fields=QUESTION_FIELDS)
def add_question(context: QuestionsContainer, request: Any) -> Response:
    """Add a question asked at every registration from now on (desk and online)."""
    values = parse(request, QUESTION_FIELDS)
    q = players.add_question(
        request.dbsession,
        context.event,
        values["label"],
        values["kind"],
        choices=_choices(values["choices"]),
        required=values["required"],
        help=values["help"] or "",
        actor=request.actor,
    )
    return done(
        request,
        event_url(request, context.event, "questions", ""),
        {"question": question_json(q)},
        message=f"Question “{q.label}” added.",
        status=201,
    )


@page(context=QuestionResource, permission=P.MANAGE, template="manage/question.html")
@page(context=QuestionResource, name="move", permission=P.MANAGE, template="manage/question.html")
def question_page(context: QuestionResource, request: Any) -> dict[str, Any]:
    """One registration question, to change or stop asking."""
    return {
        "event": event_json(request, context.event),
        "question": question_json(context.question),
        "kinds": list(KINDS),
        "url": event_url(request, context.event, "questions", context.question.id, ""),
        "questions_url": event_url(request, context.event, "questions", ""),
    }


@action(context=QuestionResource, permission=P.MANAGE, fields=EDIT_QUESTION_FIELDS)
def edit_question(context: QuestionResource, request: Any) -> Response:
    """Change a question, or stop asking it (``active`` off); answers given stay."""
    values = parse(request, EDIT_QUESTION_FIELDS)
    active = values["active"] if request.submitted.has("active") else True
    q = players.edit_question(
        request.dbsession,
        context.question,
        label=values["label"],
        kind=values["kind"],
        choices=_choices(values["choices"]),
        required=values["required"],
        help=values["help"] or "",
        active=active,
        actor=request.actor,
    )
    return done(
        request,
        event_url(request, context.event, "questions", ""),
        {"question": question_json(q)},
        message=f"Question “{q.label}” saved.",
    )


@action(context=QuestionResource, name="move", permission=P.MANAGE, fields=MOVE_FIELDS)
def move_question(context: QuestionResource, request: Any) -> Response:
    """Ask a question one place earlier (``up``) or later (``down``)."""
    values = parse(request, MOVE_FIELDS)
    q = players.move_question(
        request.dbsession,
        context.question,
        -1 if values["direction"] == "up" else 1,
        actor=request.actor,
    )
    return done(
        request, event_url(request, context.event, "questions", ""), {"question": question_json(q)}
    )


@action(
    context=QuestionsContainer,
    name="self-registration",
    permission=P.MANAGE,
    fields=SETTINGS_FIELDS,
)
def self_registration_settings(context: QuestionsContainer, request: Any) -> Response:
    """Whether players may register themselves online (off by default), until when, whether they
    may choose their number and whether an e-mail address is required."""
    values = parse(request, SETTINGS_FIELDS)
    event = players.set_self_registration(
        request.dbsession,
        context.event,
        enabled=values["enabled"],
        closes_at=values["closes_at"],
        choose_number=values["choose_number"],
        email_required=values["email_required"],
        actor=request.actor,
    )
    state = "open" if players.self_registration_open(event) else "closed"
    return done(
        request,
        event_url(request, event, "questions", ""),
        {"settings": _settings_json(request, event)},
        message=f"Online registration is {state}.",
    )


# --- registering yourself ---------------------------------------------------------------------

SELF_FIELDS = (
    Field("first_name", required=True, label="First name", max_length=100),
    Field("last_name", label="Last name", max_length=100),
    Field("email", label="Email", max_length=254),
    Field("ifpa_id", "int", label="IFPA number", minimum=1, help="Optional."),
    Field(
        "number",
        "int",
        label="Player number",
        minimum=1,
        help="Only where the event lets players choose; empty: the next free number.",
    ),
    CONFIRM_NEW_FIELD,
    ANSWERS_FIELD,
)


@page(context=EventResource, name="register", permission=P.VIEW, template="public/register.html")
def register_page(context: EventResource, request: Any) -> dict[str, Any]:
    """Register yourself for the event online (when the event allows it): you get a player
    number and a PIN, and can buy tickets at once."""
    event = context.event
    return {
        "event": event_json(request, event),
        "open": players.self_registration_open(event),
        "closes_at": event.self_registration_closes_at,
        "choose_number": event.self_registration_choose_number,
        "email_required": event.self_registration_email_required,
        "questions": [question_json(q) for q in players.questions_of(request.dbsession, event)],
        "register_url": event_url(request, event, "register"),
        "login_url": event_url(request, event, "player-login"),
        "duplicates": request.environ.get("pss.self_duplicates", []),
    }


@action(context=EventResource, name="register", permission=P.VIEW, fields=SELF_FIELDS)
def self_register(context: EventResource, request: Any) -> Response:
    """Register yourself: the answer has your player number and PIN (shown once: write it down)
    and logs you in. Limited per connection per hour; a name already registered is a 409
    ``possible_duplicate`` (send ``confirm_new`` if that is somebody else); an IFPA number or
    e-mail already registered is refused (the desk gives a lost PIN anew)."""
    values = parse(request, SELF_FIELDS)
    event = context.event
    session = request.dbsession
    try:
        ep, pin, token = players.self_register(
            session,
            event,
            values["first_name"],
            values["last_name"] or "",
            email=values["email"],
            ifpa_id=values["ifpa_id"],
            number=values["number"],
            answers=submitted_answers(request, players.questions_of(session, event)),
            confirm_new=values["confirm_new"],
            address=request.remote_addr or "unknown",
        )
    except players.PossibleDuplicate as exc:
        request.environ["pss.self_duplicates"] = exc.details.get("candidates", [])
        raise
    scope = scope_of(request, context)
    assert scope is not None
    headers = remember(request, token, scope=scope)
    new_csrf_token(request)
    welcome = event_url(request, event, "players", ep.number, "welcome")
    data = {
        "player": {
            "number": ep.number,
            "name": ep.name,
            "play_url": event_url(request, event, "players", ep.number, "play"),
            "buy_url": event_url(request, event, "purchases", ""),
        },
        "pin": pin,
        "csrf_token": get_csrf_token(request),
    }
    response = done(
        request,
        welcome,
        data,
        status=201,
        message=f"Welcome, {ep.name}: you are player {ep.number}.",
        headers=headers,
    )
    if not request.wants_json:
        response.set_cookie(
            WELCOME_COOKIE,
            f"{ep.id}:{pin}",
            max_age=600,
            httponly=True,
            samesite="Strict",
            path=urlsplit(welcome).path,
            secure=request.scheme == "https",
        )
    return response


@page(
    context=PlayerResource, name="welcome", permission=P.SEE_PLAYER, template="player/welcome.html"
)
def welcome(context: PlayerResource, request: Any) -> dict[str, Any]:
    """A player who just registered online: their number and, this once, their PIN."""
    ep = context.player
    event = context.event
    pin = None
    owner, _, secret = request.cookies.get(WELCOME_COOKIE, "").partition(":")
    if owner == str(ep.id) and secret.isdigit():
        pin = secret
        path = request.path
        request.add_response_callback(
            lambda req, resp: resp.delete_cookie(WELCOME_COOKIE, path=path)
        )
    return {
        "event": event_json(request, event),
        "player": {"number": ep.number, "name": ep.name},
        "pin": pin,
        "buy_url": event_url(request, event, "purchases", ""),
        "play_url": event_url(request, event, "players", ep.number, "play"),
        "login_url": event_url(request, event, "player-login"),
        "now": utcnow(),
    }
