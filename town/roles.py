"""The long-running roles of a town process besides the web server: engine and worker.

Each role is a coroutine that runs until `stop` is set and then finishes its work cleanly
(the engine saves snapshots). `runtown` runs any mix of them in one asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def engine_role(stop: asyncio.Event) -> None:
    """Run every world this process can take the lease of, until `stop`."""
    from town.runner import EngineHost

    host = EngineHost()
    await host.run(stop)


async def worker_role(stop: asyncio.Event) -> None:
    """Answer the minds' decision requests and run scheduled jobs, side by side, until `stop`."""
    from agents.worker import MindWorker
    from town.jobs import run_job_worker

    worker = MindWorker()
    tasks = [
        asyncio.ensure_future(worker.run(stop)),
        asyncio.ensure_future(run_job_worker(stop)),
    ]
    try:
        # If either fails, stop the other too: the role is restarted as a whole.
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


ROLES = {"engine": engine_role, "worker": worker_role}
