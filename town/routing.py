"""WebSocket routes."""

from django.urls import path

from town.consumers import WorldConsumer

websocket_urlpatterns = [
    path("ws/world/", WorldConsumer.as_asgi()),
    path("ws/world/<int:world_id>/", WorldConsumer.as_asgi()),
]
