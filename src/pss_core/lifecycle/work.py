"""The lifecycle jobs: refund a cancelled scope, freeze a finalized tournament's results, revoke
them on a reopen. Each step commits on its own and looks at what is left to do, so a job run
again — after a crash, by a retry, by a self-transition — finishes the work and changes nothing
that was done already."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.jobs.registry import Runtime, session_for
from pss_core.mail import TOURNAMENT_CANCELLED, notices
from pss_core.models import (
    Channel,
    LifecycleJob,
    LifecycleJobKind,
    LifecycleJobState,
    Metatournament,
    Purchase,
    PurchaseStatus,
    Refund,
    ResultsSnapshot,
    Score,
    Token,
    Tournament,
    TournamentMachine,
    utcnow,
)
from pss_core.payments import refunds
from pss_core.services import locking, occupants
from pss_core.services.tickets import audit_for_player
from pss_core.standings import compute_standings

log = logging.getLogger("pss.lifecycle")

Scope = Tournament | Metatournament
#: Attempts before a job is ``failed``; between them 1, 2, 4 … minutes (at most an hour).
MAX_ATTEMPTS = 5
ACTOR = Actor.system("lifecycle")


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


class _Step:
    """Commits a step of the job and shows it is still alive."""

    def __init__(self, session: Session, job: LifecycleJob) -> None:
        self.session = session
        self.job_id = job.id

    def __call__(self) -> None:
        job = self.session.get(LifecycleJob, self.job_id)
        assert job is not None
        job.heartbeat_at = utcnow()
        self.session.commit()


def scope_of(session: Session, job: LifecycleJob) -> Scope:
    found: Scope | None = (
        session.get(Tournament, job.tournament_id)
        if job.tournament_id is not None
        else session.get(Metatournament, job.metatournament_id)
    )
    assert found is not None
    return found


def run(runtime: Runtime, job_id: int, *, now: datetime | None = None) -> dict[str, int]:
    """Run lifecycle job ``job_id`` (the task ``pss.lifecycle.run``). A job that is done,
    superseded or failed for good is left alone; a failure is recorded and retried after a
    pause (``backoff``) by ``pss.lifecycle.retry_due``."""
    with session_for(runtime) as session:
        job = session.get(LifecycleJob, job_id)
        if job is None or job.state in (
            LifecycleJobState.DONE,
            LifecycleJobState.SUPERSEDED,
            LifecycleJobState.FAILED,
        ):
            return {"skipped": 1}
        scope = scope_of(session, job)
        current = locking.current_job(session, scope)
        started = now or utcnow()
        if current is not None and current.id != job.id:
            job.state = LifecycleJobState.SUPERSEDED
            job.finished_at = started
            audit.record(
                session,
                ACTOR,
                "lifecycle.job_superseded",
                event_id=job.event_id,
                subject=job,
                by=current.id,
            )
            session.commit()
            return {"superseded": 1}
        job.state = LifecycleJobState.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = started
        job.next_attempt_at = None
        audit.record(
            session,
            ACTOR,
            "lifecycle.job_start",
            event_id=job.event_id,
            subject=job,
            kind=job.kind.value,
            attempt=job.attempts,
            scope=scope.name,
        )
        session.commit()
        session.info[locking.JOB_SCOPES] = {locking.scope_key(scope)}
        try:
            result = WORK[job.kind](
                session, runtime, scope, job, _Step(session, job), now or utcnow()
            )
        except Exception as exc:
            session.rollback()
            log.exception("lifecycle job %s failed", job_id)
            _failed(session, job_id, exc, now or utcnow())
            return {"failed": 1}
        job = session.get(LifecycleJob, job_id)
        assert job is not None
        job.state = LifecycleJobState.DONE
        job.finished_at = now or utcnow()
        job.last_error = None
        job.result = result
        audit.record(
            session,
            ACTOR,
            "lifecycle.job_done",
            event_id=job.event_id,
            subject=job,
            kind=job.kind.value,
            attempt=job.attempts,
            **result,
        )
        session.commit()
        return {"done": 1}


def _failed(session: Session, job_id: int, exc: Exception, now: datetime) -> None:
    job = session.get(LifecycleJob, job_id)
    assert job is not None
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    job.last_error = message[:2000]
    if job.attempts >= MAX_ATTEMPTS:
        job.state = LifecycleJobState.FAILED
        job.finished_at = now
        action = "lifecycle.job_failed"
    else:
        job.state = LifecycleJobState.RETRYING
        job.next_attempt_at = now + backoff(job.attempts)
        action = "lifecycle.job_retry"
    audit.record(
        session,
        ACTOR,
        action,
        event_id=job.event_id,
        subject=job,
        kind=job.kind.value,
        attempt=job.attempts,
        error=job.last_error,
        next_attempt_at=job.next_attempt_at,
    )
    session.commit()


def due(session: Session, *, now: datetime | None = None) -> list[int]:
    """Jobs waiting for their retry whose time has come."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(LifecycleJob.id)
            .where(
                LifecycleJob.state == LifecycleJobState.RETRYING,
                LifecycleJob.next_attempt_at <= now,
            )
            .order_by(LifecycleJob.id)
        ).all()
    )


# --- cancel: refund everything unused ---------------------------------------------------------


def _scope_filter(model: Any, scope: Scope) -> Any:
    if isinstance(scope, Tournament):
        return model.tournament_id == scope.id
    return model.metatournament_id == scope.id


def _lock_purchase(session: Session, purchase: Purchase) -> Purchase:
    locking.lock_in_order(session, teams=[purchase.team_id], players=[purchase.player_id])
    locking.lock_rows(session, Purchase, [purchase.id])
    session.refresh(purchase)
    return purchase


def refund_scope(
    session: Session,
    runtime: Runtime,
    scope: Scope,
    job: LifecycleJob,
    step: Callable[[], None],
    now: datetime,
) -> dict[str, Any]:
    """Cancel: holds cancelled, queues cleared, every unused paid game refunded — cash at the
    desk, to the card through Stripe (idempotent keys), comps voided — and each player told."""
    reason = f"{TOURNAMENT_CANCELLED}: {scope.name}"
    counts = {
        "holds_cancelled": 0,
        "queue_places_cleared": 0,
        "desk_refunds": 0,
        "card_refunds": 0,
        "card_refunds_pending": 0,
        "comps_voided": 0,
        "games_refunded": 0,
    }
    # Holds: nobody may pay for tickets of a cancelled tournament. The payments pass cancels
    # their PaymentIntents at Stripe; a payment that still arrives is refunded as a late one.
    for pid in session.scalars(
        select(Purchase.id)
        .where(_scope_filter(Purchase, scope), Purchase.status == PurchaseStatus.PENDING)
        .order_by(Purchase.id)
    ).all():
        purchase = session.get(Purchase, pid)
        assert purchase is not None
        purchase = _lock_purchase(session, purchase)
        if purchase.status != PurchaseStatus.PENDING:
            step()
            continue
        purchase.status = PurchaseStatus.CANCELLED
        audit_for_player(
            session,
            ACTOR,
            "purchase.cancel",
            event_id=purchase.event_id,
            player_id=purchase.player_id,
            subject=purchase,
            now=now,
            reason=reason,
            tickets=purchase.tickets,
            job=job.id,
        )
        occupants.notify(
            session,
            runtime.pss,
            [purchase.player_id],
            purchase.event_id,
            "tournament_cancelled",
            f"{scope.name} was cancelled: your held tickets were released and nothing was charged.",
        )
        notices.tournament_cancelled(session, purchase)
        counts["holds_cancelled"] += 1
        step()
    if isinstance(scope, Tournament):
        for machine in session.scalars(
            select(TournamentMachine)
            .where(TournamentMachine.tournament_id == scope.id)
            .order_by(TournamentMachine.id)
        ):
            locking.lock_machines(session, [machine.id])
            told = occupants.clear_queue_locked(
                session,
                runtime.pss,
                machine,
                ACTOR,
                now=now,
                kind="tournament_cancelled",
                message=f"{scope.name} was cancelled; your place in the queue for "
                f"{machine.machine.name} is gone.",
            )
            counts["queue_places_cleared"] += len(told)
            step()
    # Card refunds an interrupted run wrote but did not get to send: sent now, with the key
    # derived from the stored refund, so Stripe refunds each once.
    for refund_id in _unsent_card_refunds(session, scope):
        outcome = refunds.execute_refund(session, runtime.payments, refund_id, now=now, actor=ACTOR)
        step()
        _count_card(outcome, counts)
    failures: list[str] = []
    for pid in session.scalars(
        select(Purchase.id)
        .where(_scope_filter(Purchase, scope), Purchase.status == PurchaseStatus.COMPLETED)
        .order_by(Purchase.id)
    ).all():
        purchase = session.get(Purchase, pid)
        assert purchase is not None
        purchase = _lock_purchase(session, purchase)
        unused = refunds.unused_tokens(session, purchase)
        if not unused or purchase.status != PurchaseStatus.COMPLETED:
            step()
            continue
        if purchase.channel == Channel.COMP:
            for token in unused:
                token.voided_at = now
            audit_for_player(
                session,
                ACTOR,
                "token.void",
                event_id=purchase.event_id,
                player_id=purchase.player_id,
                subject=purchase,
                now=now,
                reason=reason,
                token_ids=[t.id for t in unused],
                job=job.id,
            )
            occupants.notify(
                session,
                runtime.pss,
                [purchase.player_id],
                purchase.event_id,
                "tournament_cancelled",
                f"{scope.name} was cancelled: your {len(unused)} free "
                f"game{'s' if len(unused) != 1 else ''} there "
                f"{'are' if len(unused) != 1 else 'is'} void.",
            )
            notices.tournament_cancelled(session, purchase, games=len(unused))
            counts["comps_voided"] += len(unused)
            step()
            continue
        outcome = refunds.refund_purchase(
            session,
            runtime.payments,
            purchase.id,
            tokens=len(unused),
            commit=step,
            actor=ACTOR,
            reason=reason,
            event_id=purchase.event_id,
            now=now,
        )
        counts["games_refunded"] += len(unused) if (outcome.ok or outcome.pending) else 0
        if purchase.channel == Channel.ONLINE and outcome.amount_cents > 0:
            _count_card(outcome, counts)
            if not outcome.ok and not outcome.pending:
                failures.append(f"purchase {purchase.id}: {outcome.message}")
        else:
            counts["desk_refunds"] += 1
    if failures:
        raise RuntimeError("Card refunds were refused: " + "; ".join(failures))
    return counts


def _count_card(outcome: refunds.RefundOutcome, counts: dict[str, Any]) -> None:
    if outcome.ok:
        counts["card_refunds"] += 1
    elif outcome.pending:
        counts["card_refunds_pending"] += 1


def _unsent_card_refunds(session: Session, scope: Scope) -> list[int]:
    pending = set(refunds.pending_refund_ids(session))
    if not pending:
        return []
    return list(
        session.scalars(
            select(Refund.id)
            .join(Purchase, Purchase.id == Refund.purchase_id)
            .where(
                _scope_filter(Purchase, scope),
                Refund.id.in_(pending),
                Refund.reason.startswith(TOURNAMENT_CANCELLED),
            )
            .order_by(Refund.id)
        ).all()
    )


# --- finalize: freeze the results -------------------------------------------------------------


def freeze_results(
    session: Session,
    runtime: Runtime,
    scope: Scope,
    job: LifecycleJob,
    step: Callable[[], None],
    now: datetime,
) -> dict[str, Any]:
    """Store the final standings as the tournament's next snapshot (none if one is in force
    already: a repeated finalize keeps the results it froze)."""
    assert isinstance(scope, Tournament)
    in_force = session.scalars(
        select(ResultsSnapshot).where(
            ResultsSnapshot.tournament_id == scope.id, ResultsSnapshot.revoked_at.is_(None)
        )
    ).first()
    if in_force is not None:
        return {"snapshot": in_force.number, "created": 0}
    standings = compute_standings(session, runtime.pss, scope)
    number = (
        int(
            session.scalar(
                select(func.coalesce(func.max(ResultsSnapshot.number), 0)).where(
                    ResultsSnapshot.tournament_id == scope.id
                )
            )
            or 0
        )
        + 1
    )
    snap = ResultsSnapshot(
        event_id=scope.event_id,
        tournament_id=scope.id,
        number=number,
        tournament_version=standings.version or 0,
        standings=standings.as_dict(),
        job_id=job.id,
        created_at=now,
    )
    session.add(snap)
    session.flush()
    audit.record(
        session,
        ACTOR,
        "results.freeze",
        event_id=scope.event_id,
        subject=snap,
        tournament=scope.slug,
        number=number,
        version=snap.tournament_version,
        rows=len(standings.rows),
        job=job.id,
    )
    step()
    return {"snapshot": number, "created": 1, "rows": len(standings.rows)}


# --- reopen: revoke the results, check the tokens ---------------------------------------------


def revoke_results(
    session: Session,
    runtime: Runtime,
    scope: Scope,
    job: LifecycleJob,
    step: Callable[[], None],
    now: datetime,
) -> dict[str, Any]:
    """Mark the snapshot in force revoked (kept for history) and check that every token of the
    tournament is accounted for: a used one has its score or its entry."""
    assert isinstance(scope, Tournament)
    revoked = 0
    for snap in session.scalars(
        select(ResultsSnapshot).where(
            ResultsSnapshot.tournament_id == scope.id, ResultsSnapshot.revoked_at.is_(None)
        )
    ):
        snap.revoked_at = now
        snap.revoked_by_job_id = job.id
        audit.record(
            session,
            ACTOR,
            "results.revoke",
            event_id=scope.event_id,
            subject=snap,
            tournament=scope.slug,
            number=snap.number,
            job=job.id,
        )
        revoked += 1
    step()
    accounting = token_accounting(session, scope)
    if accounting["unaccounted"]:
        audit.record(
            session,
            ACTOR,
            "lifecycle.tokens_unaccounted",
            event_id=scope.event_id,
            subject=scope,
            needs_attention=True,
            token_ids=accounting["unaccounted"],
            message=f"{len(accounting['unaccounted'])} used token(s) of {scope.name} "
            "have no score and no entry.",
        )
        step()
    return {
        "revoked": revoked,
        **{k: v if isinstance(v, int) else len(v) for k, v in accounting.items()},
    }


def token_accounting(session: Session, tournament: Tournament) -> dict[str, Any]:
    """The tournament's tokens by state, and the used ones with neither a score nor an entry
    (``unaccounted``: a game that was charged but left no trace)."""
    base = select(func.count(Token.id)).where(Token.tournament_id == tournament.id)
    in_play = select(TournamentMachine.token_id).where(TournamentMachine.token_id.is_not(None))
    scored = select(Score.token_id).where(Score.token_id.is_not(None))
    unaccounted = session.scalars(
        select(Token.id)
        .where(
            Token.tournament_id == tournament.id,
            Token.used_at.is_not(None),
            Token.entry_id.is_(None),
            Token.id.not_in(scored),
            Token.id.not_in(in_play),
        )
        .order_by(Token.id)
    ).all()
    return {
        "tokens": int(session.scalar(base) or 0),
        "used": int(session.scalar(base.where(Token.used_at.is_not(None))) or 0),
        "refunded": int(session.scalar(base.where(Token.refunded_at.is_not(None))) or 0),
        "voided": int(session.scalar(base.where(Token.voided_at.is_not(None))) or 0),
        "unaccounted": list(unaccounted),
    }


Work = Callable[
    [Session, Runtime, Scope, LifecycleJob, Callable[[], None], datetime], dict[str, Any]
]
WORK: dict[LifecycleJobKind, Work] = {
    LifecycleJobKind.REFUND: refund_scope,
    LifecycleJobKind.FREEZE: freeze_results,
    LifecycleJobKind.REVOKE: revoke_results,
}
