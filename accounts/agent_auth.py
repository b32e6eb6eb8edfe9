"""The agents' front door: a WebSocket handshake carrying `Authorization: Bearer <token>`.

A bearer socket carries no ambient authority (no cookie a page could lend to another
site), so it skips the Origin check a browser's socket gets (config/middleware.py); the
session cookie is ignored on it. An unknown, revoked or out-of-scope token is refused at
the handshake (403). Without the header nothing changes: cookie + exact Origin.
"""

from __future__ import annotations

import logging
import re

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier

from accounts import services

log = logging.getLogger(__name__)

WORLD_PATH = re.compile(r"^/ws/world/(?:(\d{1,12})/)?$")


def bearer_token(scope: dict) -> str | None:
    """The bearer token of a request; "" when Authorization is malformed or repeated."""
    values = [v for k, v in scope.get("headers", ()) if k.lower() == b"authorization"]
    if not values:
        return None
    if len(values) > 1:
        return ""
    scheme, _, token = values[0].decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None  # another scheme (a site behind Basic auth): the browser path decides
    return token.strip()


def _resolve(token: str, path: str):
    match = WORLD_PATH.match(path)
    if match is None:
        return None  # no world socket: agents have no other WebSocket
    world_id = int(match.group(1)) if match.group(1) else None
    return services.resolve(token, world_id)


class AgentTokenMiddleware:
    """Routes bearer-token sockets to `agent_app` as their owner, others to `browser_app`."""

    def __init__(self, agent_app, browser_app) -> None:
        self.agent_app = agent_app
        self.browser_app = browser_app
        self.denier = WebsocketDenier.as_asgi()

    async def __call__(self, scope, receive, send):
        token = bearer_token(scope) if scope["type"] == "websocket" else None
        if token is None:
            return await self.browser_app(scope, receive, send)
        found = None
        if token:
            try:
                found = await database_sync_to_async(_resolve)(token, scope.get("path", ""))
            except Exception:  # the database is away: refuse, the agent retries
                log.exception("agent handshake refused: the token could not be checked")
        if found is None:
            # Never the token itself in a log line (docs/agents.md).
            log.info("agent handshake refused: unknown, revoked or out-of-scope token")
            return await self.denier(scope, receive, send)
        identity, user = found
        scope = dict(scope, user=user, agent_token=identity)
        return await self.agent_app(scope, receive, send)
