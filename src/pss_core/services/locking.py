"""Row locks that make concurrent staff actions safe at READ COMMITTED.

On PostgreSQL every service that changes play state first locks the rows whose state it decides on
(``SELECT ... FOR NO KEY UPDATE``, which serialises lockers but does not block inserts of rows that
merely reference the locked row). Locks are held until the transaction ends. A lock that cannot be
had within ``LOCK_TIMEOUT_MS`` (``pss_core.db``) becomes :class:`pss_core.errors.Busy` ("busy,
try again").

Lock order — always acquire in this order, each level sorted by id, to rule out deadlocks. A
service may skip levels and may re-lock a row it already holds, but never goes back up a level:

1. ``tournament_machines`` — a machine's game in progress, its status and its queue slots.
2. ``teams`` — a team's tokens and its game in progress.
3. ``event_players`` — a player's tokens, their game in progress, their queue place, offences.
4. ``tournaments`` — ticket quota and sales of a tournament, its ``version``. Games do not lock
   the tournament to decide anything: they bump its ``version`` with one ``UPDATE`` as their
   last write (``bump_version``), so 16 machines do not wait on each other for the whole of
   every start and score, only for that last statement to commit.
5. ``metatournaments`` — ticket quota and sales of a metatournament.

Machines come first because a scorekeeper names a machine and only then learns who is on it and
who waits; scopes come last because they are the most contended rows and so are held the shortest.
When the rows to lock depend on what is read (the machine of a player's current queue place), the
service reads without a lock, locks, re-reads, and starts again inside a savepoint if the answer
changed (see :func:`retrying`).

On SQLite, which lets one writer in at a time, a lock claims the database's write lock at once
(the effect of ``BEGIN IMMEDIATE``), so what is read afterwards cannot change before commit.

Locking a tournament or metatournament is also where a change to it is refused while a lifecycle
job (cancel, finalize, reopen: :mod:`pss_core.lifecycle`) holds it: every service that changes a
tournament takes its lock, so none of them needs a check of its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from pss_core.db import LOCK_TIMEOUT_MS as LOCK_TIMEOUT_MS
from pss_core.db import LOCK_TIMEOUT_SET
from pss_core.errors import Busy, Refused
from pss_core.models import (
    EventPlayer,
    LifecycleJob,
    LifecycleJobKind,
    LifecycleJobState,
    Metatournament,
    Team,
    Tournament,
    TournamentMachine,
    utcnow,
)

# LOCK_TIMEOUT_MS (imported above): how long a service waits for a row somebody else holds
# before answering "busy"; set by the first lock of each transaction.

#: The lock order, lowest first (see the module docstring).
LOCK_ORDER: tuple[type[Any], ...] = (
    TournamentMachine,
    Team,
    EventPlayer,
    Tournament,
    Metatournament,
)

_PG_LOCK_ERRORS = ("55P03", "40P01")  # lock_not_available, deadlock_detected

M = TypeVar("M")
R = TypeVar("R")


class _Protection:
    """Whether locks are taken. Only race tests turn this off, to show a race is real."""

    def __init__(self) -> None:
        self.enabled = True
        self._mutex = threading.Lock()

    @contextlib.contextmanager
    def off(self) -> Iterator[None]:
        """Skip every lock inside the block, in all threads (negative controls only)."""
        with self._mutex:
            self.enabled = False
        try:
            yield
        finally:
            with self._mutex:
                self.enabled = True


PROTECTION = _Protection()


def unprotected() -> contextlib.AbstractContextManager[None]:
    """For race tests only: run the services without their row locks."""
    return PROTECTION.off()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@contextlib.contextmanager
def busy_on_lock_timeout(what: str = "This") -> Iterator[None]:
    """Turn a PostgreSQL lock timeout or deadlock into :class:`Busy`."""
    try:
        yield
    except OperationalError as exc:
        code = getattr(exc.orig, "pgcode", None)
        if code in _PG_LOCK_ERRORS or "database is locked" in str(exc.orig):
            raise Busy(
                f"{what} is busy with another change; try again in a moment.", code="busy"
            ) from exc
        raise


def _claim_sqlite_write_lock(session: Session) -> None:
    # A write statement makes SQLite take its RESERVED lock even when no row matches, so from
    # here to commit no other connection can write.
    with busy_on_lock_timeout("The database"):
        session.execute(text("UPDATE events SET id = id WHERE 0 = 1"))


def lock_rows(session: Session, model: type[M], ids: Iterable[int | None]) -> list[M]:
    """Lock rows of ``model`` by id (sorted, duplicates and ``None`` ignored) and return them
    freshly loaded. On PostgreSQL with protection off, the rows are only re-read."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return []
    stmt = select(model).where(model.id.in_(wanted)).order_by(model.id)  # type: ignore[attr-defined]
    stmt = stmt.execution_options(populate_existing=True)
    if PROTECTION.enabled:
        if is_postgres(session):
            # Once per transaction, not before every lock (pss_core.db forgets it when a
            # transaction begins or a savepoint is rolled back).
            conn = session.connection()
            if not conn.info.get(LOCK_TIMEOUT_SET):
                conn.execute(text(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"))
                conn.info[LOCK_TIMEOUT_SET] = True
            # key_share on a write lock renders FOR NO KEY UPDATE.
            stmt = stmt.with_for_update(key_share=True, of=model)
        else:
            _claim_sqlite_write_lock(session)
    with busy_on_lock_timeout(_what(model)):
        return list(session.scalars(stmt).all())


def _what(model: type[Any]) -> str:
    return {
        TournamentMachine: "This machine",
        Team: "This team",
        EventPlayer: "This player",
        Tournament: "This tournament",
        Metatournament: "This metatournament",
    }.get(model, "This")


def lock_machines(session: Session, ids: Iterable[int | None]) -> list[TournamentMachine]:
    return lock_rows(session, TournamentMachine, ids)


def lock_teams(session: Session, ids: Iterable[int | None]) -> list[Team]:
    return lock_rows(session, Team, ids)


def lock_players(session: Session, ids: Iterable[int | None]) -> list[EventPlayer]:
    return lock_rows(session, EventPlayer, ids)


def lock_tournaments(session: Session, ids: Iterable[int | None]) -> list[Tournament]:
    """Lock tournaments for a change: refused with ``locked`` while a lifecycle job holds one."""
    rows = lock_rows(session, Tournament, ids)
    for row in rows:
        refuse_if_held(session, row)
    return rows


def lock_metatournaments(session: Session, ids: Iterable[int | None]) -> list[Metatournament]:
    """Lock metatournaments for a change: refused with ``locked`` while a lifecycle job holds
    one."""
    rows = lock_rows(session, Metatournament, ids)
    for row in rows:
        refuse_if_held(session, row)
    return rows


# --- lifecycle jobs hold their scope ----------------------------------------------------------

#: Job states that hold the scope against every change, a status change included.
HOLDING_STATES = (LifecycleJobState.QUEUED, LifecycleJobState.RUNNING, LifecycleJobState.RETRYING)
#: A running job silent this long counts as dead (its steps take seconds, Stripe calls time out
#: after 30 s and are retried a couple of times).
STALLED_AFTER = timedelta(minutes=3)
#: ``session.info`` key: scopes (``("tournament", id)``) whose own lifecycle job this session
#: runs, so the job's work is not refused by its own lock.
JOB_SCOPES = "pss.lifecycle.scopes"

_DOING = {
    LifecycleJobKind.REFUND: "its tickets are being refunded (cancel)",
    LifecycleJobKind.FREEZE: "its results are being frozen (finalize)",
    LifecycleJobKind.REVOKE: "its frozen results are being revoked (reopen)",
}


class Locked(Refused):
    """A lifecycle job holds the tournament; the change can be made once it is done."""

    default_code = "locked"


def scope_key(scope: Tournament | Metatournament) -> tuple[str, int]:
    return ("tournament" if isinstance(scope, Tournament) else "metatournament", scope.id)


def current_job(session: Session, scope: Tournament | Metatournament) -> LifecycleJob | None:
    """The newest lifecycle job of ``scope`` (``None`` if its status never changed)."""
    column = (
        LifecycleJob.tournament_id
        if isinstance(scope, Tournament)
        else LifecycleJob.metatournament_id
    )
    return session.scalars(
        select(LifecycleJob)
        .where(column == scope.id)
        .order_by(LifecycleJob.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).first()


def stalled(job: LifecycleJob, now: datetime) -> bool:
    """A running job whose worker has given no sign of life for :data:`STALLED_AFTER` (killed,
    its machine gone): a status change may take over from it."""
    beat = job.heartbeat_at or job.started_at
    return (
        job.state == LifecycleJobState.RUNNING and beat is not None and beat < now - STALLED_AFTER
    )


def refuse_if_held(
    session: Session,
    scope: Tournament | Metatournament,
    *,
    status_change: bool = False,
    now: datetime | None = None,
) -> None:
    """Raise :class:`Locked` if a lifecycle job holds ``scope``: while it is queued, running or
    waiting for a retry; after it failed for good (or its worker died mid-run), for everything
    but a status change (which is how the job is run again)."""
    if scope_key(scope) in session.info.get(JOB_SCOPES, ()):
        return
    job = current_job(session, scope)
    if job is None:
        return
    doing = _DOING[job.kind]
    if status_change and stalled(job, now or utcnow()):
        return
    if job.state in HOLDING_STATES:
        retry = (
            f" (attempt {job.attempts} failed: {job.last_error}; trying again shortly)"
            if job.state == LifecycleJobState.RETRYING
            else ""
        )
        raise Locked(
            f"{scope.name} is locked: {doing}{retry}. Try again when it is done.",
            job=job.id,
            job_state=job.state.value,
            job_kind=job.kind.value,
        )
    if job.state == LifecycleJobState.FAILED and not status_change:
        raise Locked(
            f"{scope.name} is locked: {doing} failed ({job.last_error}). A tournament director "
            f"can run it again by setting the status to {job.new_status.value} once more.",
            job=job.id,
            job_state=job.state.value,
            job_kind=job.kind.value,
        )


def bump_version(session: Session, tournament: Tournament) -> None:
    """Mark ``tournament``'s standings as changed (its ``version`` is the standings' ETag), with
    one ``UPDATE ... SET version = version + 1`` that cannot lose an update without a lock taken
    beforehand, and read back its status as it is now.

    The update holds the tournament row until commit, so no lifecycle job (cancel, finalize,
    reopen) can begin before this transaction ends; the check that follows sees any job that
    began before it (:class:`Locked`). A status change waited for is also seen: the caller
    re-checks ``tournament.active`` and ``tournament.status`` after this."""
    if not PROTECTION.enabled:
        # The race tests' negative control: the version as read earlier, plus one, written
        # back — what an update without a lock or an atomic increment does.
        session.execute(
            update(Tournament)
            .where(Tournament.id == tournament.id)
            .values(version=(tournament.version or 0) + 1)
            .execution_options(synchronize_session=False)
        )
        set_committed_value(tournament, "version", (tournament.version or 0) + 1)
        return
    with busy_on_lock_timeout(_what(Tournament)):
        version, active, status = session.execute(
            update(Tournament)
            .where(Tournament.id == tournament.id)
            .values(version=func.coalesce(Tournament.version, 0) + 1)
            .returning(Tournament.version, Tournament.active, Tournament.status)
            .execution_options(synchronize_session=False)
        ).one()
    set_committed_value(tournament, "version", version)
    set_committed_value(tournament, "active", active)
    set_committed_value(tournament, "status", status)
    refuse_if_held(session, tournament)


def lock_scope(session: Session, scope: Tournament | Metatournament) -> None:
    """Lock a ticket scope (its quota, its sales switch)."""
    if isinstance(scope, Tournament):
        lock_tournaments(session, [scope.id])
    else:
        lock_metatournaments(session, [scope.id])


def lock_in_order(
    session: Session,
    *,
    machines: Iterable[int | None] = (),
    teams: Iterable[int | None] = (),
    players: Iterable[int | None] = (),
    tournaments: Iterable[int | None] = (),
    metatournaments: Iterable[int | None] = (),
) -> None:
    """Lock everything named, level by level in the documented order."""
    lock_machines(session, machines)
    lock_teams(session, teams)
    lock_players(session, players)
    lock_tournaments(session, tournaments)
    lock_metatournaments(session, metatournaments)


class LockSetChanged(Exception):
    """Raised inside :func:`retrying` when what was locked is not what turned out to be needed."""


def retrying(
    session: Session,
    attempt: Callable[[], R],
    *,
    tries: int = 5,
    what: str = "This",
    reads_first: bool = False,
) -> R:
    """Run ``attempt`` in a savepoint; if it raises :class:`LockSetChanged`, roll the savepoint
    back (which releases the locks taken in it) and try again, up to ``tries`` times.

    ``reads_first``: ``attempt`` writes nothing before it may raise :class:`LockSetChanged` (it
    only reads and locks). When the caller already runs in a savepoint (every web action does),
    that savepoint undoes a failure, so the attempt needs none of its own — two round trips
    fewer. The rows a changed attempt locked then stay locked until commit, which is safe: a
    lock only ever waits, and a deadlock is detected and answered "busy"."""
    if reads_first and session.in_nested_transaction():
        for _ in range(tries):
            try:
                return attempt()
            except LockSetChanged:
                continue
    else:
        for _ in range(tries):
            savepoint = session.begin_nested()
            try:
                result = attempt()
            except LockSetChanged:
                savepoint.rollback()
                continue
            except BaseException:
                if savepoint.is_active:
                    savepoint.rollback()
                raise
            savepoint.commit()
            return result
    raise Busy(f"{what} keeps changing under us; try again in a moment.", code="busy")


def ids_of(rows: Sequence[Any]) -> list[int]:
    return [r.id for r in rows]
