"""Sign-in views that allauth does not provide."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in goes through allauth's, whose failed-login limit covers it."""
    nxt = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
        nxt = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect(nxt)
        # Signed in but not staff: the admin would send them here again (a redirect loop).
        return HttpResponse(render_to_string("403.html", request=request), status=403)
    return redirect(f"{reverse('account_login')}?{urlencode({'next': nxt})}")
