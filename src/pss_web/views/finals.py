"""Finals: the tournament director creates finals from a qualifying tournament and starts rounds,
the scorekeeper records each group game on a phone, and everyone follows the bracket (public,
with a JSON twin, live through the event's ETag like the other live pages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pss_core.errors import InvalidInput
from pss_core.models import Event, EventUser, Finals, FinalsGroup, Tournament, TournamentMachine
from pss_core.services import finals as service
from pss_core.services import finals_play
from pss_web.forms import Field, parse
from pss_web.live import event_fingerprint
from pss_web.present import event_json, tournament_json
from pss_web.resources import EventChild, add_event_child, text_key
from pss_web.security import Permission
from pss_web.viewkit import action, done, page
from pss_web.views.tv import add_tv_slides, paged

P = Permission

CREATE_FIELDS = (
    Field("tournament", required=True, label="Qualifying tournament (slug)"),
    Field("name", required=True, label="Name"),
    Field("slug", required=True, max_length=64, label="Short name"),
    Field("cut", "int", required=True, minimum=2, maximum=4096, label="Qualifiers"),
    Field("format", default="group_finals", label="Format"),
    Field("byes", "int", minimum=0, label="Byes"),
    Field("group_size", "int", minimum=3, maximum=8, label="Group size"),
    Field("games", "int", minimum=1, maximum=15, label="Games per round"),
    Field("points", label="Points per game"),
    Field("advance", "int", minimum=1, label="Advance per group"),
    Field("last", label="Last round"),
    Field("rounds", "int", minimum=1, label="Rounds"),
)
OPTION_NAMES = ("byes", "group_size", "games", "points", "advance", "last", "rounds")
GAME_FIELDS = (
    Field(
        "seeds",
        "list",
        label="Seeds",
        help="The group's players by seed, in the order of "
        "scores; or the finishing order, best first, when no scores are given.",
    ),
    Field("scores", "list", label="Scores"),
    Field("machine", "int", label="Machine"),
    Field("correct", "int", minimum=1, label="Game to correct"),
)
TIEBREAK_FIELDS = (
    Field("players", "list", required=True, label="Player ids"),
    Field("scores", "list", label="Scores"),
)
MACHINE_FIELDS = (Field("machine", "int", label="Machine"),)


class FinalsContainer(EventChild):
    api_paths = ("/events/{event}/finals",)
    title = "Finals"

    def __getitem__(self, slug: str) -> FinalsResource:
        finals = self.dbsession.scalars(
            select(Finals).where(Finals.event_id == self.event.id, Finals.slug == text_key(slug))
        ).first()
        if finals is None:
            raise KeyError(slug)
        return FinalsResource(self.request, slug, self, finals)


class FinalsResource(EventChild):
    api_paths = ("/events/{event}/finals/{finals}",)

    def __init__(self, request: Any, name: str, parent: Any, finals: Finals) -> None:
        super().__init__(request, name, parent)
        self.finals = finals
        self.title = finals.name

    def __getitem__(self, label: str) -> FinalsGroupResource:
        group = self.dbsession.scalars(
            select(FinalsGroup).where(
                FinalsGroup.finals_id == self.finals.id, FinalsGroup.label == label.upper()
            )
        ).first()
        if group is None:
            raise KeyError(label)
        return FinalsGroupResource(self.request, label, self, group)


class FinalsGroupResource(EventChild):
    api_paths = ("/events/{event}/finals/{finals}/{group}",)

    def __init__(self, request: Any, name: str, parent: FinalsResource, group: FinalsGroup) -> None:
        super().__init__(request, name, parent)
        self.finals = parent.finals
        self.group = group
        self.title = f"Group {group.label}"


add_event_child("finals", FinalsContainer)


def finals_json(request: Any, finals: Finals) -> dict[str, Any]:
    return {
        "id": finals.id,
        "slug": finals.slug,
        "name": finals.name,
        "format": finals.format,
        "cut": finals.cut,
        "options": finals.format_options,
    }


def _ints(values: list[str], what: str) -> list[int]:
    try:
        return [int(v.replace(",", "")) for v in values]
    except ValueError:
        raise InvalidInput(f"{what} are whole numbers.", code="invalid_field") from None


def _recorder(request: Any, event_id: int) -> int | None:
    user_id = request.actor.user_id
    if user_id is None:
        return None
    return request.dbsession.scalars(
        select(EventUser.id).where(EventUser.event_id == event_id, EventUser.user_id == user_id)
    ).first()


def _machines(request: Any, event_id: int) -> list[dict[str, Any]]:
    rows = request.dbsession.scalars(
        select(TournamentMachine)
        .where(TournamentMachine.event_id == event_id)
        .order_by(TournamentMachine.id)
    )
    return [{"id": tm.id, "name": tm.machine.name} for tm in rows]


@page(
    context=FinalsContainer, permission=P.VIEW, template="finals/list.html", live=event_fingerprint
)
def finals_list(context: FinalsContainer, request: Any) -> dict[str, Any]:
    """The event's finals; the tournament director's form to create finals from a tournament."""
    rows = request.dbsession.scalars(
        select(Finals).where(Finals.event_id == context.event.id).order_by(Finals.id)
    )
    tournaments = request.dbsession.scalars(
        select(Tournament).where(
            Tournament.event_id == context.event.id, Tournament.is_team.is_(False)
        )
    )
    return {
        "event": event_json(request, context.event),
        "finals": [
            {**finals_json(request, f), "url": request.resource_url(context, f.slug)} for f in rows
        ],
        "formats": service.pairing_formats(request.pss),
        "tournaments": [t.slug for t in tournaments],
        "can_manage": bool(request.has_permission(P.MANAGE)),
    }


@action(context=FinalsContainer, permission=P.MANAGE, fields=CREATE_FIELDS)
def create_finals(context: FinalsContainer, request: Any) -> Any:
    """Create finals from a qualifying tournament's standings: the cut, the format and its
    options (byes, group size, games per round, points, advancing, last round)."""
    values = parse(request, CREATE_FIELDS)
    tournament = request.dbsession.scalars(
        select(Tournament).where(
            Tournament.event_id == context.event.id, Tournament.slug == values["tournament"]
        )
    ).first()
    if tournament is None:
        raise InvalidInput(
            f"No tournament {values['tournament']!r} in this event.", code="no_such_tournament"
        )
    spec_options = (
        {o.name for o in request.pss.formats[values["format"]].options}
        if values["format"] in request.pss.formats
        else set()
    )
    options = {k: values[k] for k in OPTION_NAMES if values[k] is not None and k in spec_options}
    finals = service.create_finals(
        request.dbsession,
        request.pss,
        request.actor,
        tournament,
        name=values["name"],
        slug=values["slug"],
        cut=values["cut"],
        format=values["format"],
        options=options,
    )
    return done(
        request,
        request.resource_url(context, finals.slug),
        {"finals": finals_json(request, finals)},
        message="Finals created.",
        status=201,
    )


@page(
    context=FinalsResource,
    permission=P.VIEW,
    template="finals/bracket.html",
    live=event_fingerprint,
)
def bracket_page(context: FinalsResource, request: Any) -> dict[str, Any]:
    """The bracket: seeds, every round's groups with points and games, final positions."""
    finals = context.finals
    data = service.bracket(request.dbsession, request.pss, finals)
    orders = finals_play.play_orders(request.dbsession, request.pss, finals)
    for round_ in data["rounds"]:
        for group in round_["groups"]:
            group["url"] = request.resource_url(context, group["label"])
            group["play_order"] = orders[group["id"]]
    return {
        "event": event_json(request, context.event),
        "finals": finals_json(request, finals),
        **data,
        "machines": _machines(request, context.event.id),
        "has_standings": bool(finals_play.standings(request.dbsession, request.pss, finals)),
        "can_manage": bool(request.has_permission(P.MANAGE)),
        "can_score": bool(request.has_permission(P.SCOREKEEP)),
    }


@page(
    context=FinalsResource,
    name="standings",
    permission=P.VIEW,
    template="finals/standings.html",
    live=event_fingerprint,
)
def standings_page(context: FinalsResource, request: Any) -> dict[str, Any]:
    """Running standings of group match play over the groups finished so far: points, then
    countback; every player, those yet to play on 0. Empty for a bracket (see its positions)."""
    finals = context.finals
    return {
        "event": event_json(request, context.event),
        "finals": finals_json(request, finals),
        "standings": finals_play.standings(request.dbsession, request.pss, finals),
        "rounds_played": len(service.history(request.dbsession, finals)),
        "bracket_url": request.resource_url(context),
    }


@action(context=FinalsResource, name="start-round", permission=P.MANAGE)
def start_round(context: FinalsResource, request: Any) -> Any:
    """Make the next round's groups from the results so far."""
    made = service.start_round(request.dbsession, request.pss, request.actor, context.finals)
    return done(
        request,
        request.resource_url(context),
        {"groups": [{"label": g.label, "seeds": g.seeds} for g in made]},
        message=f"Round {made[0].round_number} started.",
    )


@action(context=FinalsResource, name="assign-machines", permission=P.MANAGE)
def assign_machines(context: FinalsResource, request: Any) -> Any:
    """Hand the free machines to the current round's groups waiting for one, best seed first,
    each a machine it has not played this round when one is free."""
    given = finals_play.assign_free_machines(
        request.dbsession, request.pss, request.actor, context.finals
    )
    return done(
        request,
        request.resource_url(context),
        {"assigned": given},
        message=f"Machines assigned to {len(given)} group{'' if len(given) == 1 else 's'}.",
    )


@action(context=FinalsResource, name="tiebreaker", permission=P.SCOREKEEP, fields=TIEBREAK_FIELDS)
def cut_tiebreaker(context: FinalsResource, request: Any) -> Any:
    """A tiebreaker game at the cut or bye line: the tied players (ids) with their scores, or
    in finishing order when no scores are given."""
    values = parse(request, TIEBREAK_FIELDS)
    ids = _ints(values["players"], "Player ids")
    scores = _ints(values["scores"], "Scores") if values["scores"] else None
    if scores is not None and len(scores) != len(ids):
        raise InvalidInput("Give one score per player.", code="scores_count")
    service.record_cut_tiebreaker(
        request.dbsession,
        request.pss,
        request.actor,
        context.finals,
        scores=dict(zip(ids, scores, strict=True)) if scores is not None else None,
        order=None if scores is not None else ids,
        recorded_by_id=_recorder(request, context.event.id),
    )
    return done(request, request.resource_url(context), message="Tiebreaker recorded.")


@page(context=FinalsGroupResource, permission=P.SCOREKEEP, template="finals/group.html")
def group_page(context: FinalsGroupResource, request: Any) -> dict[str, Any]:
    """The scorekeeper's phone page for one group: its players by seed, the games so far and
    the form for the next game (scores, or the finishing order)."""
    finals, group = context.finals, context.group
    data = service.bracket(request.dbsession, request.pss, finals)
    mine = next(g for r in data["rounds"] for g in r["groups"] if g["id"] == group.id)
    seeds = {s["seed"]: s for s in data["seeds"]}
    order = finals_play.play_order(request.dbsession, request.pss, finals, group)
    return {
        "event": event_json(request, context.event),
        "finals": finals_json(request, finals),
        "group": {**mine, "play_order": order},
        "dealt": [seeds[int(s)] for s in group.seeds],
        "playing": [seeds[s] for s in order],
        "machines": _machines(request, context.event.id),
        "bracket_url": request.resource_url(context.__parent__),
    }


@action(context=FinalsGroupResource, permission=P.SCOREKEEP, fields=GAME_FIELDS)
def record_game(context: FinalsGroupResource, request: Any) -> Any:
    """Record the group's next game (or its tiebreaker), or correct game ``correct``: ``seeds``
    with ``scores`` in the same order, or ``seeds`` alone as the finishing order."""
    values = parse(request, GAME_FIELDS)
    seeds = _ints(values["seeds"], "Seeds")
    scores = _ints(values["scores"], "Scores") if values["scores"] else None
    if scores is not None and len(scores) != len(seeds):
        raise InvalidInput("Give one score per player.", code="scores_count")
    game = service.record_game(
        request.dbsession,
        request.pss,
        request.actor,
        context.finals,
        context.group,
        scores=dict(zip(seeds, scores, strict=True)) if scores is not None else None,
        order=None if scores is not None else seeds,
        machine_id=values["machine"],
        correct=values["correct"],
        recorded_by_id=_recorder(request, context.event.id),
    )
    return done(
        request,
        request.resource_url(context),
        {"game": {"number": game.number, "places": game.places}},
        message=f"Game {game.number} recorded.",
    )


@action(context=FinalsGroupResource, name="machine", permission=P.MANAGE, fields=MACHINE_FIELDS)
def assign_machine(context: FinalsGroupResource, request: Any) -> Any:
    """The tournament director assigns the group's machine (empty: the scorekeeper picks)."""
    values = parse(request, MACHINE_FIELDS)
    service.assign_machine(
        request.dbsession, request.actor, context.finals, context.group, values["machine"]
    )
    return done(request, request.resource_url(context.__parent__), message="Machine assigned.")


#: Groups one TV slide shows (two rows of three at 1080p).
TV_GROUPS_PER_SLIDE = 6


def finals_slides(
    request: Any, t: Tournament, event: Event, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    """TV slides for the tournament's finals that have started: the latest round's groups with
    their points (paged), and the final positions once the finals are over."""
    slides: list[dict[str, Any]] = []
    rows = request.dbsession.scalars(
        select(Finals).where(Finals.tournament_id == t.id).order_by(Finals.id)
    )
    for finals in rows:
        data = service.bracket(request.dbsession, request.pss, finals)
        if not data["rounds"]:
            continue
        info = {**tournament_json(request, t, event), "name": f"{t.name}: {finals.name}"}
        if data["complete"]:
            slides.extend(
                {
                    "kind": "finals",
                    "tournament": info,
                    "title": "Final positions",
                    "page": n,
                    "pages": pages,
                    "positions": chunk,
                    "groups": [],
                }
                for n, pages, chunk in paged(data["positions"], settings["rows"])
            )
            continue
        latest = data["rounds"][-1]
        slides.extend(
            {
                "kind": "finals",
                "tournament": info,
                "title": f"Round {latest['number']}",
                "page": n,
                "pages": pages,
                "positions": [],
                "groups": chunk,
            }
            for n, pages, chunk in paged(latest["groups"], TV_GROUPS_PER_SLIDE)
        )
    return slides


add_tv_slides("finals", finals_slides, order=15)
