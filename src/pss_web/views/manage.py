"""Running an event (tournament director, inside the event): tournaments with a format from the
installed plugins and its options, machines, metatournaments and the tournaments in them, teams
and their players, and the event's staff.

    /events/<slug>/teams/<id>/members                      a team's players; POST adds ``player``
    /events/<slug>/teams/<id>/remove-member                POST: takes ``player`` off the team
    /events/<slug>/metatournaments/<slug>/tournaments      its tournaments; POST adds ``tournament``
    /events/<slug>/metatournaments/<slug>/remove-tournament  POST: takes ``tournament`` out
"""

from __future__ import annotations

import re
from typing import Any

from pyramid.response import Response
from sqlalchemy import select

from pss_core.contract import FormatSpec, OptionSpec, PairingFormat
from pss_core.errors import InvalidInput
from pss_core.models import (
    EventUser,
    Machine,
    MachineStatus,
    Metatournament,
    MetatournamentMember,
    Role,
    Tournament,
    User,
)
from pss_core.services import admin as admin_service
from pss_core.services import machines, queues, setup
from pss_web.forms import Field, parse, parse_money
from pss_web.present import (
    event_json,
    event_url,
    event_user_json,
    machine_json,
    metatournament_json,
    team_json,
    tournament_json,
)
from pss_web.resources import (
    EventUserResource,
    EventUsersContainer,
    MachineResource,
    MetatournamentResource,
    MetatournamentsContainer,
    TeamResource,
    TeamsContainer,
    TournamentResource,
    TournamentsContainer,
)
from pss_web.sanity import plain_number
from pss_web.security import Permission
from pss_web.viewkit import action, done, page

P = Permission


# --- format options as form fields ------------------------------------------------------------


def option_field(
    request: Any, opt: OptionSpec, value: Any, machines: list[tuple[int, str]] | None = None
) -> dict[str, Any]:
    """How one format option is shown in the form (its input comes from its declared type); a
    ``per_machine`` option has one input per machine of the tournament (``machines``: id and
    name, in bank order)."""
    field: dict[str, Any] = {
        "name": opt.name,
        "input": f"option.{opt.name}",
        "type": opt.type,
        "title": opt.title or opt.name.replace("_", " ").capitalize(),
        "help": opt.help,
        "default": opt.store(opt.default),
        "value": opt.store(value),
        "nullable": opt.nullable,
        "minimum": _bound(opt.minimum),
        "maximum": _bound(opt.maximum),
        "choices": list(opt.choices),
    }
    if opt.type == "points_curve":
        field["choices"] = [c.name for c in request.pss.curves]
        field["choice_titles"] = {c.name: c.title for c in request.pss.curves}
    if opt.type == "per_machine":
        stored = field["value"] or {}
        field["item"] = opt.item
        field["machines"] = [
            {
                "id": id_,
                "name": name,
                "input": f"option.{opt.name}.{id_}",
                "value": stored.get(name),
            }
            for id_, name in machines or ()
        ]
    return field


def _bound(value: Any) -> Any:
    # Decimal bounds as the text an organizer types (JSON has no exact fractions).
    return value if value is None or isinstance(value, int) else str(float(value))


def option_machines(t: Tournament | None) -> list[tuple[int, str]]:
    """The machines a per-machine option takes values for: the tournament's, not removed."""
    if t is None:
        return []
    return [(m.id, m.machine.name) for m in t.machines if m.status != MachineStatus.REMOVED]


def format_json(
    request: Any,
    spec: FormatSpec,
    values: dict[str, Any] | None = None,
    tournament: Tournament | None = None,
) -> dict[str, Any]:
    values = values or {}
    machines = option_machines(tournament)
    return {
        "name": spec.name,
        "title": spec.title,
        "description": spec.description,
        "team": spec.team,
        "plugin": request.pss.formats.owner(spec.name),
        "options": [
            option_field(request, o, values.get(o.name, o.default), machines) for o in spec.options
        ],
    }


def submitted_options(
    request: Any, spec: FormatSpec, tournament: Tournament | None = None
) -> dict[str, Any]:
    """Raw option values from ``option.<name>`` form fields (``option.<name>.<machine id>`` for
    per-machine ones) or a JSON ``options`` object (per-machine values keyed by machine name);
    the format validates them (``FormatSpec.resolve_options``) and the service checks them
    together when they are saved."""
    data = request.submitted
    if data.is_json:
        raw = data.get("options") or {}
        if not isinstance(raw, dict):
            raise InvalidInput(
                "options must be an object of option values.", code="invalid_field", field="options"
            )
        return raw
    out: dict[str, Any] = {}
    for opt in spec.options:
        key = f"option.{opt.name}"
        if opt.type == "per_machine":
            per_machine = {
                name: data.getall(f"{key}.{id_}")[-1]
                for id_, name in option_machines(tournament)
                if data.getall(f"{key}.{id_}")
            }
            if per_machine:
                out[opt.name] = per_machine
            continue
        values = data.getall(key)
        if not values:
            continue
        # A checkbox sends a hidden "off" and, when ticked, "on" after it.
        out[opt.name] = values[-1]
    return out


# At most nine digits of count (a 32-bit column) and twelve of price (parse_money says "too
# large"): int() of thousands of digits raises, and such text is no bundle anyway.
BUNDLE_RE = re.compile(r"^\s*(\d{1,9})\s*(?:for|@|x|:)\s*\$?\s*(\d{1,12}(?:\.\d{1,2})?)\s*$", re.I)


def parse_bundles(raw: Any) -> list[dict[str, int]]:
    """Bundles from a JSON list of ``{"count", "price_cents"}`` or from text like
    ``3 for 8.00; 7 for 15``."""

    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        out = []
        for item in raw:
            if not isinstance(item, dict) or "count" not in item or "price_cents" not in item:
                raise InvalidInput(
                    "Each bundle needs a count and a price_cents.", code="invalid_bundle"
                )
            # Checked (whole numbers, in range) by the service, with the other settings.
            out.append({"count": item["count"], "price_cents": item["price_cents"]})
        return out
    out = []
    for part in re.split(r"[;,\n]", str(raw)):
        if not part.strip():
            continue
        match = BUNDLE_RE.match(part)
        if match is None:
            raise InvalidInput(
                f"Write bundles like '3 for 8.00', not {part.strip()!r}.", code="invalid_bundle"
            )
        out.append(
            {
                "count": int(match.group(1)),
                "price_cents": parse_money(match.group(2), "A bundle price", "bundles"),
            }
        )
    return out


def bundles_text(bundles: list[dict[str, int]] | None) -> str:
    return "; ".join(
        f"{b['count']} for {b['price_cents'] // 100}.{b['price_cents'] % 100:02d}"
        for b in bundles or []
    )


# --- tournaments ------------------------------------------------------------------------------

SETTINGS_FIELDS = (
    Field("price", "money", label="Price of one ticket", help="Like 3.00; 0 for free."),
    Field(
        "bundles",
        "bundles",
        label="Bundles",
        help="Cheaper multi-ticket prices, like '3 for 8.00; 7 for 15.00'.",
    ),
    Field("min_purchase", "int", label="Smallest purchase", minimum=1, default=1),
    Field("purchase_increment", "int", label="Sold in steps of", minimum=1, default=1),
    Field(
        "max_unused_tickets",
        "int",
        label="Most unused tickets a player may hold",
        minimum=0,
        help="Empty for no limit.",
    ),
    Field(
        "ticket_quota",
        "int",
        label="Tickets for sale in total",
        minimum=0,
        help="Empty for no limit.",
    ),
    Field(
        "qualifying_cut",
        "int",
        label="Qualifying cut",
        minimum=1,
        help="How many qualify for finals; empty for none.",
    ),
    Field(
        "queue_limit", "int", label="Queue limit per machine", minimum=1, help="Empty for no limit."
    ),
    Field("queuing_enabled", "bool", label="Players may queue for machines"),
    Field("allow_ticket_purchases", "bool", label="Tickets are on sale"),
    Field("active", "bool", label="Active (new games may start)"),
    Field(
        "count_removed_machines",
        "bool",
        label="Scores on machines removed from the bank keep counting",
    ),
)
NEW_TOURNAMENT_FIELDS = (
    Field("name", required=True, label="Name"),
    Field(
        "slug",
        label="Web address",
        help="Lower-case letters, digits and dashes; made from the name when empty.",
        max_length=64,
    ),
    Field("format", required=True, label="Format"),
    Field(
        "options",
        "object",
        label="Format options",
        help="JSON clients: an object of option values. Forms: option.<name> fields.",
    ),
    *SETTINGS_FIELDS,
)
EDIT_TOURNAMENT_FIELDS = (
    Field("name", required=True, label="Name"),
    Field("options", "object", label="Format options"),
    *SETTINGS_FIELDS,
)


def qualifying_formats(request: Any) -> list[FormatSpec]:
    """The formats a tournament is created in here: pairing formats (finals) are made from a
    qualifying tournament on the finals page instead."""
    return [f for f in request.pss.formats if not isinstance(f.format, PairingFormat)]


def new_tournament_form(request: Any) -> dict[str, Any]:
    """The add-a-tournament form: the installed formats, and the options of the chosen one."""
    data = request.submitted if request.method == "POST" else None
    chosen = (data.get("format") if data is not None else None) or request.params.get("format")
    formats = qualifying_formats(request)
    spec = next((f for f in formats if f.name == chosen), formats[0] if formats else None)
    return {
        "formats": [
            {"name": f.name, "title": f.title, "description": f.description, "team": f.team}
            for f in formats
        ],
        "format": format_json(request, spec) if spec else None,
        "fields": [
            {"name": f.name, "kind": f.kind, "label": f.label, "help": f.help, "default": f.default}
            for f in SETTINGS_FIELDS
        ],
    }


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: values[k]
        for k in (
            "min_purchase",
            "purchase_increment",
            "max_unused_tickets",
            "ticket_quota",
            "qualifying_cut",
            "queue_limit",
        )
    }
    for flag in ("queuing_enabled", "allow_ticket_purchases", "active", "count_removed_machines"):
        out[flag] = values[flag]
    return out


@action(context=TournamentsContainer, permission=P.MANAGE, fields=NEW_TOURNAMENT_FIELDS)
def create_tournament(context: TournamentsContainer, request: Any) -> Response:
    """Create a tournament in a format from the installed plugins, with its options."""
    values = parse(request, NEW_TOURNAMENT_FIELDS)
    data = request.submitted
    # Flags absent from a JSON body keep the usual defaults rather than turning off.
    for flag in ("queuing_enabled", "allow_ticket_purchases", "active", "count_removed_machines"):
        if data.is_json and not data.has(flag):
            values[flag] = True
    spec = request.pss.formats[values["format"]]
    if isinstance(spec.format, PairingFormat):
        raise InvalidInput(
            f"{spec.title} is for finals: create them from a qualifying "
            "tournament on the finals page.",
            code="invalid_field",
            field="format",
        )
    t = setup.create_tournament(
        request.dbsession,
        request.pss,
        context.event,
        values["name"],
        spec.name,
        options=submitted_options(request, spec),
        slug=values["slug"] or None,
        price_cents=values["price"] or 0,
        bundles=parse_bundles(data.get("bundles")),
        actor=request.actor,
        **_settings(values),
    )
    url = event_url(request, context.event, "tournaments", t.slug, "")
    return done(
        request,
        url + "machines",
        {"tournament": tournament_json(request, t)},
        message=f"{t.name} created. Now add its machines.",
        status=201,
    )


@page(
    context=TournamentResource,
    name="edit",
    permission=P.MANAGE,
    template="manage/tournament_edit.html",
)
def edit_tournament_form(context: TournamentResource, request: Any) -> dict[str, Any]:
    """A tournament's settings and format options, to change."""
    t = context.tournament
    spec = request.pss.formats[t.format]
    meta = request.dbsession.scalars(
        select(Metatournament)
        .join(MetatournamentMember, MetatournamentMember.metatournament_id == Metatournament.id)
        .where(MetatournamentMember.tournament_id == t.id)
    ).first()
    return {
        "event": event_json(request, context.event),
        "tournament": tournament_json(request, t),
        "format": format_json(request, spec, t.format_options or {}, t),
        "bundles_text": bundles_text(t.bundles),
        "status_url": request.resource_url(context, "status"),
        "metatournament": {
            **metatournament_json(request, meta, context.event),
            "tournaments_url": event_url(
                request, context.event, "metatournaments", meta.slug, "tournaments"
            ),
        }
        if meta is not None
        else None,
        "metatournaments_url": event_url(request, context.event, "metatournaments", ""),
    }


@action(context=TournamentResource, name="edit", permission=P.MANAGE, fields=EDIT_TOURNAMENT_FIELDS)
def edit_tournament(context: TournamentResource, request: Any) -> Response:
    """Change a tournament's settings and options (turning queuing off clears its queues)."""
    t = context.tournament
    data = request.submitted
    fields: tuple[Field, ...] = EDIT_TOURNAMENT_FIELDS
    if data.is_json:  # JSON clients send only what they change
        fields = tuple(f for f in fields if data.has(f.name))
    values = parse(request, fields)
    actor = request.actor
    changes: dict[str, Any] = {}
    for key in (
        "name",
        "active",
        "allow_ticket_purchases",
        "count_removed_machines",
        "min_purchase",
        "purchase_increment",
        "max_unused_tickets",
        "ticket_quota",
        "qualifying_cut",
    ):
        if key in values:
            changes[key] = values[key]
    if "price" in values:
        changes["price_cents"] = values["price"] if values["price"] is not None else 0
    if "bundles" in values:
        changes["bundles"] = parse_bundles(data.get("bundles"))
    spec = request.pss.formats[t.format]
    options = submitted_options(request, spec, t)
    if options:
        changes["options"] = options
    diff = admin_service.update_tournament(
        request.dbsession, request.pss, t, actor=actor, changes=changes
    )
    if "queue_limit" in values and values["queue_limit"] != t.queue_limit:
        queues.set_queue_limit(
            request.dbsession, request.pss, tournament=t, limit=values["queue_limit"], actor=actor
        )
        diff["queue_limit"] = values["queue_limit"]
    if "queuing_enabled" in values and bool(values["queuing_enabled"]) != t.queuing_enabled:
        queues.set_queuing(
            request.dbsession,
            request.pss,
            tournament=t,
            enabled=bool(values["queuing_enabled"]),
            actor=actor,
        )
        diff["queuing_enabled"] = values["queuing_enabled"]
    return done(
        request,
        request.resource_url(context),
        {"tournament": tournament_json(request, t), "changed": sorted(diff)},
        message=f"{t.name} saved." if diff else "Nothing changed.",
    )


# --- machines ---------------------------------------------------------------------------------

ADD_MACHINE_FIELDS = (
    Field(
        "machine", required=True, label="Machine", help="A title from the catalogue, or a new one."
    ),
)
STATUS_FIELDS = (
    Field(
        "status",
        "choice",
        required=True,
        label="New status",
        choices=("enable", "disable", "remove", "active", "disabled", "removed"),
    ),
    Field("reason", label="Why (for the log)"),
    Field(
        "back",
        "choice",
        label="Where to go afterwards",
        choices=("machines", "keep"),
        help="machines: the tournament's bank (tournament directors); keep: the machine's "
        "scorekeeping page. Empty: the bank for a tournament director, else the "
        "machine's page.",
    ),
)


@page(
    context=TournamentResource,
    name="machines",
    permission=P.MANAGE,
    template="manage/machines.html",
)
def tournament_machines(context: TournamentResource, request: Any) -> dict[str, Any]:
    """A tournament's bank: add machines, take one down for repair, bring it back, remove it."""
    t = context.tournament
    catalogue = request.dbsession.scalars(select(Machine.name).order_by(Machine.name)).all()
    return {
        "event": event_json(request, context.event),
        "tournament": tournament_json(request, t),
        "machines": [machine_json(request, tm, context.event) for tm in t.machines],
        "catalogue": list(catalogue),
    }


@action(context=TournamentResource, name="machines", permission=P.MANAGE, fields=ADD_MACHINE_FIELDS)
def add_machine(context: TournamentResource, request: Any) -> Response:
    """Add a machine to the tournament's bank (a removed one comes back)."""
    values = parse(request, ADD_MACHINE_FIELDS)
    tm = setup.add_machine(
        request.dbsession, context.tournament, values["machine"], actor=request.actor
    )
    return done(
        request,
        request.resource_url(context, "machines"),
        {"machine": machine_json(request, tm, context.event)},
        message=f"{tm.machine.name} added.",
        status=201,
    )


@action(context=MachineResource, name="status", permission=P.SCOREKEEP, fields=STATUS_FIELDS)
def machine_status(context: MachineResource, request: Any) -> Response:
    """Mark a machine down for repair (``disable``) or back in play (``enable``): scorekeepers
    and tournament directors. Remove it from the bank (``remove``): tournament directors only."""
    values = parse(request, STATUS_FIELDS)
    tm = context.machine
    change = machines.set_machine_status(
        request.dbsession,
        request.pss,
        machine=tm,
        status=values["status"],
        actor=request.actor,
        reason=values["reason"] or "",
    )
    words = {
        MachineStatus.ACTIVE: "is back in play",
        MachineStatus.DISABLED: "is down",
        MachineStatus.REMOVED: "is removed",
    }
    director = bool(request.has_permission(P.MANAGE, context))
    if (values["back"] or ("machines" if director else "keep")) == "machines" and director:
        target = event_url(request, context.event, "tournaments", tm.tournament.slug, "machines")
    else:
        target = event_url(request, context.event, "machines", tm.id, "keep")
    return done(
        request,
        target,
        {"machine": machine_json(request, tm, context.event), "changed": change.changed},
        message=f"{tm.machine.name} {words[change.new]}.",
    )


# --- metatournaments and teams ----------------------------------------------------------------

META_FIELDS = (
    Field("name", required=True, label="Name"),
    Field("slug", label="Web address", max_length=64),
    Field("price", "money", label="Price of one ticket"),
    Field("bundles", "bundles", label="Bundles"),
    Field(
        "tournaments",
        "list",
        label="Tournaments",
        help="The tournaments its tickets are good in (one format).",
    ),
)


@action(context=MetatournamentsContainer, permission=P.MANAGE, fields=META_FIELDS)
def create_metatournament(context: MetatournamentsContainer, request: Any) -> Response:
    """Create a metatournament over tournaments of one format."""
    values = parse(request, META_FIELDS)
    event = context.event
    by_slug = {t.slug: t for t in event.tournaments}
    chosen = []
    for slug in values["tournaments"]:
        if slug not in by_slug:
            raise InvalidInput(
                f"There is no tournament {slug!r} in this event.", code="unknown_tournament"
            )
        chosen.append(by_slug[slug])
    if not chosen:
        raise InvalidInput(
            "Choose the tournaments its tickets are good in.",
            code="missing_field",
            field="tournaments",
        )
    meta = setup.create_metatournament(
        request.dbsession,
        event,
        values["name"],
        chosen,
        slug=values["slug"] or None,
        price_cents=values["price"] or 0,
        bundles=parse_bundles(request.submitted.get("bundles")),
        actor=request.actor,
    )
    return done(
        request,
        request.resource_url(context),
        {"metatournament": metatournament_json(request, meta, event)},
        message=f"{meta.name} created.",
        status=201,
    )


TEAM_FIELDS = (
    Field("name", required=True, label="Team name", max_length=100),
    Field(
        "members",
        "list",
        label="Player numbers",
        help="The members' player numbers, like 101, 102.",
    ),
)


@action(context=TeamsContainer, permission=P.SELL, fields=TEAM_FIELDS)
def create_team(context: TeamsContainer, request: Any) -> Response:
    """Create a team from registered players (by player number)."""
    values = parse(request, TEAM_FIELDS)
    numbers: list[int] = []
    for item in values["members"]:
        for part in re.split(r"[\s,;]+", item):
            if not part:
                continue
            number = plain_number(part.lstrip("#"))
            if number is None:
                raise InvalidInput(
                    f"{part[:20]!r} is not a player number.", code="invalid_field", field="members"
                )
            numbers.append(number)
    if not numbers:
        raise InvalidInput(
            "A team needs at least one member.", code="missing_field", field="members"
        )
    members = [setup.player_by_number(request.dbsession, context.event.id, n) for n in numbers]
    team = setup.create_team(
        request.dbsession, context.event, values["name"], members, actor=request.actor
    )
    return done(
        request,
        request.resource_url(context),
        {"team": team_json(request, team, context.event)},
        message=f"Team {team.name} created.",
        status=201,
    )


# --- a team's players, a metatournament's tournaments (tournament director) ---------------------

PLAYER_FIELD = (Field("player", "int", required=True, label="Player number", minimum=1),)


def team_form(context: TeamResource, request: Any) -> dict[str, Any]:
    """A team's players: add one (by player number) or take one off. Not while the team is
    playing or waiting in a queue; at most as many as the smallest team tournament allows."""
    event = context.event
    team = context.team
    limit = setup.team_size_limit(request.dbsession, event.id)
    base = event_url(request, event, "teams", team.id, "")
    return {
        "event": event_json(request, event),
        "team": team_json(request, team, event),
        "max_team_size": limit.max_team_size if limit is not None else None,
        "size_from": limit.name if limit is not None else None,
        "add_url": base + "members",
        "remove_url": base + "remove-member",
    }


for _name in ("members", "remove-member"):
    page(context=TeamResource, name=_name, permission=P.MANAGE, template="manage/team.html")(
        team_form
    )


def _team_done(context: TeamResource, request: Any, message: str) -> Response:
    team = context.team
    return done(
        request,
        event_url(request, context.event, "teams", team.id, "members"),
        {"team": team_json(request, team, context.event)},
        message=message,
    )


@action(context=TeamResource, name="members", permission=P.MANAGE, fields=PLAYER_FIELD)
def add_team_member(context: TeamResource, request: Any) -> Response:
    """Put a player (by number) on the team; they share its tickets from now on."""
    values = parse(request, PLAYER_FIELD)
    ep = setup.player_by_number(request.dbsession, context.event.id, values["player"])
    setup.add_team_member(request.dbsession, context.team, ep, actor=request.actor)
    return _team_done(context, request, f"{ep.name} is on team {context.team.name}.")


@action(context=TeamResource, name="remove-member", permission=P.MANAGE, fields=PLAYER_FIELD)
def remove_team_member(context: TeamResource, request: Any) -> Response:
    """Take a player (by number) off the team; the team keeps its tickets and scores."""
    values = parse(request, PLAYER_FIELD)
    ep = setup.player_by_number(request.dbsession, context.event.id, values["player"])
    setup.remove_team_member(request.dbsession, context.team, ep, actor=request.actor)
    return _team_done(context, request, f"{ep.name} is off team {context.team.name}.")


TOURNAMENT_FIELD = (
    Field(
        "tournament",
        required=True,
        label="Tournament",
        max_length=64,
        help="The tournament's web address (slug).",
    ),
)


def metatournament_form(context: MetatournamentResource, request: Any) -> dict[str, Any]:
    """A metatournament's tournaments: add one of the same format (in no other
    metatournament) or take one out (not while its tickets are being played there)."""
    event = context.event
    meta = context.metatournament
    session = request.dbsession
    members = [m.tournament for m in meta.members]
    taken = set(session.scalars(select(MetatournamentMember.tournament_id)))
    formats = {t.format for t in members}
    everything = session.scalars(
        select(Tournament).where(Tournament.event_id == event.id).order_by(Tournament.id)
    )
    candidates = [
        t
        for t in everything
        if t.id not in taken and not t.is_team and (not formats or t.format in formats)
    ]
    base = event_url(request, event, "metatournaments", meta.slug, "")
    return {
        "event": event_json(request, event),
        "metatournament": metatournament_json(request, meta, event),
        "tournaments": [tournament_json(request, t, event) for t in members],
        "candidates": [{"slug": t.slug, "name": t.name, "format": t.format} for t in candidates],
        "_options": [(t.slug, f"{t.name} ({t.format})") for t in candidates],
        "add_url": base + "tournaments",
        "remove_url": base + "remove-tournament",
    }


for _name in ("tournaments", "remove-tournament"):
    page(
        context=MetatournamentResource,
        name=_name,
        permission=P.MANAGE,
        template="manage/metatournament.html",
    )(metatournament_form)


def _tournament_named(request: Any, context: MetatournamentResource, slug: str) -> Tournament:
    found = request.dbsession.scalars(
        select(Tournament).where(Tournament.event_id == context.event.id, Tournament.slug == slug)
    ).first()
    if found is None:
        raise InvalidInput(
            f"There is no tournament {slug!r} in this event.",
            code="unknown_tournament",
            field="tournament",
        )
    return found


def _meta_done(context: MetatournamentResource, request: Any, message: str) -> Response:
    meta: Metatournament = context.metatournament
    return done(
        request,
        event_url(request, context.event, "metatournaments", meta.slug, "tournaments"),
        {"metatournament": metatournament_json(request, meta, context.event)},
        message=message,
    )


@action(
    context=MetatournamentResource, name="tournaments", permission=P.MANAGE, fields=TOURNAMENT_FIELD
)
def add_to_metatournament(context: MetatournamentResource, request: Any) -> Response:
    """Make the metatournament's tickets good in another tournament (same format, in no other
    metatournament)."""
    values = parse(request, TOURNAMENT_FIELD)
    t = _tournament_named(request, context, values["tournament"])
    meta = context.metatournament
    setup.add_to_metatournament(request.dbsession, meta, t, actor=request.actor)
    return _meta_done(context, request, f"{meta.name} tickets are good in {t.name} now.")


@action(
    context=MetatournamentResource,
    name="remove-tournament",
    permission=P.MANAGE,
    fields=TOURNAMENT_FIELD,
)
def remove_from_metatournament(context: MetatournamentResource, request: Any) -> Response:
    """Stop the metatournament's tickets being good in a tournament (games played stay)."""
    values = parse(request, TOURNAMENT_FIELD)
    t = _tournament_named(request, context, values["tournament"])
    meta = context.metatournament
    setup.remove_from_metatournament(request.dbsession, meta, t, actor=request.actor)
    return _meta_done(context, request, f"{meta.name} tickets are no longer good in {t.name}.")


# --- the event's staff (its owner; also reachable from the admin interface) -------------------

ROLE_CHOICES = tuple(r.value for r in Role)
ROLE_TITLES = {
    Role.TOURNAMENT_DIRECTOR.value: "Tournament director",
    Role.DESK.value: "Desk",
    Role.SCOREKEEPER.value: "Scorekeeper",
}
ADD_USER_FIELDS = (
    Field("username", required=True, label="Username", max_length=64),
    Field("full_name", label="Full name"),
    Field(
        "password",
        "password",
        required=True,
        label="Password for this event",
        help="At least 6 characters. Valid only for this event.",
    ),
    Field("roles", "list", required=True, label="Roles", choices=ROLE_CHOICES),
)
EDIT_USER_FIELDS = (
    Field("roles", "list", required=True, label="Roles", choices=ROLE_CHOICES),
    Field(
        "password",
        "password",
        label="New password for this event",
        help="Leave empty to keep the current one.",
    ),
)


def _staff(request: Any, event_id: int, *, removed: bool = False) -> list[EventUser]:
    return list(
        request.dbsession.scalars(
            select(EventUser)
            .join(User, User.id == EventUser.user_id)
            .where(
                EventUser.event_id == event_id,
                EventUser.removed_at.is_not(None) if removed else EventUser.removed_at.is_(None),
            )
            .order_by(User.username)
        )
    )


@page(context=EventUsersContainer, permission=P.MANAGE_USERS, template="manage/users.html")
def event_users(context: EventUsersContainer, request: Any) -> dict[str, Any]:
    """The event's staff and their roles, with the form to add someone; and who was removed
    from it (their sales and scores keep their name)."""
    return {
        "event": event_json(request, context.event),
        "users": [
            {**event_user_json(eu), "url": request.resource_url(context, eu.user.username)}
            for eu in _staff(request, context.event.id)
        ],
        "removed": [event_user_json(eu) for eu in _staff(request, context.event.id, removed=True)],
        "roles": [{"value": v, "title": ROLE_TITLES[v]} for v in ROLE_CHOICES],
    }


@action(context=EventUsersContainer, permission=P.MANAGE_USERS, fields=ADD_USER_FIELDS)
def add_event_user(context: EventUsersContainer, request: Any) -> Response:
    """Add someone to the staff (their account is created if needed) with roles and a password
    valid only for this event. Adding an existing member replaces roles and password."""
    values = parse(request, ADD_USER_FIELDS)
    eu = setup.add_event_user(
        request.dbsession,
        context.event,
        values["username"],
        values["password"],
        values["roles"],
        full_name=values["full_name"] or "",
        actor=request.actor,
    )
    return done(
        request,
        request.resource_url(context),
        {"user": event_user_json(eu)},
        message=f"{eu.user.username} can now log into {context.event.name}.",
        status=201,
    )


@page(context=EventUserResource, permission=P.MANAGE_USERS, template="manage/user.html")
def event_user_form(context: EventUserResource, request: Any) -> dict[str, Any]:
    """One staff member: change roles or password, or remove them."""
    return {
        "event": event_json(request, context.event),
        "user": event_user_json(context.event_user),
        "roles": [{"value": v, "title": ROLE_TITLES[v]} for v in ROLE_CHOICES],
    }


@action(context=EventUserResource, permission=P.MANAGE_USERS, fields=EDIT_USER_FIELDS)
def edit_event_user(context: EventUserResource, request: Any) -> Response:
    """Change a staff member's roles (and, optionally, their password for this event)."""
    values = parse(request, EDIT_USER_FIELDS)
    identity = request.identity
    # Someone changing their own password keeps the session they are doing it from.
    own = identity is not None and identity.user_id == context.event_user.user_id
    eu = admin_service.set_event_user(
        request.dbsession,
        context.event,
        context.event_user,
        roles=values["roles"],
        password=values["password"],
        actor=request.actor,
        keep_session_id=identity.session_id if own else None,
    )
    return done(
        request,
        request.resource_url(context.__parent__),
        {"user": event_user_json(eu)},
        message=f"{eu.user.username} saved.",
    )


@action(context=EventUserResource, name="remove", permission=P.MANAGE_USERS)
def remove_event_user(context: EventUserResource, request: Any) -> Response:
    """Take someone off the staff; their logins to this event end at once."""
    username = context.event_user.user.username
    admin_service.remove_event_user(
        request.dbsession, context.event, context.event_user, actor=request.actor
    )
    return done(
        request,
        request.resource_url(context.__parent__),
        {"removed": username},
        message=f"{username} is no longer on the staff.",
    )
