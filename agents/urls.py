"""The minds' URLs (included from config/urls.py)."""

from django.urls import path

from agents import views

urlpatterns = [
    path(
        "api/worlds/<int:world_id>/players/<str:pid>/interview/",
        views.interview,
        name="resident-interview",
    ),
    path(
        "api/worlds/<int:world_id>/players/<str:pid>/relationships/",
        views.relationships,
        name="resident-relationships",
    ),
    path("staff/bill/", views.bill, name="staff-bill"),
    path("staff/bill/<int:world_id>/", views.bill, name="staff-bill-world"),
]
