"""The lifecycle job in real ``pss worker --once`` processes on PostgreSQL: the tournament is
locked from the status change until a worker has run its job, and two workers run it once."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from pss_core import demo, lifecycle
from pss_core.audit import Actor
from pss_core.models import (
    AuditLog,
    Event,
    EventPlayer,
    LifecycleJob,
    LifecycleJobState,
    OutgoingMail,
    Player,
    Purchase,
    PurchaseStatus,
    Refund,
    Tournament,
    utcnow,
)
from pss_core.payments import online, refunds
from pss_core.payments.providers import Payments
from pss_core.payments.stripe_gateway import StripeProvider
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


@pytest.fixture
def card_buyers(played, pss, fake_stripe):
    """Three players of the demo who each paid 3 games of the PAPA-style tournament online (through
    the fake Stripe server), committed; ``(engine, fake, purchase ids)``."""
    payments = Payments.only(StripeProvider(api_base=fake_stripe.url, max_network_retries=0))
    with Session(played, expire_on_commit=False) as session:
        event = session.scalars(select(Event).where(Event.slug == "demo")).one()
        event.stripe_secret_key = fake_stripe.api_key
        event.stripe_publishable_key = "pk_test_fake_publishable"
        event.stripe_webhook_secret = "whsec_test_pss_secret"
        session.commit()
        classics = session.scalars(select(Tournament).where(Tournament.slug == "classics")).one()
        buyers = session.scalars(
            select(EventPlayer).where(EventPlayer.event_id == event.id).order_by(EventPlayer.id)
        ).all()[:3]
        ids = []
        for player in buyers:
            checkout = online.start_online_purchase(
                session,
                pss,
                payments,
                commit=session.commit,
                event=event,
                player=player,
                tickets=3,
                tournament=classics,
            )
            fake_stripe.succeed(checkout.payment_intent_id)
            online.confirm_from_payment_intent(
                session, pss, payments, checkout.purchase_id, commit=session.commit
            )
            ids.append(checkout.purchase_id)
    return played, fake_stripe, ids


def _card_refunds(engine, fake, ids) -> list[tuple[int, int, int]]:
    """Per card purchase: (refund rows, games they refund, cents Stripe refunded), for
    purchases of which no game was played."""
    out = []
    with Session(engine) as session:
        for pid in ids:
            purchase = session.get(Purchase, pid)
            rows = session.scalars(select(Refund).where(Refund.purchase_id == pid)).all()
            out.append(
                (
                    len(rows),
                    sum(r.tokens for r in rows),
                    fake.amount_refunded(purchase.stripe_payment_intent_id),
                )
            )
    return out


def test_a_worker_killed_mid_cancel_leaves_every_card_refunded_exactly_once(
    card_buyers, database_url
):
    """SIGKILL of a real ``pss worker`` just after Stripe executed a refund and before the worker
    heard of it; the TD's repair run by the next worker refunds what is left, none twice."""
    engine, fake, ids = card_buyers
    with Session(engine) as session:
        classics = session.scalars(select(Tournament).where(Tournament.slug == "classics")).one()
        bought = [session.get(Purchase, pid) for pid in ids]
        paid = [(len(p.tokens), p.amount_cents) for p in bought]
        assert all(games and cents for games, cents in paid)
        change = lifecycle.change_status(session, classics, "draft", actor=TD)
        session.commit()
    # The second card refund is done at Stripe, and its answer held back: the worker is
    # killed while it waits for it.
    hold = fake.hold_next("/v1/refunds", skip=1)
    env = {**os.environ, "PSS_STRIPE_API_BASE": fake.url}
    worker = start_worker(database_url, env=env)
    try:
        assert hold.arrived.wait(180), worker.communicate(timeout=5)[0]
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=60)
    finally:
        hold.release()
    assert worker.returncode == -signal.SIGKILL
    assert len(fake.refunds) == 2
    with Session(engine) as session:
        job = session.get(LifecycleJob, change.job_id)
        assert job.state == LifecycleJobState.RUNNING  # it died: nobody marked it
        done_before = _card_refunds(engine, fake, ids)
    # Stripe refunded two purchases; pss recorded the first one's answer only.
    assert [cents for *_, cents in done_before] == [paid[0][1], paid[1][1], 0]

    # Later: the dead worker's heartbeat and the job's are old, and the TD repairs the cancel.
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE procrastinate_workers "
                "SET last_heartbeat = last_heartbeat - interval '1 hour'"
            )
        )
    with Session(engine) as session:
        classics = session.scalars(select(Tournament).where(Tournament.slug == "classics")).one()
        repair = lifecycle.change_status(
            session, classics, "draft", actor=TD, now=utcnow() + timedelta(minutes=5)
        )
        session.commit()
    finish(start_worker(database_url, env=env))
    with Session(engine) as session:
        assert session.get_one(LifecycleJob, repair.job_id).state == LifecycleJobState.DONE
        assert session.get_one(LifecycleJob, change.job_id).state == LifecycleJobState.SUPERSEDED
        statuses = [session.get_one(Purchase, pid).status for pid in ids]
    assert _card_refunds(engine, fake, ids) == [(1, games, cents) for games, cents in paid]
    assert len(fake.refunds) == 3
    assert statuses == [PurchaseStatus.REFUNDED] * 3


def test_two_workers_refund_each_card_of_one_cancel_once(card_buyers, database_url):
    """Two real workers at once on a cancel with card purchases: one runs the job, and every
    card is refunded exactly once at Stripe."""
    engine, fake, ids = card_buyers
    with Session(engine) as session:
        classics = session.scalars(select(Tournament).where(Tournament.slug == "classics")).one()
        paid = [
            (len(p.tokens), p.amount_cents) for p in (session.get_one(Purchase, i) for i in ids)
        ]
        lifecycle.change_status(session, classics, "draft", actor=TD)
        session.commit()
    env = {**os.environ, "PSS_STRIPE_API_BASE": fake.url}
    outs = [finish(w) for w in [start_worker(database_url, env=env) for _ in range(2)]]
    assert sum(o.count("pss.lifecycle.run: done=1") for o in outs) == 1
    assert _card_refunds(engine, fake, ids) == [(1, games, cents) for games, cents in paid]
    assert len(fake.refunds) == len(ids)
    # Each refund was made at Stripe once. The worker's retry pass may send a refund the job
    # has written but not yet sent; it goes with the same idempotency key, so Stripe answers it
    # with the refund it made (a replay), never a second one.
    refund_posts = [r for r in fake.requests if r.method == "POST" and r.path == "/v1/refunds"]
    assert all(r.idempotency_key for r in refund_posts)
    made = [r for r in refund_posts if r.executed and not r.replayed]
    assert len(made) == len(ids)
    assert len({r.idempotency_key for r in refund_posts}) == len(ids)
