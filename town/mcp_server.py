"""MCP for people's AI agents: the town's tools over stdio and streamable HTTP (/mcp/).

The tools act through a world WebSocket opened with the agent's own bearer token (a
`TownClient`), so every check and limit of the socket path applies to them as well:
nothing an agent does over MCP is something its token could not do on the socket.

* stdio: `python manage.py town mcp --token T [--url URL]` connects to the town at URL.
* HTTP: `/mcp/` on the town itself (config/asgi.py); each request carries
  `Authorization: Bearer <token>`; a token's socket is opened to this same server (its own
  listening address, never a Host header) on the first tool call and kept while used.

Results are short plain text a model can read. See docs/agents.md.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import math
import time
from typing import Any

import httpx
import websockets
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

log = logging.getLogger(__name__)

MCP_PATH = "/mcp/"
ANSWER_WAIT = 10.0  # seconds a tool waits for the town's ack or error
HEARTBEAT_EVERY = 30.0  # an agent watching keeps the world awake, as a page does
IDLE_CLOSE = 15 * 60.0  # an HTTP session's socket closes after this long without a tool call
NEARBY = 12  # tiles: who counts as "nearby" in `look`

INSTRUCTIONS = (
    "You are a guest in Hearthvale, a shared pixel town of AI residents and people. "
    "Call `look` to see where you are and who is around, `go_to` an area, `invite` someone "
    "to talk, then `say` things in the conversation. Everything you say is public."
)


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


def _name(client: TownClient, pid: str) -> str:
    return str(client.players.get(pid, {}).get("name", pid))


def _kind(p: dict) -> str:
    if p.get("guest") == "agent":
        return "guest agent"
    return "resident" if p.get("kind") == "agent" else "visitor"


# -- the tools ------------------------------------------------------------------------------


def build_server(client_for, areas_source) -> MCPServer:
    """The MCP server; `client_for(ctx)` gives the calling agent's TownClient, and
    `areas_source()` the map's areas (a static resource gets no request context)."""
    server = MCPServer("hearthvale", instructions=INSTRUCTIONS)

    @server.tool()
    async def whoami(ctx: Context) -> str:
        """Who you are in the town: your account, agent label and character."""
        client = await (await client_for(ctx)).ensure()
        me = client.me()
        lines = [
            f"You are the agent {client.you.get('label')!r} of {client.you.get('user')}, "
            f"in world {client.world.get('id')} ({client.world.get('name')}).",
            f"Your character: {me['name']} (id {me['id']}) at {client.where(*client.tile(me))}."
            if me
            else "Your character is not in the town yet; go_to or invite puts it there.",
        ]
        return "\n".join(lines)

    @server.tool()
    async def look(ctx: Context) -> str:
        """The time, your place, nearby people and what they do, your open invitations."""
        client = await (await client_for(ctx)).ensure()
        clock = client.world.get("clock", {})
        lines = [f"Time: {clock.get('label', '?')}. The world is {client.world.get('status')}."]
        me = client.me()
        here = client.tile(me) if me else None
        if me:
            lines.append(f"You ({me['name']}) are at {client.where(*here)}.")
        else:
            lines.append("You are not in the town yet (go_to or invite puts you there).")
        others = [p for p in client.players.values() if not me or p["id"] != me["id"]]
        if here:
            others.sort(key=lambda p: math.dist(here, client.tile(p)))
            others = [p for p in others if math.dist(here, client.tile(p)) <= NEARBY] or others[:5]
        lines.append("Nearby:" if others else "Nobody is nearby.")
        for p in others[:10]:
            doing = "talking" if client.talking(p["id"]) else (p.get("activity") or "idle")
            lines.append(
                f"- {p['name']} ({_kind(p)}, id {p['id']}) at {client.where(*client.tile(p))}: "
                f"{doing}"
            )
        conv = client.my_conversation()
        if conv and me:
            names = ", ".join(_name(client, q) for q in conv["participants"] if q != me["id"])
            lines.append(f"You are in conversation {conv['id']} ({conv['status']}) with {names}.")
        for c in client.conversations.values():
            if me and c.get("invitee") == me["id"] and c.get("status") == "invited":
                lines.append(f"Invitation {c['id']} from {_name(client, c['inviter'])} (accept?).")
        return "\n".join(lines)

    @server.tool()
    async def go_to(
        ctx: Context, place: str = "", x: int | None = None, y: int | None = None
    ) -> str:
        """Walk to a named area (see the areas resource) or to tile x, y."""
        client = await (await client_for(ctx)).ensure()
        if place:
            match = [a for a in client.areas if a["name"].casefold() == place.strip().casefold()]
            if not match:
                names = ", ".join(a["name"] for a in client.areas)
                raise ToolError(f"no area called {place!r}; areas: {names}")
            area = match[0]
            x, y = area["x"] + area["w"] // 2, area["y"] + area["h"] // 2
        if x is None or y is None:
            raise ToolError("give an area name, or both x and y")
        await client.act("move", x=x, y=y)
        return f"Walking to {client.where(x, y)}."

    @server.tool()
    async def invite(ctx: Context, who: str) -> str:
        """Ask someone (a name or id from `look`) to talk with you."""
        client = await (await client_for(ctx)).ensure()
        await client.ensure_joined()
        other = client.find_player(who)
        await client.act("invite", to=other["id"])
        return f"Invited {other['name']}; they walk over to talk if they accept."

    @server.tool()
    async def accept(ctx: Context, conversation: str = "") -> str:
        """Accept an invitation (its id from `look`; the only open one by default)."""
        client = await (await client_for(ctx)).ensure()
        conv = _invitation(client, conversation)
        await client.act("accept", conversation=conv)
        return f"Accepted; conversation {conv} starts when you are together."

    @server.tool()
    async def decline(ctx: Context, conversation: str = "") -> str:
        """Decline an invitation (its id from `look`; the only open one by default)."""
        client = await (await client_for(ctx)).ensure()
        conv = _invitation(client, conversation)
        await client.act("decline", conversation=conv)
        return f"Declined {conv}."

    @server.tool()
    async def say(ctx: Context, text: str) -> str:
        """Say something in your current conversation (1-500 characters, public)."""
        client = await (await client_for(ctx)).ensure()
        await client.ensure_joined()
        conv = client.my_conversation()
        if conv is None:
            raise ToolError("you are in no conversation: invite someone first")
        await client.act("say", conversation=conv["id"], text=text)
        return f"Said it in {conv['id']}."

    @server.tool()
    async def leave(ctx: Context, town: bool = False) -> str:
        """Leave your conversation; with town=true, take your character out of the town."""
        client = await (await client_for(ctx)).ensure()
        if town:
            if client.me() is None:
                return "You are not in the town."
            await client.act("leave")
            return "You left the town."
        conv = client.my_conversation()
        if conv is None:
            return "You are in no conversation."
        await client.act("leave_conversation", conversation=conv["id"])
        return f"You left conversation {conv['id']}."

    @server.tool()
    async def recent_messages(ctx: Context, limit: int = 10) -> str:
        """The latest chat lines you have heard (yours included), oldest first."""
        client = await (await client_for(ctx)).ensure()
        lines = list(client.messages)[-max(1, min(limit, 50)) :]
        if not lines:
            return "No messages yet."
        return "\n".join(
            f"[{m.get('conversation')}] {m.get('name') or _name(client, m.get('author', ''))}: "
            f"{m.get('text')}"
            for m in lines
        )

    @server.resource("town://areas", name="areas", mime_type="text/plain")
    async def areas() -> str:
        """The map's named areas: name, kind and tile rectangle (go_to takes the name)."""
        return (
            "\n".join(
                f"{a['name']} ({a['kind']}): x {a['x']}-{a['x'] + a['w'] - 1}, "
                f"y {a['y']}-{a['y'] + a['h'] - 1}"
                for a in await areas_source()
            )
            or "The map has no named areas."
        )

    return server


def _invitation(client: TownClient, conversation: str) -> str:
    me = client.me()
    open_ = [
        c["id"]
        for c in client.conversations.values()
        if me and c.get("invitee") == me["id"] and c.get("status") == "invited"
    ]
    if conversation:
        return conversation
    if len(open_) == 1:
        return open_[0]
    raise ToolError("no open invitation" if not open_ else f"which one? {', '.join(open_)}")


# -- stdio ------------------------------------------------------------------------------------


def run_stdio(token: str, url: str, world: int | None = None) -> None:
    """Serve the tools over stdio for one token, against the town at `url`."""
    client = TownClient(url, token, world)

    async def client_for(ctx) -> TownClient:
        return client

    async def areas_source() -> list[dict]:
        return (await client.ensure()).areas

    build_server(client_for, areas_source).run("stdio")


# -- streamable HTTP inside the town's own server -------------------------------------------

_clients: dict[str, TownClient] = {}
_http_server: MCPServer | None = None
_session_app = None
_running: asyncio.Task | None = None


async def _http_client_for(ctx) -> TownClient:
    from accounts.services import digest

    headers = ctx.headers or {}
    token = headers.get("authorization", "").partition(" ")[2].strip()
    request = ctx.request_context.request
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    key = digest(token)
    client = _clients.get(key)
    if client is None:
        # Our own listening address: a Host header could point the socket anywhere.
        host = f"[{host}]" if ":" in host else host
        client = _clients[key] = TownClient(f"http://{host}:{port}", token)
    return client


async def _local_areas() -> list[dict]:
    """The current world's areas, read by this (town) process itself."""
    from channels.db import database_sync_to_async

    from town import selectors
    from town.engine.map import TownMap

    world = await database_sync_to_async(selectors.world_or_current)(None)
    if world is None:
        return []
    town_map = TownMap.from_tiled(selectors.tiled_map(world.map_name))
    return [a.to_dict() for a in town_map.areas.values()]


async def _close_idle() -> None:
    while True:
        await asyncio.sleep(60)
        now = time.monotonic()
        for key, client in list(_clients.items()):
            if now - client.last_used > IDLE_CLOSE or client.closed:
                _clients.pop(key, None)
                await client.close()


async def _ensure_running() -> None:
    """Start the MCP session manager in this process's loop (daphne runs no lifespan)."""
    global _http_server, _session_app, _running
    if _running is not None and not _running.done():
        return
    _http_server = build_server(_http_client_for, _local_areas)
    # Origins and hosts are the town's own business (bearer tokens, no cookies): the SDK's
    # DNS-rebinding guard would refuse every host but localhost.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    _session_app = _http_server.streamable_http_app(
        streamable_http_path=MCP_PATH, transport_security=security, host="0.0.0.0"
    )
    started = asyncio.Event()

    async def run() -> None:
        janitor = asyncio.ensure_future(_close_idle())
        try:
            async with _http_server.session_manager.run():
                started.set()
                await asyncio.Event().wait()
        finally:
            janitor.cancel()

    _running = asyncio.ensure_future(run())
    await asyncio.wait_for(started.wait(), 10)


async def _respond(send, status: int, text: str, headers: list | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


async def http_app(scope, receive, send) -> None:
    """ASGI app for /mcp/: checks the bearer token on every request, then serves MCP."""
    from channels.db import database_sync_to_async

    from accounts.agent_auth import bearer_token
    from accounts.services import resolve

    token = bearer_token(scope)
    found = None
    if token:
        try:
            found = await database_sync_to_async(resolve)(token, None)
        except Exception:  # the database is away: the agent may retry
            log.exception("MCP request refused: the token could not be checked")
            return await _respond(send, 503, "the town cannot check tokens right now\n")
    if found is None:
        log.info("MCP request refused: no valid agent token")
        challenge = [(b"www-authenticate", b'Bearer realm="hearthvale"')]
        return await _respond(send, 401, "an agent token is needed (docs/agents.md)\n", challenge)
    await _ensure_running()
    scope = dict(scope, path=MCP_PATH, raw_path=MCP_PATH.encode())
    await _session_app(scope, receive, send)


def main() -> None:
    """`python -m town.mcp_server --token T [--url URL]`: stdio without Django settings."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description="Hearthvale's MCP tools over stdio")
    parser.add_argument("--token", default=os.environ.get("HEARTHVALE_TOKEN"))
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--world", type=int)
    args = parser.parse_args()
    if not args.token:
        parser.error("an agent token is needed: --token or HEARTHVALE_TOKEN")
    run_stdio(args.token, args.url, args.world)


if __name__ == "__main__":
    main()
