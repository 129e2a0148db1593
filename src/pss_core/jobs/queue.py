"""``defer``: a job written in the caller's transaction, so it exists only if that commits."""

from __future__ import annotations

import logging
from typing import Any

import attrs
from procrastinate import exceptions as pexc
from procrastinate import manager
from procrastinate.jobs import Job
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from pss_core.jobs import registry

log = logging.getLogger("pss.jobs")

_PENDING = "pss.jobs.pending"  # jobs deferred in the open transaction (SQLite)
_READY = "pss.jobs.ready"  # jobs whose transaction committed, run once it has ended (SQLite)
_LISTENING = "pss.jobs.listening"
#: A session's ``info`` may name the :class:`~pss_core.jobs.Runtime` its in-process jobs get
#: (or a function that makes it, called when the first of them runs).
RUNTIME_INFO = "pss.jobs.runtime"


@attrs.frozen
class _Deferred:
    transaction: SessionTransaction
    name: str
    kwargs: dict[str, Any]


def defer(
    session: Session,
    name: str,
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    **kwargs: Any,
) -> None:
    """Enqueue the task ``name`` with ``kwargs`` (JSON values) in the session's transaction.

    On PostgreSQL the procrastinate job row is inserted on the session's own connection: a
    rollback removes it, a commit hands it to the workers (``lock`` keeps jobs that share it from
    running at once; ``queueing_lock`` drops this job if one with the same lock is still waiting).
    On SQLite the task runs in this process once the session's transaction has committed, and
    is forgotten if it (or the savepoint it was deferred in) rolls back."""
    registry.load_tasks()
    if name not in registry.TASKS:
        raise KeyError(f"no task named {name!r}")
    if session.get_bind().dialect.name == "postgresql":
        _defer_on_connection(session, name, lock, queueing_lock, kwargs)
        return
    _listen(session)
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        transaction = session.begin()
    pending: list[_Deferred] = session.info.setdefault(_PENDING, [])
    if queueing_lock is not None and any(
        d.kwargs.get("__queueing_lock") == queueing_lock for d in pending
    ):
        return
    if queueing_lock is not None:
        kwargs = {**kwargs, "__queueing_lock": queueing_lock}
    pending.append(_Deferred(transaction, name, kwargs))


_managers: list[manager.JobManager] = []


def _on_connection() -> manager.JobManager:
    """Jobs are written with the caller's own SQLAlchemy (psycopg2) connection, so this
    connector is never opened; the worker has an asyncio connector of its own. Made on first use,
    as psycopg2 is there only with PostgreSQL (the ``postgresql`` extra)."""
    if not _managers:
        from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector  # noqa: PLC0415  psycopg2 comes with the postgresql extra only

        _managers.append(manager.JobManager(SQLAlchemyPsycopg2Connector()))
    return _managers[0]


def _defer_on_connection(
    session: Session, name: str, lock: str | None, queueing_lock: str | None, kwargs: dict[str, Any]
) -> None:
    job = Job(
        queue="default",
        task_name=name,
        lock=lock or registry.TASKS[name].lock,
        queueing_lock=queueing_lock,
        task_kwargs=kwargs,
    )
    if queueing_lock is None:
        _on_connection().defer_job(job, connection=session.connection())
        return
    # A refused duplicate is a unique violation, which would abort the caller's transaction:
    # try it inside a savepoint so only the duplicate is undone. (The session emits SAVEPOINT
    # when its connection is next asked for, hence connection() after begin_nested().)
    savepoint = session.begin_nested()
    try:
        _on_connection().defer_job(job, connection=session.connection())
    except pexc.AlreadyEnqueued:
        savepoint.rollback()
    else:
        savepoint.commit()


def pending_in(session: Session) -> list[str]:
    """Names of the jobs deferred in the session's open transaction (SQLite)."""
    return [d.name for d in session.info.get(_PENDING, [])]


def _listen(session: Session) -> None:
    if session.info.get(_LISTENING):
        return
    session.info[_LISTENING] = True
    event.listen(session, "after_soft_rollback", _forget_rolled_back)
    event.listen(session, "after_commit", _committed)
    event.listen(session, "after_transaction_end", _run_ready)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[_Deferred] = session.info.get(_PENDING, [])
    pending[:] = [d for d in pending if not _within(d.transaction, previous_transaction)]


def _committed(session: Session) -> None:
    session.info.setdefault(_READY, []).extend(session.info.pop(_PENDING, []))


def _run_ready(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not session.info.get(_READY):
        return
    ready: list[_Deferred] = session.info.pop(_READY)
    base = session.info.get(RUNTIME_INFO)
    if callable(base):
        base = base()
    bind = session.get_bind()
    runtime = attrs.evolve(base, bind=bind) if base else registry.runtime_for(bind)
    for job in ready:
        info = registry.TASKS[job.name]
        kwargs = {k: v for k, v in job.kwargs.items() if k != "__queueing_lock"}
        try:
            registry.run_logged(job.name, info.function, runtime, kwargs)
        except Exception:
            # The change is committed; the job's own record (an e-mail's row, a refund) shows
            # what is left, and the periodic passes of ``pss worker`` pick it up again.
            log.exception("job %s failed after commit", job.name)
