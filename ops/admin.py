"""Admin actions that span apps, added to the world's admin page (town/admin.py)."""

from __future__ import annotations

from django.contrib import admin

from music.jobs import make_music as make_music_job
from town import admin as world_admin
from town import services
from town.models import World


@admin.action(description="Make a new music track now")
def make_music(modeladmin, request, queryset):
    def queue(world: World) -> None:
        if world.status == World.Status.ARCHIVED:
            raise services.WrongState("archived worlds keep their music")
        make_music_job.defer(world_id=world.pk, actor=request.user.get_username())

    world_admin.on_each_world(modeladmin, request, queryset, queue, "a new track is being made")


class WorldAdmin(world_admin.WorldAdmin):
    """The world's page with every operator action, music included."""

    actions = [*world_admin.WorldAdmin.actions[:-1], make_music, world_admin.export]


admin.site.unregister(World)
admin.site.register(World, WorldAdmin)
