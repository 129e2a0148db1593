"""Messages to players go through one pipeline: recorded for the player's page in the change's
own transaction, handed to the ``pss_notify`` hooks only after that change commits (both
backends; on PostgreSQL the deferred job rows are run as the worker would run them)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pss_core import hookimpl, notify
from pss_core.jobs import Runtime
from pss_core.jobs.queue import RUNTIME_INFO
from pss_core.mail.settings import MailSettings
from pss_core.models import Notification, OutgoingMail
from pss_core.services import queues

from .services.conftest import build_world


class Courier:
    """Delivers every message by "SMS" and says so."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    @hookimpl
    def pss_notify(self, session: Session, notification: Any) -> bool:
        # The message the hook is handed is the one on the player's page.
        row = session.get(Notification, notification.notification_id)
        assert row is not None
        assert (row.player_id, row.kind) == (notification.player_id, notification.kind)
        self.sent.append((notification.player_id, notification.kind))
        return True


class Jobs:
    """Runs what the commits deferred: SQLite runs it in this process after each commit; on
    PostgreSQL the committed job rows are picked up here as ``pss worker`` would."""

    def __init__(self, session: Session, pss: Any) -> None:
        self.session = session
        self.pss = pss
        self.done: set[int] = set()
        session.info[RUNTIME_INFO] = Runtime(
            bind=session.get_bind(), pss=pss, payments=None, mail=MailSettings()
        )

    def commit(self) -> None:
        self.session.commit()
        if self.session.get_bind().dialect.name != "postgresql":
            return
        rows = self.session.execute(
            text("SELECT id, args FROM procrastinate_jobs WHERE task_name = :t ORDER BY id"),
            {"t": notify.DELIVER_TASK},
        ).all()
        for job_id, args in rows:
            if job_id not in self.done:
                self.done.add(job_id)
                notify.deliver(self.session, self.pss, args["notification_id"])
        self.session.commit()


@pytest.fixture
def courier() -> Courier:
    return Courier()


@pytest.fixture
def world(dbsession: Session, make_pss: Any, courier: Courier) -> Any:
    return build_world(dbsession, make_pss(courier))


@pytest.fixture
def jobs(world: Any) -> Jobs:
    return Jobs(world.session, world.pss)


def test_a_rolled_back_change_notifies_nobody_elsewhere(world, courier, jobs):
    ada = world.players[0]
    world.sell(ada, 1)
    world.join(ada, world.m())
    jobs.commit()
    savepoint = world.session.begin_nested()
    queues.clear_queue(world.session, world.pss, machine=world.m(), actor=world.sk)
    assert world.notes(ada) == ["queue_cleared"]  # recorded in the change's own transaction
    savepoint.rollback()
    jobs.commit()
    assert courier.sent == []
    assert world.notes(ada) == []
    # The control: the same change, committed, reaches the courier (and only then).
    queues.clear_queue(world.session, world.pss, machine=world.m(), actor=world.sk)
    assert courier.sent == []
    jobs.commit()
    assert courier.sent == [(ada.id, "queue_cleared")]


def test_a_plugin_that_delivered_leaves_the_message_on_the_players_page(world, courier, jobs):
    ada = world.players[0]
    world.sell(ada, 1)
    world.join(ada, world.m())
    queues.clear_queue(world.session, world.pss, machine=world.m(), actor=world.sk)
    jobs.commit()
    assert courier.sent == [(ada.id, "queue_cleared")]
    [row] = world.session.scalars(
        select(Notification).where(Notification.player_id == ada.id)
    ).all()
    assert row.kind == "queue_cleared"
    assert "cleared" in row.message or world.m().machine.name in row.message
    assert row.delivered_at is not None
    # Handed over once: running its job again delivers nothing more.
    assert notify.deliver(world.session, world.pss, row.id) == "skipped"
    assert courier.sent == [(ada.id, "queue_cleared")]


def test_the_queue_advancing_reaches_the_notify_hook_after_commit(world, courier, jobs):
    ada, bo, cy = world.players[:3]
    for p in (ada, bo, cy):
        world.sell(p, 2)
    m = world.m()
    world.start(ada, m)
    world.join(bo, m)
    world.join(cy, m)
    jobs.commit()
    courier.sent.clear()
    ended = world.record(m, 42_000)  # bo starts from the queue; cy is next
    assert ended.next_game is not None
    assert ended.next_game.player_id == bo.id
    assert courier.sent == []  # nothing leaves before the score is committed
    assert world.notes(cy) == ["queue_next"]
    jobs.commit()
    assert sorted(courier.sent) == sorted([(bo.id, "your_turn"), (cy.id, "queue_next")])
    assert world.notes(cy) == ["queue_next"]


def test_you_are_next_by_e_mail_is_one_delivery_after_commit(dbsession, pss):
    world = build_world(dbsession, pss)
    jobs = Jobs(world.session, pss)
    ada, bo, cy = world.players[:3]
    cy.player.email = "cy@players.example"
    cy.email_when_next = True
    for p in (ada, bo, cy):
        world.sell(p, 2)
    m = world.m()
    world.start(ada, m)
    world.join(bo, m)
    world.join(cy, m)
    jobs.commit()

    def up_next_mails() -> list[str]:
        return list(
            world.session.scalars(
                select(OutgoingMail.to_address).where(OutgoingMail.kind == "up_next")
            )
        )

    savepoint = world.session.begin_nested()
    world.record(m, 1_000)
    savepoint.rollback()
    jobs.commit()
    assert up_next_mails() == []  # the score rolled back: no mail

    world.record(m, 1_000)
    assert up_next_mails() == []  # not in the change's own transaction
    jobs.commit()
    assert up_next_mails() == ["cy@players.example"]
    assert world.notes(cy) == ["queue_next"]
