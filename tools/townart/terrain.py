"""Ground textures and auto-tiled terrain edges (paths, plaza, water)."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from .gfx import P, T, dilate, erode, new, rng, shift

# Neighbour flags order used everywhere: N, NE, E, SE, S, SW, W, NW
DIRS = ((0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1))


def normalise(mask: tuple[bool, ...]) -> tuple[bool, ...]:
    """Diagonals only matter when both neighbouring sides are present."""
    n, ne, e, se, s, sw, w, nw = mask
    return (n, ne and n and e, e, se and s and e, s, sw and s and w, w, nw and n and w)


def _wobble() -> np.ndarray:
    t = np.arange(T)
    v = 0.9 * np.sin(2 * math.pi * t / 16) + 0.6 * np.sin(2 * math.pi * 3 * t / 32 + 1.3)
    return np.round(v).astype(int)


WOB = _wobble()


@cache
def shape(mask: tuple[bool, ...], m0: int = 4, radius: int = 6, pad: int = 3) -> np.ndarray:
    """Inside-mask of an auto-tile, computed with `pad` pixels of context on every side."""
    n, ne, e, se, s, sw, w, nw = normalise(mask)
    size = T + 2 * pad
    ys, xs = np.mgrid[0:size, 0:size] - pad
    inside = np.ones((size, size), bool)
    rx = np.where(xs < 0, -1, np.where(xs >= T, 1, 0))
    ry = np.where(ys < 0, -1, np.where(ys >= T, 1, 0))
    flags = {
        (0, -1): n, (1, -1): ne, (1, 0): e, (1, 1): se,
        (0, 1): s, (-1, 1): sw, (-1, 0): w, (-1, -1): nw,
    }  # fmt: skip
    for (dx, dy), f in flags.items():
        if not f:
            inside &= ~((rx == dx) & (ry == dy))
    mx = m0 + WOB[xs % T]
    my = m0 + WOB[(ys + 7) % T]
    if not n:
        inside &= ys >= mx
    if not s:
        inside &= ys <= T - 1 - mx
    if not w:
        inside &= xs >= my
    if not e:
        inside &= xs <= T - 1 - my
    fx, fy = xs + 0.5, ys + 0.5
    # outer corners: round them off
    for has_a, has_b, cx, cy in (
        (n, w, m0 + radius, m0 + radius),
        (n, e, T - m0 - radius, m0 + radius),
        (s, w, m0 + radius, T - m0 - radius),
        (s, e, T - m0 - radius, T - m0 - radius),
    ):
        if not has_a and not has_b:
            sx = np.sign(fx - cx)
            sy = np.sign(fy - cy)
            cornerx = sx == (1 if cx > T / 2 else -1)
            cornery = sy == (1 if cy > T / 2 else -1)
            far = (fx - cx) ** 2 + (fy - cy) ** 2 > radius**2
            inside &= ~(cornerx & cornery & far)
    # inner corners: a small notch where only the diagonal is missing
    for a, b, d, cx, cy in ((n, w, nw, 0, 0), (n, e, ne, T, 0), (s, w, sw, 0, T), (s, e, se, T, T)):
        if a and b and not d:
            inside &= (fx - cx) ** 2 + (fy - cy) ** 2 >= (m0 + 1.5) ** 2
    return inside


def _crop(m: np.ndarray, pad: int = 3) -> np.ndarray:
    return m[pad : pad + T, pad : pad + T]


# ---------------------------------------------------------------- textures


@cache
def grass(variant: int = 0) -> np.ndarray:
    """Opaque 32x32 grass with tufts; variants differ in tuft layout."""
    r = rng("grass", variant)
    img = new(T, T)
    img[:, :] = P["grass2"]
    noise = r.random((T, T))
    img[noise < 0.05] = P["grass1"]
    img[noise > 0.965] = P["grass3"]
    for _ in range(3 + variant % 3):
        x, y = int(r.integers(0, T)), int(r.integers(0, T))
        for i in range(3):
            bx = x + i * 2 - (i == 1)
            top = y - (1 if i == 1 else 0)
            img[top % T, bx % T] = P["grass3"]
            img[(top + 1) % T, bx % T] = P["grass1"]
        for dx in range(-1, 5):
            img[(y + 2) % T, (x + dx) % T] = P["grass1"]
        img[(y + 1) % T, (x + 1) % T] = P["grass0"]
        img[(y + 1) % T, (x + 3) % T] = P["grass0"]
    if variant >= 3:  # light clover patches
        for _ in range(2):
            x, y = int(r.integers(0, T)), int(r.integers(0, T))
            for dx, dy in ((0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1), (3, 1), (1, 2), (2, 2)):
                img[(y + dy) % T, (x + dx) % T] = P["grass3"]
            img[y % T, (x + 1) % T] = P["grass4"]
            img[(y + 3) % T, (x + 2) % T] = P["grass1"]
    return img


FLOWER_COLS = (
    ("red1", "red3"),
    ("gold1", "gold3"),
    ("white", "plaster2"),
    ("bloom0", "bloom2"),
    ("plum2", "plum3"),
    ("blue2", "blue3"),
)


def flower(img: np.ndarray, x: int, y: int, col: int) -> None:
    """A 3x3 blossom with a stem, centred on (x, y)."""
    dark, light = (P[k] for k in FLOWER_COLS[col % len(FLOWER_COLS)])
    h, w = img.shape[:2]
    centre = P["gold2"] if col % len(FLOWER_COLS) != 1 else P["red2"]
    for dx, dy, k in ((0, 2, P["grass0"]), (1, 2, P["grass1"]), (-1, 2, P["grass1"])):
        if 0 <= y + dy < h and 0 <= x + dx < w:
            img[y + dy, x + dx] = k
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if 0 <= y + dy < h and 0 <= x + dx < w:
                diag = dx != 0 and dy != 0
                col_ = centre if dx == dy == 0 else dark if diag else light
                if diag and dx > 0 and dy > 0:
                    continue
                img[y + dy, x + dx] = col_


@cache
def flowers(variant: int) -> np.ndarray:
    """Transparent overlay with a little cluster of wild flowers."""
    r = rng("flowers", variant)
    img = new(T, T)
    cols = [int(variant % 6), int((variant * 5 + 2) % 6)]
    for i in range(4 + variant % 3):
        x, y = int(r.integers(3, 29)), int(r.integers(3, 27))
        flower(img, x, y, cols[i % 2])
    return img


@cache
def dirt() -> np.ndarray:
    r = rng("dirt")
    img = new(T, T)
    img[:, :] = P["dirt2"]
    noise = r.random((T, T))
    img[noise < 0.12] = P["dirt1"]
    img[noise > 0.92] = P["dirt3"]
    for _ in range(5):
        x, y = int(r.integers(0, T)), int(r.integers(0, T))
        img[y, x] = P["stone3"]
        img[y, (x + 1) % T] = P["stone2"]
        img[(y + 1) % T, x] = P["dirt1"]
        img[(y + 1) % T, (x + 1) % T] = P["dirt0"]
    return img


def _voronoi(seed_name: str, cells: int, jitter: float) -> tuple[np.ndarray, np.ndarray]:
    """Periodic Voronoi over the tile: (cell id, distance-to-border) per pixel."""
    r = rng(seed_name)
    step = T / cells
    pts = []
    for j in range(cells):
        for i in range(cells):
            off = (j % 2) * step / 2
            pts.append(
                (
                    (i * step + off + step / 2 + r.uniform(-jitter, jitter) * step) % T,
                    (j * step + step / 2 + r.uniform(-jitter, jitter) * step) % T,
                )
            )
    ys, xs = np.mgrid[0:T, 0:T] + 0.5
    d = np.full((len(pts), T, T), 1e9)
    for k, (px_, py_) in enumerate(pts):
        for ox in (-T, 0, T):
            for oy in (-T, 0, T):
                d[k] = np.minimum(d[k], np.hypot(xs - px_ - ox, ys - py_ - oy))
    order = np.sort(d, axis=0)
    return np.argmin(d, axis=0), order[1] - order[0]


@cache
def cobble() -> np.ndarray:
    ids, gap = _voronoi("cobble", 4, 0.25)
    r = rng("cobble-tone")
    tones = r.integers(0, 3, ids.max() + 1)
    img = new(T, T)
    base = [P["stone2"], P["stone3"], P["plaster1"]]
    for k in range(ids.max() + 1):
        img[ids == k] = base[tones[k]]
    cell = ids
    # light top-left / dark bottom-right rims per stone
    up = np.roll(cell, 1, 0) != cell
    left = np.roll(cell, 1, 1) != cell
    down = np.roll(cell, -1, 0) != cell
    right = np.roll(cell, -1, 1) != cell
    img[(up | left)] = P["stone4"]
    img[(down | right)] = P["stone1"]
    img[gap < 1.2] = P["stone0"]
    return img


@cache
def plaza() -> np.ndarray:
    """Large warm paving slabs in a running bond."""
    img = new(T, T)
    r = rng("plaza")
    tone = [P["stone3"], P["plaster2"], P["plaster2"], P["stone3"]]
    for row in range(2):
        y0 = row * 16
        off = 8 * row
        for k in range(3):
            x0 = (k * 16 + off) % T
            col = tone[(row * 2 + k) % 4]
            for dx in range(16):
                xx = (x0 + dx) % T
                img[y0 : y0 + 16, xx] = col
            for dx in range(16):
                xx = (x0 + dx) % T
                img[y0, xx] = P["stone4"]
                img[y0 + 15, xx] = P["stone1"]
            img[y0 : y0 + 16, x0 % T] = P["stone4"]
            img[y0 : y0 + 16, (x0 + 15) % T] = P["stone1"]
            img[y0 + 15, (x0 + 15) % T] = P["stone0"]
    for _ in range(14):
        x, y = int(r.integers(0, T)), int(r.integers(0, T))
        if tuple(img[y, x]) in (P["stone3"], P["plaster2"], P["plaster1"]):
            img[y, x] = P["stone2"]
    return img


@cache
def sand() -> np.ndarray:
    r = rng("sand")
    img = new(T, T)
    img[:, :] = P["sand1"]
    noise = r.random((T, T))
    img[noise < 0.12] = P["sand0"]
    img[noise > 0.9] = P["sand2"]
    return img


@cache
def water_tex() -> np.ndarray:
    img = new(T, T)
    img[:, :] = P["water1"]
    r = rng("water")
    noise = r.random((T, T))
    img[noise < 0.08] = P["water0"]
    for _ in range(5):
        x, y = int(r.integers(0, T)), int(r.integers(0, T))
        ln = int(r.integers(3, 6))
        for dx in range(ln):
            img[y, (x + dx) % T] = P["water2"]
        img[(y - 1) % T, (x + 1) % T] = P["water3"]
        img[(y - 1) % T, (x + 2) % T] = P["water3"]
    return img


TEXTURES = {"dirt": dirt, "cobble": cobble, "plaza": plaza, "sand": sand}
EDGE = {
    "dirt": ("dirt1", "dirt0"),
    "cobble": ("stone1", "stone0"),
    "plaza": ("stone2", "stone1"),
    "sand": ("sand0", "dirt1"),
}


@cache
def path(kind: str, mask: tuple[bool, ...]) -> np.ndarray:
    """Transparent-edged path/plaza auto-tile for the given neighbour mask."""
    m0 = {"plaza": 2, "cobble": 3, "dirt": 4, "sand": 3}[kind]
    full = shape(mask, m0=m0, radius=5)
    tex = np.tile(TEXTURES[kind](), (3, 3, 1))[T - 3 : 2 * T + 3, T - 3 : 2 * T + 3]
    img = tex.copy()
    img[~full] = (0, 0, 0, 0)
    rim = full & ~erode(full)
    shade_n = full & (shift(~full, 0, 1) | shift(~full, 0, 2) | shift(~full, 1, 0))
    light, dark = (P[k] for k in EDGE[kind])
    img[shade_n & ~rim] = light
    img[rim] = dark
    # a fringe of grass blades overhanging the edge
    lip = dilate(full) & ~full
    ys, xs = np.mgrid[0 : T + 6, 0 : T + 6]
    blade = (xs + 3 * ys) % 4 == 0
    over_ = lip & blade
    img[over_] = P["grass1"]
    return _crop(img)


@cache
def water(mask: tuple[bool, ...]) -> np.ndarray:
    """Opaque pond tile: grass around, earthy bank on the north side, foam elsewhere."""
    full = shape(mask, m0=5, radius=7)
    tex = np.tile(water_tex(), (3, 3, 1))[T - 3 : 2 * T + 3, T - 3 : 2 * T + 3]
    gr = np.tile(grass(0), (3, 3, 1))[T - 3 : 2 * T + 3, T - 3 : 2 * T + 3]
    img = gr.copy()
    img[full] = tex[full]
    bank = full & (shift(~full, 0, 1) | shift(~full, 0, 2) | shift(~full, 0, 3))
    bank_lo = full & shift(~full, 0, 4) & ~bank
    shadow = full & (shift(~full, 0, 5) | shift(~full, 0, 6)) & ~bank & ~bank_lo
    side = full & (shift(~full, 1, 0) | shift(~full, -1, 0) | shift(~full, 0, -1))
    foam = full & (shift(~full, 2, 0) | shift(~full, -2, 0) | shift(~full, 0, -2)) & ~side
    img[foam] = P["water3"]
    img[side] = P["water4"]
    img[shadow] = P["water0"]
    img[bank_lo] = P["dirt0"]
    img[bank] = P["dirt1"]
    img[bank & shift(~full, 0, 1)] = P["dirt2"]
    rimg = dilate(full) & ~full
    img[rimg] = P["grass0"]
    return _crop(img)


def mask_at(grid_: list[list[bool]], x: int, y: int) -> tuple[bool, ...]:
    h, w = len(grid_), len(grid_[0])
    out = []
    for dx, dy in DIRS:
        xx, yy = x + dx, y + dy
        out.append(grid_[yy][xx] if 0 <= xx < w and 0 <= yy < h else True)
    return normalise(tuple(out))
