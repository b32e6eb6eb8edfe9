"""The World: state plus apply(input) and tick(now), returning events. No I/O, no clocks."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable

from . import conversations, decisions, inputs
from .clock import clock_at
from .config import MAX_ID, EngineConfig
from .conversations import ACTIVE, WALKING, Conversation
from .errors import InputRefused
from .map import TownMap
from .movement import (
    Player,
    arrival_time,
    current_tile,
    facing_at,
    is_walking,
    player_position,
    public_player,
    start_path,
    stop,
)
from .pathfinding import find_path

Tile = tuple[int, int]
SNAPSHOT_VERSION = 1
_ENDED_REMEMBERED = 1000


class World:
    """One town's simulation; deterministic given the map, config, seed and inputs."""

    def __init__(
        self, town_map: TownMap, config: EngineConfig | None = None, seed: int = 0, now: int = 0
    ) -> None:
        self.map = town_map
        self.config = config or EngineConfig()
        self.rng = random.Random(seed)
        self.now = int(now)
        self.players: dict[str, Player] = {}
        self.conversations: dict[str, Conversation] = {}
        self.cooldowns: dict[str, int] = {}
        self.counters: dict[str, int] = {}
        self.requests: dict[str, dict] = {}  # outstanding decision request per agent id
        self.unsent: list[str] = []  # request ids not yet handed out
        self.move_queue: list[str] = []  # agents waiting for a path-search slot
        self.searches_used = 0
        self.ended_ids: deque[str] = deque(maxlen=_ENDED_REMEMBERED)
        self._keys: deque[str] = deque()
        self._key_set: set[str] = set()
        self._standing: dict[int, int] = {}  # tile index -> standing characters (soft blockers)

    # -- the interface the runner calls --------------------------------------------------

    def apply(self, inp: dict, now: int) -> list[dict]:
        """Apply one authorised input at world time `now`; refusals change nothing."""
        if not isinstance(inp, dict):
            raise InputRefused("invalid", "an input is an object")
        now = self._advance(now)
        key = inp.get("key")
        if key is not None:
            if not isinstance(key, str) or not key:
                raise InputRefused("invalid", "key must be a non-empty string")
            if key in self._key_set:
                return []  # already applied: resending is safe
        handler = _HANDLERS.get(inp.get("type"))  # type: ignore[arg-type]
        if handler is None:
            raise InputRefused("unknown_type", f"unknown input type {inp.get('type')!r}")
        actor = inp.get("actor")
        if not isinstance(actor, str) or not 1 <= len(actor) <= MAX_ID:
            raise InputRefused("invalid", "actor must be a player id")
        if inp["type"] != "join" and actor not in self.players:
            raise InputRefused("not_player", "you have no character in this world")
        events = handler(self, actor, inp, now)
        if key is not None:
            self._remember_key(key)
        decision = inp.get("decision")
        req = self.requests.get(actor)
        if decision is not None and req is not None and req["id"] == decision:
            decisions.close(self, actor)
        speaker = self.players.get(actor)
        if inp["type"] in _ASK_AT_ONCE and speaker is not None and speaker.kind == "human":
            decisions.ask_now(self, speaker.conversation, now)
        return events

    def tick(self, now: int) -> list[dict]:
        """The fixed step: queued searches, arrivals, conversation rules, decision requests."""
        now = self._advance(now)
        self.searches_used = 0
        events = self._run_move_queue(now)
        events += self._finish_paths(now)
        events += conversations.step(self, now)
        decisions.step(self, now)
        return events

    def take_decision_requests(self) -> list[dict]:
        """Requests issued since the last call (they stay outstanding until answered or expired)."""
        return decisions.take(self)

    def has_applied(self, key: str) -> bool:
        """Whether an input with this idempotency key was applied (within the remembered window)."""
        return key in self._key_set

    def clock(self, now: int) -> dict:
        """The game clock at world time `now`."""
        return clock_at(now, self.config.time_rate, self.config.start_minute_of_day)

    def public_state(self, now: int) -> dict:
        """Everything a client may see: players, live conversations, clock."""
        return {
            "players": [public_player(p, now) for p in self.players.values()],
            "conversations": [c.public() for c in self.conversations.values()],
            "clock": self.clock(now),
        }

    def player_position(self, player_id: str, now: int) -> tuple[float, float]:
        """Interpolated tile position of a player at `now`."""
        return player_position(self.players[player_id], now)

    # -- snapshots -------------------------------------------------------------------

    def snapshot(self) -> dict:
        """JSON-serialisable full state; World.restore(snapshot) continues identically."""
        version, internal, gauss = self.rng.getstate()
        return {
            "version": SNAPSHOT_VERSION,
            "now": self.now,
            "rng": [version, list(internal), gauss],
            "counters": dict(self.counters),
            "players": [p.to_state() for p in self.players.values()],
            "conversations": [c.to_state() for c in self.conversations.values()],
            "cooldowns": dict(self.cooldowns),
            "requests": list(self.requests.values()),
            "unsent": list(self.unsent),
            "move_queue": list(self.move_queue),
            "searches_used": self.searches_used,
            "ended_ids": list(self.ended_ids),
            "keys": list(self._keys),
        }

    @classmethod
    def restore(cls, data: dict, town_map: TownMap, config: EngineConfig | None = None) -> World:
        """Rebuild a world from snapshot() output."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {data.get('version')!r}")
        world = cls(town_map, config, now=data["now"])
        version, internal, gauss = data["rng"]
        world.rng.setstate((version, tuple(internal), gauss))
        world.counters = dict(data["counters"])
        for state in data["players"]:
            player = Player.from_state(state)
            world.players[player.id] = player
            if player.path is None:
                world.mark_standing(player)
        for state in data["conversations"]:
            conv = Conversation(**state)
            world.conversations[conv.id] = conv
        world.cooldowns = dict(data["cooldowns"])
        world.requests = {r["agent"]: r for r in data["requests"]}
        world.unsent = list(data["unsent"])
        world.move_queue = list(data["move_queue"])
        world.searches_used = data["searches_used"]
        world.ended_ids.extend(data["ended_ids"])
        for key in data["keys"]:
            world._remember_key(key)
        return world

    # -- helpers the rule modules share ------------------------------------------------

    def next_id(self, prefix: str) -> str:
        """A fresh deterministic id: c1, c2 … (conversations), m1 … (messages), r1 … (requests)."""
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]}"

    def remember_ended(self, conversation_id: str) -> None:
        """Keep a bounded memory of ended ids so late answers get "conflict", not "not_found"."""
        self.ended_ids.append(conversation_id)

    def search_budget_left(self) -> bool:
        """Whether this tick may still run an agent or engine path search."""
        return self.searches_used < self.config.max_path_searches_per_tick

    def search_path(
        self, start: Tile, goal: Tile, now: int, counted: bool = False
    ) -> list[Tile] | None:
        """A* from start to goal with standing characters as soft blockers."""
        if counted:
            self.searches_used += 1
        cfg = self.config
        soft: dict[int, int] | set[int] = self._standing
        if cfg.soft_blocker_radius:
            # Only people near the start matter: those farther away will have moved on
            # by the time we pass, and ignoring them keeps long searches narrow.
            xs, ys, r = self.map.xs, self.map.ys, cfg.soft_blocker_radius
            sx, sy = start
            soft = {i for i in soft if abs(xs[i] - sx) + abs(ys[i] - sy) <= r}
        return find_path(self.map, start, goal, soft, cfg.soft_blocker_cost, cfg.max_path_nodes)

    def walking(self, player: Player, now: int) -> bool:
        """Whether the player is on its way at `now`."""
        return is_walking(player, now)

    def walk(self, player: Player, path: list[Tile], now: int) -> list[dict]:
        """Put a player on a path starting now and announce it."""
        if player.path is None:
            self.unmark_standing(player)
        player.pending_move = None
        start_path(player, path, now, self.config.walk_speed)
        if player.path is None:
            self.mark_standing(player)
        return [self._move_event(player, path, now)]

    def halt(self, player: Player, now: int) -> list[dict]:
        """Stop a walking player on its current tile and announce it."""
        if player.path is None:
            return []
        tile = stop(player, now)
        self.mark_standing(player)
        return [self._move_event(player, [tile], now)]

    # -- internals -------------------------------------------------------------------

    def _move_event(self, player: Player, path: list[Tile], now: int) -> dict:
        return {
            "kind": "move",
            "t": now,
            "player": player.id,
            "path": [list(t) for t in path],
            "t0": now,
            "speed": self.config.walk_speed,
        }

    def _advance(self, now: int) -> int:
        """World time never runs backwards, even if a caller's clock does."""
        if isinstance(now, bool) or not isinstance(now, int | float):
            raise TypeError("now must be world milliseconds")
        self.now = max(int(now), self.now)
        return self.now

    def _remember_key(self, key: str) -> None:
        self._keys.append(key)
        self._key_set.add(key)
        while len(self._keys) > self.config.remembered_input_keys:
            self._key_set.discard(self._keys.popleft())

    def mark_standing(self, player: Player) -> None:
        i = player.y * self.map.width + player.x
        self._standing[i] = self._standing.get(i, 0) + 1

    def unmark_standing(self, player: Player) -> None:
        i = player.y * self.map.width + player.x
        left = self._standing.get(i, 0) - 1
        if left > 0:
            self._standing[i] = left
        else:
            self._standing.pop(i, None)

    def _run_move_queue(self, now: int) -> list[dict]:
        """Search the queued agent moves the per-tick budget allows, oldest first."""
        events: list[dict] = []
        while self.move_queue and self.search_budget_left():
            player = self.players.get(self.move_queue.pop(0))
            if player is None or player.pending_move is None:
                continue
            target, player.pending_move = player.pending_move, None
            path = self.search_path(current_tile(player, now), target, now, counted=True)
            if path is None:
                player.idle_since = now  # gave up silently; the mind will be asked again
            else:
                events += self.walk(player, path, now)
        return events

    def _finish_paths(self, now: int) -> list[dict]:
        """Settle players whose path is done on its last tile."""
        events = []
        for p in self.players.values():
            if p.path and now >= (end := arrival_time(p)):
                p.facing = facing_at(p, int(end))
                p.x, p.y = p.path[-1]
                p.path = None
                p.idle_since = int(end)
                self.mark_standing(p)
                events.append({"kind": "arrived", "t": now, "player": p.id, "x": p.x, "y": p.y})
        return events

    def leave_if_moving_away(self, player: Player, target: Tile, now: int) -> list[dict]:
        """Walking out of talking range leaves the conversation."""
        conv = self.conversations.get(player.conversation or "")
        if conv is None or conv.status not in (WALKING, ACTIVE):
            return []
        if conversations.within_reach(self, conv, player.id, target, now):
            return []
        return conversations.leave(self, player.id, conv.id, now)

    def set_activity_text(self, player: Player, text: str, now: int) -> list[dict]:
        if text == player.activity:
            return []
        player.activity = text
        return [{"kind": "activity", "t": now, "player": player.id, "text": text}]


# A person's inputs after which the residents they talk with are asked at once.
_ASK_AT_ONCE = frozenset({"say", "invite", "join_conversation", "accept"})

_HANDLERS: dict[str, Callable[[World, str, dict, int], list[dict]]] = inputs.HANDLERS
