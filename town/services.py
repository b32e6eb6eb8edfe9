"""Every write to the town goes through one named function here."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from town.models import World


@transaction.atomic
def ensure_default_world() -> World:
    """Return the current world, creating the default one if there is none."""
    world = World.objects.select_for_update().filter(is_current=True).first()
    if world is None:
        world = World.objects.create(name="Hearthvale", is_current=True, map_name=settings.TOWN_MAP)
    return world
