"""Scheduled jobs (procrastinate, on the town's PostgreSQL) and the job worker.

Periodic tasks are deferred by every worker's periodic deferrer, and the database keeps one
job per task and period, so each runs once per period however many workers there are. A
queueing lock keeps a second copy out of the queue while one waits. Each app registers its
own tasks on procrastinate's shared app when Django starts (music/jobs.py, ops/jobs.py);
this module holds the world's own and runs the worker, and imports no other app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from procrastinate import PsycopgConnector, RetryStrategy
from procrastinate.contrib.django import DjangoApp, app, connector_params
from procrastinate.exceptions import AlreadyEnqueued

from town import maintenance, services

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0

# Jobs to queue whenever a job worker starts (e.g. the day's music, when the worker was down
# at midnight): each a function deferring one job, run in a thread. Apps add theirs.
ON_WORKER_START: list[Callable[[], Any]] = []


def on_worker_start(defer: Callable[[], Any]) -> Callable[[], Any]:
    """Queue a job each time a job worker starts (a second copy already queued is fine)."""
    ON_WORKER_START.append(defer)
    return defer


@app.periodic(cron="* * * * *", periodic_id="every-minute")
@app.task(queue="town", queueing_lock="idle-pause", retry=RetryStrategy(max_attempts=2))
def idle_pause(timestamp: int) -> list[int]:
    """Freeze running worlds nobody has watched for TOWN_IDLE_TIMEOUT seconds."""
    frozen = services.freeze_idle_worlds()
    if frozen:
        log.info("froze idle worlds %s", frozen)
    return frozen


@app.periodic(cron="17 * * * *", periodic_id="hourly")
@app.task(
    queue="town",
    queueing_lock="maintenance",
    retry=RetryStrategy(max_attempts=3, wait=300),
)
def maintenance_job(timestamp: int) -> dict[str, Any]:
    """Prune old movement history and inputs, expire stale leases, vacuum."""
    return maintenance.run_maintenance()


def record_failure(call_next, context, worker) -> Any:
    """Task middleware: a job that raises leaves an audit record before it is retried."""
    try:
        return call_next()
    except Exception as exc:
        job = context.job
        services.audit(
            None,
            "job_failed",
            "worker",
            task=job.task_name,
            job=job.id,
            attempts=job.attempts,
            error=f"{type(exc).__name__}: {exc}"[:500],
        )
        raise


def worker_app() -> DjangoApp:
    """A procrastinate app for one worker: the town's tasks on its own connection pool.

    The shared Django app keeps its Django connector for deferring jobs from web requests
    and commands; several workers can run side by side in one process (tests do).
    """
    worker = DjangoApp(
        connector=PsycopgConnector(kwargs=connector_params(), min_size=1, max_size=4),
        worker_defaults={"task_middleware": [record_failure]},
    )
    worker.tasks = app.tasks
    worker.periodic_registry = app.periodic_registry
    return worker


async def run_job_worker(stop: asyncio.Event, *, name: str | None = None, **options: Any) -> None:
    """Run scheduled and queued jobs until `stop`; a running job finishes first."""
    jobs = worker_app()
    async with jobs.open_async():
        for defer in ON_WORKER_START:
            with contextlib.suppress(AlreadyEnqueued):
                # From a thread that closes its Django connection afterwards (unlike the
                # async defer).
                await database_sync_to_async(defer)()
        options = {
            "name": name or f"town@{socket.gethostname()}",
            "install_signal_handlers": False,
            "fetch_job_polling_interval": POLL_SECONDS,
            "shutdown_graceful_timeout": 30.0,
            **options,
        }
        running = asyncio.ensure_future(jobs.run_worker_async(**options))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not running.done():
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        if running.done() and not running.cancelled() and running.exception():
            raise running.exception()
