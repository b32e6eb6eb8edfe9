"""The worker role: the minds answering decision requests, and the scheduled jobs."""

from __future__ import annotations

import asyncio

from town.roles import register, run_side_by_side


async def worker_role(stop: asyncio.Event) -> None:
    """Answer the minds' decision requests and run scheduled jobs, side by side, until `stop`."""
    from agents.worker import MindWorker  # the model client loads when a worker starts
    from town.jobs import run_job_worker

    await run_side_by_side(MindWorker().run(stop), run_job_worker(stop))


register("worker", worker_role)
