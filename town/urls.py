"""The town's pages and JSON endpoints."""

from django.urls import path

from town import views

urlpatterns = [
    path("worlds/<int:world_id>/", views.world_page, name="world-page"),
    path("worlds/<int:world_id>/replay/", views.replay_page, name="world-replay"),
    path("api/worlds/<int:world_id>/history/", views.world_history, name="world-history"),
    path("api/worlds/<int:world_id>/map/", views.world_map, name="world-map"),
    path("api/worlds/<int:world_id>/players/<str:pid>/", views.player_detail),
    path(
        "api/worlds/<int:world_id>/conversations/<str:cid>/messages/",
        views.conversation_messages,
    ),
]
