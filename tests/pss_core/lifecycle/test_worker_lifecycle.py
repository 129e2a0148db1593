"""The lifecycle job in real ``pss worker --once`` processes on PostgreSQL: the tournament is
locked from the status change until a worker has run its job, and two workers run it once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from pss_core import demo, lifecycle
from pss_core.audit import Actor
from pss_core.models import (
    AuditLog,
    EventPlayer,
    LifecycleJob,
    LifecycleJobState,
    OutgoingMail,
    Player,
    Purchase,
    PurchaseStatus,
    Refund,
    Tournament,
)
from pss_core.payments import refunds
from pss_core.services import tickets
from pss_core.services.locking import Locked

from ..jobs.conftest import finish, start_worker

pytestmark = pytest.mark.postgres_only

TD = Actor("owner")


@pytest.fixture
def played(committed_engine, pss):
    with committed_engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, "
                "procrastinate_workers RESTART IDENTITY CASCADE"
            )
        )
    with Session(committed_engine) as session:
        demo.create_demo(session, pss)
        for player in session.scalars(select(Player)):
            player.email = f"{player.first_name.lower()}@example.org"
        demo.create_demo(session, pss, play=True)
        session.commit()
    yield committed_engine
    with committed_engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, "
                "procrastinate_workers RESTART IDENTITY CASCADE"
            )
        )


def _classics(session: Session) -> Tournament:
    return session.scalars(select(Tournament).where(Tournament.slug == "classics")).one()


def _cancel(engine) -> int:
    with Session(engine) as session:
        change = lifecycle.change_status(session, _classics(session), "draft", actor=TD)
        session.commit()
    assert change.job_id is not None
    return change.job_id


def test_locked_until_a_worker_has_run_the_job(played, database_url, pss):
    job_id = _cancel(played)
    with Session(played) as session:
        t = _classics(session)
        player = session.get(
            Purchase, session.scalar(select(Purchase.id).where(Purchase.tournament_id == t.id))
        ).player_id
        ep = session.get(EventPlayer, player)
        for attempt in (
            lambda: lifecycle.change_status(session, t, "active", actor=TD),
            lambda: tickets.sell_tickets(session, pss, player=ep, count=1, tournament=t, actor=TD),
        ):
            with pytest.raises(Locked) as err:
                attempt()
            assert err.value.code == "locked"
            session.rollback()
        assert lifecycle.job_view(session, t)["state"] == "queued"
    out = finish(start_worker(database_url))
    assert "pss.lifecycle.run: done=1" in out
    with Session(played) as session:
        t = _classics(session)
        job = session.get(LifecycleJob, job_id)
        assert job.state == LifecycleJobState.DONE
        bought = session.scalars(select(Purchase).where(Purchase.tournament_id == t.id)).all()
        assert bought
        # Every unused game is refunded; games of Ada's open entry were played and stay so.
        assert [len(refunds.unused_tokens(session, p)) for p in bought] == [0] * len(bought)
        assert PurchaseStatus.REFUNDED in {p.status for p in bought}
        # Every player was told, by e-mail through the outbox.
        mailed = set(
            session.scalars(
                select(OutgoingMail.player_id).where(OutgoingMail.kind == "tournament_refund")
            )
        )
        refunded = set(
            session.scalars(
                select(Purchase.player_id)
                .join(Refund, Refund.purchase_id == Purchase.id)
                .where(Purchase.tournament_id == t.id)
            )
        )
        assert mailed == refunded
        assert refunded
        lifecycle.change_status(session, t, "active", actor=TD)
        session.commit()


def test_two_workers_run_one_job_once(played, database_url):
    job_id = _cancel(played)
    workers = [start_worker(database_url) for _ in range(2)]
    outs = [finish(w) for w in workers]
    assert sum(o.count("pss.lifecycle.run: done=1") for o in outs) == 1
    with Session(played) as session:
        t = _classics(session)
        starts = session.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.action == "lifecycle.job_start", AuditLog.subject_id == job_id
            )
        )
        assert starts == 1
        for purchase in session.scalars(select(Purchase).where(Purchase.tournament_id == t.id)):
            rows = session.scalars(select(Refund).where(Refund.purchase_id == purchase.id)).all()
            assert len(rows) <= 1
            assert sum(r.tokens for r in rows) + sum(
                tok.used_at is not None or tok.entry_id is not None for tok in purchase.tokens
            ) == len(purchase.tokens)
