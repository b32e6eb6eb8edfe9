"""Operator endpoints that span apps."""

from django.urls import path

from ops import views

urlpatterns = [
    path("api/worlds/<int:world_id>/announce/", views.announce, name="world-announce"),
]
