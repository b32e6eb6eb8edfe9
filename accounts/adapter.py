"""How sign-up and sign-in behave, through allauth's adapter (no forked views)."""

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Keeps the visitor on the page they came from after signing in or up."""

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        nxt = request.POST.get("next") or request.GET.get("next")
        if nxt and self.is_safe_url(nxt):
            return nxt
        return super().get_login_redirect_url(request)
