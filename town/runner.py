"""Runs worlds: one asyncio task per world this process holds the lease of."""

from __future__ import annotations

import asyncio


class EngineHost:
    """Takes world leases and runs their engines."""

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()
