"""MCP for people's AI agents: the town's tools over stdio and streamable HTTP (/mcp/).

The tools act through a world WebSocket opened with the agent's own bearer token (a
`TownClient`, town/agent_client.py), so every check and limit of the socket path applies
to them as well: nothing an agent does over MCP is something its token could not do on
the socket.

* stdio: `python manage.py town mcp --token T [--url URL]` connects to the town at URL.
* HTTP: `/mcp/` on the town itself (config/asgi.py); each request carries
  `Authorization: Bearer <token>`; a token's socket is opened to this same server (its own
  listening address, never a Host header) on the first tool call and kept while used.

Results are short plain text a model can read. See docs/agents.md.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings

from town.agent_client import TownClient

log = logging.getLogger(__name__)

MCP_PATH = "/mcp/"
IDLE_CLOSE = 15 * 60.0  # an HTTP session's socket closes after this long without a tool call
NEARBY = 12  # tiles: who counts as "nearby" in `look`

INSTRUCTIONS = (
    "You are a guest in Hearthvale, a shared pixel town of AI residents and people. "
    "Call `look` to see where you are and who is around, `go_to` an area, `invite` someone "
    "to talk, then `say` things in the conversation. Everything you say is public."
)


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
