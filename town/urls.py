"""The town's pages and JSON endpoints."""

urlpatterns: list = []
