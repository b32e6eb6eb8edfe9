"""A protocol client over a real TCP WebSocket (for runtown subprocesses and benchmarks)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import websockets

from tests.inbox import Inbox

ROOT = Path(__file__).resolve().parent.parent

_MAKE_SESSIONS = """
import json, sys
from django.contrib.auth.models import User
from django.test import Client
out = {}
for name in sys.argv[1:]:
    user, _ = User.objects.get_or_create(username=name, defaults={"email": name + "@example.com"})
    if name.startswith("staff"):
        user.is_staff = True
        user.save()
    client = Client()
    client.force_login(user)
    out[name] = client.cookies["sessionid"].value
print(json.dumps(out))
"""


def make_sessions(env: dict, names: list[str]) -> dict[str, str]:
    """Create users (names starting with "staff" are staff) and return a session key each."""
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); exec(open(0).read())", *names],
        input=_MAKE_SESSIONS,
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(coro):
    """asyncio.run in a fresh thread: safe even when this thread has a loop running
    (Playwright's sync API leaves one behind in browser-test sessions)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class NetSocket(Inbox):
    """One connection speaking the protocol, with a little inbox for waiting on frames."""

    def __init__(
        self, base_url: str, session: str | None = None, world: int | None = None, **options
    ):
        """`options` go to websockets.connect (e.g. `compression=None`: no permessage-deflate)."""
        self.options = options
        ws_base = base_url.replace("http://", "ws://")
        self.url = f"{ws_base}/ws/world/{world}/" if world else f"{ws_base}/ws/world/"
        self.origin = base_url
        self.session = session
        super().__init__()
        self.bytes_in = 0  # text received, in characters (what the page parses)
        self.wire_in = 0  # bytes read from the TCP socket after the handshake (framing included)

    async def open(self) -> tuple[dict, dict]:
        headers = {"Cookie": f"sessionid={self.session}"} if self.session else {}
        self.ws = await websockets.connect(
            self.url,
            origin=self.origin,
            additional_headers=headers,
            max_size=2**22,
            max_queue=None,
            ping_interval=None,
            open_timeout=60,  # thousands of handshakes on a shared machine are slow
            **self.options,
        )
        # Count what comes off the socket: every WebSocket frame with its header, as sent.
        received = self.ws.data_received

        def count(data: bytes) -> None:
            self.wire_in += len(data)
            received(data)

        self.ws.data_received = count
        hello = await self.until(lambda f: f.get("type") == "hello")
        snapshot = await self.until(lambda f: f.get("type") == "snapshot")
        return hello, snapshot

    async def receive_text(self, timeout: float) -> str:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        self.bytes_in += len(raw)
        return raw

    async def send(self, **frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def close(self) -> None:
        await self.ws.close()
