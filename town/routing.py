"""WebSocket routes."""

from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from town.consumers import WorldConsumer

websocket_urlpatterns = [
    path("ws/world/", WorldConsumer.as_asgi()),
    path("ws/world/<int:world_id>/", WorldConsumer.as_asgi()),
    # Anything else is refused at the handshake (403), not answered with an exception.
    re_path(r"", WebsocketDenier.as_asgi()),
]
