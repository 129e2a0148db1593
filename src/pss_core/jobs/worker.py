"""Running the jobs: procrastinate workers on PostgreSQL, the periodic passes in-process on
SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import time
from collections.abc import Sequence
from typing import Any

from procrastinate import exceptions as pexc
from sqlalchemy import Engine

from pss_core.jobs import registry

log = logging.getLogger("pss.jobs")


def libpq_url(engine: Engine) -> str:
    """The engine's URL as psycopg (3) wants it, without SQLAlchemy's driver name."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def run(
    engine: Engine,
    runtime: registry.Runtime,
    *,
    once: bool,
    concurrency: int = 1,
    interval: float = 60.0,
    imports: Sequence[str] = (),
) -> int:
    """Run the worker until stopped (SIGINT, SIGTERM) or, with ``once``, until what is due
    is done: on PostgreSQL every periodic task is deferred now and the queue is worked until
    it is empty. Returns the exit status."""
    for module in imports:
        importlib.import_module(module)
    registry.load_tasks()
    registry.configure(runtime)
    try:
        if engine.dialect.name == "postgresql":
            asyncio.run(_run_postgres(libpq_url(engine), once=once, concurrency=concurrency))
            return 0
        return _run_in_process(runtime, once=once, interval=interval)
    finally:
        registry.configure(None)


def periodic_names() -> list[str]:
    return [name for name, info in registry.TASKS.items() if info.cron is not None]


async def _run_postgres(conninfo: str, *, once: bool, concurrency: int) -> None:
    from procrastinate import PsycopgConnector  # noqa: PLC0415  the worker's own connector, made when it starts

    with registry.app.replace_connector(PsycopgConnector(conninfo=conninfo)) as worker_app:
        async with worker_app.open_async():
            if once:
                for name in [*periodic_names(), "pss.jobs.retry_stalled"]:
                    # A pass still waiting from another worker is enough: not queued twice.
                    with contextlib.suppress(pexc.AlreadyEnqueued):
                        await worker_app.configure_task(
                            name, queueing_lock=f"{name}.now"
                        ).defer_async(timestamp=int(time.time()))
            await worker_app.run_worker_async(
                wait=not once,
                concurrency=concurrency,
                delete_jobs="successful",
                install_signal_handlers=True,
            )


def _run_in_process(runtime: registry.Runtime, *, once: bool, interval: float) -> int:
    stop = False

    def _stop(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    if not once:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    while True:
        failed = 0
        for name in periodic_names():
            info = registry.TASKS[name]
            try:
                registry.run_logged(name, info.function, runtime, {})
            except Exception:
                failed += 1
                log.exception("%s failed", name)
        if once:
            return 1 if failed else 0
        deadline = time.monotonic() + interval
        while not stop and time.monotonic() < deadline:
            time.sleep(min(0.5, interval))
        if stop:
            return 0
