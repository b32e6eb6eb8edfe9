"""Characters and continuous movement: a path, a start time and a speed, never per-frame steps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

Tile = tuple[int, int]

_FACING = {(1, 0): "right", (-1, 0): "left", (0, 1): "down", (0, -1): "up"}


@dataclass
class Player:
    """A character in the world, human or agent."""

    id: str
    name: str
    kind: str  # "human" | "agent"
    character: str
    x: int  # the tile the player last stood on (the path start while walking)
    y: int
    facing: str = "down"
    activity: str = ""
    conversation: str | None = None
    path: list[Tile] | None = None
    t0: int = 0
    speed: float = 0.0
    description: str = ""
    identity: str = ""
    joined: int = 0
    idle_since: int = 0  # when the agent last became free to decide
    quiet_until: int = 0  # set_activity(for_ms): do not ask "next" before this
    ask_after: int = 0  # after an expired request, a breather before asking again
    pending_move: Tile | None = None  # an agent move waiting for a path-search slot
    extra: dict = field(default_factory=dict)  # free-form data callers attach
    guest: str = ""  # "agent": a person's outside AI agent (a "human" to the minds)

    def to_state(self) -> dict:
        """Full private state for snapshots."""
        return asdict(self)

    @classmethod
    def from_state(cls, data: dict) -> Player:
        """Inverse of to_state (JSON turns tuples into lists; turn them back)."""
        data = dict(data)
        if data.get("path") is not None:
            data["path"] = [tuple(p) for p in data["path"]]
        if data.get("pending_move") is not None:
            data["pending_move"] = tuple(data["pending_move"])
        return cls(**data)


def progress(player: Player, now: int) -> float:
    """How many tiles along its path the player has walked by `now`."""
    return max(now - player.t0, 0) * player.speed / 1000


def arrival_time(player: Player) -> float:
    """World ms at which the current path ends."""
    if not player.path:
        return player.t0
    return player.t0 + (len(player.path) - 1) * 1000 / player.speed


def player_position(player: Player, now: int) -> tuple[float, float]:
    """Interpolated (x, y) in tiles at `now`."""
    path = player.path
    if not path:
        return (float(player.x), float(player.y))
    p = progress(player, now)
    i = int(p)
    if i >= len(path) - 1:
        return (float(path[-1][0]), float(path[-1][1]))
    frac = p - i
    (ax, ay), (bx, by) = path[i], path[i + 1]
    return (ax + (bx - ax) * frac, ay + (by - ay) * frac)


def current_tile(player: Player, now: int) -> Tile:
    """The tile the player is on (nearest path tile while walking)."""
    path = player.path
    if not path:
        return (player.x, player.y)
    i = int(progress(player, now) + 0.5)
    return path[min(i, len(path) - 1)]


def facing_at(player: Player, now: int) -> str:
    """Direction of travel while walking, else the last facing."""
    path = player.path
    if not path or len(path) < 2:
        return player.facing
    i = min(int(progress(player, now)), len(path) - 2)
    (ax, ay), (bx, by) = path[i], path[i + 1]
    return _FACING.get((bx - ax, by - ay), player.facing)


def facing_towards(a: Tile, b: Tile, default: str = "down") -> str:
    """The facing that looks from tile a to tile b (dominant axis)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    if dx == 0 and dy == 0:
        return default
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def is_walking(player: Player, now: int) -> bool:
    """Whether the player is still on its way at `now`."""
    return bool(player.path) and now < arrival_time(player)


def start_path(player: Player, path: list[Tile], now: int, speed: float) -> None:
    """Put the player on a new path starting now (path[0] is its current tile)."""
    player.x, player.y = path[0]
    if len(path) < 2:
        player.path = None
        return
    player.path, player.t0, player.speed = path, now, speed
    player.facing = _FACING.get((path[1][0] - path[0][0], path[1][1] - path[0][1]), player.facing)


def stop(player: Player, now: int) -> Tile:
    """Stop the player where it is now; returns the tile it stands on."""
    if player.path:
        player.facing = facing_at(player, now)
        player.x, player.y = current_tile(player, now)
        player.path = None
    return (player.x, player.y)


def public_player(player: Player, now: int) -> dict:
    """The player object of PROTOCOL.md as clients see it at `now`."""
    x, y = current_tile(player, now)
    out = {
        "id": player.id,
        "name": player.name,
        "kind": player.kind,
        "character": player.character,
        "x": x,
        "y": y,
        "facing": facing_at(player, now),
        "activity": player.activity,
        "conversation": player.conversation,
    }
    if player.description:
        out["description"] = player.description
    if player.guest:
        out["guest"] = player.guest
    if player.path:
        out["path"] = [list(p) for p in player.path]
        out["t0"] = player.t0
        out["speed"] = player.speed
    return out
