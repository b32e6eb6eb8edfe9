"""A protocol-speaking test client over Channels' WebsocketCommunicator, and test users."""

from __future__ import annotations

import asyncio
import json

from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from config.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1")


def make_user(username: str, staff: bool = False) -> bytes:
    user = User.objects.create_user(username, f"{username}@example.com", "pw-for-tests-1")
    if staff:
        user.is_staff = True
        user.save()
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class Socket:
    """A test client speaking the protocol."""

    def __init__(self, world_id: int, cookie: bytes | None = None):
        headers = [ORIGIN] + ([(b"cookie", cookie)] if cookie else [])
        self.comm = WebsocketCommunicator(application, f"/ws/world/{world_id}/", headers)
        self.events: list[dict] = []
        self.frames: list[dict] = []
        self.items: list[dict] = []  # frames and the events inside them, in arrival order
        self.claimed: set[int] = set()

    async def open(self) -> tuple[dict, dict]:
        connected, _ = await self.comm.connect(timeout=5)
        assert connected
        hello = await self.recv()
        assert hello["type"] == "hello"
        snapshot = await self.recv()
        assert snapshot["type"] == "snapshot"
        self.hello, self.snapshot = hello, snapshot
        return hello, snapshot

    async def recv(self, timeout: float = 10) -> dict:
        frame = json.loads(await self.comm.receive_from(timeout=timeout))
        self.frames.append(frame)
        self.items.append(frame)
        if frame["type"] == "events":
            self.events.extend(frame["events"])
            self.items.extend(frame["events"])
        return frame

    async def send(self, **frame) -> None:
        await self.comm.send_to(text_data=json.dumps(frame))

    async def until(self, predicate, timeout: float = 15) -> dict:
        """The first frame (or event inside an `events` frame) that matches and was not
        returned before, waiting for new frames if none has arrived yet."""
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
                raise AssertionError("no matching frame; last frames: " + str(self.frames[-5:]))
            try:
                await self.recv(timeout=left)
            except TimeoutError:
                raise AssertionError("timed out; last frames: " + str(self.frames[-5:])) from None

    async def ack(self, fid: str) -> dict:
        return await self.until(lambda f: f.get("id") == fid and f["type"] in ("ack", "error"))

    async def close(self) -> None:
        await self.comm.disconnect()
