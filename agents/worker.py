"""The worker role: answers residents' decision requests."""

from __future__ import annotations

import asyncio


class MindWorker:
    """Receives decision requests from engines and sends decisions back as inputs."""

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()
