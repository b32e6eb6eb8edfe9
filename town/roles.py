"""The long-running roles of a town process besides the web server: engine and worker.

Each role is a coroutine that runs until `stop` is set and then finishes its work cleanly
(the engine saves snapshots). `runtown` runs any mix of them in one asyncio loop. The world
brings the engine; the worker (the minds and the scheduled jobs) is wired in by ops
(ops/roles.py), so this module imports neither.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Role = Callable[[asyncio.Event], Awaitable[None]]


async def engine_role(stop: asyncio.Event) -> None:
    """Run every world this process can take the lease of, until `stop`."""
    from town.runner import EngineHost  # the runner loads the channel layer: at start only

    host = EngineHost()
    await host.run(stop)


ROLES: dict[str, Role] = {"engine": engine_role}


def register(name: str, role: Role) -> None:
    """Make `role` runnable as `runtown --role NAME` (and in `all`)."""
    ROLES[name] = role


async def run_side_by_side(*parts: Awaitable[None]) -> None:
    """Run parts of one role together; if one fails, stop the others too (the role is
    restarted as a whole)."""
    tasks = [asyncio.ensure_future(part) for part in parts]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
