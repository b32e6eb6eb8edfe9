"""Admin: memories (searchable, removable), relationships, and every model call with its
tokens and cost."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Sum

from agents.models import Memory, MindState, ModelCall, Relationship


@admin.register(Memory)
class MemoryAdmin(admin.ModelAdmin):
    list_display = ("agent", "kind", "importance", "short_text", "author_name", "created_t")
    list_filter = ("kind", "source", "agent__world")
    search_fields = ("text", "agent__name", "author_name", "author_user__username")
    raw_id_fields = ("agent", "conversation", "author_user", "evidence")
    exclude = ("embedding",)
    readonly_fields = ("embedder",)

    @admin.display(description="text")
    def short_text(self, obj: Memory) -> str:
        return obj.text[:100]


@admin.register(MindState)
class MindStateAdmin(admin.ModelAdmin):
    list_display = ("agent", "plan_day", "unreflected", "updated")
    raw_id_fields = ("agent",)


@admin.register(Relationship)
class RelationshipAdmin(admin.ModelAdmin):
    list_display = ("agent", "other", "talks", "opinion", "last_t")
    list_filter = ("agent__world",)
    search_fields = ("agent__name", "other__name", "opinion")
    raw_id_fields = ("agent", "other", "conversation", "author_user")


@admin.register(ModelCall)
class ModelCallAdmin(admin.ModelAdmin):
    list_display = (
        "created",
        "world",
        "agent",
        "purpose",
        "model",
        "tokens_in",
        "tokens_out",
        "latency_ms",
        "cost_usd",
        "ok",
    )
    list_filter = ("purpose", "ok", "model", "world")
    search_fields = ("agent", "error")
    date_hierarchy = "created"
    readonly_fields = [f.name for f in ModelCall._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        try:
            qs = response.context_data["cl"].queryset
        except (AttributeError, KeyError):
            return response
        totals = qs.aggregate(tin=Sum("tokens_in"), tout=Sum("tokens_out"), cost=Sum("cost_usd"))
        response.context_data["title"] = (
            f"Model calls — {totals['tin'] or 0} tokens in, {totals['tout'] or 0} out, "
            f"${totals['cost'] or 0:.4f}"
        )
        return response
