"""The status machine: every transition (allowed and refused) with its job, the lock while a
job is pending, refunds of a cancel (desk, card, comp) exactly once however often the job runs
or wherever it stopped, frozen results that ignore later edits, and revoked ones on a reopen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from pss_core import lifecycle
from pss_core.errors import InvalidInput, Refused
from pss_core.lifecycle import work
from pss_core.models import (
    AuditLog,
    Channel,
    LifecycleJob,
    LifecycleJobState,
    Notification,
    OutgoingMail,
    Purchase,
    PurchaseStatus,
    QueueSlot,
    Refund,
    ResultsSnapshot,
    Score,
    Token,
    TournamentStatus,
    utcnow,
)
from pss_core.payments import online, refunds
from pss_core.services import corrections, games, queues, tickets
from pss_core.services.locking import Locked
from pss_core.standings import compute_standings

from .conftest import run_job

S = TournamentStatus
ALL = (S.DRAFT, S.ACTIVE, S.FINALIZED)
JOBS = {
    (S.ACTIVE, S.DRAFT): "refund",
    (S.DRAFT, S.DRAFT): "refund",
    (S.ACTIVE, S.FINALIZED): "freeze",
    (S.FINALIZED, S.FINALIZED): "freeze",
    (S.FINALIZED, S.ACTIVE): "revoke",
    (S.ACTIVE, S.ACTIVE): "revoke",
    (S.DRAFT, S.ACTIVE): None,
}


def change(world: Any, status: S | str, scope: Any = None, **kw: Any) -> lifecycle.StatusChange:
    return lifecycle.change_status(world.session, scope or world.main, status, actor=world.td, **kw)


def go(world: Any, status: S, scope: Any = None) -> LifecycleJob | None:
    """Change the status and run its job to the end."""
    result = change(world, status, scope)
    return run_job(world, result.job_id) if result.job_id else None


@pytest.mark.parametrize("old", ALL)
@pytest.mark.parametrize("new", ALL)
def test_every_transition_is_allowed_or_refused_with_its_job(world, old, new):
    # Reach ``old`` through the machine itself (draft by cancelling, finalized by finalizing).
    if old == S.DRAFT:
        go(world, S.DRAFT)
    elif old == S.FINALIZED:
        go(world, S.FINALIZED)
    assert world.main.status == old
    if (old, new) in ((S.DRAFT, S.FINALIZED), (S.FINALIZED, S.DRAFT)):
        with pytest.raises(lifecycle.InvalidStatusChange) as err:
            change(world, new)
        assert err.value.code == "invalid_status_change"
        world.session.refresh(world.main)
        assert world.main.status == old
        return
    result = change(world, new)
    assert (result.old, result.new, world.main.status) == (old, new, new)
    expected = JOBS[(old, new)]
    if expected is None:
        assert result.job_id is None
        return
    job = world.session.get(LifecycleJob, result.job_id)
    assert (job.kind.value, job.state) == (expected, LifecycleJobState.QUEUED)
    assert (
        world.session.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.action == "tournament.status",
                AuditLog.subject_id == world.main.id,
                AuditLog.details["new"].as_string() == new.value,
            )
        )
        >= 1
    )
    job = run_job(world, result.job_id)
    assert job.state == LifecycleJobState.DONE, job.last_error
    assert {
        a
        for (a,) in world.session.execute(
            select(AuditLog.action).where(
                AuditLog.subject_type == "LifecycleJob", AuditLog.subject_id == job.id
            )
        )
    } == {"lifecycle.job_queued", "lifecycle.job_start", "lifecycle.job_done"}


def test_unknown_and_cancelled_statuses_are_refused(world):
    with pytest.raises(InvalidInput) as err:
        change(world, "settled")
    assert err.value.code == "invalid_status"
    with pytest.raises(lifecycle.InvalidStatusChange):
        change(world, "cancelled")


def test_every_change_is_refused_while_the_job_is_pending(world):
    result = change(world, S.FINALIZED)
    refusals = []
    attempts = {
        "sale": lambda: tickets.sell_tickets(
            world.session,
            world.pss,
            player=world.players[0],
            count=1,
            tournament=world.main,
            actor=world.td,
        ),
        "status": lambda: change(world, S.ACTIVE),
        "game": lambda: games.start_game(
            world.session,
            world.pss,
            machine=world.main.machines[0],
            player=world.players[1],
            actor=world.keeper,
        ),
        "correction": lambda: corrections.edit_score(
            world.session,
            world.pss,
            actor=world.td,
            new_score=5,
            score=world.session.scalars(select(Score).order_by(Score.id)).first(),
        ),
    }
    for name, attempt in attempts.items():
        savepoint = world.session.begin_nested()
        with pytest.raises(Locked) as err:
            attempt()
        savepoint.rollback()
        assert err.value.code == "locked"
        assert "being frozen" in err.value.message
        refusals.append(name)
    assert refusals == list(attempts)
    assert lifecycle.service.is_locked(world.session, world.main)
    # Another tournament is not held.
    tickets.sell_tickets(
        world.session,
        world.pss,
        player=world.players[0],
        count=1,
        tournament=world.classics,
        actor=world.td,
    )
    assert run_job(world, result.job_id).state == LifecycleJobState.DONE
    assert not lifecycle.service.is_locked(world.session, world.main)
    # Finalized: the score stays as it is, now because the results are frozen.
    with pytest.raises(Refused) as err:
        attempts["correction"]()
    assert err.value.code == "tournament_finalized"


def _purchases(world: Any) -> dict[str, Purchase]:
    s = world.session
    desk = tickets.sell_tickets(
        s, world.pss, player=world.players[0], count=3, tournament=world.main, actor=world.td
    )
    comp = tickets.sell_tickets(
        s,
        world.pss,
        player=world.players[2],
        count=2,
        tournament=world.main,
        channel=Channel.COMP,
        actor=world.td,
    )
    checkout = online.start_online_purchase(
        s,
        world.pss,
        world.payments,
        commit=s.commit,
        event=world.event,
        player=world.players[1],
        tickets=3,
        tournament=world.main,
    )
    world.fake.succeed(checkout.payment_intent_id)
    assert (
        online.confirm_from_payment_intent(
            s, world.pss, world.payments, checkout.purchase_id, commit=s.commit
        ).outcome
        == "paid"
    )
    card = s.get(Purchase, checkout.purchase_id)
    hold = online.start_online_purchase(
        s,
        world.pss,
        world.payments,
        commit=s.commit,
        event=world.event,
        player=world.players[3],
        tickets=1,
        tournament=world.main,
    )
    return {"desk": desk, "comp": comp, "card": card, "hold": s.get(Purchase, hold.purchase_id)}


def _refunded(world: Any, purchase: Purchase) -> tuple[int, int]:
    """(refund rows, games refunded) of a purchase."""
    rows = world.session.scalars(select(Refund).where(Refund.purchase_id == purchase.id)).all()
    return len(rows), sum(r.tokens for r in rows)


def _state(world: Any, bought: dict[str, Purchase]) -> dict[str, Any]:
    s = world.session
    for p in bought.values():
        s.refresh(p)
    return {
        "refunds": {k: _refunded(world, p) for k, p in bought.items()},
        "statuses": {k: p.status for k, p in bought.items()},
        "stripe_refunded": world.fake.amount_refunded(bought["card"].stripe_payment_intent_id),
        "stripe_refund_count": len(world.fake.refunds),
        "unused": {k: len(refunds.unused_tokens(s, p)) for k, p in bought.items()},
        "voided": s.scalar(
            select(func.count(Token.id)).where(
                Token.purchase_id == bought["comp"].id, Token.voided_at.is_not(None)
            )
        ),
        "mails": sorted(
            (m.kind, m.player_id)
            for m in s.scalars(select(OutgoingMail).where(OutgoingMail.kind == "tournament_refund"))
        ),
        "queue": s.scalar(select(func.count(QueueSlot.id))),
    }


@pytest.fixture
def with_fake(world, fake_stripe):
    world.fake = fake_stripe
    return world


def test_cancel_refunds_every_unused_paid_game_once_and_tells_the_players(with_fake):
    world = with_fake
    bought = _purchases(world)
    demo_desk_unused = {
        p.id: len(refunds.unused_tokens(world.session, p))
        for p in world.session.scalars(
            select(Purchase).where(
                Purchase.tournament_id == world.main.id, Purchase.channel == Channel.DESK
            )
        )
    }
    comps_unused = sum(
        len(refunds.unused_tokens(world.session, p))
        for p in world.session.scalars(
            select(Purchase).where(
                Purchase.tournament_id == world.main.id, Purchase.channel == Channel.COMP
            )
        )
    )
    assert comps_unused >= 2
    queues.join_queue(
        world.session,
        world.pss,
        machine=world.main.machines[0],
        player=world.players[5],
        actor=world.keeper,
    )
    assert world.session.scalar(select(func.count(QueueSlot.id))) >= 1
    job = go(world, S.DRAFT)
    assert job.state == LifecycleJobState.DONE, job.last_error
    after = _state(world, bought)
    assert after["refunds"]["desk"] == (1, 3)
    assert after["refunds"]["card"] == (1, 3)
    assert after["refunds"]["comp"] == (0, 0)
    assert after["statuses"] == {
        "desk": PurchaseStatus.REFUNDED,
        "comp": PurchaseStatus.COMPLETED,
        "card": PurchaseStatus.REFUNDED,
        "hold": PurchaseStatus.CANCELLED,
    }
    assert after["stripe_refunded"] == bought["card"].amount_cents == 800
    assert after["unused"] == {"desk": 0, "comp": 0, "card": 0, "hold": 0}
    assert after["voided"] == 2
    assert after["queue"] == 0
    # Every desk purchase of the demo with unused games got its cash back, once.
    for pid, unused in demo_desk_unused.items():
        assert _refunded(world, world.session.get(Purchase, pid))[1] == unused
    # The players are told: a refund mail per refunded purchase (desk and card, with an
    # address), a notice for the comp, the hold and the lost queue places.
    mailed = {pid for _, pid in after["mails"]}
    assert {bought["desk"].player_id, bought["card"].player_id} <= mailed
    notices = {(n.player_id, n.kind) for n in world.session.scalars(select(Notification))}
    for who in ("comp", "hold"):
        assert (bought[who].player_id, "tournament_cancelled") in notices
    # ... and by e-mail too: the comp's voided games and the released hold, one mail each.
    cancel_mails = world.session.scalars(
        select(OutgoingMail).where(OutgoingMail.kind == "tournament_cancelled")
    ).all()
    by_player = {m.player_id: m for m in cancel_mails}
    assert set(by_player) >= {bought["comp"].player_id, bought["hold"].player_id}
    assert "released and nothing was charged" in by_player[bought["hold"].player_id].text_body
    assert "free games there" in by_player[bought["comp"].player_id].text_body
    assert "are void" in by_player[bought["comp"].player_id].text_body
    assert job.result["card_refunds"] == 1
    assert job.result["comps_voided"] == comps_unused
    desk_list = lifecycle.desk_refunds(world.session, world.main)
    assert bought["desk"].id in {line["purchase_id"] for line in desk_list}
    # No more sales for a cancelled draft.
    with pytest.raises(Refused) as err:
        tickets.sell_tickets(
            world.session,
            world.pss,
            player=world.players[0],
            count=1,
            tournament=world.main,
            actor=world.td,
        )
    assert err.value.code == "tournament_closed"

    # Run it twice: the same job again, and the repair (draft → draft): nothing changes.
    world.session.execute(
        update(LifecycleJob).where(LifecycleJob.id == job.id).values(state=LifecycleJobState.QUEUED)
    )
    assert run_job(world, job.id).state == LifecycleJobState.DONE
    again = go(world, S.DRAFT)
    assert again.state == LifecycleJobState.DONE
    assert _state(world, bought) == after
    assert again.result["games_refunded"] == 0
    assert len(
        world.session.scalars(
            select(OutgoingMail).where(OutgoingMail.kind == "tournament_cancelled")
        ).all()
    ) == len(cancel_mails)


class CrashingPayments:
    """The real payment provider, but the process "dies" (an exception no handler catches) as
    the ``crash_at``-th card refund is about to be sent."""

    def __init__(self, payments: Any, crash_at: int) -> None:
        self._payments = payments
        self._provider: Any = None
        self.calls = 0
        self.crash_at = crash_at

    def for_event(self, event: Any) -> Any:
        self._provider = self._payments.for_event(event)
        return self

    def refund(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.crash_at:
            raise KeyboardInterrupt("killed")
        return self._provider.refund(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)


def test_a_cancel_that_died_halfway_is_finished_by_the_repair_exactly_once(with_fake):
    world = with_fake
    s = world.session
    cards = []
    for player in world.players[:3]:
        checkout = online.start_online_purchase(
            s,
            world.pss,
            world.payments,
            commit=s.commit,
            event=world.event,
            player=player,
            tickets=3,
            tournament=world.main,
        )
        world.fake.succeed(checkout.payment_intent_id)
        online.confirm_from_payment_intent(
            s, world.pss, world.payments, checkout.purchase_id, commit=s.commit
        )
        cards.append(s.get(Purchase, checkout.purchase_id))
    result = change(world, S.DRAFT)
    world.runtime.payments = CrashingPayments(world.payments, crash_at=2)
    with pytest.raises(KeyboardInterrupt):
        work.run(world.runtime, result.job_id)
    job = s.get(LifecycleJob, result.job_id)
    s.refresh(job)
    assert job.state == LifecycleJobState.RUNNING  # it died: nobody marked it
    assert len(world.fake.refunds) == 1
    # Still held while it might be running ...
    with pytest.raises(Locked):
        change(world, S.DRAFT)
    # ... but once its heartbeat is old, the TD's repair takes over.
    world.runtime.payments = world.payments
    repair = change(world, S.DRAFT, now=utcnow() + timedelta(minutes=5))
    assert run_job(world, repair.job_id).state == LifecycleJobState.DONE
    s.refresh(job)
    assert job.state == LifecycleJobState.SUPERSEDED
    for card in cards:
        s.refresh(card)
        assert _refunded(world, card) == (1, 3)
        assert world.fake.amount_refunded(card.stripe_payment_intent_id) == 800
        assert card.status == PurchaseStatus.REFUNDED
    assert len(world.fake.refunds) == 3
    # The old job, run again (the queue put it back after its worker died), does nothing.
    assert work.run(world.runtime, job.id) == {"skipped": 1}
    assert len(world.fake.refunds) == 3


def test_a_failing_job_is_retried_with_backoff_and_then_shown_failed(with_fake):
    world = with_fake
    s = world.session
    checkout = online.start_online_purchase(
        s,
        world.pss,
        world.payments,
        commit=s.commit,
        event=world.event,
        player=world.players[0],
        tickets=3,
        tournament=world.main,
    )
    world.fake.succeed(checkout.payment_intent_id)
    online.confirm_from_payment_intent(
        s, world.pss, world.payments, checkout.purchase_id, commit=s.commit
    )
    result = change(world, S.DRAFT)
    world.runtime.payments = None  # no payment service: card refunds cannot be made
    job = run_job(world, result.job_id)
    assert (job.state, job.attempts) == (LifecycleJobState.RETRYING, 1)
    assert "payment service" in job.last_error
    assert job.next_attempt_at > utcnow()
    assert work.due(s) == []
    assert work.due(s, now=job.next_attempt_at) == [job.id]
    with pytest.raises(Locked) as err:
        change(world, S.DRAFT)
    assert "trying again" in err.value.message
    for _ in range(work.MAX_ATTEMPTS - 1):
        job = run_job(world, job.id)
    assert job.state == LifecycleJobState.FAILED
    assert lifecycle.job_view(s, world.main)["state"] == "failed"
    # Failed: other changes stay refused, the repair runs it again.
    with pytest.raises(Locked) as err:
        tickets.sell_tickets(
            s,
            world.pss,
            player=world.players[0],
            count=1,
            tournament=world.main,
            channel=Channel.COMP,
            actor=world.td,
        )
    assert "failed" in err.value.message
    world.runtime.payments = world.payments
    repair = go(world, S.DRAFT)
    assert repair.state == LifecycleJobState.DONE
    assert world.fake.amount_refunded(checkout.payment_intent_id) == 800
    actions = [
        a
        for (a,) in s.execute(
            select(AuditLog.action).where(
                AuditLog.subject_type == "LifecycleJob", AuditLog.subject_id == job.id
            )
        )
    ]
    assert actions.count("lifecycle.job_retry") == work.MAX_ATTEMPTS - 1
    assert actions.count("lifecycle.job_failed") == 1


def test_finalize_freezes_the_standings_and_reopen_revokes_them(world):
    s = world.session
    live = compute_standings(s, world.pss, world.main).as_dict()
    assert live["standings"], "the demo has scores"
    job = go(world, S.FINALIZED)
    assert job.state == LifecycleJobState.DONE
    frozen = lifecycle.frozen_standings(s, world.main)
    assert {k: v for k, v in frozen.items() if k not in ("snapshot", "frozen_at")} == live
    assert frozen["snapshot"] == 1
    # A later edit behind pss's back changes the live standings, never the frozen ones.
    top = s.scalars(
        select(Score)
        .where(Score.tournament_machine_id.in_([m.id for m in world.main.machines]))
        .order_by(Score.score)
    ).first()
    s.execute(update(Score).where(Score.id == top.id).values(score=999_999_999_999))
    world.main.version += 1
    s.flush()
    assert compute_standings(s, world.pss, world.main).as_dict() != live
    assert lifecycle.frozen_standings(s, world.main) == frozen
    # The repair (finalized → finalized) keeps the results it froze.
    assert go(world, S.FINALIZED).result == {"snapshot": 1, "created": 0}
    assert lifecycle.frozen_standings(s, world.main) == frozen
    # Reopen: revoked, kept for history.
    revoke = go(world, S.ACTIVE)
    assert revoke.result["revoked"] == 1
    assert revoke.result["unaccounted"] == 0
    assert lifecycle.frozen_standings(s, world.main) is None
    snaps = lifecycle.snapshots(s, world.main)
    assert [(x.number, x.revoked_at is not None) for x in snaps] == [(1, True)]
    assert go(world, S.ACTIVE).result["revoked"] == 0
    # Finalized again: a second snapshot, with the edit in it.
    go(world, S.FINALIZED)
    assert lifecycle.frozen_standings(s, world.main)["snapshot"] == 2
    assert s.scalar(select(func.count(ResultsSnapshot.id))) == 2


def test_cancel_and_finalize_wait_for_games_in_progress(world):
    games.start_game(
        world.session,
        world.pss,
        machine=world.main.machines[0],
        player=world.players[0],
        actor=world.keeper,
    )
    for status in (S.DRAFT, S.FINALIZED):
        with pytest.raises(Refused) as err:
            change(world, status)
        assert err.value.code == "games_in_progress"


def test_a_metatournament_cancel_refunds_its_own_tickets(world, pss):
    from pss_core.services import setup

    s = world.session
    meta = setup.create_metatournament(
        s, world.event, "Classics pass", [world.classics], price_cents=900, actor=world.td
    )
    sold = tickets.sell_tickets(
        s, pss, player=world.players[0], count=2, metatournament=meta, actor=world.td
    )
    assert lifecycle.change_status(s, meta, S.FINALIZED, actor=world.td).job_id is None
    lifecycle.change_status(s, meta, S.ACTIVE, actor=world.td)
    result = lifecycle.change_status(s, meta, S.DRAFT, actor=world.td)
    with pytest.raises(Locked):
        tickets.sell_tickets(
            s, pss, player=world.players[1], count=1, metatournament=meta, actor=world.td
        )
    assert run_job(world, result.job_id).state == LifecycleJobState.DONE
    s.refresh(sold)
    assert (sold.status, sold.refunded_cents) == (PurchaseStatus.REFUNDED, sold.amount_cents)
    assert world.classics.status == S.ACTIVE  # its members keep their own status
