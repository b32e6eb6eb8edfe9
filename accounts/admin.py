"""Django admin for agent tokens: list, search, revoke (never create: a token is shown once,
on the account page or by `town agent-token create`)."""

from __future__ import annotations

from django.contrib import admin, messages

from accounts import services
from accounts.models import AgentToken


@admin.action(description="Revoke the selected agent tokens (closes their sockets)")
def revoke(modeladmin, request, queryset) -> None:
    """The same service as the page and the command line."""
    ids = list(queryset.filter(revoked__isnull=True).values_list("pk", flat=True))
    for token_id in ids:
        services.revoke_token(token_id)
    modeladmin.message_user(request, f"Revoked {len(ids)} agent token(s).", messages.SUCCESS)


@admin.register(AgentToken)
class AgentTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "label", "user", "world", "created", "last_used", "revoked")
    list_filter = ("revoked",)
    search_fields = ("user__username", "label", "prefix")
    # The digest is useless to a reader and the token itself is never stored.
    fields = ("user", "label", "prefix", "world", "created", "last_used", "revoked")
    readonly_fields = fields
    actions = [revoke]

    def has_add_permission(self, request) -> bool:
        return False
