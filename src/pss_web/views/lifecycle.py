"""A tournament's (and a metatournament's) status: the transitions as buttons for its directors,
the job a change started and how it is doing, and the cash the desk owes after a cancel.

    /events/<slug>/tournaments/<slug>/status          GET: status, lock, job; POST ``status``
    /events/<slug>/metatournaments/<slug>/status      the same for a metatournament's tickets
"""

from __future__ import annotations

from typing import Any

from pyramid.response import Response

from pss_core import lifecycle
from pss_core.lifecycle.service import is_locked, status_of
from pss_core.models import Metatournament, Tournament, TournamentStatus
from pss_web.forms import Field, parse
from pss_web.present import event_json, money
from pss_web.resources import MetatournamentResource, TournamentResource
from pss_web.security import Permission
from pss_web.viewkit import action, done, page

P = Permission
S = TournamentStatus

STATUS_FIELDS = (
    Field(
        "status",
        "choice",
        required=True,
        label="New status",
        choices=("draft", "active", "finalized"),
        help="draft (from active: cancel, refunding every unused ticket), active, finalized; "
        "the status it has already runs its job again.",
    ),
)

#: The buttons: (new status, label, what the TD is asked to confirm).
_BUTTONS: dict[TournamentStatus, list[tuple[TournamentStatus, str, str]]] = {
    S.DRAFT: [
        (S.ACTIVE, "Open (make active)", "Players will see it and games can start. Go on?"),
        (S.DRAFT, "Run the refunds again", "Refund every unused paid ticket that is left. Go on?"),
    ],
    S.ACTIVE: [
        (
            S.FINALIZED,
            "Finalize",
            "The standings are frozen as the final results and no score can change. Go on?",
        ),
        (
            S.DRAFT,
            "Cancel the tournament",
            "Every unused paid ticket is refunded (cards "
            "through Stripe, cash at the desk), comps are voided, holds cancelled, queues cleared "
            "and the players told. Go on?",
        ),
        (
            S.ACTIVE,
            "Re-check (revoke results again)",
            "Revoke any frozen results and check the tokens again. Go on?",
        ),
    ],
    S.FINALIZED: [
        (
            S.ACTIVE,
            "Reopen",
            "The frozen results are revoked (kept for history) and scores can change again. Go on?",
        ),
        (
            S.FINALIZED,
            "Freeze the results again",
            "Store the final standings if they are missing. Go on?",
        ),
    ],
}


def scope_status_json(
    request: Any, scope: Tournament | Metatournament, currency: str
) -> dict[str, Any]:
    """What the status page and the JSON show: status, lock, current job, the allowed changes."""
    session = request.dbsession
    status = status_of(scope)
    data: dict[str, Any] = {
        "name": scope.name,
        "slug": scope.slug,
        "status": status.value,
        "cancelled": scope.cancelled_at is not None,
        "cancelled_at": scope.cancelled_at,
        "locked": is_locked(session, scope),
        "job": lifecycle.job_view(session, scope),
        "transitions": [
            {"status": new.value, "label": label, "confirm": confirm}
            for new, label, confirm in _BUTTONS[status]
            if isinstance(scope, Tournament) or new == S.DRAFT or new != status
        ],
        "desk_refunds": [
            {**line, "amount": money(line["amount_cents"], currency)}
            for line in lifecycle.desk_refunds(session, scope)
        ],
    }
    if isinstance(scope, Tournament):
        data["snapshots"] = [
            {
                "number": s.number,
                "version": s.tournament_version,
                "frozen_at": s.created_at,
                "revoked_at": s.revoked_at,
                "rows": len(s.standings.get("standings", [])),
            }
            for s in lifecycle.snapshots(session, scope)
        ]
    return data


def _page(context: Any, request: Any, scope: Tournament | Metatournament) -> dict[str, Any]:
    return {
        "event": event_json(request, context.event),
        "scope": scope_status_json(request, scope, context.event.currency),
        "kind": "tournament" if isinstance(scope, Tournament) else "metatournament",
        "status_url": request.resource_url(context, "status"),
        "back_url": request.resource_url(
            context, "edit" if isinstance(scope, Tournament) else "tournaments"
        ),
    }


@page(context=TournamentResource, name="status", permission=P.MANAGE, template="manage/status.html")
def tournament_status(context: TournamentResource, request: Any) -> dict[str, Any]:
    """A tournament's status, whether it is locked, its current job and the allowed changes."""
    return _page(context, request, context.tournament)


@page(
    context=MetatournamentResource,
    name="status",
    permission=P.MANAGE,
    template="manage/status.html",
)
def metatournament_status(context: MetatournamentResource, request: Any) -> dict[str, Any]:
    """A metatournament's ticket status, whether it is locked and its current job."""
    return _page(context, request, context.metatournament)


def _change(context: Any, request: Any, scope: Tournament | Metatournament) -> Response:
    values = parse(request, STATUS_FIELDS)
    change = lifecycle.change_status(
        request.dbsession, scope, values["status"], actor=request.actor
    )
    request.dbsession.flush()
    return done(
        request,
        request.resource_url(context, "status"),
        {
            "status": change.new.value,
            "old_status": change.old.value,
            "scope": scope_status_json(request, scope, context.event.currency),
        },
        message=change.message,
    )


@action(context=TournamentResource, name="status", permission=P.MANAGE, fields=STATUS_FIELDS)
def change_tournament_status(context: TournamentResource, request: Any) -> Response:
    """Change a tournament's status (draft, active, finalized); the work it causes (refunds,
    frozen results) runs in the worker while the tournament is locked. Refused with
    ``invalid_status_change`` (draft ↔ finalized) or ``locked`` (a job is running), 409."""
    return _change(context, request, context.tournament)


@action(context=MetatournamentResource, name="status", permission=P.MANAGE, fields=STATUS_FIELDS)
def change_metatournament_status(context: MetatournamentResource, request: Any) -> Response:
    """Change the status of a metatournament's own tickets (active → draft refunds them)."""
    return _change(context, request, context.metatournament)
