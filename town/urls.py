"""The town's pages and JSON endpoints."""

from django.urls import path

from town import views  # noqa: F401

urlpatterns: list = []
