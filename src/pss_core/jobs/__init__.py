"""Background jobs: work enqueued in the transaction of the change that causes it and run by the
worker after that transaction commits — never for a change that rolled back.

On PostgreSQL a job is a procrastinate job, written with :func:`defer` on the caller's own
connection; ``pss worker`` runs it. On the embedded SQLite default the same task function runs in
this process right after the commit, so a development server needs no other service.
"""

from __future__ import annotations

from pss_core.jobs.queue import defer, pending_in
from pss_core.jobs.registry import TASKS, Runtime, TaskInfo, app, configure, task

__all__ = ["TASKS", "Runtime", "TaskInfo", "app", "configure", "defer", "pending_in", "task"]
