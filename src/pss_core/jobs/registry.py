"""The procrastinate app, pss's task registry and the runtime the task functions are given."""

from __future__ import annotations

import functools
import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import attrs
import procrastinate
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

log = logging.getLogger("pss.jobs")

#: Modules whose import registers tasks; the worker imports them all before it fetches a job.
TASK_MODULES = [
    "pss_core.jobs.tasks",
    "pss_core.payments.tasks",
    "pss_core.mail.tasks",
    "pss_core.lifecycle.tasks",
    "pss_core.notify",
    "pss_core.services.ifpa",
]

# The tasks' app. Its connector is a placeholder that is never opened: jobs are deferred on the
# caller's connection (pss_core.jobs.queue), and the worker swaps in one with its database.
app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=TASK_MODULES)


@attrs.define
class Runtime:
    """What a task function needs: where the database is, the plugins, the payment providers and
    SMTP."""

    #: An engine (the worker, the web app) or a connection (tests inside a transaction).
    bind: Engine | Connection
    #: The plugin manager (:class:`pss_core.plugins.Pss`).
    pss: Any
    #: The payment providers (:class:`pss_core.payments.providers.Payments`).
    payments: Any
    #: SMTP settings (:class:`pss_core.mail.settings.MailSettings`).
    mail: Any


#: Builds a runtime from the environment (``PSS_SMTP_*``, the providers' own variables) for jobs run
#: where nothing was configured. Named by path and imported on first use, like the task modules,
#: because it needs the payments and mail packages, which themselves defer jobs.
RUNTIME_FACTORY = "pss_core.worker_cli:environment_runtime"


@attrs.frozen
class TaskInfo:
    name: str
    function: Callable[..., Any]
    #: A cron line for periodic tasks (run by every worker pass of ``pss worker --once`` too).
    cron: str | None
    #: No two jobs with the same lock run at once, on any number of workers.
    lock: str | None


#: Every pss task by name, in the order ``pss worker --once`` runs the periodic ones on SQLite.
TASKS: dict[str, TaskInfo] = {}

_configured: Runtime | None = None
_configured_lock = threading.Lock()


def load_tasks() -> None:
    """Import every module that registers tasks (once)."""
    app.perform_import_paths()


def configure(runtime: Runtime | None) -> None:
    """Set the runtime task functions get in this process (the worker and the web app do)."""
    global _configured
    with _configured_lock:
        _configured = runtime


def configured() -> Runtime | None:
    return _configured


def runtime_for(bind: Engine | Connection) -> Runtime:
    """The configured runtime on ``bind``, or one made from the environment."""
    base = _configured
    if base is None:
        module, _, name = RUNTIME_FACTORY.partition(":")
        factory: Callable[[Engine | Connection], Runtime] = getattr(
            importlib.import_module(module), name
        )
        return factory(bind)
    return attrs.evolve(base, bind=bind)


def session_for(runtime: Runtime) -> Session:
    """A session of its own for a task (a savepoint inside the caller's transaction when the
    runtime is bound to a connection, as in tests)."""
    return Session(
        bind=runtime.bind, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


def task(
    name: str,
    *,
    cron: str | None = None,
    lock: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``function(runtime, **kwargs)`` as the pss task ``name``: a procrastinate task
    for the worker (periodic if ``cron`` is given) and an entry in ``TASKS`` for in-process
    runs on SQLite. Arguments must be JSON values."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        if name in TASKS:
            raise ValueError(f"task {name!r} is registered twice")

        @functools.wraps(function)
        def run(**kwargs: Any) -> Any:
            kwargs.pop("timestamp", None)  # what procrastinate gives periodic tasks
            runtime = _configured
            if runtime is None:
                raise RuntimeError("the worker has not configured pss_core.jobs")
            return run_logged(name, function, runtime, kwargs)

        job_task = app.task(name=name, lock=lock)(run)
        if cron is not None:
            # Periodic tasks are called with a ``timestamp``, which ``run`` drops.
            app.periodic(cron=cron)(job_task)  # type: ignore[arg-type]
        TASKS[name] = TaskInfo(name, function, cron, lock)
        return function

    return register


def run_logged(
    name: str, function: Callable[..., Any], runtime: Runtime, kwargs: dict[str, Any]
) -> Any:
    result = function(runtime, **kwargs)
    if isinstance(result, dict):
        summary = ", ".join(f"{k}={v}" for k, v in sorted(result.items()) if v) or "nothing to do"
        log.info("%s: %s", name, summary)
    return result
