"""Copying worlds out: `fork` (a new world with the same state and memories) and `export`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.db.models import Model

from town import persistence
from town.models import Conversation, HistoryEvent, Input, Message, Player, World, WorldSnapshot
from town.services import IDLE, audit
from town.signals import world_forked

EXPORT_BATCH = 2000


@transaction.atomic
def fork_world(source_id: int, name: str, *, actor: Any = None) -> World:
    """A new world that starts where the source is now: residents, chat, history, memories.

    The fork is frozen as idle: opening its page (/worlds/<id>/) starts it.
    """
    source = World.objects.get(pk=source_id)
    loaded = persistence.load_world(source_id)  # the latest snapshot plus the inputs after it
    fork = World.objects.create(
        name=name,
        status=World.Status.FROZEN,
        frozen_reason=IDLE,
        map_name=source.map_name,
        seed=source.seed,
        settings=source.settings,
        clock_ms=loaded.world.now,
    )
    players = _copy(Player.objects.filter(world=source), world=fork)
    conversations = _copy(Conversation.objects.filter(world=source), world=fork)
    _copy(
        Message.objects.filter(world=source),
        world=fork,
        remap={"conversation_id": conversations},
    )
    HistoryEvent.objects.bulk_create(
        HistoryEvent(world=fork, t=h.t, kind=h.kind, data=h.data)
        for h in HistoryEvent.objects.filter(world=source).order_by("id").iterator()
    )
    WorldSnapshot.objects.create(
        world=fork, t=loaded.world.now, last_input=0, data=loaded.world.snapshot()
    )
    # The minds copy their memories themselves (town/signals.py): the world imports none.
    copied = world_forked.send(
        sender=fork, source_id=source_id, players=players, conversations=conversations
    )
    memories = sum(n for _receiver, n in copied if isinstance(n, int))
    audit(fork, "fork", actor, source=source_id, memories=memories)
    return fork


def _copy(rows, *, world: World, remap: dict[str, dict[int, int]] | None = None) -> dict:
    """Copy rows into `world`; returns old id → new id."""
    ids = {}
    for row in rows.order_by("id"):
        old = row.pk
        row.pk = None
        row.id = None
        row._state.adding = True
        row.world = world
        for field, mapping in (remap or {}).items():
            setattr(row, field, mapping.get(getattr(row, field)))
        row.save()
        ids[old] = row.pk
    return ids


def export_world(world_id: int, *, actor: Any = None) -> Iterator[str]:
    """The world as JSON lines: the world, then players, conversations, messages, inputs,
    history and the latest snapshot, each line `{"type": ..., ...}`."""
    world = World.objects.get(pk=world_id)
    audit(world, "export", actor)
    yield _line("world", world, exclude={"settings"}, extra={"settings": world.settings})
    for model, kind in (
        (Player, "player"),
        (Conversation, "conversation"),
        (Message, "message"),
        (Input, "input"),
        (HistoryEvent, "history"),
    ):
        for row in model.objects.filter(world=world).order_by("id").iterator(EXPORT_BATCH):
            yield _line(kind, row)
    snap = world.snapshots.order_by("-id").first()
    if snap is not None:
        yield _line("snapshot", snap)


def _line(kind: str, row: Model, *, exclude=(), extra=None) -> str:
    data: dict[str, Any] = {"type": kind}
    for field in row._meta.concrete_fields:
        if field.name in exclude:
            continue
        data[field.attname] = field.value_from_object(row)
    data.update(extra or {})
    return json.dumps(data, default=str, separators=(",", ":"))
