"""Root URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog

from accounts import views as account_views
from music import views as music_views
from town import views as town_views

urlpatterns = [
    path("", town_views.home, name="home"),
    path("healthz", town_views.healthz, name="healthz"),
    path("metrics", town_views.metrics_view, name="metrics"),
    path("accounts/agents/", account_views.agents, name="account-agents"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's switcher
    # The page's JS strings (locale/*/djangojs.po only: packages=["town"] skips admin's).
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["town"]), name="javascript-catalog"),
    # Before the admin's own: its login form has no failed-login limit (docs/security.md).
    path("admin/login/", account_views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("", include("town.urls")),
    path("", include("ops.urls")),
    path("", include("agents.urls")),
]

if settings.TOWN_SERVE_MEDIA and settings.MEDIA_URL.startswith(
    "/"
):  # music files from local storage (development, small installs)
    urlpatterns.append(
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.+)$", music_views.media, name="media")
    )
