"""The town's tile grid, collision and named areas, loaded from Tiled JSON."""

from __future__ import annotations

import base64
import gzip
import math
import random
import struct
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# Tiled stores flip/rotation flags in the top bits of a gid; any non-zero gid is a tile.
_GID_MASK = 0x0FFFFFFF


@dataclass(frozen=True)
class Area:
    """A named rectangle of the town (in tiles) that agents plan around."""

    name: str
    kind: str
    x: int
    y: int
    w: int
    h: int
    tiles: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def center(self) -> tuple[int, int]:
        """The tile at the middle of the rectangle."""
        return (self.x + self.w // 2, self.y + self.h // 2)

    def contains(self, x: int, y: int) -> bool:
        """Whether the tile lies inside the rectangle."""
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h

    def random_tile(self, rng: random.Random) -> tuple[int, int]:
        """A walkable tile inside (the centre when the area has none)."""
        if not self.tiles:
            return self.center
        return self.tiles[rng.randrange(len(self.tiles))]

    def to_dict(self) -> dict:
        """The area as a plain dict."""
        return {
            "name": self.name,
            "kind": self.kind,
            "x": self.x,
            "y": self.y,
            "w": self.w,
            "h": self.h,
        }


class TownMap:
    """An immutable walkability grid plus areas and spawn points."""

    def __init__(
        self,
        width: int,
        height: int,
        blocked: Iterable[tuple[int, int]] = (),
        *,
        tile_size: int = 32,
        areas: Iterable[Area] = (),
        spawns: Iterable[tuple[int, int]] = (),
    ) -> None:
        if width <= 0 or height <= 0:
            raise ValueError("a map needs a positive size")
        self.width = width
        self.height = height
        self.tile_size = tile_size
        # One byte per tile, indexed y * width + x: the pathfinder's hot loop reads this.
        self.blocked = bytearray(width * height)
        for x, y in blocked:
            if 0 <= x < width and 0 <= y < height:
                self.blocked[y * width + x] = 1
        self.areas: dict[str, Area] = {}
        for area in areas:
            inside = tuple(
                (x, y)
                for y in range(max(area.y, 0), min(area.y + area.h, height))
                for x in range(max(area.x, 0), min(area.x + area.w, width))
                if not self.blocked[y * width + x]
            )
            self.areas[area.name] = Area(
                area.name, area.kind, area.x, area.y, area.w, area.h, inside
            )
        self.spawns: list[tuple[int, int]] = [s for s in spawns if self.walkable(*s)]
        self._area_index = self._build_area_index()
        self.neighbours = self._build_neighbours()
        # Tile coordinates by index and connected-region labels, so the pathfinder can skip
        # divmod in its hot loop and answer "unreachable" without searching.
        self.xs = [i % width for i in range(width * height)]
        self.ys = [i // width for i in range(width * height)]
        self.component = self._label_components()

    def _build_neighbours(self) -> list[tuple[int, ...]]:
        """Walkable 4-neighbours of every tile index, precomputed for the pathfinder."""
        w, h, blocked = self.width, self.height, self.blocked
        result: list[tuple[int, ...]] = []
        for i in range(w * h):
            x, y = i % w, i // w
            around = []
            if x + 1 < w:
                around.append(i + 1)
            if x > 0:
                around.append(i - 1)
            if y + 1 < h:
                around.append(i + w)
            if y > 0:
                around.append(i - w)
            result.append(tuple(n for n in around if not blocked[n]))
        return result

    def _label_components(self) -> list[int]:
        """Region label per tile index (-1 for blocked tiles)."""
        labels = [-1] * (self.width * self.height)
        label = 0
        for i, b in enumerate(self.blocked):
            if b or labels[i] >= 0:
                continue
            labels[i] = label
            queue = deque([i])
            while queue:
                for n in self.neighbours[queue.popleft()]:
                    if labels[n] < 0:
                        labels[n] = label
                        queue.append(n)
            label += 1
        return labels

    # -- queries -----------------------------------------------------------------

    def in_bounds(self, x: int, y: int) -> bool:
        """Whether the tile is on the map."""
        return 0 <= x < self.width and 0 <= y < self.height

    def walkable(self, x: int, y: int) -> bool:
        """Whether a character may stand on the tile."""
        return 0 <= x < self.width and 0 <= y < self.height and not self.blocked[y * self.width + x]

    def walkable_tiles(self) -> Iterator[tuple[int, int]]:
        """Every walkable tile, row by row."""
        w = self.width
        for i, b in enumerate(self.blocked):
            if not b:
                yield (i % w, i // w)

    def nearby_walkable(self, x: int, y: int, radius: int) -> Iterator[tuple[int, int]]:
        """Walkable tiles by growing Manhattan distance from (x, y), up to radius."""
        for d in range(radius + 1):
            # Deterministic ring order: top to bottom, left to right within each ring.
            for dy in range(-d, d + 1):
                dx = d - abs(dy)
                for cx in sorted({x - dx, x + dx}):
                    if self.walkable(cx, y + dy):
                        yield (cx, y + dy)

    def nearest_walkable(self, x: int, y: int, radius: int) -> tuple[int, int] | None:
        """The closest walkable tile to (x, y) within radius, or None."""
        return next(self.nearby_walkable(x, y, radius), None)

    def area_at(self, x: int, y: int) -> Area | None:
        """The area containing the tile (the smallest when areas overlap), or None."""
        if not self.in_bounds(x, y):
            return None
        name = self._area_index[y * self.width + x]
        return self.areas[name] if name is not None else None

    def _build_area_index(self) -> list[str | None]:
        """Area name per tile index; smaller areas are drawn last so they win overlaps."""
        index: list[str | None] = [None] * (self.width * self.height)
        for area in sorted(self.areas.values(), key=lambda a: -a.w * a.h):
            for y in range(max(area.y, 0), min(area.y + area.h, self.height)):
                for x in range(max(area.x, 0), min(area.x + area.w, self.width)):
                    index[y * self.width + x] = area.name
        return index

    def default_spawn(self) -> tuple[int, int]:
        """Where people appear when the map names no spawn: near the plaza or the map centre."""
        plaza = self.areas.get("plaza") or next(
            (a for a in self.areas.values() if a.kind == "plaza"), None
        )
        cx, cy = plaza.center if plaza else (self.width // 2, self.height // 2)
        found = self.nearest_walkable(cx, cy, max(self.width, self.height))
        if found is not None:
            return found
        raise ValueError("the map has no walkable tile")

    def spawn_points(self) -> list[tuple[int, int]]:
        """The map's spawn points, or the single default one."""
        return list(self.spawns) or [self.default_spawn()]

    def connected(self, a: tuple[int, int], b: tuple[int, int]) -> bool:
        """Whether a walk from tile a to tile b exists."""
        if not (self.walkable(*a) and self.walkable(*b)):
            return False
        w = self.width
        return self.component[a[1] * w + a[0]] == self.component[b[1] * w + b[0]]

    # -- loading -----------------------------------------------------------------

    @classmethod
    def from_tiled(cls, data: dict) -> TownMap:
        """Build a map from a parsed Tiled JSON (.tmj) document."""
        width, height = int(data["width"]), int(data["height"])
        tw, th = int(data.get("tilewidth", 32)), int(data.get("tileheight", 32))
        blocked: set[tuple[int, int]] = set()
        areas: list[Area] = []
        spawns: list[tuple[int, int]] = []
        for layer, collides in _walk_layers(data.get("layers", []), False):
            kind = layer.get("type")
            name = str(layer.get("name", "")).lower()
            if kind == "tilelayer" and (collides or name == "collision" or _collides(layer)):
                for x, y, gid in _tiles(layer, width):
                    if gid & _GID_MASK:
                        blocked.add((x, y))
            elif kind == "objectgroup" and name == "areas":
                areas.extend(
                    _area(obj, tw, th) for obj in layer.get("objects", []) if obj.get("name")
                )
            elif kind == "objectgroup" and name == "spawns":
                for obj in layer.get("objects", []):
                    if obj.get("name", "spawn") in ("spawn", ""):
                        spawns.append((int(obj["x"] // tw), int(obj["y"] // th)))
        return cls(width, height, blocked, tile_size=tw, areas=areas, spawns=spawns)


def _walk_layers(layers: list[dict], inherited: bool) -> Iterator[tuple[dict, bool]]:
    """Flatten group layers; a colliding or "collision" group makes its children collide."""
    for layer in layers:
        if layer.get("type") == "group":
            marks = (
                inherited or _collides(layer) or str(layer.get("name", "")).lower() == "collision"
            )
            yield from _walk_layers(layer.get("layers", []), marks)
        else:
            yield layer, inherited


def _collides(layer: dict) -> bool:
    """Whether a layer carries the Tiled property collides = true."""
    props = layer.get("properties") or []
    if isinstance(props, dict):  # very old Tiled wrote properties as a plain object
        return props.get("collides") is True
    return any(p.get("name") == "collides" and p.get("value") is True for p in props)


def _tiles(layer: dict, map_width: int) -> Iterator[tuple[int, int, int]]:
    """(x, y, gid) of every cell of a tile layer, finite or chunked (infinite maps)."""
    encoding, compression = layer.get("encoding"), layer.get("compression")
    ox, oy = int(layer.get("startx", 0)), int(layer.get("starty", 0))
    if "chunks" in layer:
        for chunk in layer["chunks"]:
            cells = _decode(chunk["data"], encoding, compression)
            cw = int(chunk["width"])
            for i, gid in enumerate(cells):
                yield int(chunk["x"]) + i % cw, int(chunk["y"]) + i // cw, gid
        return
    cells = _decode(layer.get("data", []), encoding, compression)
    lw = int(layer.get("width", map_width))
    for i, gid in enumerate(cells):
        yield ox + i % lw, oy + i // lw, gid


def _decode(data: list[int] | str, encoding: str | None, compression: str | None) -> list[int]:
    """Tile gids from a CSV-style list or a base64 (optionally zlib/gzip) string."""
    if isinstance(data, list):
        return [int(v) for v in data]
    if encoding != "base64":
        raise ValueError(f"unsupported tile layer encoding {encoding!r}")
    raw = base64.b64decode(data)
    if compression == "zlib":
        raw = zlib.decompress(raw)
    elif compression == "gzip":
        raw = gzip.decompress(raw)
    elif compression:
        raise ValueError(f"unsupported tile layer compression {compression!r} (use zlib or gzip)")
    return list(struct.unpack(f"<{len(raw) // 4}I", raw))


def _area(obj: dict, tw: int, th: int) -> Area:
    """A Tiled rectangle object (pixels) as an Area (tiles, rounded outwards)."""
    x0, y0 = math.floor(obj["x"] / tw), math.floor(obj["y"] / th)
    x1 = max(math.ceil((obj["x"] + obj.get("width", 0)) / tw), x0 + 1)
    y1 = max(math.ceil((obj["y"] + obj.get("height", 0)) / th), y0 + 1)
    kind = obj.get("type") or obj.get("class") or ""
    return Area(str(obj["name"]), str(kind), x0, y0, x1 - x0, y1 - y0)
