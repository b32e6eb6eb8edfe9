"""ASGI entry point: Django for HTTP (and MCP at /mcp/), Channels for the world WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.agent_auth import AgentTokenMiddleware  # noqa: E402
from config.middleware import ExactOriginValidator  # noqa: E402
from town.mcp_server import MCP_PATH, http_app  # noqa: E402
from town.routing import websocket_urlpatterns  # noqa: E402


async def http(scope, receive, send):
    """Agents' MCP over streamable HTTP at /mcp/; every other request goes to Django."""
    path = scope.get("path", "")
    if path == MCP_PATH or path == MCP_PATH.rstrip("/"):
        return await http_app(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": AgentTokenMiddleware(
            # `Authorization: Bearer <agent token>`: no cookie, so no Origin check.
            agent_app=URLRouter(websocket_urlpatterns),
            # Exact origins (scheme, host and port), not Channels' host-only check.
            browser_app=ExactOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        ),
    }
)
