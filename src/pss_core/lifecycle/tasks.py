"""The lifecycle jobs as tasks of ``pss worker``: each status change's job, and every minute the
jobs whose retry is due."""

from __future__ import annotations

from datetime import datetime

from pss_core import jobs
from pss_core.jobs.registry import Runtime, session_for, task
from pss_core.lifecycle import work
from pss_core.lifecycle.service import TASK, lock_name
from pss_core.models import LifecycleJob


@task(TASK)
def run_lifecycle_job(runtime: Runtime, job_id: int, now: str | None = None) -> dict[str, int]:
    """Run one status change's job (:func:`pss_core.lifecycle.work.run`)."""
    return work.run(runtime, job_id, now=datetime.fromisoformat(now) if now else None)


@task("pss.lifecycle.retry_due", cron="* * * * *", lock="pss.lifecycle.retry")
def retry_due(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Defer again every job that failed and whose pause is over (on SQLite they run right
    after this pass commits)."""
    when = datetime.fromisoformat(now) if now else None
    with session_for(runtime) as session:
        ids = work.due(session, now=when)
        for job_id in ids:
            job = session.get(LifecycleJob, job_id)
            assert job is not None
            scope = work.scope_of(session, job)
            jobs.defer(
                session,
                TASK,
                lock=lock_name(scope),
                queueing_lock=f"{TASK}.{job_id}.retry{job.attempts}",
                job_id=job_id,
            )
        session.commit()
    return {"deferred": len(ids)}
