"""A small harness for race tests: run callables at the same moment on real threads, each with its
own connection and transaction, and sort what happened into ok / refused / error; and switch a
database constraint off for a negative control whose protection is (also) that constraint."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from pss_core import hookimpl
from pss_core.errors import DomainError
from pss_core.models import Base


@attrs.frozen
class Outcome:
    kind: str  # ok | refused | error
    value: Any = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def run_at_once(
    engine: Engine, jobs: Sequence[Callable[[Session], Any]], timeout: float = 30.0
) -> list[Outcome]:
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
            except Exception as exc:  # noqa: BLE001  never expected: a raw error would be a 500; the test reports it
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


# --- a database constraint switched off for a negative control ------------------------------

#: How long the DDL of :func:`constraints_off` waits for a table before failing (a hung race job
#: that still holds a lock must fail the test, not hang it).
DDL_LOCK_TIMEOUT_MS = 30_000


@attrs.frozen
class _Dropped:
    name: str
    table: str
    #: ``constraint`` (``ALTER TABLE ... ADD CONSTRAINT name <definition>``) or ``index`` (the
    #: whole ``CREATE [UNIQUE] INDEX`` statement).
    kind: str
    definition: str


def _definition(conn: Any, name: str) -> _Dropped:
    row = conn.execute(
        text(
            "SELECT c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conname = :name AND c.connamespace = current_schema()::regnamespace"
        ),
        {"name": name},
    ).one_or_none()
    if row is not None:
        return _Dropped(name, row[0], "constraint", row[1])
    row = conn.execute(
        text(
            "SELECT tablename, indexdef FROM pg_indexes WHERE indexname = :name "
            "AND schemaname = current_schema()"
        ),
        {"name": name},
    ).one_or_none()
    if row is None:
        raise LookupError(f"no constraint or index named {name!r}")
    return _Dropped(name, row[0], "index", row[1])


def _empty_every_table(conn: Any) -> None:
    # What the control left behind breaks the rule the constraint states, so it cannot come back
    # over those rows; the control's committed_engine empties the tables afterwards anyway.
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@contextlib.contextmanager
def constraints_off(engine: Engine, *names: str) -> Iterator[None]:
    """Drop the named constraints or unique indexes (PostgreSQL) for the block, so a negative
    control sees what the database would otherwise refuse; afterwards every table is emptied and
    each one is put back exactly as it was (checked), so no other test runs without it."""
    if not names:
        yield
        return
    assert engine.dialect.name == "postgresql", "constraints are switched off on PostgreSQL only"
    with engine.begin() as conn:
        conn.execute(text(f"SET LOCAL lock_timeout = {DDL_LOCK_TIMEOUT_MS}"))
        dropped = [_definition(conn, n) for n in names]
        for d in dropped:
            if d.kind == "constraint":
                conn.execute(text(f'ALTER TABLE "{d.table}" DROP CONSTRAINT "{d.name}"'))
            else:
                conn.execute(text(f'DROP INDEX "{d.name}"'))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL lock_timeout = {DDL_LOCK_TIMEOUT_MS}"))
            _empty_every_table(conn)
            for d in dropped:
                if d.kind == "constraint":
                    conn.execute(
                        text(f'ALTER TABLE "{d.table}" ADD CONSTRAINT "{d.name}" {d.definition}')
                    )
                else:
                    conn.execute(text(d.definition))
            restored = [_definition(conn, d.name) for d in dropped]
        assert restored == dropped, (restored, dropped)


# --- an interleaving made certain instead of likely ------------------------------------------

#: The longest a gated job waits for the other; only reached when something is broken.
GATE_TIMEOUT = 30.0

_WRITES = ("INSERT", "UPDATE", "DELETE")


class SecondActsMidway:
    """Makes "the second request acts while the first one is in flight" certain: the first job's
    game ending pauses after its writes (in ``pss_game_finished``, before commit) until the second
    job sends its first lock or write to the database; the second job starts only once the first
    is paused, so everything it read came before the first commit. With the locks on, the second
    then waits for the first and sees the changed game; without them, both act on the same game.
    Waits are bounded (:data:`GATE_TIMEOUT`), so a broken run fails instead of hanging."""

    def __init__(self) -> None:
        self.first_thread: int | None = None
        self.first_paused = threading.Event()
        self.second_acting = threading.Event()

    @hookimpl(trylast=True)
    def pss_game_finished(self, session: Session, result: Any) -> None:
        if threading.get_ident() == self.first_thread:
            self.first_paused.set()
            self.second_acting.wait(GATE_TIMEOUT)

    def first(self, job: Callable[[Session], Any]) -> Callable[[Session], Any]:
        def run(session: Session) -> Any:
            self.first_thread = threading.get_ident()
            return job(session)

        return run

    def second(self, job: Callable[[Session], Any]) -> Callable[[Session], Any]:
        def run(session: Session) -> Any:
            self.first_paused.wait(GATE_TIMEOUT)

            def acting(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
                sql = statement.lstrip().upper()
                if sql.startswith(_WRITES) or " FOR UPDATE" in sql or " FOR NO KEY UPDATE" in sql:
                    self.second_acting.set()

            event.listen(session.connection(), "before_cursor_execute", acting)
            try:
                return job(session)
            finally:
                self.second_acting.set()  # never leave the first job waiting

        return run
