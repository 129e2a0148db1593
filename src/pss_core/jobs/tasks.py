"""Jobs of the queue itself: putting back the jobs of a worker that died mid-job."""

from __future__ import annotations

from typing import Any

from pss_core.jobs.registry import app


@app.periodic(cron="*/5 * * * *")
@app.task(name="pss.jobs.retry_stalled", queueing_lock="pss.jobs.retry_stalled", pass_context=True)
async def retry_stalled_jobs(context: Any, timestamp: int) -> None:
    """Jobs left ``doing`` by a worker that stopped sending heartbeats (killed, its machine
    gone) are put back in the queue. PostgreSQL only: on SQLite nothing runs in the background."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs():
        await manager.retry_job(job)
