"""Rows as plain data: what pages render and what their JSON twins return, with URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from pss_core.lifecycle.service import is_locked, job_view, status_of
from pss_core.models import (
    Event,
    EventPlayer,
    EventUser,
    Metatournament,
    Team,
    Tournament,
    TournamentMachine,
)


def app_url(request: Any, *segments: str | int, query: dict[str, Any] | None = None) -> str:
    """An absolute URL below the application root; a trailing ``""`` segment adds a slash."""

    path = "/".join(quote(str(s), safe="") for s in segments)
    url = f"{request.application_url}/{path}"
    if query:
        url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
    return url


def event_url(request: Any, event: Event, *rest: str | int, **kw: Any) -> str:
    return app_url(request, "events", event.slug, *(rest or ("",)), **kw)


def money(cents: int | None, currency: str = "usd") -> str:
    if cents is None:
        return ""
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "cad": "$", "aud": "$"}.get(currency.lower(), "")
    text = f"{cents // 100}.{cents % 100:02d}"
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def event_json(request: Any, event: Event) -> dict[str, Any]:
    return {
        "slug": event.slug,
        "name": event.name,
        "active": event.active,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "currency": event.currency,
        "time_zone": event.time_zone,
        "url": event_url(request, event),
    }


def lifecycle_json(request: Any, scope: Tournament | Metatournament) -> dict[str, Any]:
    """The lifecycle part of a tournament's (or metatournament's) JSON: its status, whether a
    job locks it, and that job with its state."""
    session = request.dbsession
    return {
        "status": status_of(scope).value,
        "cancelled": scope.cancelled_at is not None,
        "locked": is_locked(session, scope),
        "job": job_view(session, scope),
    }


def tournament_json(request: Any, t: Tournament, event: Event | None = None) -> dict[str, Any]:
    event = event or t.event
    return {
        "slug": t.slug,
        "name": t.name,
        "format": t.format,
        "format_options": dict(t.format_options or {}),
        **lifecycle_json(request, t),
        "active": t.active,
        "is_team": t.is_team,
        "max_team_size": t.max_team_size,
        "price_cents": t.price_cents,
        "price": money(t.price_cents, event.currency),
        "bundles": list(t.bundles or []),
        "min_purchase": t.min_purchase,
        "purchase_increment": t.purchase_increment,
        "max_unused_tickets": t.max_unused_tickets,
        "ticket_quota": t.ticket_quota,
        "allow_ticket_purchases": t.allow_ticket_purchases,
        "queuing_enabled": t.queuing_enabled,
        "queue_limit": t.queue_limit,
        "qualifying_cut": t.qualifying_cut,
        "count_removed_machines": t.count_removed_machines,
        "version": t.version,
        "url": event_url(request, event, "tournaments", t.slug, ""),
    }


def machine_json(request: Any, tm: TournamentMachine, event: Event) -> dict[str, Any]:
    playing = None
    if tm.player is not None:
        playing = {
            "kind": "player",
            "number": tm.player.number,
            "name": tm.player.name,
            "url": event_url(request, event, "players", tm.player.number, ""),
        }
    elif tm.team is not None:
        playing = {
            "kind": "team",
            "id": tm.team.id,
            "name": tm.team.name,
            "url": event_url(request, event, "teams", tm.team.id, ""),
        }
    return {
        "id": tm.id,
        "name": tm.machine.name,
        "abbreviation": tm.machine.abbreviation,
        "status": tm.status,
        "tournament": tm.tournament.slug,
        "playing": playing,
        "game_started_at": tm.game_started_at,
        "url": event_url(request, event, "machines", tm.id, ""),
    }


def player_json(request: Any, ep: EventPlayer, event: Event) -> dict[str, Any]:
    return {
        "number": ep.number,
        "name": ep.name,
        "ifpa_id": ep.player.ifpa_id,
        "ifpa_rank": ep.ifpa_rank,
        "url": event_url(request, event, "players", ep.number, ""),
    }


def team_json(request: Any, team: Team, event: Event) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        "members": [player_json(request, m.event_player, event) for m in team.members],
        "url": event_url(request, event, "teams", team.id, ""),
    }


def event_user_json(eu: EventUser) -> dict[str, Any]:
    return {
        "username": eu.user.username,
        "full_name": eu.user.full_name,
        "roles": sorted(r.value for r in eu.role_set),
        "is_owner": eu.user_id == eu.event.owner_id,
        "removed_at": eu.removed_at,
    }


def metatournament_json(request: Any, meta: Metatournament, event: Event) -> dict[str, Any]:
    return {
        "slug": meta.slug,
        "name": meta.name,
        "price_cents": meta.price_cents,
        "price": money(meta.price_cents, event.currency),
        "bundles": list(meta.bundles or []),
        "tournaments": [m.tournament.slug for m in meta.members],
        **lifecycle_json(request, meta),
        "url": event_url(request, event, "metatournaments", meta.slug, ""),
    }
