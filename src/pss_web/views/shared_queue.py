"""The queue of a physical machine that several tournaments' banks share (one HERB and one PAPA
title on one bank machine): who waits for it, for which tournament, in the order they play."""

from __future__ import annotations

from typing import Any

from pss_core.models import Event, EventPlayer, Team, TournamentMachine
from pss_core.services import games, queues
from pss_web.present import event_url, player_json, team_json


def _who(request: Any, event: Event, player_id: int | None, team_id: int | None) -> Any:
    session = request.dbsession
    if team_id is not None:
        team = session.get(Team, team_id)
        return team_json(request, team, event) if team is not None else None
    ep = session.get(EventPlayer, player_id) if player_id is not None else None
    return player_json(request, ep, event) if ep is not None else None


def shared_queue_json(request: Any, event: Event, tm: TournamentMachine) -> dict[str, Any] | None:
    """``None`` for a machine in one bank only; else the tournaments sharing it and everyone
    waiting for it, longest waiting first (who plays next, whichever tournament)."""
    session = request.dbsession
    ids = games.same_machine_ids(session, tm)
    if len(ids) < 2:
        return None
    rows = queues.physical_queue(session, tm)
    return {
        "machines": [
            {"id": i, "url": event_url(request, event, "machines", i, "")}
            for i in ids
            if i != tm.id
        ],
        "waiting": [
            {
                "order": n,
                "tournament": row.tournament,
                "position": row.position,
                "joined_at": row.joined_at,
                "here": row.tournament_machine_id == tm.id,
                "who": _who(request, event, row.player_id, row.team_id),
            }
            for n, row in enumerate(rows, 1)
        ],
    }
