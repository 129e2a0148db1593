"""Offers managed by the tournament director: restrictions (early-bird windows, coupon codes, any
kind a plugin installs) on one tournament, one metatournament or every ticket of the event.

    /events/<slug>/restrictions/                the event's offers with their uses; POST: add one
    /events/<slug>/restrictions/<id>/           one offer's settings; POST: change them
    /events/<slug>/restrictions/<id>/deactivate POST: stop applying it
    /events/<slug>/restrictions/<id>/activate   POST: apply it again

The settings form of each kind is built from its declared options (``RestrictionKind.options``)
with the same template as a tournament format's options; the kind's plugin checks the values.
"""

from __future__ import annotations

from typing import Any

from pyramid.response import Response
from sqlalchemy import select

from pss_core.errors import InvalidInput
from pss_core.models import Event, Metatournament, PriceRestriction, Tournament, utcnow
from pss_core.services import restrictions as restriction_svc
from pss_core.services.restrictions import RestrictionKind
from pss_web.forms import Field, parse
from pss_web.layout import add_event_nav
from pss_web.present import event_json, event_url
from pss_web.resources import EventChild, add_event_child
from pss_web.security import Permission
from pss_web.viewkit import action, done, page
from pss_web.views.manage import option_field

P = Permission


# --- the tree -----------------------------------------------------------------------------------


class RestrictionsContainer(EventChild):
    api_paths = ("/events/{event}/restrictions",)
    title = "Offers"

    def __getitem__(self, name: str) -> RestrictionResource:
        return RestrictionResource(self.request, name, self, self.event_row(PriceRestriction, name))


class RestrictionResource(EventChild):
    api_paths = ("/events/{event}/restrictions/{restriction}",)

    def __init__(self, request: Any, name: str, parent: Any, row: PriceRestriction) -> None:
        super().__init__(request, name, parent)
        self.restriction = row
        self.title = row.name


add_event_child("restrictions", RestrictionsContainer)
add_event_nav("Offers", "restrictions", "", permission=P.MANAGE, order=75)


# --- presenting -------------------------------------------------------------------------------


def _scope_choices(request: Any, event: Event) -> list[tuple[str, str]]:
    session = request.dbsession
    tournaments = session.scalars(
        select(Tournament).where(Tournament.event_id == event.id).order_by(Tournament.name)
    ).all()
    metas = session.scalars(
        select(Metatournament)
        .where(Metatournament.event_id == event.id)
        .order_by(Metatournament.name)
    ).all()
    return [
        ("", "Every ticket of the event"),
        *((f"tournament:{t.slug}", t.name) for t in tournaments),
        *((f"metatournament:{m.slug}", f"{m.name} (metatournament)") for m in metas),
    ]


def _scope_of(request: Any, row: PriceRestriction) -> tuple[str, str]:
    session = request.dbsession
    if row.tournament_id is not None:
        t = session.get(Tournament, row.tournament_id)
        assert t is not None
        return f"tournament:{t.slug}", t.name
    if row.metatournament_id is not None:
        m = session.get(Metatournament, row.metatournament_id)
        assert m is not None
        return f"metatournament:{m.slug}", m.name
    return "", "Every ticket of the event"


def kind_json(
    request: Any, kind: RestrictionKind, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A kind and its settings as form fields (the format-options form renders them)."""
    values = values or {}
    return {
        "name": kind.name,
        "title": kind.title,
        "description": kind.description,
        "takes_code": kind.takes_code,
        "plugin": request.pss.restrictions.owner(kind.name),
        "options": [option_field(request, o, values.get(o.name, o.default)) for o in kind.options],
    }


def installed_kind(request: Any, name: str) -> RestrictionKind | None:
    """The installed kind called ``name``; ``None`` if its plugin is not installed (any more)."""
    return next((k for k in request.pss.restrictions if k.name == name), None)


def _settings_text(kind: RestrictionKind | None, config: dict[str, Any]) -> list[dict[str, Any]]:
    titles = {o.name: o.title or o.name for o in kind.options} if kind else {}
    return [
        {"name": k, "title": titles.get(k, k), "value": v}
        for k, v in config.items()
        if v is not None and v != ""
    ]


def restriction_json(
    request: Any, row: PriceRestriction, event: Event, uses: dict[int, int]
) -> dict[str, Any]:
    kind = installed_kind(request, row.kind)
    scope, scope_name = _scope_of(request, row)
    config = dict(row.config or {})
    return {
        "id": row.id,
        "url": event_url(request, event, "restrictions", row.id, ""),
        "kind": row.kind,
        "kind_title": kind.title if kind else row.kind,
        "kind_installed": kind is not None,
        "name": row.name,
        "scope": scope or None,
        "scope_name": scope_name,
        "config": config,
        "settings": _settings_text(kind, config),
        "max_uses": row.max_uses,
        # Uses are recorded (and so counted) only while the offer has a maximum.
        "uses": uses.get(row.id) if row.max_uses is not None else None,
        "active": row.active,
        "created_at": row.created_at,
    }


def _uses(request: Any, rows: Any) -> dict[int, int]:
    return restriction_svc.live_uses(
        request.dbsession, [r.id for r in rows if r.max_uses is not None], utcnow()
    )


# --- reading the form -------------------------------------------------------------------------


def _find_scope(request: Any, event: Event, key: str | None) -> dict[str, Any]:
    """``tournament:<slug>``, ``metatournament:<slug>``, or empty for the whole event."""
    key = (key or "").strip()
    if key in ("", "event"):
        return {}
    kind, _, slug = key.partition(":")
    scope: Tournament | Metatournament | None = None
    if kind == "tournament":
        scope = request.dbsession.scalars(
            select(Tournament).where(Tournament.event_id == event.id, Tournament.slug == slug)
        ).first()
    elif kind == "metatournament":
        scope = request.dbsession.scalars(
            select(Metatournament).where(
                Metatournament.event_id == event.id, Metatournament.slug == slug
            )
        ).first()
    if scope is None:
        raise InvalidInput(
            f"There is no tournament or metatournament {key[:60]!r} in this event.",
            code="invalid_field",
            field="scope",
        )
    if isinstance(scope, Tournament):
        return {"tournament": scope}
    return {"metatournament": scope}


def _kind(request: Any, name: str | None) -> RestrictionKind:
    kinds = request.pss.restrictions
    if not name or name not in kinds:
        known = ", ".join(k.name for k in kinds) or "none is installed"
        raise InvalidInput(
            f"Choose a kind of offer ({known}).", code="unknown_restriction_kind", field="kind"
        )
    kind: RestrictionKind = kinds[name]
    return kind


def submitted_settings(
    request: Any, kind: RestrictionKind, current: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The kind's settings from ``option.<name>`` form fields, or from a JSON ``config`` object
    (laid over ``current`` when editing, so JSON clients send only what changes). A blank value
    means the setting's default (an empty time, no percentage). ``None``: none were sent."""
    data = request.submitted
    raw: dict[str, Any] = {}
    if data.is_json:
        if not data.has("config"):
            return None
        sent = data.get("config")
        if sent is None:
            sent = {}
        if not isinstance(sent, dict):
            raise InvalidInput(
                "config must be an object of the offer's settings.",
                code="invalid_field",
                field="config",
            )
        raw = {**(current or {}), **sent}
    else:
        found = False
        for opt in kind.options:
            values = data.getall(f"option.{opt.name}")
            if values:
                found = True
                # A checkbox sends a hidden "off" and, when ticked, "on" after it.
                raw[opt.name] = values[-1]
        if not found and kind.options:
            return None
    options = {o.name: o for o in kind.options}
    out = {}
    for name, value in raw.items():
        spec = options.get(name)
        blank = value is None or (isinstance(value, str) and not value.strip())
        if blank and spec is not None and (spec.nullable or spec.default in ("", None)):
            continue
        out[name] = value
    return out


CREATE_FIELDS = (
    Field(
        "kind",
        required=True,
        label="Kind",
        max_length=64,
        help="One of the installed kinds of offer (coupon, time_window, ...).",
    ),
    Field("name", required=True, label="Name", max_length=200),
    Field(
        "scope",
        label="Applies to",
        max_length=200,
        help="tournament:<slug> or metatournament:<slug>; empty: every ticket of the event.",
    ),
    Field(
        "max_uses",
        "int",
        label="Maximum uses",
        minimum=0,
        help="How many purchases may use it; empty for no limit.",
    ),
    Field("active", "bool", label="Active", help="Applies to sales now (default yes)."),
    Field(
        "config",
        "object",
        label="Settings",
        help="JSON clients: an object of the kind's settings. Forms: option.<name> fields.",
    ),
)
EDIT_FIELDS = (
    Field("name", required=True, label="Name", max_length=200),
    Field(
        "max_uses",
        "int",
        label="Maximum uses",
        minimum=0,
        help="How many purchases may use it; empty for no limit.",
    ),
    Field("active", "bool", label="Active"),
    Field(
        "config",
        "object",
        label="Settings",
        help="JSON clients: the settings to change. Forms: option.<name> fields.",
    ),
)


# --- the list and the new-offer form ----------------------------------------------------------


def _new_form(request: Any, event: Event) -> dict[str, Any]:
    data = request.submitted if request.method == "POST" else None
    chosen = (data.get("kind") if data is not None else None) or request.params.get("kind")
    kinds = list(request.pss.restrictions)
    kind = next((k for k in kinds if k.name == chosen), kinds[0] if kinds else None)
    return {
        "kinds": [{"name": k.name, "title": k.title, "description": k.description} for k in kinds],
        "kind": kind_json(request, kind) if kind is not None else None,
        "scopes": _scope_choices(request, event),
    }


@page(context=RestrictionsContainer, permission=P.MANAGE, template="restrictions/list.html")
def restrictions_page(context: RestrictionsContainer, request: Any) -> dict[str, Any]:
    """The event's offers (early birds, coupons, ...) with their uses so far, and the form to add
    one of an installed kind (``?kind=`` picks its settings)."""
    event = context.event
    rows = restriction_svc.event_restrictions(request.dbsession, event.id)
    uses = _uses(request, rows)
    return {
        "event": event_json(request, event),
        "restrictions": [restriction_json(request, r, event, uses) for r in rows],
        "new": _new_form(request, event),
        "action_url": event_url(request, event, "restrictions", ""),
    }


@action(context=RestrictionsContainer, permission=P.MANAGE, fields=CREATE_FIELDS)
def create_restriction(context: RestrictionsContainer, request: Any) -> Response:
    """Add an offer of an installed kind to one tournament, one metatournament or every ticket
    of the event, with the kind's settings (checked by its plugin)."""
    event = context.event
    values = parse(request, CREATE_FIELDS)
    data = request.submitted
    kind = _kind(request, values["kind"])
    active = values["active"] if not data.is_json or data.has("active") else True
    config = submitted_settings(request, kind) or {}
    row = restriction_svc.create_restriction(
        request.dbsession,
        request.pss,
        event_id=event.id,
        kind=kind.name,
        name=values["name"],
        config=config,
        max_uses=values["max_uses"],
        actor=request.actor,
        **_find_scope(request, event, values["scope"]),
    )
    if not active:
        restriction_svc.set_active(request.dbsession, row, False, actor=request.actor)
    data_out = restriction_json(request, row, event, _uses(request, [row]))
    return done(
        request,
        event_url(request, event, "restrictions", ""),
        {"restriction": data_out},
        message=f"{row.name} added.",
        status=201,
    )


# --- one offer --------------------------------------------------------------------------------


@page(context=RestrictionResource, permission=P.MANAGE, template="restrictions/edit.html")
def restriction_page(context: RestrictionResource, request: Any) -> dict[str, Any]:
    """One offer: its settings to change, its uses so far against its maximum, and switching it
    off or on."""
    event = context.event
    row = context.restriction
    kind = installed_kind(request, row.kind)
    return {
        "event": event_json(request, event),
        "restriction": restriction_json(request, row, event, _uses(request, [row])),
        "kind": kind_json(request, kind, dict(row.config or {})) if kind is not None else None,
        "list_url": event_url(request, event, "restrictions", ""),
    }


@action(context=RestrictionResource, permission=P.MANAGE, fields=EDIT_FIELDS)
def edit_restriction(context: RestrictionResource, request: Any) -> Response:
    """Change an offer's name, maximum uses, active flag or settings (its kind and what it
    applies to stay; to change those, deactivate it and add another)."""
    event = context.event
    row = context.restriction
    data = request.submitted
    fields: tuple[Field, ...] = EDIT_FIELDS
    if data.is_json:  # JSON clients send only what they change
        fields = tuple(f for f in fields if data.has(f.name))
    values = parse(request, fields)
    kind = installed_kind(request, row.kind)
    config = None
    if kind is not None:
        config = submitted_settings(request, kind, dict(row.config or {}))
    elif data.is_json and data.has("config"):
        config = data.get("config")  # refused by the service: the kind is not installed
    changes: dict[str, Any] = {}
    if "max_uses" in values:
        changes["max_uses"] = values["max_uses"]
    if "active" in values:
        changes["active"] = values["active"]
    diff = restriction_svc.update_restriction(
        request.dbsession,
        request.pss,
        row,
        name=values.get("name"),
        config=config,
        actor=request.actor,
        **changes,
    )
    return done(
        request,
        event_url(request, event, "restrictions", ""),
        {
            "restriction": restriction_json(request, row, event, _uses(request, [row])),
            "changed": sorted(diff),
        },
        message=f"{row.name} saved." if diff else "Nothing changed.",
    )


def _switch(context: RestrictionResource, request: Any, active: bool) -> Response:
    event = context.event
    row = context.restriction
    restriction_svc.set_active(request.dbsession, row, active, actor=request.actor)
    words = "applies again" if active else "no longer applies"
    return done(
        request,
        event_url(request, event, "restrictions", ""),
        {"restriction": restriction_json(request, row, event, _uses(request, [row]))},
        message=f"{row.name} {words}.",
    )


@action(context=RestrictionResource, name="deactivate", permission=P.MANAGE)
def deactivate_restriction(context: RestrictionResource, request: Any) -> Response:
    """Stop applying an offer (its uses so far stay recorded)."""
    return _switch(context, request, False)


@action(context=RestrictionResource, name="activate", permission=P.MANAGE)
def activate_restriction(context: RestrictionResource, request: Any) -> Response:
    """Apply a deactivated offer again."""
    return _switch(context, request, True)
