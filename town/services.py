"""Every write to the town goes through one named function here.

Views, consumers, admin actions and management commands all call these; each does the
write, its audit record and the realtime notice (sent only after the transaction commits).
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from town.groups import ENGINES_GROUP, engine_group, world_group
from town.models import AuditEntry, Player, World

RESIDENTS_FILE = settings.BASE_DIR / "town" / "data" / "residents.toml"


class WrongState(Exception):
    """The world is not in a state that allows this action."""


def load_residents() -> list[dict]:
    """The default residents, from the editable data file."""
    if not RESIDENTS_FILE.exists():
        return []
    return tomllib.loads(RESIDENTS_FILE.read_text())["resident"]


@transaction.atomic
def create_world(name: str, *, make_current: bool = True, seed: int = 0) -> World:
    """A fresh world with the default map and residents."""
    if make_current:
        World.objects.filter(is_current=True).update(is_current=False)
    world = World.objects.create(
        name=name, is_current=make_current, map_name=settings.TOWN_MAP, seed=seed
    )
    for resident in load_residents():
        Player.objects.create(
            world=world,
            pid=resident["id"],
            kind=Player.Kind.AGENT,
            name=resident["name"],
            character=resident["character"],
            identity=resident.get("identity", ""),
            data={k: v for k, v in resident.items() if k not in {"id", "name", "identity"}},
        )
    return world


def ensure_default_world() -> World:
    """Return the current world, creating the default one if there is none."""
    with transaction.atomic():
        world = World.objects.select_for_update().filter(is_current=True).first()
        if world is not None:
            return world
    return create_world("Hearthvale")


def record_heartbeat(world_id: int) -> None:
    """Someone is watching: the idle-pause job leaves this world running."""
    World.objects.filter(pk=world_id).update(last_heartbeat=timezone.now())


def audit(world: World | None, action: str, actor: Any = None, **detail: Any) -> None:
    user = actor if getattr(actor, "pk", None) else None
    label = actor.get_username() if user else str(actor or "system")
    AuditEntry.objects.create(
        world=world, actor=user, actor_label=label, action=action, detail=detail
    )


def _broadcast_status(world: World) -> None:
    event = {"kind": "world_status", "t": world.clock_ms, "status": world.status}
    text = json.dumps({"type": "events", "events": [event]}, separators=(",", ":"))
    async_to_sync(get_channel_layer().group_send)(
        world_group(world.pk),
        {"type": "world.events", "seq": None, "text": text, "status": world.status},
    )


def _notify_after_commit(world: World, *, stop_engine: bool) -> None:
    def send() -> None:
        layer = get_channel_layer()
        if stop_engine:
            async_to_sync(layer.group_send)(engine_group(world.pk), {"type": "engine.stop"})
        else:
            async_to_sync(layer.group_send)(ENGINES_GROUP, {"type": "engine.wake"})
        _broadcast_status(world)

    transaction.on_commit(send)


@transaction.atomic
def freeze_world(world_id: int, *, actor: Any = None, reason: str = "operator") -> World:
    """Stop a world's engine and minds; visitors thaw it only if it froze for being idle."""
    world = World.objects.select_for_update().get(pk=world_id)
    if world.status != World.Status.RUNNING:
        raise WrongState(f"{world.name} is {world.status}, not running")
    world.status, world.frozen_reason = World.Status.FROZEN, reason
    world.save(update_fields=["status", "frozen_reason"])
    audit(world, "freeze", actor, reason=reason)
    _notify_after_commit(world, stop_engine=True)
    return world


@transaction.atomic
def resume_world(world_id: int, *, actor: Any = None) -> World:
    """Restart a frozen world."""
    world = World.objects.select_for_update().get(pk=world_id)
    if world.status != World.Status.FROZEN:
        raise WrongState(f"{world.name} is {world.status}, not frozen")
    world.status, world.frozen_reason = World.Status.RUNNING, ""
    world.save(update_fields=["status", "frozen_reason"])
    audit(world, "resume", actor)
    _notify_after_commit(world, stop_engine=False)
    return world
