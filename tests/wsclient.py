"""A protocol-speaking test client over Channels' WebsocketCommunicator, and test users."""

from __future__ import annotations

import json

from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from config.asgi import application
from tests.inbox import Inbox

ORIGIN = (b"origin", b"http://127.0.0.1")


def make_user(username: str, staff: bool = False) -> bytes:
    user = User.objects.create_user(username, f"{username}@example.com", "pw-for-tests-1")
    if staff:
        user.is_staff = True
        user.save()
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class Socket(Inbox):
    """A test client speaking the protocol through Channels' WebsocketCommunicator."""

    def __init__(self, world_id: int, cookie: bytes | None = None):
        super().__init__()
        headers = [ORIGIN] + ([(b"cookie", cookie)] if cookie else [])
        self.comm = WebsocketCommunicator(application, f"/ws/world/{world_id}/", headers)

    async def open(self) -> tuple[dict, dict]:
        connected, _ = await self.comm.connect(timeout=5)
        assert connected
        hello = await self.recv()
        assert hello["type"] == "hello"
        snapshot = await self.recv()
        assert snapshot["type"] == "snapshot"
        self.hello, self.snapshot = hello, snapshot
        return hello, snapshot

    async def receive_text(self, timeout: float) -> str:
        return await self.comm.receive_from(timeout=timeout)

    async def send(self, **frame) -> None:
        await self.comm.send_to(text_data=json.dumps(frame))

    async def close(self) -> None:
        await self.comm.disconnect()
