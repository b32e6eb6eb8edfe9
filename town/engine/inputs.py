"""One handler per input type: validate everything first, then change the world."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import conversations, decisions
from .config import MAX_CHARACTER, MAX_NAME
from .errors import InputRefused
from .movement import Player, current_tile, public_player
from .names import RESERVED_KEYS, name_key

if TYPE_CHECKING:
    from .world import World

Tile = tuple[int, int]
_MAX_PROFILE = 4000
_MAX_QUIET_MS = 24 * 3600 * 1000
_FREE_TILE_RADIUS = 8


def join(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Put a new character into the world, at (x, y) or a spawn point, on a free tile."""
    if actor in world.players:
        raise InputRefused("conflict", "that player is already in the world")
    if len(world.players) >= world.config.max_players:
        raise InputRefused("world_full", "the town is full")
    kind = inp.get("kind", "human")
    if kind not in ("human", "agent"):
        raise InputRefused("invalid", 'kind must be "human" or "agent"')
    guest = inp.get("guest", "")
    if guest not in ("", "agent") or (guest and kind != "human"):
        raise InputRefused("invalid", 'guest must be "agent", for a human character only')
    name = _text(inp.get("name", actor), "name", MAX_NAME) or actor
    _check_name_free(world, actor, name)
    character = _text(inp.get("character", "default"), "character", MAX_CHARACTER) or "default"
    description = _text(inp.get("description", ""), "description", _MAX_PROFILE)
    identity = _text(inp.get("identity", ""), "identity", _MAX_PROFILE)
    if inp.get("x") is not None or inp.get("y") is not None:
        wanted = _target(world, inp)
    else:
        spawns = world.map.spawn_points()
        wanted = spawns[world.rng.randrange(len(spawns))]
    x, y = _free_tile(world, wanted, now)
    player = Player(
        actor, name, kind, character, x, y,
        description=description, identity=identity, joined=now, idle_since=now, guest=guest,
    )  # fmt: skip
    world.players[actor] = player
    world.mark_standing(player)
    return [{"kind": "player_joined", "t": now, "player": public_player(player, now)}]


def leave(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Take a character out, ending its conversation first."""
    player = world.players[actor]
    events: list[dict] = []
    if player.conversation in world.conversations:
        events += conversations.leave(world, actor, player.conversation, now)
    decisions.close(world, actor)
    if player.path is None:
        world.unmark_standing(player)
    del world.players[actor]
    events.append({"kind": "player_left", "t": now, "player": actor})
    return events


def move(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Walk to a tile; agents beyond the per-tick search budget wait for the next tick."""
    player = world.players[actor]
    target = _target(world, inp)
    activity = _optional_activity(world, inp)
    start = current_tile(player, now)
    path = None
    deferred = player.kind == "agent" and not world.search_budget_left()
    if deferred:
        if not world.map.connected(start, target) and world.map.walkable(*start):
            raise InputRefused("invalid", "no path")
    else:
        path = world.search_path(start, target, now)
        if path is None:
            raise InputRefused("invalid", "no path")
        if player.kind == "agent":
            world.searches_used += 1  # only accepted searches count, so refusals change nothing
    events = world.leave_if_moving_away(player, target, now)
    if activity is not None:
        events += world.set_activity_text(player, activity, now)
    player.idle_since, player.quiet_until = now, 0
    if path is not None:
        events += world.walk(player, path, now)
    else:
        player.pending_move = target
        if actor not in world.move_queue:
            world.move_queue.append(actor)
    return events


def invite(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Ask someone to talk."""
    return conversations.invite(world, actor, inp.get("to"), now)


def accept(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Say yes to an invitation."""
    return conversations.accept(world, actor, inp.get("conversation"), now)


def decline(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Say no to an invitation."""
    return conversations.decline(world, actor, inp.get("conversation"), now)


def say(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Send a chat message."""
    return conversations.say(world, actor, inp.get("conversation"), inp.get("text"), now)


def typing(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Show the typing indicator."""
    return conversations.typing(world, actor, inp.get("conversation"), now)


def join_conversation(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Join an active conversation nearby."""
    return conversations.join(world, actor, inp.get("conversation"), now)


def leave_conversation(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """End my part in a conversation."""
    return conversations.leave(world, actor, inp.get("conversation"), now)


def set_activity(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Say what I am doing without moving; optional for_ms keeps an agent from being asked."""
    text = _text(inp.get("text"), "text", world.config.max_activity_chars)
    for_ms = inp.get("for_ms", 0)
    if isinstance(for_ms, bool) or not isinstance(for_ms, int) or not 0 <= for_ms <= _MAX_QUIET_MS:
        raise InputRefused("invalid", "for_ms must be a whole number of milliseconds")
    player = world.players[actor]
    player.idle_since, player.quiet_until = now, now + for_ms
    return world.set_activity_text(player, text, now)


def update_player(world: World, actor: str, inp: dict, now: int) -> list[dict]:
    """Change a character's name, sprite or profile in place (operators editing residents)."""
    player = world.players[actor]
    changes = {}
    for field, limit in (("name", MAX_NAME), ("character", MAX_CHARACTER)):
        if inp.get(field) is not None:
            changes[field] = _text(inp[field], field, limit)
            if not changes[field]:
                raise InputRefused("invalid", f"{field} must not be empty")
    for field in ("description", "identity"):
        if inp.get(field) is not None:
            changes[field] = _text(inp[field], field, _MAX_PROFILE)
    changes = {k: v for k, v in changes.items() if getattr(player, k) != v}
    player.quiet_until = min(player.quiet_until, now)  # a changed mind is asked again soon
    if not changes:
        return []
    for field, value in changes.items():
        setattr(player, field, value)
    return [{"kind": "player_updated", "t": now, "player": public_player(player, now)}]


HANDLERS: dict[str, Callable[[World, str, dict, int], list[dict]]] = {
    "join": join,
    "leave": leave,
    "move": move,
    "invite": invite,
    "accept": accept,
    "decline": decline,
    "say": say,
    "typing": typing,
    "join_conversation": join_conversation,
    "leave_conversation": leave_conversation,
    "set_activity": set_activity,
    "update_player": update_player,
}


def _check_name_free(world: World, actor: str, name: str) -> None:
    """Refuse a name that reads like the town's own labels or like someone present."""
    key = name_key(name)
    if key in RESERVED_KEYS:
        raise InputRefused("invalid", f"the name {name!r} is reserved for the town")
    for other in world.players.values():
        if other.id != actor and name_key(other.name) == key:
            raise InputRefused("conflict", f"{other.name} is already here: choose another name")


def _text(value: object, field: str, limit: int) -> str:
    """A stripped string of at most `limit` characters, or a refusal."""
    if not isinstance(value, str):
        raise InputRefused("invalid", f"{field} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise InputRefused("invalid", f"{field} is longer than {limit} characters")
    return value


def _optional_activity(world: World, inp: dict) -> str | None:
    """The activity text a move may carry, validated."""
    if inp.get("activity") is None:
        return None
    return _text(inp["activity"], "activity", world.config.max_activity_chars)


def _target(world: World, inp: dict) -> Tile:
    """The (x, y) tile of an input, snapped to a walkable tile nearby when blocked."""
    x, y = inp.get("x"), inp.get("y")
    if (
        isinstance(x, bool)
        or isinstance(y, bool)
        or not isinstance(x, int)
        or not isinstance(y, int)
    ):
        raise InputRefused("invalid", "x and y must be whole tile numbers")
    if not world.map.in_bounds(x, y):
        raise InputRefused("invalid", "that tile is outside the map")
    if world.map.walkable(x, y):
        return (x, y)
    snapped = world.map.nearest_walkable(x, y, world.config.snap_radius)
    if snapped is None:
        raise InputRefused("invalid", "nobody can stand there")
    return snapped


def _free_tile(world: World, wanted: Tile, now: int) -> Tile:
    """The wanted tile, or the nearest walkable one nobody stands on (the wanted one if all are)."""
    occupied = {current_tile(p, now) for p in world.players.values()}
    for tile in world.map.nearby_walkable(*wanted, _FREE_TILE_RADIUS):
        if tile not in occupied and world.map.connected(tile, wanted):
            return tile
    return wanted
