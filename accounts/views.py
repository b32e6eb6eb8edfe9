"""Account views that allauth does not provide: the admin's sign-in, agent tokens."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts import services
from accounts.models import AgentToken
from town.models import World


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


@login_required
@never_cache
def agents(request: HttpRequest) -> HttpResponse:
    """A person's agent tokens: list (prefix and last use only), create (shown once), revoke."""
    context: dict = {}
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            world = request.POST.get("world") or None
            try:
                world_id = int(world) if world else None
                token, secret = services.create_token(
                    request.user, request.POST.get("label", ""), world_id
                )
            except ValueError as exc:  # TokenRefused, or a world that is not a number
                context["error"] = (
                    str(exc)
                    if isinstance(exc, services.TokenRefused)
                    else _("Choose a world from the list.")
                )
            else:
                # Rendered, not redirected: the token exists in clear only in this response.
                context.update(new_token=secret, new_label=token.label)
        elif action == "revoke":
            try:
                services.revoke_token(int(request.POST.get("token", "")), user=request.user)
            except (ValueError, AgentToken.DoesNotExist):
                return HttpResponse(render_to_string("404.html", request=request), status=404)
            return redirect("account-agents")
        else:
            return HttpResponse(render_to_string("400.html", request=request), status=400)
    context.update(tokens=services.tokens_of(request.user), worlds=World.objects.order_by("pk"))
    status = 400 if "error" in context else 200
    return render(request, "accounts/agents.html", context, status=status)
