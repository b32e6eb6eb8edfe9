"""Admin for music tracks: listen, see how each was made and why Replicate was not used."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from music.models import Track


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["day", "world", "source", "mood", "duration", "created", "player"]
    list_filter = ["source", "world", "day"]
    search_fields = ["prompt"]
    readonly_fields = [
        "world",
        "day",
        "file",
        "source",
        "prompt",
        "mood",
        "duration",
        "detail",
        "created",
        "player",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # tracks are made by the music job (or `town music --now`)

    @admin.display(description="listen")
    def player(self, track: Track) -> str:
        if not track.file:
            return "-"
        return format_html('<audio controls preload="none" src="{}"></audio>', track.file.url)
