"""Layered map canvas: stamp images onto full-map layers, then cut them into unique tiles."""

from __future__ import annotations

import numpy as np

from .gfx import T, new, over

LAYERS = ("ground", "detail", "buildings", "overhead")


class MapCanvas:
    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.img = {name: new(w * T, h * T) for name in LAYERS}
        self.solid = np.zeros((h, w), bool)
        self.open = np.zeros((h, w), bool)  # forced walkable (doors, docks)
        self._stamps: list[tuple[str, int, int, int, int, np.ndarray]] = []

    def stamp(self, layer: str, img: np.ndarray, x: int, y: int, z: int | None = None) -> None:
        """Queue an image at pixel (x, y); stamps are composited in (z, order) order."""
        if z is None:
            z = y + img.shape[0]
        self._stamps.append((layer, z, len(self._stamps), x, y, img))

    def flush(self) -> None:
        for layer, _z, _n, x, y, img in sorted(self._stamps, key=lambda s: (s[1], s[2])):
            over(self.img[layer], img, x, y)
        self._stamps.clear()

    def split(self, img: np.ndarray, x: int, y: int, over_rows: int, solid_rows: int = 1) -> None:
        """Stamp a multi-tile object at tile (x, y): its top `over_rows` rows go to the
        overhead layer, the rest to the buildings layer; the bottom `solid_rows` collide."""
        rows = img.shape[0] // T
        cols = img.shape[1] // T
        z = (y + rows) * T
        if over_rows:
            self.stamp("overhead", img[: over_rows * T], x * T, y * T, z)
        if rows > over_rows:
            self.stamp("buildings", img[over_rows * T :], x * T, (y + over_rows) * T, z)
        for r in range(rows - solid_rows, rows):
            for c in range(cols):
                self.block(x + c, y + r)

    def block(self, x: int, y: int) -> None:
        if 0 <= x < self.w and 0 <= y < self.h:
            self.solid[y, x] = True

    def walkable(self) -> np.ndarray:
        return ~self.solid | self.open


class Tileset:
    """Unique 32x32 tiles, deduplicated by their bytes; gid = index + 1."""

    def __init__(self, columns: int = 16) -> None:
        self.columns = columns
        self.tiles: list[np.ndarray] = []
        self._index: dict[bytes, int] = {}

    def add(self, tile: np.ndarray) -> int:
        """Return the gid of a tile, adding it if new; fully transparent tiles are gid 0."""
        if tile[:, :, 3].max() == 0:
            return 0
        t = tile.copy()
        t[t[:, :, 3] == 0] = 0
        key = t.tobytes()
        if key not in self._index:
            self._index[key] = len(self.tiles)
            self.tiles.append(t)
        return self._index[key] + 1

    def add_image(self, img: np.ndarray) -> list[int]:
        h, w = img.shape[:2]
        return [self.add(img[y : y + T, x : x + T]) for y in range(0, h, T) for x in range(0, w, T)]

    def layer_gids(self, img: np.ndarray) -> list[int]:
        return self.add_image(img)

    def image(self) -> np.ndarray:
        rows = (len(self.tiles) + self.columns - 1) // self.columns
        out = new(self.columns * T, rows * T)
        for i, t in enumerate(self.tiles):
            x, y = (i % self.columns) * T, (i // self.columns) * T
            out[y : y + T, x : x + T] = t
        return out
