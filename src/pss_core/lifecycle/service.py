"""Status changes of tournaments and metatournaments, and what the TD and the results see of
their jobs. The work itself is in :mod:`pss_core.lifecycle.work`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import audit, jobs
from pss_core.audit import Actor
from pss_core.errors import InvalidInput, Refused
from pss_core.mail import TOURNAMENT_CANCELLED
from pss_core.models import (
    Channel,
    EventPlayer,
    LifecycleJob,
    LifecycleJobKind,
    LifecycleJobState,
    Metatournament,
    Purchase,
    Refund,
    ResultsSnapshot,
    Tournament,
    TournamentMachine,
    TournamentStatus,
    utcnow,
)
from pss_core.services import locking

Scope = Tournament | Metatournament
S = TournamentStatus
K = LifecycleJobKind

#: Every allowed change, with the job it kicks off (``None``: nothing to do). The
#: self-transitions run their job again, to repair what a failed or interrupted run left.
ALLOWED: dict[tuple[TournamentStatus, TournamentStatus], LifecycleJobKind | None] = {
    (S.DRAFT, S.ACTIVE): None,
    (S.ACTIVE, S.DRAFT): K.REFUND,
    (S.ACTIVE, S.FINALIZED): K.FREEZE,
    (S.FINALIZED, S.ACTIVE): K.REVOKE,
    (S.DRAFT, S.DRAFT): K.REFUND,
    (S.ACTIVE, S.ACTIVE): K.REVOKE,
    (S.FINALIZED, S.FINALIZED): K.FREEZE,
}

#: The procrastinate task that runs a lifecycle job.
TASK = "pss.lifecycle.run"

_VERBS = {
    (S.DRAFT, S.ACTIVE): "opened",
    (S.ACTIVE, S.DRAFT): "cancelled",
    (S.ACTIVE, S.FINALIZED): "finalized",
    (S.FINALIZED, S.ACTIVE): "reopened",
}


class InvalidStatusChange(Refused):
    default_code = "invalid_status_change"


@attrs.frozen
class StatusChange:
    old: TournamentStatus
    new: TournamentStatus
    #: The job the change deferred, if it has work.
    job_id: int | None
    message: str


def status_of(scope: Scope) -> TournamentStatus:
    """The lifecycle status; the old ``cancelled`` value counts as the draft it now is."""
    return S.DRAFT if scope.status == S.CANCELLED else scope.status


def job_kind_for(
    scope: Scope, old: TournamentStatus, new: TournamentStatus
) -> LifecycleJobKind | None:
    kind = ALLOWED[(old, new)]
    # A metatournament only sells tickets: it has no results to freeze or revoke.
    if isinstance(scope, Metatournament) and kind != K.REFUND:
        return None
    return kind


def _games_in_progress(session: Session, scope: Scope) -> int:
    if not isinstance(scope, Tournament):
        return 0
    return int(
        session.scalar(
            select(func.count(TournamentMachine.id)).where(
                TournamentMachine.tournament_id == scope.id, TournamentMachine.token_id.is_not(None)
            )
        )
        or 0
    )


def change_status(
    session: Session,
    scope: Scope,
    status: str | TournamentStatus,
    *,
    actor: Actor,
    now: datetime | None = None,
) -> StatusChange:
    """Move ``scope`` to ``status`` and defer the job the change has, in the caller's
    transaction (so a rolled-back change has no job). Refused with ``locked`` while an earlier
    job still runs, ``invalid_status_change`` for a change the lifecycle does not allow and
    ``games_in_progress`` when a cancel or finalize would cut games short."""
    now = now or utcnow()
    try:
        new = S(status)
    except ValueError:
        raise InvalidInput(
            "A status is one of draft, active or finalized.", code="invalid_status", field="status"
        ) from None
    if new == S.CANCELLED:
        raise InvalidStatusChange(
            "To cancel, set the status to draft: the tickets are refunded and it stays a draft.",
            field="status",
        )
    model = Tournament if isinstance(scope, Tournament) else Metatournament
    locking.lock_rows(session, model, [scope.id])
    session.refresh(scope)
    locking.refuse_if_held(session, scope, status_change=True, now=now)
    old = status_of(scope)
    if (old, new) not in ALLOWED:
        raise InvalidStatusChange(
            f"{scope.name} cannot go from {old.value} to {new.value} directly"
            + (
                ": make it active first."
                if old == S.DRAFT
                else ": reopen it (active) first, then cancel it (draft)."
            ),
            field="status",
            old=old.value,
            new=new.value,
        )
    if old == S.ACTIVE and new != S.ACTIVE and _games_in_progress(session, scope):
        raise Refused(
            f"{scope.name} has games in progress; end or void them before it is "
            f"{'cancelled' if new == S.DRAFT else 'finalized'}.",
            code="games_in_progress",
        )
    previous = locking.current_job(session, scope)
    if previous is not None and previous.state in (
        LifecycleJobState.FAILED,
        LifecycleJobState.RUNNING,
    ):
        previous.state = LifecycleJobState.SUPERSEDED
        previous.finished_at = previous.finished_at or now
    scope.status = new
    if (old, new) == (S.ACTIVE, S.DRAFT):
        scope.cancelled_at = now
    elif new != S.DRAFT:
        scope.cancelled_at = None
    kind = job_kind_for(scope, old, new)
    job: LifecycleJob | None = None
    if kind is not None:
        job = LifecycleJob(
            event_id=scope.event_id,
            kind=kind,
            old_status=old,
            new_status=new,
            state=LifecycleJobState.QUEUED,
            requested_by=actor.label,
            created_at=now,
            tournament_id=scope.id if isinstance(scope, Tournament) else None,
            metatournament_id=scope.id if isinstance(scope, Metatournament) else None,
        )
        session.add(job)
    session.flush()
    audit.record(
        session,
        actor,
        f"{model.__tablename__[:-1]}.status",
        event_id=scope.event_id,
        subject=scope,
        old=old.value,
        new=new.value,
        job=job.id if job else None,
        job_kind=kind.value if kind else None,
    )
    if job is not None:
        audit.record(
            session,
            actor,
            "lifecycle.job_queued",
            event_id=scope.event_id,
            subject=job,
            kind=job.kind.value,
            scope=scope.name,
        )
        jobs.defer(
            session, TASK, lock=lock_name(scope), queueing_lock=f"{TASK}.{job.id}", job_id=job.id
        )
    verb = _VERBS.get((old, new))
    message = (
        f"{scope.name} is {verb}."
        if verb
        else f"{scope.name} stays {new.value}; its work runs again."
    )
    if job is not None and old != new:
        message += (
            " "
            + {
                K.REFUND: "Its tickets are being refunded.",
                K.FREEZE: "Its results are being frozen.",
                K.REVOKE: "Its frozen results are being revoked.",
            }[job.kind]
        )
    return StatusChange(old=old, new=new, job_id=job.id if job else None, message=message)


def lock_name(scope: Scope) -> str:
    """One scope's jobs never run at once, on any number of workers."""
    kind, scope_id = locking.scope_key(scope)
    return f"pss.lifecycle.{kind}.{scope_id}"


# --- what the TD sees ---------------------------------------------------------------------------


def job_view(
    session: Session, scope: Scope, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The current job of ``scope`` as the TD's page and the JSON show it, or ``None``."""
    job = locking.current_job(session, scope)
    if job is None:
        return None
    return {
        "id": job.id,
        "kind": job.kind.value,
        "transition": f"{job.old_status.value} → {job.new_status.value}",
        "state": job.state.value,
        "attempts": job.attempts,
        "error": job.last_error,
        "result": dict(job.result or {}),
        "requested_by": job.requested_by,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "next_attempt_at": job.next_attempt_at.isoformat() if job.next_attempt_at else None,
    }


def is_locked(session: Session, scope: Scope) -> bool:
    """Whether a change to ``scope`` would be refused with ``locked`` now."""
    try:
        locking.refuse_if_held(session, scope)
    except locking.Locked:
        return True
    return False


def desk_refunds(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """The cash the desk owes players because ``scope`` was cancelled: one line per desk
    purchase refunded by the cancel, with the player and the amount."""
    column = Purchase.tournament_id if isinstance(scope, Tournament) else Purchase.metatournament_id
    rows = session.execute(
        select(Refund, Purchase, EventPlayer)
        .join(Purchase, Purchase.id == Refund.purchase_id)
        .join(EventPlayer, EventPlayer.id == Purchase.player_id)
        .where(
            column == scope.id,
            Refund.channel == Channel.DESK,
            Refund.reason.startswith(TOURNAMENT_CANCELLED),
        )
        .order_by(EventPlayer.number, Refund.id)
    ).all()
    return [
        {
            "refund_id": r.id,
            "purchase_id": p.id,
            "player_number": ep.number,
            "player": ep.name,
            "amount_cents": r.amount_cents,
            "games": r.tokens,
            "refunded_at": r.created_at.isoformat(),
        }
        for r, p, ep in rows
    ]


# --- the frozen results -------------------------------------------------------------------------


def snapshots(session: Session, tournament: Tournament) -> Sequence[ResultsSnapshot]:
    """Every results snapshot of ``tournament``, oldest first (revoked ones included)."""
    return session.scalars(
        select(ResultsSnapshot)
        .where(ResultsSnapshot.tournament_id == tournament.id)
        .order_by(ResultsSnapshot.number)
    ).all()


def current_snapshot(session: Session, tournament: Tournament) -> ResultsSnapshot | None:
    return session.scalars(
        select(ResultsSnapshot).where(
            ResultsSnapshot.tournament_id == tournament.id, ResultsSnapshot.revoked_at.is_(None)
        )
    ).first()


def frozen_standings(session: Session, tournament: Tournament) -> dict[str, Any] | None:
    """The final standings of a finalized tournament as frozen by its finalize job
    (:meth:`pss_core.contract.Standings.as_dict`, plus ``snapshot`` — its number — and
    ``frozen_at``), or ``None`` when the tournament is not finalized or not frozen yet. Results
    exports read this, not the live standings, so a finalized result never moves."""
    if status_of(tournament) != S.FINALIZED:
        return None
    snap = current_snapshot(session, tournament)
    if snap is None:
        return None
    return {**snap.standings, "snapshot": snap.number, "frozen_at": snap.created_at.isoformat()}
