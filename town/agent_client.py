"""A world socket opened with an agent token, and what it has seen of the world.

The MCP tools (town/mcp_server.py) act through one of these, so every check and limit of
the socket path (docs/protocol.md, docs/agents.md) applies to them too. Errors a tool
should report are raised as the SDK's ToolError, in plain words.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import time
from typing import Any

import httpx
import websockets
from mcp.server.mcpserver.exceptions import ToolError

log = logging.getLogger(__name__)

ANSWER_WAIT = 10.0  # seconds to wait for the town's ack or error
HEARTBEAT_EVERY = 30.0  # an agent watching keeps the world awake, as a page does


class TownClient:
    """A world socket of one agent token, with what it has seen of the world."""

    def __init__(self, url: str, token: str, world: int | None = None) -> None:
        base = url.rstrip("/")
        self.http_base = base
        ws_base = "ws" + base.removeprefix("http")  # http -> ws, https -> wss
        self.ws_url = f"{ws_base}/ws/world/{world}/" if world else f"{ws_base}/ws/world/"
        self.token = token
        self.ws: Any = None
        self.reader: asyncio.Task | None = None
        self.you: dict = {}
        self.world: dict = {}
        self.players: dict[str, dict] = {}
        self.conversations: dict[str, dict] = {}
        self.messages: collections.deque[dict] = collections.deque(maxlen=50)
        self.areas: list[dict] = []
        self.waiting: dict[str, asyncio.Future] = {}
        self.synced = asyncio.Event()
        self.closed: str | None = None
        self.last_used = time.monotonic()
        self._ids = itertools.count(1)
        self._clock = (0, time.monotonic())  # (world ms, local monotonic) last heard
        self._lock = asyncio.Lock()

    # -- connection ----------------------------------------------------------------------

    async def ensure(self) -> TownClient:
        """Connect (again, if the socket closed) and wait for the first snapshot."""
        self.last_used = time.monotonic()
        async with self._lock:
            if self.ws is not None and self.closed is None:
                return self
            self.closed, self.synced = None, asyncio.Event()
            try:
                self.ws = await websockets.connect(
                    self.ws_url,
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    max_size=2**22,
                    open_timeout=15,
                )
            except websockets.InvalidStatus as exc:
                self.ws = None
                if exc.response.status_code == 403:
                    raise ToolError(
                        "the town refused this agent token (unknown, revoked, or for another world)"
                    ) from None
                raise ToolError(f"the town answered {exc.response.status_code}") from None
            except (OSError, TimeoutError) as exc:
                self.ws = None
                raise ToolError(f"cannot reach the town: {exc}") from None
            self.reader = asyncio.ensure_future(self._read())
            try:
                await asyncio.wait_for(self.synced.wait(), ANSWER_WAIT)
            except TimeoutError:
                raise ToolError(self.closed or "the town sent no snapshot; try again") from None
            if not self.areas:
                await self._load_areas()
        return self

    async def close(self) -> None:
        """Close the socket (the character stays in the town until it leaves or idles)."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()

    async def _read(self) -> None:
        heartbeat = asyncio.ensure_future(self._heartbeats())
        try:
            async for text in self.ws:
                self._take(json.loads(text))
            self.closed = f"the town closed the connection ({self.ws.close_code})"
        except websockets.ConnectionClosed as exc:
            self.closed = f"the town closed the connection ({exc.code})"
        except Exception as exc:
            self.closed = f"connection lost: {exc}"
        finally:
            heartbeat.cancel()
            if self.closed and "4003" in self.closed:
                self.closed = "this agent token was revoked"
            for future in self.waiting.values():
                if not future.done():
                    future.set_exception(ToolError(self.closed or "connection lost"))
            self.waiting.clear()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            await self.ws.send('{"type":"heartbeat"}')

    async def _load_areas(self) -> None:
        """The map's named areas, from the Tiled JSON the snapshot points at."""
        from town.engine.map import TownMap

        url = self.world.get("map_url")
        if not url:
            return
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(self.http_base + url)
                response.raise_for_status()
            town_map = TownMap.from_tiled(response.json())
        except Exception as exc:  # the tools still work without area names
            log.warning("MCP: the map's areas could not be loaded: %s", exc)
            return
        self.areas = [a.to_dict() for a in town_map.areas.values()]

    # -- frames from the town ------------------------------------------------------------

    def _take(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "hello":
            self.you = frame.get("you") or {}
        elif kind == "snapshot":
            world = frame.get("world") or {}
            self.world = {**world, "map_url": frame.get("map")}
            self._clock = (world.get("time", 0), time.monotonic())
            self.players = {p["id"]: p for p in frame.get("players", [])}
            self.conversations = {c["id"]: c for c in frame.get("conversations", [])}
            for m in frame.get("messages", [])[-self.messages.maxlen :]:
                self.messages.append(m)
            self.synced.set()
        elif kind == "events":
            for event in frame.get("events", []):
                self._event(event)
        elif kind in ("ack", "error") and frame.get("id") in self.waiting:
            future = self.waiting.pop(frame["id"])
            if not future.done():
                future.set_result(frame)

    def _event(self, e: dict) -> None:
        kind, t = e.get("kind"), e.get("t")
        if isinstance(t, int):
            self._clock = (t, time.monotonic())
        pid = e.get("player") if isinstance(e.get("player"), str) else None
        if kind in ("player_joined", "player_updated"):
            self.players[e["player"]["id"]] = e["player"]
        elif kind == "player_left":
            self.players.pop(pid, None)
            if pid == self.you.get("player"):
                self.you["player"] = None
        elif kind == "move" and pid in self.players:
            self.players[pid].update(path=e["path"], t0=e["t0"], speed=e["speed"])
        elif kind == "arrived" and pid in self.players:
            self.players[pid].update(x=e["x"], y=e["y"], path=None)
        elif kind == "activity" and pid in self.players:
            self.players[pid]["activity"] = e.get("text", "")
        elif kind and kind.startswith("conversation_") and isinstance(e.get("conversation"), dict):
            conv = e["conversation"]
            self.conversations[conv["id"]] = conv
        elif kind == "conversation_left" and e.get("conversation") in self.conversations:
            self.conversations[e["conversation"]]["participants"] = e.get("participants", [])
        elif kind == "conversation_ended":
            self.conversations.pop(e.get("conversation"), None)
        elif kind == "message":
            author = self.players.get(e.get("author"), {})
            self.messages.append({**e, "name": e.get("name") or author.get("name", "someone")})
        elif kind == "world_status":
            self.world["status"] = e.get("status")

    # -- asking the town -----------------------------------------------------------------

    async def request(self, kind: str, **fields: Any) -> dict:
        """Send one input and wait for its ack or error (the protocol answers each once)."""
        await self.ensure()
        fid = f"mcp{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self.waiting[fid] = future
        await self.ws.send(json.dumps({"type": kind, "id": fid, **fields}))
        try:
            return await asyncio.wait_for(future, ANSWER_WAIT)
        except TimeoutError:
            self.waiting.pop(fid, None)
            raise ToolError("the town did not answer in time; try again") from None

    async def act(self, kind: str, **fields: Any) -> dict:
        """An input whose refusal is the tool's error (joining first when needed)."""
        if kind != "join":
            await self.ensure_joined()
        frame = await self.request(kind, **fields)
        if frame["type"] == "error":
            raise ToolError(f"{frame.get('code')}: {frame.get('message')}")
        return frame

    async def ensure_joined(self) -> None:
        """Put the agent's character into the world if it is not there yet."""
        await self.ensure()
        if self.me() is not None:
            return
        frame = await self.request("join")
        if frame["type"] == "error" and frame.get("code") != "conflict":
            raise ToolError(f"could not join: {frame.get('code')}: {frame.get('message')}")
        # The join's ack names our character; a "conflict" means it is there already.
        self.you["player"] = frame.get("player") or self.you.get("player")
        for _ in range(50):  # the join's broadcast follows its ack within a step
            if self.me() is not None:
                return
            await asyncio.sleep(0.1)

    # -- reading the world ---------------------------------------------------------------

    def now(self) -> int:
        t, at = self._clock
        return int(t + (time.monotonic() - at) * 1000)

    def me(self) -> dict | None:
        pid = self.you.get("player")
        return self.players.get(pid) if pid else None

    def tile(self, p: dict) -> tuple[int, int]:
        """Where a character is now (walking characters along their path)."""
        path = p.get("path")
        if not path:
            return int(p["x"]), int(p["y"])
        walked = max(self.now() - p.get("t0", 0), 0) * p.get("speed", 0) / 1000
        step = min(int(walked), len(path) - 1)
        return int(path[step][0]), int(path[step][1])

    def area_of(self, x: int, y: int) -> str | None:
        inside = [a for a in self.areas if a["x"] <= x < a["x"] + a["w"]]
        inside = [a for a in inside if a["y"] <= y < a["y"] + a["h"]]
        return min(inside, key=lambda a: a["w"] * a["h"])["name"] if inside else None

    def where(self, x: int, y: int) -> str:
        area = self.area_of(x, y)
        return f"{area} ({x}, {y})" if area else f"({x}, {y})"

    def find_player(self, who: str) -> dict:
        """A character by id or (case-insensitive) name or first name."""
        if who in self.players:
            return self.players[who]
        key = who.strip().casefold()
        for p in self.players.values():
            name = str(p.get("name", "")).casefold()
            if key and (name == key or name.split(" ")[0] == key):
                return p
        raise ToolError(f"nobody called {who!r} is in the town; `look` lists who is")

    def talking(self, pid: str) -> bool:
        """Whether a character is in a conversation (events keep these, not player objects)."""
        return any(
            pid in c.get("participants", ()) and c.get("status") != "invited"
            for c in self.conversations.values()
        )

    def my_conversation(self) -> dict | None:
        me = self.me()
        if me is None:
            return None
        for conv in self.conversations.values():
            if me["id"] in conv.get("participants", ()):
                return conv
        return None
