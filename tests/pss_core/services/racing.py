"""A small harness for race tests: run callables at the same moment on real threads, each with its
own connection and transaction, and sort what happened into ok / refused / error."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.errors import DomainError


@attrs.frozen
class Outcome:
    kind: str  # ok | refused | error
    value: Any = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def run_at_once(engine: Engine, jobs: Sequence[Callable[[Session], Any]],
                timeout: float = 30.0) -> list[Outcome]:
    """Start every job together (a barrier), each in its own session that commits on success."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Outcome | None] = [None] * len(jobs)

    def work(i: int, job: Callable[[Session], Any]) -> None:
        with Session(bind=engine, expire_on_commit=False) as session:
            try:
                barrier.wait(timeout)
                value = job(session)
                session.commit()
                outcomes[i] = Outcome("ok", value)
            except DomainError as exc:
                session.rollback()
                outcomes[i] = Outcome("refused", exc)
            except Exception as exc:  # the race is real: the database refused a write
                session.rollback()
                outcomes[i] = Outcome("error", exc)

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert all(o is not None for o in outcomes), "a race job hung"
    return [o for o in outcomes if o is not None]


class Slow:
    """Widens race windows through the real hooks: a pause after a sale's checks, after a game's
    checks, after a queue change and after a game ended (before commit)."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay

    @hookimpl(trylast=True)
    def pss_check_ticket_sale(self, session: Session, sale: Any) -> None:
        time.sleep(self.delay)

    @hookimpl(trylast=True)
    def pss_check_game_start(self, session: Session, game: Any) -> None:
        time.sleep(self.delay)

    @hookimpl
    def pss_queue_changed(self, session: Session, change: Any) -> None:
        time.sleep(self.delay)

    @hookimpl(trylast=True)
    def pss_game_finished(self, session: Session, result: Any) -> None:
        time.sleep(self.delay)
