"""The demo event with play (scores, a queue), connected to the fake Stripe account, and a job
runtime on the test's own connection."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from pss_core import demo
from pss_core.audit import Actor
from pss_core.jobs import Runtime
from pss_core.lifecycle import work
from pss_core.mail.settings import MailSettings
from pss_core.models import LifecycleJob, User
from pss_core.services import games


@pytest.fixture
def world(stripe_shop: Any, pss: Any) -> Any:
    session = stripe_shop.session
    for ep in stripe_shop.players:
        ep.player.email = f"player{ep.number}@example.org"
    demo.play_demo(session, pss, stripe_shop.event)
    keeper_id = session.scalar(select(User.id).where(User.username == "scorekeeper"))
    keeper = Actor("scorekeeper", user_id=keeper_id)
    # Cy's game on Godzilla ends, and the games started after it from its queue, so nothing
    # is in progress
    # (a queue's head may start next, so until no machine has a game).
    for _ in range(10):
        playing = [m for m in stripe_shop.main.machines if m.token_id is not None]
        if not playing:
            break
        for machine in playing:
            games.record_score(session, pss, machine=machine, score=1_000, actor=keeper)
            session.refresh(machine)
    owner_id = session.scalar(select(User.id).where(User.username == "owner"))
    td = Actor("owner", user_id=owner_id)
    runtime = Runtime(
        bind=session.connection(), pss=pss, payments=stripe_shop.payments, mail=MailSettings()
    )
    session.flush()
    return SimpleNamespace(**vars(stripe_shop), pss=pss, td=td, keeper=keeper, runtime=runtime)


def run_job(world: Any, job_id: int | None) -> LifecycleJob:
    """Run a lifecycle job as the worker would, and return its row."""
    assert job_id is not None
    work.run(world.runtime, job_id)
    job = world.session.get(LifecycleJob, job_id)
    assert job is not None
    world.session.refresh(job)
    return job
