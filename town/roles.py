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
    """Answer the minds' decision requests and run scheduled jobs, until `stop`."""
    from agents.worker import MindWorker

    worker = MindWorker()
    await worker.run(stop)


ROLES = {"engine": engine_role, "worker": worker_role}
