"""Buildings seen from the south in 3/4 view: roof on top, front wall with door below."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from .gfx import P, T, box, dither, ellipse, fill, hline, new, outline, over, px, rng, shift, vline
from .terrain import flower

ROOFS = {
    # dark, mid, light, highlight
    "terracotta": ("brick0", "brick1", "brick2", "brick3"),
    "slate": ("blue0", "blue1", "blue2", "blue3"),
    "teal": ("teal0", "teal1", "teal2", "teal3"),
    "plum": ("plum0", "plum1", "plum2", "plum3"),
    "mustard": ("gold0", "gold1", "gold2", "gold3"),
    "red": ("red0", "red1", "red2", "red3"),
    "brown": ("wood0", "wood1", "wood2", "wood3"),
}

ICONS = {
    "cup": [
        "..........",
        "...s..s...",
        "..s..s....",
        ".wwwwwww..",
        ".wwwwwwwww",
        ".wwwwwww.w",
        ".wwwwwwww.",
        "..wwwww...",
        ".ddddddd..",
    ],
    "book": [
        "..........",
        ".rrrr.bbbb",
        ".rwwr.bwwb",
        ".rrrr.bbbb",
        ".rwwr.bwwb",
        ".rrrrdbbbb",
        "..dddddd..",
    ],
    "bag": [
        "...dddd...",
        "..d....d..",
        ".gggggggg.",
        ".gggwwggg.",
        ".ggwggwgg.",
        ".gggwwggg.",
        ".gggggggg.",
    ],
    "abc": [
        ".w..ww..ww",
        "w.w.w.w.w.",
        "www.ww..w.",
        "w.w.w.w.w.",
        "w.w.ww..ww",
    ],
    "saw": [
        "..........",
        "ddd.......",
        "dwwwwwwww.",
        "dwwwwwwwww",
        "ddd.v.v.v.",
    ],
    "heart": [
        ".rr..rr.",
        "rrrrrrrr",
        "rrrrrrrr",
        ".rrrrrr.",
        "..rrrr..",
        "...rr...",
    ],
}
ICON_COLS = {
    "w": "white",
    "s": "stone2",
    "d": "wood0",
    "r": "red1",
    "b": "blue1",
    "g": "teal1",
    "v": "stone1",
}


def icon(img: np.ndarray, name: str, x: int, y: int) -> None:
    for j, row in enumerate(ICONS[name]):
        for i, ch in enumerate(row):
            if ch != ".":
                px(img, x + i, y + j, P[ICON_COLS[ch]])


@dataclass(frozen=True)
class Building:
    name: str
    w: int
    h: int
    roof_rows: int
    roof: str = "terracotta"
    wall: str = "plaster"
    doors: tuple[int, ...] = (1,)
    windows: tuple[tuple[int, int], ...] = ()  # (column, wall row from the top)
    style: str = "home"  # home, cafe, library, shop, hall, school, workshop
    shutters: str = "teal"
    chimney: int = -1  # tile column of a chimney, -1 for none
    extras: tuple[str, ...] = field(default_factory=tuple)

    @property
    def door_cells(self) -> list[tuple[int, int]]:
        return [(dc, self.h - 1) for dc in self.doors]


# ---------------------------------------------------------------- parts


def _roof(img, x0, x1, y0, y1, family, hip: int, key: str) -> None:
    """Shingled roof between x0..x1, y0..y1, lit from the top-left, hip-inset at the top."""
    d, m, lt, hi = (P[k] for k in ROOFS[family])
    h, w = img.shape[:2]
    r = rng("roof", key)
    ys, xs = np.mgrid[0:h, 0:w]
    frac = np.clip((ys - y0) / max(1, (y1 - y0)), 0, 1)
    inset = np.round(hip * (1 - frac)).astype(int)
    mask = (ys >= y0) & (ys <= y1) & (xs >= x0 + inset) & (xs <= x1 - inset)
    rh = 6
    row = (ys - y0 - 4) // rh
    in_row = (ys - y0 - 4) % rh
    offs = (row % 2) * 4
    sx = (xs - x0 + offs) % 8
    # each shingle takes one tone from the top-left light plus a little jitter
    jit = r.random((h // rh + 2, w // 8 + 3)) * 0.35
    jr = np.clip(row, 0, jit.shape[0] - 1)
    jc = np.clip((xs - x0 + offs) // 8, 0, jit.shape[1] - 1)
    srow_frac = np.clip((row * rh + rh / 2 + 4) / max(1, (y1 - y0)), 0, 1)
    light = 1.0 - srow_frac * 1.05 - (xs - x0) / max(1, x1 - x0) * 0.2 + jit[jr, jc]
    img[mask] = m
    img[mask & (light > 0.55)] = lt
    img[mask & (light > 0.95)] = hi
    img[mask & (light < 0.12)] = d
    img[mask & (in_row == rh - 1)] = d
    img[mask & (in_row == rh - 2) & ((sx == 0) | (sx == 7))] = d
    img[mask & (sx == 0) & (in_row < rh - 1)] = d
    img[mask & (in_row == 0) & (sx == 1)] = hi
    if hip:
        edge = mask & ((xs <= x0 + inset + 1) | (xs >= x1 - inset - 1)) & (ys < y1 - 3)
        img[edge] = d
        sl = mask & (xs <= x0 + inset + 2) & (xs > x0 + inset + 1) & (ys < y1 - 3)
        img[sl] = hi
    else:
        box(img, x0, y0, x0 + 1, y1, lt)
        box(img, x1 - 1, y0, x1, y1, d)
    # ridge cap and eave fascia
    ridge = mask & (ys >= y0) & (ys <= y0 + 4)
    img[ridge] = d
    img[mask & (ys == y0 + 1)] = hi
    img[mask & (ys == y0 + 2)] = lt
    box(img, x0, y1 - 3, x1, y1, d)
    hline(img, x0, x1, y1 - 3, lt)


def _gable(img, cx, y_base, half: int, height: int, wall: str, key: str, trim) -> None:
    """A front-facing gable (triangle of wall with a small window) rising into the roof."""
    h, w = img.shape[:2]
    tmp = new(w, h)
    _wall(tmp, 0, w - 1, 0, h - 1, wall, key + "g", base=False)
    ys, xs = np.mgrid[0:h, 0:w]
    tri = (ys <= y_base) & (ys >= y_base - height)
    tri &= np.abs(xs - cx + 0.5) <= (ys - (y_base - height)) * half / height
    img[tri] = tmp[tri]
    rim = tri & ~(shift(tri, 1, 1) & shift(tri, -1, 1))
    img[rim & (xs < cx)] = trim
    img[
        dilate_up(rim)
        & ~tri
        & (np.abs(xs - cx + 0.5) <= (ys - (y_base - height) + 3) * half / height)
    ] = trim
    fill(img, ellipse(w, h, cx, y_base - height * 0.45, 5, 5), P["white"])
    fill(img, ellipse(w, h, cx, y_base - height * 0.45, 4, 4), P["glass1"])
    px(img, cx - 2, int(y_base - height * 0.45) - 2, P["glass2"])
    hline(img, cx - 4, cx + 3, int(y_base - height * 0.45), P["white"])
    vline(img, cx, int(y_base - height * 0.45) - 4, int(y_base - height * 0.45) + 3, P["white"])


def dilate_up(m):
    return shift(m, 0, -1) | shift(m, -1, 0) | shift(m, 1, 0)


def _wall(img, x0, x1, y0, y1, kind: str, key: str, base: bool = True) -> None:
    r = rng("wall", key)
    if kind == "plaster" or kind == "timber":
        box(img, x0, y0, x1, y1, P["plaster2"])
        for _ in range((x1 - x0) * (y1 - y0) // 30):
            px(img, int(r.integers(x0, x1)), int(r.integers(y0, y1)), P["plaster1"])
        if kind == "timber":
            for x in range(x0, x1 + 1, 32):
                box(img, x, y0, x + 2, y1, P["wood1"])
            box(img, x1 - 2, y0, x1, y1, P["wood1"])
            hline(img, x0, x1, y0 + (y1 - y0) // 2, P["wood1"])
            hline(img, x0, x1, y0 + (y1 - y0) // 2 + 1, P["wood1"])
    elif kind == "brick":
        box(img, x0, y0, x1, y1, P["brick2"])
        for y in range(y0, y1 + 1):
            k = (y - y0) // 5
            if (y - y0) % 5 == 4:
                hline(img, x0, x1, y, P["brick1"])
                continue
            for x in range(x0 + (k % 2) * 5, x1 + 1, 10):
                px(img, x, y, P["brick1"])
        for _ in range((x1 - x0) * (y1 - y0) // 40):
            xx, yy = int(r.integers(x0, x1)), int(r.integers(y0, y1))
            px(img, xx, yy, P["brick3"] if r.random() < 0.5 else P["brick1"])
    elif kind in ("wood", "bluewood", "greenwood"):
        base = {"wood": ("wood2", "wood1", "wood3"), "bluewood": ("blue2", "blue1", "blue3")}
        base["greenwood"] = ("teal2", "teal1", "teal3")
        b, dk, lt = (P[k] for k in base[kind])
        box(img, x0, y0, x1, y1, b)
        for y in range(y0, y1 + 1, 6):
            hline(img, x0, x1, y, dk)
            hline(img, x0, x1, y + 1, lt)
        for _ in range((x1 - x0) // 6):
            xx, yy = int(r.integers(x0, x1)), y0 + 6 * int(r.integers(0, max(1, (y1 - y0) // 6)))
            vline(img, xx, yy + 1, yy + 5, dk)
    elif kind == "stone":
        box(img, x0, y0, x1, y1, P["stone3"])
        for y in range(y0, y1 + 1):
            k = (y - y0) // 8
            if (y - y0) % 8 == 7:
                hline(img, x0, x1, y, P["stone1"])
                continue
            if (y - y0) % 8 == 0:
                hline(img, x0, x1, y, P["stone4"])
            for x in range(x0 + (k % 2) * 7, x1 + 1, 14):
                px(img, x, y, P["stone1"])
    if not base:
        return
    box(img, x0, y1 - 4, x1, y1, P["stone1"])
    hline(img, x0, x1, y1 - 4, P["stone2"])
    for x in range(x0 + 3, x1, 9):
        px(img, x, y1 - 2, P["stone0"])


def _window(img, cx, y, shutter: str | None, box_flowers: bool, big: bool = False) -> None:
    w = 22 if big else 16
    h = 16 if big else 14
    x0 = cx - w // 2
    box(img, x0 - 1, y - 1, x0 + w, y + h, P["white"])
    box(img, x0 + 1, y + 1, x0 + w - 2, y + h - 2, P["glass1"])
    box(img, x0 + 1, y + 1, x0 + w - 2, y + 3, P["glass0"])
    for i in range(4):
        px(img, x0 + 3 + i, y + 8 - i, P["glass2"])
        px(img, x0 + 4 + i, y + 8 - i, P["glass2"])
    vline(img, cx - 1 + (w % 2), y + 1, y + h - 2, P["white"])
    hline(img, x0 + 1, x0 + w - 2, y + h // 2, P["white"])
    box(img, x0 - 2, y + h, x0 + w + 1, y + h + 1, P["wood3"])
    hline(img, x0 - 2, x0 + w + 1, y + h + 2, P["wood1"])
    if shutter:
        for sx in (x0 - 6, x0 + w + 1):
            box(img, sx, y - 1, sx + 4, y + h - 1, P[f"{shutter}2"])
            box(img, sx + 3, y - 1, sx + 4, y + h - 1, P[f"{shutter}1"])
            for yy in range(y + 1, y + h - 1, 3):
                hline(img, sx + 1, sx + 3, yy, P[f"{shutter}1"])
    if box_flowers:
        box(img, x0 - 1, y + h + 2, x0 + w, y + h + 6, P["wood1"])
        hline(img, x0 - 1, x0 + w, y + h + 2, P["wood2"])
        for i, fx in enumerate(range(x0 + 1, x0 + w, 4)):
            flower(img, fx, y + h + 1 - (i % 2), (i + cx // 32) % 6)


def _door(img, cx, y1, double: bool, col: str = "wood") -> None:
    """Door whose bottom sits on the wall foundation line y1."""
    w = 36 if double else 18
    h = 27
    x0 = cx - w // 2
    y0 = y1 - h
    box(img, x0 - 2, y0 - 2, x0 + w + 1, y1, P["stone2"] if double else P["wood1"])
    fill(
        img,
        ellipse(*img.shape[1::-1], cx, y0 + 2, w / 2 + 2, 6)
        & (np.mgrid[: img.shape[0], : img.shape[1]][0] < y0 + 2),
        P["stone2"] if double else P["wood1"],
    )
    dmain, dlt, ddk = {
        "wood": ("wood2", "wood3", "wood1"),
        "red": ("red1", "red2", "red0"),
        "blue": ("blue1", "blue2", "blue0"),
        "green": ("teal1", "teal2", "teal0"),
    }[col]
    box(img, x0, y0, x0 + w - 1, y1, P[dmain])
    fill(
        img,
        ellipse(*img.shape[1::-1], cx, y0 + 2, w / 2, 4)
        & (np.mgrid[: img.shape[0], : img.shape[1]][0] < y0 + 2),
        P[dmain],
    )
    for x in range(x0 + 3, x0 + w - 1, 5):
        vline(img, x, y0 + 1, y1, P[ddk])
    vline(img, x0, y0, y1, P[dlt])
    box(img, x0 + 3, y0 + 3, x0 + w - 4, y0 + 8, P["glass1"])
    hline(img, x0 + 3, x0 + w - 4, y0 + 3, P["glass2"])
    if double:
        vline(img, cx, y0 - 2, y1, P[ddk])
        px(img, cx - 3, y0 + 15, P["gold2"])
        px(img, cx + 2, y0 + 15, P["gold2"])
    else:
        box(img, x0 + w - 5, y0 + 14, x0 + w - 4, y0 + 15, P["gold2"])
    # doorstep
    box(img, x0 - 3, y1 - 1, x0 + w + 2, y1 + 1, P["stone3"])
    hline(img, x0 - 3, x0 + w + 2, y1 + 1, P["stone1"])


def _board(img, cx, y, name: str, w: int = 22) -> None:
    """A hanging wooden sign with an icon."""
    x0 = cx - w // 2
    box(img, x0, y, x0 + w - 1, y + 13, P["wood1"])
    box(img, x0 + 1, y + 1, x0 + w - 2, y + 12, P["wood3"])
    hline(img, x0 + 1, x0 + w - 2, y + 1, P["wood4"])
    icon(img, name, cx - 5, y + 3)


def _awning(img, x0, x1, y, col: str, depth: int = 12) -> None:
    stripe = (P[f"{col}2"], P["plaster3"])
    for yy in range(y, y + depth):
        for x in range(x0, x1 + 1):
            img[yy, x] = stripe[((x - x0) // 8) % 2]
    hline(img, x0, x1, y, P[f"{col}1"])
    for x in range(x0, x1 + 1, 8):
        k = ((x - x0) // 8) % 2
        sc = ellipse(img.shape[1], img.shape[0], x + 4, y + depth, 4, 3)
        sc &= np.mgrid[: img.shape[0], : img.shape[1]][0] >= y + depth
        img[sc] = stripe[k]
    for x in range(x0, x1 + 1):
        if img[y + depth - 1, x, 0] == stripe[0][0]:
            img[y + depth - 2 : y + depth, x] = P[f"{col}1"]


# ---------------------------------------------------------------- assembly


@cache
def render(b: Building) -> np.ndarray:
    W, H = b.w * T, b.h * T
    img = new(W, H)
    eave = b.roof_rows * T + 2 - (14 if b.style in ("home", "workshop") else 0)
    wall_top = eave - 8
    wx0, wx1 = 5, W - 6
    # soft shadow on the ground to the right
    sh = new(W, H)
    box(sh, wx1 - 2, wall_top + 8, W - 1, H - 4, P["shadow"])
    over(img, sh)
    _wall(img, wx0, wx1, wall_top, H - 4, b.wall, b.name)
    band = np.zeros(img.shape[:2], bool)
    band[eave + 1 : eave + 6, wx0 : wx1 + 1] = True
    sel = band & (np.arange(H)[:, None] < eave + 4) | dither(band, 0.5)
    img[sel, :3] = (img[sel, :3].astype(int) * 2 // 3).astype(np.uint8)
    wall_rows = b.h - b.roof_rows
    # windows
    for col, row in b.windows:
        cx = col * T + 16
        top = (
            (H - 36 if row == wall_rows - 1 else eave + 7)
            if b.style in ("home", "workshop")
            else eave + 6 + row * T
        )
        big = b.style in ("cafe", "shop", "school")
        home = b.style == "home"
        _window(img, cx, top, b.shutters if home else None, home and row == wall_rows - 1, big)
    # doors
    for dc in b.doors:
        double = b.style in ("library", "hall", "workshop")
        col = {"home": ["wood", "red", "blue", "green"][len(b.name) % 4]}.get(b.style, "wood")
        cx = dc * T + (32 if double else 16)
        _door(img, cx, H - 5, double, col)
        if double:
            break
    # style extras
    mid = W // 2
    if b.style == "cafe":
        _awning(img, wx0 - 2, wx1 + 2, H - 48, "red", 10)
        _board(img, b.doors[0] * T + 16, eave + 10, "cup")
    elif b.style == "shop":
        _awning(img, wx0 - 2, wx1 + 2, H - 48, "teal", 10)
        _board(img, b.doors[0] * T + 16, eave + 10, "bag")
    elif b.style == "library":
        for x in range(wx0 + 4, wx1, T):
            if any(abs(x + 3 - (dc * T + 32)) < 24 for dc in b.doors):
                continue
            box(img, x, eave, x + 6, H - 6, P["stone4"])
            vline(img, x + 5, eave, H - 6, P["stone2"])
            box(img, x - 1, eave + 1, x + 7, eave + 4, P["white"])
        _board(img, b.doors[0] * T + 32, eave + 4, "book", 24)
    elif b.style == "hall":
        dc = b.doors[0] * T + 32
        for x in (dc - 46, dc - 32, dc + 26, dc + 40):
            box(img, x, eave, x + 6, H - 6, P["stone4"])
            vline(img, x + 5, eave, H - 6, P["stone2"])
            box(img, x - 1, eave + 1, x + 7, eave + 4, P["white"])
            box(img, x - 1, H - 9, x + 7, H - 6, P["stone2"])
        for x in (dc - 80, dc + 70):
            box(img, x, eave + 8, x + 9, eave + 40, P["red1"])
            box(img, x, eave + 8, x + 2, eave + 40, P["red2"])
            for i in range(5):
                hline(img, x + i, x + 9 - i, eave + 40 + i, P["red1"])
            fill(img, ellipse(W, H, x + 5, eave + 20, 3, 3), P["gold2"])
            hline(img, x - 1, x + 10, eave + 7, P["gold1"])
    elif b.style == "school":
        _board(img, b.doors[0] * T + 16, eave + 8, "abc", 20)
    elif b.style == "workshop":
        _board(img, b.doors[0] * T + 32, eave + 6, "saw", 22)
    # roof over everything else on the wall's top
    hip = 14 if b.style in ("hall", "library", "school") else 0
    hip = 14 if b.style in ("hall", "library", "school") else 6
    top = {"hall": 24, "school": 16}.get(b.style, 12)
    if b.chimney >= 0:
        cx = b.chimney * T + 10
        box(img, cx, 2, cx + 11, top + 16, P["brick1"])
        box(img, cx, 2, cx + 3, top + 16, P["brick2"])
        box(img, cx - 1, 2, cx + 12, 5, P["stone1"])
        hline(img, cx - 1, cx + 12, 2, P["stone2"])
    _roof(img, 0, W - 1, top, eave, b.roof, hip, b.name)
    if b.chimney >= 0:
        box(img, cx, top - 1, cx + 11, top + 3, P["brick1"])
        box(img, cx, top - 1, cx + 3, top + 3, P["brick2"])
    if "gable" in b.extras:
        dc = b.doors[0] * T + 16
        trim = P["white"] if b.wall != "plaster" else P["wood1"]
        _gable(img, dc, eave, 30, 40, b.wall, b.name, trim)
    if b.style == "hall":
        _tower(img, mid)
    if b.style == "school":
        _bell(img, mid)
    if b.style in ("library", "hall"):
        _pediment(img, b.doors[0] * T + 32, eave)
    outline(img, P["ink"])
    return img


def _tower(img, cx) -> None:
    h, w = img.shape[:2]
    box(img, cx - 18, 20, cx + 17, 70, P["stone3"])
    box(img, cx + 10, 20, cx + 17, 70, P["stone2"])
    hline(img, cx - 18, cx + 17, 70, P["stone1"])
    clock = ellipse(w, h, cx, 40, 11, 11)
    fill(img, clock, P["white"])
    fill(img, clock & ~ellipse(w, h, cx, 40, 9, 9), P["gold1"])
    vline(img, cx, 33, 40, P["ink"])
    hline(img, cx, cx + 5, 40, P["ink"])
    for dx, dy in ((0, -7), (7, 0), (0, 7), (-7, 0)):
        px(img, cx + dx, 40 + dy, P["stone0"])
    box(img, cx - 6, 56, cx + 5, 68, P["glass0"])
    hline(img, cx - 6, cx + 5, 56, P["glass1"])
    box(img, cx - 21, 17, cx + 20, 21, P["stone2"])
    hline(img, cx - 21, cx + 20, 17, P["stone4"])
    for i in range(16):
        hw = max(1, 20 - i * 5 // 4)
        hline(img, cx - hw, cx + hw - 1, 16 - i, P["teal1"] if i % 3 else P["teal0"])
        px(img, cx - hw, 16 - i, P["teal3"])
    vline(img, cx, 0, 4, P["gold1"])
    box(img, cx + 1, 0, cx + 7, 3, P["red2"])


def _bell(img, cx) -> None:
    box(img, cx - 10, 4, cx + 9, 24, P["plaster3"])
    box(img, cx - 6, 8, cx + 5, 22, P["glass0"])
    fill(img, ellipse(img.shape[1], img.shape[0], cx, 16, 4, 5), P["gold2"])
    px(img, cx - 2, 13, P["gold3"])
    for y in range(0, 6):
        hline(img, cx - 3 - y * 2, cx + 2 + y * 2, y, P["blue1"])


def _pediment(img, cx, y_base) -> None:
    for i in range(18):
        hline(img, cx - 8 - i * 2, cx + 7 + i * 2, y_base - 18 + i, P["stone3"])
    hline(img, cx - 44, cx + 43, y_base, P["white"])
    hline(img, cx - 44, cx + 43, y_base - 1, P["stone2"])
    for i in range(19):
        px(img, cx - 8 - i * 2, y_base - 18 + i, P["white"])
        px(img, cx + 7 + i * 2, y_base - 18 + i, P["white"])
    fill(img, ellipse(img.shape[1], img.shape[0], cx, y_base - 7, 5, 5), P["glass1"])
    px(img, cx - 2, y_base - 9, P["glass2"])
