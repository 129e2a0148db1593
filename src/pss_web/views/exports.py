"""Downloads: a tournament's standings (CSV and JSON, public), its scores and IFPA results (the
tournament director), printable score sheets for the qualifiers, and an event's zip."""

from __future__ import annotations

from typing import Any

from pyramid.response import Response
from pyramid.view import view_config

from pss_core import exports
from pss_core.services import finals as finals_service
from pss_web.present import event_json, tournament_json
from pss_web.resources import EventResource, TournamentResource
from pss_web.security import Permission
from pss_web.viewkit import page

P = Permission
CSV_TYPE = "text/csv"


def _download(body: Any, filename: str, content_type: str) -> Response:
    response = Response(
        content_type=content_type,
        charset="utf-8"
        if content_type.startswith("text/") or content_type.endswith("json")
        else None,
    )
    if isinstance(body, bytes):
        response.body = body
    else:
        response.app_iter = body
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _standings(request: Any, context: TournamentResource) -> Any:
    exports.check_exportable(context.tournament)
    return exports.tournament_standings(
        request.dbsession,
        request.pss,
        context.tournament,
        cache=request.registry.get("pss.standings_cache"),
    )


def _name(context: TournamentResource, what: str, ext: str) -> str:
    return f"{context.event.slug}-{context.tournament.slug}-{what}.{ext}"


@view_config(
    context=TournamentResource,
    name="results.csv",
    permission=P.VIEW,
    request_method=("GET", "HEAD"),
)
def results_csv(context: TournamentResource, request: Any) -> Response:
    """The standings as CSV: rank, number, name, points, qualified, members (not for drafts)."""
    body = exports.standings_csv(_standings(request, context)).encode()
    return _download(body, _name(context, "results", "csv"), CSV_TYPE)


@view_config(
    context=TournamentResource,
    name="results.json",
    permission=P.VIEW,
    request_method=("GET", "HEAD"),
)
def results_json(context: TournamentResource, request: Any) -> Response:
    """The standings as a JSON document with every line's breakdown (not for drafts)."""
    body = exports.standings_json(
        context.event, context.tournament, _standings(request, context)
    ).encode()
    return _download(body, _name(context, "results", "json"), "application/json")


@view_config(
    context=TournamentResource,
    name="scores.csv",
    permission=P.MANAGE,
    request_method=("GET", "HEAD"),
)
def scores_csv(context: TournamentResource, request: Any) -> Response:
    """Every recorded game as CSV, with IFPA ids (the tournament director)."""
    exports.check_exportable(context.tournament)
    # The rows are read now, inside the request's transaction; only their text is streamed.
    rows = list(exports.iter_scores(request.dbsession, context.tournament))
    return _download(
        exports.chunked(exports.csv_lines(exports.SCORE_COLUMNS, rows)),
        _name(context, "scores", "csv"),
        CSV_TYPE,
    )


@view_config(
    context=TournamentResource, name="ifpa.csv", permission=P.MANAGE, request_method=("GET", "HEAD")
)
def ifpa_csv(context: TournamentResource, request: Any) -> Response:
    """The finishing order in the IFPA results template's columns (the tournament director)."""
    order = exports.finishing_order(
        request.dbsession,
        context.tournament,
        _standings(request, context),
        finals=finals_service.finals_places(request.dbsession, request.pss, context.tournament),
    )
    return _download(order.csv().encode(), _name(context, "ifpa", "csv"), CSV_TYPE)


@page(context=TournamentResource, name="ifpa", permission=P.MANAGE, template="exports/ifpa.html")
def ifpa_page(context: TournamentResource, request: Any) -> dict[str, Any]:
    """The IFPA submission: the finishing order and who the IFPA rules leave out, and why."""
    order = exports.finishing_order(
        request.dbsession,
        context.tournament,
        _standings(request, context),
        finals=finals_service.finals_places(request.dbsession, request.pss, context.tournament),
    )
    return {
        "event": event_json(request, context.event),
        "tournament": tournament_json(request, context.tournament, context.event),
        **order.as_dict(),
        "csv_url": request.resource_url(context, "ifpa.csv"),
    }


@page(
    context=TournamentResource,
    name="scoresheet",
    permission=P.MANAGE,
    template="exports/scoresheet.html",
)
def score_sheet(context: TournamentResource, request: Any) -> dict[str, Any]:
    """A printable score sheet: the qualifiers in seed order with a box per game to fill in."""
    standings = _standings(request, context)
    try:
        games = min(max(int(request.params.get("games", 3)), 1), 10)
    except ValueError:
        games = 3
    return {
        "event": event_json(request, context.event),
        "tournament": tournament_json(request, context.tournament, context.event),
        "games": games,
        "seeds": [
            {
                "seed": i + 1,
                "rank": r.rank,
                "name": r.name,
                "number": r.competitor.number,
                "points": r.points,
            }
            for i, r in enumerate(standings.qualifiers or standings.rows)
        ],
    }


@page(context=EventResource, name="exports", permission=P.MANAGE, template="exports/exports.html")
def exports_page(context: EventResource, request: Any) -> dict[str, Any]:
    """Every download of the event: per tournament its results, scores and IFPA file."""
    event = context.event
    tournaments = []
    for t in exports.exportable_tournaments(event):
        info = tournament_json(request, t, event)
        base = info["url"]
        links = {
            "results_csv": base + "results.csv",
            "results_json": base + "results.json",
            "scores_csv": base + "scores.csv",
            "scoresheet": base + "scoresheet",
        }
        if not t.is_team:
            links["ifpa_csv"] = base + "ifpa.csv"
            links["ifpa"] = base + "ifpa"
        tournaments.append({**info, "downloads": links})
    return {
        "event": event_json(request, event),
        "tournaments": tournaments,
        "zip_url": request.resource_url(context, "export.zip"),
    }


@view_config(
    context=EventResource, name="export.zip", permission=P.MANAGE, request_method=("GET", "HEAD")
)
def event_zip(context: EventResource, request: Any) -> Response:
    """Everything of the event as one zip: per tournament results, scores and the IFPA file."""
    data = exports.event_zip(
        request.dbsession,
        request.pss,
        context.event,
        cache=request.registry.get("pss.standings_cache"),
    )
    return _download(data, f"{context.event.slug}-results.zip", "application/zip")
