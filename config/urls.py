"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

from town import views as town_views

urlpatterns = [
    path("", town_views.home, name="home"),
    path("healthz", town_views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("town.urls")),
]
