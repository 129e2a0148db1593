"""Printable finals score sheets: a sheet per group of a round, its players by seed, and for each
game the playing order and a box per player for machine and score.

    /events/<slug>/finals/<slug>/scoresheet           the current round (``?round=N`` another)
"""

from __future__ import annotations

from typing import Any

from pss_core.errors import InvalidInput
from pss_core.services import finals as service
from pss_web.present import event_json
from pss_web.security import Permission
from pss_web.viewkit import page
from pss_web.views.finals import FinalsResource, finals_json

P = Permission


def _round(request: Any, rounds: list[dict[str, Any]]) -> dict[str, Any] | None:
    raw = request.params.get("round")
    if raw in (None, ""):
        return rounds[-1] if rounds else None
    try:
        number = int(raw)
    except ValueError:
        number = -1
    for round_ in rounds:
        if round_["number"] == number:
            return round_
    raise InvalidInput(
        f"There is no round {raw} in these finals"
        + (f": rounds 1 to {rounds[-1]['number']} are made." if rounds else " yet."),
        code="no_such_round",
        field="round",
    )


def _orders(seeds: list[int], games: int) -> list[list[int]]:
    """Each game's playing order: best seed first in game 1, then turning by one each game
    (:func:`pss_core.services.finals_play.play_order`)."""
    seeds = sorted(seeds)
    return [seeds[g % len(seeds) :] + seeds[: g % len(seeds)] for g in range(games)]


@page(
    context=FinalsResource,
    name="scoresheet",
    permission=P.SCOREKEEP,
    template="finals/scoresheet.html",
)
def finals_score_sheet(context: FinalsResource, request: Any) -> dict[str, Any]:
    """Printable score sheets for a round of the finals (the current one unless ``?round=N``):
    one per group, its players by seed, each game's playing order and boxes to fill in."""
    finals = context.finals
    data = service.bracket(request.dbsession, request.pss, finals)
    round_ = _round(request, data["rounds"])
    groups = []
    for group in round_["groups"] if round_ else []:
        seeds = [p["seed"] for p in group["players"]]
        groups.append(
            {
                "label": group["label"],
                "advance": group["advance"],
                "games": group["games_planned"],
                "players": sorted(group["players"], key=lambda p: p["seed"]),
                "orders": _orders(seeds, group["games_planned"]),
                "finished": group["finished"],
            }
        )
    return {
        "event": event_json(request, context.event),
        "finals": finals_json(request, finals),
        "round": round_["number"] if round_ else None,
        "groups": groups,
        "bracket_url": request.resource_url(context),
    }
