"""The town layout: where every road, building, tree and area goes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import props as pr
from . import terrain as tr
from .buildings import Building, render
from .canvas import MapCanvas
from .gfx import T, rng, seed

W, H = 64, 48


@dataclass
class Town:
    cv: MapCanvas = field(default_factory=lambda: MapCanvas(W, H))
    paved: dict[tuple[int, int], str] = field(default_factory=dict)
    water: set[tuple[int, int]] = field(default_factory=set)
    busy: set[tuple[int, int]] = field(default_factory=set)  # no wild flowers here
    areas: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    spawns: list[tuple[int, int]] = field(default_factory=list)
    doors: list[tuple[int, int]] = field(default_factory=list)

    # -- terrain ------------------------------------------------------
    def road(self, kind: str, x0: int, y0: int, x1: int, y1: int) -> None:
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                self.paved[(x, y)] = kind

    def unpave(self, x0: int, y0: int, x1: int, y1: int) -> None:
        for y in range(y0, y1 + 1):
            for x in range(x0, x1 + 1):
                self.paved.pop((x, y), None)

    # -- objects ------------------------------------------------------
    def mark(self, x0: int, y0: int, w: int, h: int) -> None:
        for y in range(y0, y0 + h):
            for x in range(x0, x0 + w):
                self.busy.add((x, y))

    def building(self, b: Building, x: int, y: int, area: str | None = None, yard: int = 2) -> None:
        img = render(b)
        self.cv.stamp("buildings", img, x * T, y * T)
        self.mark(x, y, b.w, b.h)
        for r in range(b.h):
            for c in range(b.w):
                self.cv.block(x + c, y + r)
        for dc, dr in b.door_cells:
            self.cv.open[y + dr, x + dc] = True
            self.doors.append((x + dc, y + dr))
            if b.style in ("library", "hall", "workshop"):
                self.cv.open[y + dr, x + dc + 1] = True
        if area:
            self.areas.append((area, x, y + b.h, b.w, yard))

    def tree(self, kind: str, x: int, y: int) -> None:
        """Tree whose 2x2 canopy covers (x..x+1, y..y+1) and trunk row is y+2."""
        self.cv.split(pr.tree(kind), x, y, over_rows=2)
        self.mark(x, y + 2, 2, 1)

    def pine(self, x: int, y: int) -> None:
        self.cv.split(pr.pine(), x, y, over_rows=1)
        self.mark(x, y + 1, 1, 1)

    def thing(self, img: np.ndarray, x: int, y: int, over_rows: int = 0, solid: int = -1) -> None:
        rows = img.shape[0] // T
        solid_rows = rows - over_rows if solid < 0 else solid
        self.cv.split(img, x, y, over_rows=over_rows, solid_rows=solid_rows)
        self.mark(x, y, img.shape[1] // T, rows)

    def deco(self, img: np.ndarray, x: int, y: int) -> None:
        """Walkable decoration on the detail layer."""
        self.cv.stamp("detail", img, x * T, y * T, z=10**7)
        self.busy.add((x, y))

    def hedge(self, x0: int, x1: int, y: int) -> None:
        for x in range(x0, x1 + 1):
            part = "s" if x0 == x1 else "l" if x == x0 else "r" if x == x1 else "m"
            self.thing(pr.hedge(part), x, y)

    def fence(self, x0: int, x1: int, y: int) -> None:
        for x in range(x0, x1 + 1):
            self.thing(pr.fence("h"), x, y)

    def vfence(self, x: int, y0: int, y1: int) -> None:
        for y in range(y0, y1 + 1):
            self.thing(pr.fence("v"), x, y)

    def bed(self, x0: int, x1: int, y: int, colour: int) -> None:
        for x in range(x0, x1 + 1):
            part = "s" if x0 == x1 else "l" if x == x0 else "r" if x == x1 else "m"
            self.thing(pr.flowerbed(part, colour), x, y)

    def area(self, name: str, x: int, y: int, w: int, h: int) -> None:
        self.areas.append((name, x, y, w, h))

    # -- painting -----------------------------------------------------
    def paint(self) -> MapCanvas:
        cv = self.cv
        gmask = [[(x, y) in self.water for x in range(W)] for y in range(H)]
        pmask = [[(x, y) in self.paved for x in range(W)] for y in range(H)]
        for y in range(H):
            for x in range(W):
                if (x, y) in self.water:
                    tile = tr.water(tr.mask_at(gmask, x, y))
                    cv.block(x, y)
                else:
                    s = seed("g", x, y) % 100
                    tile = tr.grass(0 if s < 40 else 1 if s < 65 else 2 if s < 85 else 3 + s % 2)
                cv.img["ground"][y * T : (y + 1) * T, x * T : (x + 1) * T] = tile
                if (x, y) in self.paved:
                    kind = self.paved[(x, y)]
                    cv.stamp("detail", tr.path(kind, tr.mask_at(pmask, x, y)), x * T, y * T, z=0)
        r = rng("wildflowers")
        for y in range(2, H - 2):
            for x in range(2, W - 2):
                if (x, y) in self.paved or (x, y) in self.water or (x, y) in self.busy:
                    continue
                if cv.solid[y, x]:
                    continue
                if r.random() < 0.07:
                    cv.stamp("detail", tr.flowers(int(r.integers(0, 12))), x * T, y * T, z=1)
        # map border always collides
        cv.solid[:, 0] = cv.solid[:, -1] = True
        cv.solid[0, :] = cv.solid[-1, :] = True
        cv.flush()
        return cv
