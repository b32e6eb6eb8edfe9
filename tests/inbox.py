"""What both protocol test clients share: an inbox of frames and events to wait on."""

from __future__ import annotations

import asyncio
import json


class Inbox:
    """Frames and the events inside them, in arrival order; `until` claims the first match."""

    def __init__(self) -> None:
        self.frames: list[dict] = []
        self.events: list[dict] = []
        self.items: list[dict] = []
        self.claimed: set[int] = set()

    async def receive_text(self, timeout: float) -> str:
        """One text frame from the server (each client knows its transport)."""
        raise NotImplementedError

    async def recv(self, timeout: float = 10) -> dict:
        frame = json.loads(await self.receive_text(timeout))
        self.frames.append(frame)
        self.items.append(frame)
        if frame.get("type") == "events":
            self.events.extend(frame["events"])
            self.items.extend(frame["events"])
        return frame

    async def until(self, predicate, timeout: float = 15) -> dict:
        """The first frame or event that matches and was not returned before, waiting for
        new frames if none has arrived yet."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        checked = 0
        while True:
            while checked < len(self.items):
                item = self.items[checked]
                checked += 1
                if id(item) not in self.claimed and predicate(item):
                    self.claimed.add(id(item))
                    return item
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no matching frame; last: {self.items[-5:]}")
            try:
                await self.recv(left)
            except TimeoutError:
                raise AssertionError(f"timed out; last: {self.items[-5:]}") from None

    async def ack(self, fid: str, timeout: float = 15) -> dict:
        """The `ack` or `error` answering the frame with this id."""
        return await self.until(
            lambda f: f.get("id") == fid and f.get("type") in ("ack", "error"), timeout
        )


async def wait_for(predicate, timeout: float, what: str = "condition") -> float:
    """Poll until `predicate()` holds; returns the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        if loop.time() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)
    return loop.time() - start


async def eventually(read, timeout: float = 20.0):
    """Poll a database read (run off the event loop) until it returns something truthy."""
    from channels.db import database_sync_to_async

    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        value = await database_sync_to_async(read)()
        if value:
            return value
        await asyncio.sleep(0.3)
    raise AssertionError("condition not met in time")
