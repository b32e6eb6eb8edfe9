"""The engine runner's reads and writes: load a world, record what it accepted, save snapshots.

Called from the runner through database_sync_to_async; each function is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from town import engine, selectors, stepping
from town.engine.config import STEP_MS  # noqa: F401 - benches step by it from here
from town.models import Conversation, HistoryEvent, Input, Message, Player, World, WorldSnapshot

SNAPSHOTS_KEPT = 3
# Not history: typing, and which mind the residents use (the page shows it, replay not).
UNRECORDED_KINDS = frozenset({"typing", "mind"})


@dataclass
class LoadedWorld:
    meta: selectors.WorldMeta
    world: engine.World
    last_input: int
    recent: list[dict] = field(default_factory=list)
    pending_joins: list[dict] = field(default_factory=list)


def load_world(world_id: int) -> LoadedWorld:
    """Rebuild a world: the latest snapshot, then every input logged after it, in order."""
    row = World.objects.get(pk=world_id)
    meta = selectors.world_meta(row)
    snap = row.snapshots.order_by("-id").first()
    if snap is not None:
        world = engine.World.restore(snap.data, meta.town_map, meta.config)
        last_input = snap.last_input
    else:
        world = engine.World(meta.town_map, meta.config, seed=row.seed, now=row.clock_ms)
        last_input = 0
    for inp in row.inputs.filter(id__gt=last_input).order_by("id").iterator():
        replay_input(world, inp.payload, inp.t)
        last_input = inp.id
    # Residents added, edited or retired while no engine ran the world catch up now.
    from town.residents import pending_inputs  # it builds on this module

    joins = pending_inputs(meta, world, row, last_input)
    return LoadedWorld(meta, world, last_input, selectors.recent_messages(world_id), joins)


def replay_input(world: engine.World, payload: dict, t: int) -> None:
    """Apply a logged input exactly as the runner did live: due steps first, then the input."""
    stepping.tick_until(world, stepping.first_tick(world), t)
    world.apply(payload, t)
    world.take_decision_requests()  # asked live already; answers arrive as logged inputs


def resident_join(meta: selectors.WorldMeta, player: Player) -> dict:
    """The input that brings a resident into the world, at home if the map has their home."""
    inp = {
        "type": "join",
        "actor": player.pid,
        "key": f"seed:{player.pid}:{int(player.created.timestamp())}",
        "name": player.name,
        "character": player.character,
        "kind": "agent",
        "identity": player.identity,
    }
    home = meta.town_map.areas.get(player.data.get("home", ""))
    if home is not None:
        x, y = home.center
        if meta.town_map.walkable(int(x), int(y)):
            inp.update(x=int(x), y=int(y))
    return inp


def without_nul(value: Any) -> Any:
    """`value` with NUL removed from every string in it: PostgreSQL text and jsonb refuse NUL,
    and one such character must not lose a whole batch (or crash the engine)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value


def record(world_id: int, accepted: list[dict], events: list[dict], last_input: int) -> int:
    """Write accepted inputs, their consequences and the public history; return the last input id."""
    accepted = [{**item, "input": without_nul(item["input"])} for item in accepted]
    return _record(world_id, accepted, without_nul(events), last_input)


@transaction.atomic
def _record(world_id: int, accepted: list[dict], events: list[dict], last_input: int) -> int:
    rows = Input.objects.bulk_create(
        Input(
            world_id=world_id,
            key=item["input"].get("key") or f"anon:{world_id}:{item['t']}:{n}",
            t=item["t"],
            payload=item["input"],
            user_id=item.get("user_id"),
        )
        for n, item in enumerate(accepted)
    )
    if rows:
        last_input = max(last_input, max(r.id for r in rows))
    users = {item["input"].get("actor"): item.get("user_id") for item in accepted}
    for event in events:
        _apply_event(world_id, event, users)
    HistoryEvent.objects.bulk_create(
        HistoryEvent(world_id=world_id, t=e["t"], kind=e["kind"], data=e)
        for e in events
        if e["kind"] not in UNRECORDED_KINDS
    )
    return last_input


def _apply_event(world_id: int, event: dict, users: dict) -> None:
    kind = event["kind"]
    if kind == "conversation_invited":
        conv = event["conversation"]
        Conversation.objects.get_or_create(
            world_id=world_id, cid=conv["id"], defaults={"participants": conv["participants"]}
        )
    elif kind == "conversation_started":
        conv = event["conversation"]
        Conversation.objects.filter(world_id=world_id, cid=conv["id"]).update(
            started_t=event["t"], participants=conv["participants"]
        )
    elif kind == "conversation_joined":
        # Add, never replace: those who left a group early stay participants (summaries, cards).
        cid = event["conversation"]["id"]
        row = Conversation.objects.filter(world_id=world_id, cid=cid).first()
        if row is not None and event["player"] not in row.participants:
            row.participants = [*row.participants, event["player"]]
            row.save(update_fields=["participants"])
    elif kind == "conversation_ended":
        Conversation.objects.filter(world_id=world_id, cid=event["conversation"]).update(
            ended_t=event["t"], end_reason=event.get("reason", ""), ended=timezone.now()
        )
    elif kind == "message":
        conv, _ = Conversation.objects.get_or_create(
            world_id=world_id, cid=event["conversation"], defaults={"participants": []}
        )
        Message.objects.create(
            world_id=world_id,
            conversation=conv,
            mid=event["id"],
            author=event["author"],
            author_name=event.get("author_name", ""),
            author_user_id=users.get(event["author"]),
            text=event["text"],
            t=event["t"],
        )
    elif kind == "player_joined":
        player = event["player"]
        Player.objects.update_or_create(
            world_id=world_id,
            pid=player["id"],
            defaults={
                "name": player["name"],
                "character": player["character"],
                "kind": player["kind"],
                "present": True,
                **({"user_id": users[player["id"]]} if users.get(player["id"]) else {}),
            },
        )
    elif kind == "player_left":
        Player.objects.filter(world_id=world_id, pid=event["player"]).update(present=False)


@transaction.atomic
def save_snapshot(world_id: int, world: engine.World, last_input: int) -> None:
    """Save the whole engine state; keep only the newest few snapshots."""
    WorldSnapshot.objects.create(
        world_id=world_id, t=world.now, last_input=last_input, data=without_nul(world.snapshot())
    )
    World.objects.filter(pk=world_id).update(clock_ms=world.now)
    keep = WorldSnapshot.objects.filter(world_id=world_id).order_by("-id")[:SNAPSHOTS_KEPT]
    WorldSnapshot.objects.filter(world_id=world_id).exclude(
        id__in=list(keep.values_list("id", flat=True))
    ).delete()


def world_status(world_id: int) -> str | None:
    """A world's status as the database has it (None: the world is gone)."""
    return World.objects.filter(pk=world_id).values_list("status", flat=True).first()


def resident_inputs(world_id: int, world: engine.World, last_input: int) -> list[dict]:
    """Inputs that bring a running engine in line with its residents' rows (added, edited or
    retired by an operator while it ran)."""
    from town.residents import pending_inputs  # it builds on this module

    row = World.objects.get(pk=world_id)
    return pending_inputs(selectors.world_meta(row), world, row, last_input)


@transaction.atomic
def redact_snapshots(world_id: int, author: str) -> int:
    """Replace a forgotten person's lines in a world's stored snapshots; returns how many changed."""
    from town.services import redact_author  # services builds on this module's callers

    changed = 0
    for snap in WorldSnapshot.objects.select_for_update().filter(world_id=world_id):
        if redact_author(snap.data, author):
            snap.save(update_fields=["data"])
            changed += 1
    return changed
