"""The procrastinate app, pss's task registry and the runtime the task functions are given."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import procrastinate
from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector
from sqlalchemy import Connection, Engine

if TYPE_CHECKING:
    from pss_core.mail.settings import MailSettings
    from pss_core.payments.stripe_gateway import StripeGateway
    from pss_core.plugins import Pss

log = logging.getLogger("pss.jobs")

#: Modules whose import registers tasks; the worker imports them all before it fetches a job.
TASK_MODULES = ["pss_core.jobs.tasks"]

# The tasks' app. Its connector is a placeholder that is never opened: jobs are deferred on the
# caller's connection (pss_core.jobs.queue), and the worker swaps in an asyncio connector.
app = procrastinate.App(connector=SQLAlchemyPsycopg2Connector(), import_paths=TASK_MODULES)


@attrs.define
class Runtime:
    """What a task function needs: where the database is, the plugins, Stripe and SMTP."""

    #: An engine (the worker, the web app) or a connection (tests inside a transaction).
    bind: Engine | Connection
    pss: Pss
    gateway: StripeGateway
    mail: MailSettings

    @classmethod
    def from_environment(cls, bind: Engine | Connection,
                         settings: dict[str, Any] | None = None) -> Runtime:
        from pss_core.mail.settings import MailSettings
        from pss_core.payments.stripe_gateway import StripeGateway
        from pss_core.plugins import default_pss

        return cls(bind=bind, pss=default_pss(), gateway=StripeGateway.from_settings(),
                   mail=MailSettings.from_settings(settings or {}))


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
        return Runtime.from_environment(bind)
    return attrs.evolve(base, bind=bind)


def task(name: str, *, cron: str | None = None, lock: str | None = None,
         ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``function(runtime, **kwargs)`` as the pss task ``name``: a procrastinate task
    for the worker (periodic if ``cron`` is given) and an entry in :data:`TASKS` for in-process
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


def run_logged(name: str, function: Callable[..., Any], runtime: Runtime,
               kwargs: dict[str, Any]) -> Any:
    result = function(runtime, **kwargs)
    if isinstance(result, dict):
        summary = ", ".join(f"{k}={v}" for k, v in sorted(result.items()) if v) or "nothing to do"
        log.info("%s: %s", name, summary)
    return result
