"""Reads: worlds, maps, snapshots for clients, and the JSON endpoints' data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

from town import engine
from town.engine import EngineConfig, TownMap
from town.models import Conversation, Message, Player, World

MAPS_DIR = settings.BASE_DIR / "town" / "maps"
CHARACTERS_FILE = settings.BASE_DIR / "static" / "sprites" / "characters.json"


@dataclass(frozen=True)
class WorldMeta:
    """What a runner and a snapshot need to know about a world besides its engine state."""

    id: int
    name: str
    status: str
    map_name: str
    max_humans: int
    config: EngineConfig
    town_map: TownMap
    music_url: str | None = None  # the day's track, as music last published it


def world_meta(row: World) -> WorldMeta:
    engine_settings = {"time_rate": settings.TOWN_TIME_RATE, **row.settings.get("engine", {})}
    return WorldMeta(
        id=row.pk,
        name=row.name,
        status=row.status,
        map_name=row.map_name,
        max_humans=int(row.settings.get("max_humans", settings.TOWN_MAX_HUMANS)),
        config=EngineConfig.from_dict(engine_settings),
        town_map=town_map(row.map_name),
        music_url=row.music_url or None,
    )


def world_or_current(world_id: int | None) -> World | None:
    """The given world, or the current one when no id is given; None when there is none."""
    if world_id is None:
        return World.objects.filter(is_current=True).first()
    return World.objects.filter(pk=world_id).first()


def running_world_ids() -> list[int]:
    return list(World.objects.filter(status=World.Status.RUNNING).values_list("id", flat=True))


@lru_cache(maxsize=8)
def tiled_map(name: str) -> dict:
    """The Tiled JSON of a map, as stored (town/maps/<name>.tmj)."""
    path = MAPS_DIR / f"{name}.tmj"
    if not path.resolve().is_relative_to(MAPS_DIR.resolve()):
        raise FileNotFoundError(name)
    return json.loads(path.read_text())


@lru_cache(maxsize=8)
def town_map(name: str) -> TownMap:
    return TownMap.from_tiled(tiled_map(name))


def client_map(name: str) -> dict:
    """The map for browsers: tileset images as absolute static URLs."""
    data = json.loads(json.dumps(tiled_map(name)))
    for tileset in data.get("tilesets", []):
        if "image" in tileset:
            tileset["image"] = static("tiles/" + tileset["image"].rsplit("/", 1)[-1])
    return data


@lru_cache(maxsize=1)
def characters() -> list[dict]:
    """Sprites people can choose for their character."""
    return json.loads(CHARACTERS_FILE.read_text())


def character_names() -> list[str]:
    return [c["name"] for c in characters()]


def assumed_mind_status() -> dict:
    """What the page says before the minds told the world (a `mind.status` message): the
    model when one is configured, else the offline mind."""
    mode = "llm" if settings.LLM_API_KEY or settings.LLM_BASE_URL else "offline"
    return {"mode": mode, "offline": []}


def snapshot_body(
    meta: WorldMeta, world: engine.World, now: int, recent: list[dict], mind: dict | None = None
) -> dict:
    """The body of a `snapshot` frame (PROTOCOL.md) for world state at `now`.

    `mind` is the minds' latest status as the world's runner heard it.
    """
    mind = mind or assumed_mind_status()
    state = world.public_state(now)
    clock = {**state["clock"], "time_rate": meta.config.time_rate}
    return {
        "world": {
            "id": meta.id,
            "name": meta.name,
            "status": meta.status,
            "time": now,
            "clock": clock,
        },
        "map": reverse("world-map", args=[meta.id]),
        "players": state["players"],
        "conversations": state["conversations"],
        "messages": recent,
        "music": meta.music_url,
        "mind": mind["mode"],
        "minds_offline": list(mind.get("offline", [])),
    }


def stored_snapshot(world_id: int) -> dict:
    """A snapshot built from the database, for worlds no engine is running (frozen, archived)."""
    from town import persistence

    loaded = persistence.load_world(world_id)
    return snapshot_body(loaded.meta, loaded.world, loaded.world.now, loaded.recent)


def recent_messages(world_id: int, limit: int = 50) -> list[dict]:
    rows = (
        Message.objects.filter(world_id=world_id)
        .select_related("conversation")
        .order_by("-id")[:limit]
    )
    return [message_dict(m) for m in reversed(rows)]


def message_dict(m: Message) -> dict:
    return {
        "id": m.mid,
        "conversation": m.conversation.cid,
        "author": m.author,
        "author_name": m.author_name,
        "text": m.text,
        "t": m.t,
        "created": m.created.isoformat(),
    }


def conversation_messages(world_id: int, cid: str, before: str | None, limit: int = 30) -> dict:
    """One page of a conversation's messages, oldest first, older than `before`."""
    conv = Conversation.objects.get(world_id=world_id, cid=cid)
    qs = conv.messages.select_related("conversation").order_by("-id")
    if before:
        pivot = conv.messages.filter(mid=before).values_list("id", flat=True).first()
        if pivot is not None:
            qs = qs.filter(id__lt=pivot)
    rows = list(qs[: limit + 1])
    return {
        "conversation": cid,
        "messages": [message_dict(m) for m in reversed(rows[:limit])],
        "more": len(rows) > limit,
    }


def player_detail(world_id: int, pid: str) -> dict:
    """A character card: who they are and their recent conversations."""
    player = Player.objects.get(world_id=world_id, pid=pid)
    convs = Conversation.objects.filter(world_id=world_id, participants__contains=[pid]).order_by(
        "-id"
    )[:5]
    names = dict(Player.objects.filter(world_id=world_id).values_list("pid", "name"))
    return {
        "id": player.pid,
        "name": player.name,
        "kind": player.kind,
        "character": player.character,
        "identity": player.identity,
        "home": player.data.get("home"),
        "recent_conversations": [
            {
                "id": c.cid,
                "with": [names.get(p, p) for p in c.participants if p != pid],
                "ended": c.ended.isoformat() if c.ended else None,
                "summary": c.summary or None,
                "messages": c.messages.count(),
            }
            for c in convs
        ],
    }
