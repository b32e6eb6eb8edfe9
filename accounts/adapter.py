"""How sign-up and sign-in behave, through allauth's adapter (no forked views)."""

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from accounts import names


class AccountAdapter(DefaultAccountAdapter):
    """Keeps the visitor on the page they came from; refuses misleading usernames."""

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        nxt = request.POST.get("next") or request.GET.get("next")
        if nxt and self.is_safe_url(nxt):
            return nxt
        return super().get_login_redirect_url(request)

    def clean_username(self, username: str, shallow: bool = False) -> str:
        """NFKC, one alphabet, nothing invisible, and not like a name in use (accounts/names.py)."""
        username = names.normalise_username(username)
        username = super().clean_username(username, shallow=shallow)
        if not shallow:  # allauth's contract: shallow checks never touch the database
            names.refuse_lookalikes(username)
        return username
