"""Trees, bushes, fences and street furniture, each drawn as a small RGBA image."""

from __future__ import annotations

from functools import cache

import numpy as np

from .gfx import (
    P,
    T,
    box,
    dither,
    edge_in,
    ellipse,
    fill,
    hline,
    new,
    outline,
    over,
    px,
    rng,
    shadow_ellipse,
    shift,
    vline,
)

LEAVES = {
    "oak": ("leaf0", "leaf1", "leaf2", "leaf3", "leaf4"),
    "blossom": ("plum1", "bloom0", "bloom1", "bloom2", "white"),
    "autumn": ("brick0", "gold0", "gold1", "gold2", "gold3"),
    "apple": ("leaf0", "leaf1", "leaf2", "leaf3", "leaf4"),
}


def _clumps(img: np.ndarray, clumps, cols, name: str) -> None:
    """Draw overlapping leaf clumps back-to-front, each lit from the top-left."""
    h, w = img.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    r = rng("clump", name)
    sil = np.zeros((h, w), bool)
    for cx, cy, rad in clumps:
        m = ellipse(w, h, cx, cy, rad, rad * 0.92)
        d = np.hypot(xs - (cx - rad * 0.45), ys - (cy - rad * 0.5)) / (rad * 1.55)
        light = np.clip(1.0 - d, 0, 1)
        img[m] = P[cols[1]]
        img[dither(m, light * 1.9)] = P[cols[2]]
        img[dither(m, light * 1.9 - 0.75)] = P[cols[3]]
        img[dither(m, light * 2.2 - 1.55)] = P[cols[4]]
        rim = m & ~shift(m, -1, -1) & ~sil
        img[rim] = P[cols[0]]
        sil |= m
    noise = r.random((h, w))
    img[sil & (noise < 0.05)] = P[cols[1]]
    img[sil & (noise > 0.97)] = P[cols[3]]


@cache
def tree(kind: str = "oak") -> np.ndarray:
    """A 2x3-tile tree: canopy in the top two rows, trunk in the bottom row."""
    img = new(64, 96)
    shadow_ellipse(img, 34, 86, 22, 7, 80)
    # trunk with root flare
    box(img, 27, 58, 37, 86, P["wood1"])
    box(img, 25, 82, 39, 87, P["wood1"])
    box(img, 28, 58, 30, 84, P["wood2"])
    vline(img, 34, 62, 80, P["wood0"])
    px(img, 31, 70, P["wood0"])
    px(img, 31, 71, P["wood0"])
    box(img, 36, 58, 37, 86, P["wood0"])
    trunk = new(64, 96)
    trunk[img[:, :, 3] == 255] = img[img[:, :, 3] == 255]
    outline(trunk, P["wood0"])
    over(img, trunk)
    cols = LEAVES[kind]
    canopy = new(64, 96)
    clumps = [
        (32, 22, 14), (17, 32, 12), (47, 32, 12), (24, 44, 13), (41, 44, 13),
        (32, 34, 15), (32, 54, 11), (15, 48, 9), (50, 48, 9),
    ]  # fmt: skip
    _clumps(canopy, clumps, cols, kind)
    outline(canopy, P[cols[0]] if kind != "oak" else P["ink"])
    if kind == "apple":
        r = rng("apples")
        for _ in range(9):
            x, y = int(r.integers(12, 52)), int(r.integers(18, 56))
            if canopy[y, x, 3] and canopy[y + 1, x + 1, 3]:
                box(canopy, x, y, x + 1, y + 1, P["red1"])
                px(canopy, x, y, P["red3"])
    over(img, canopy)
    return img


@cache
def pine() -> np.ndarray:
    """A 1x2-tile conifer: top tile overhead, bottom tile trunk."""
    img = new(32, 64)
    shadow_ellipse(img, 17, 58, 12, 4, 80)
    box(img, 14, 48, 18, 59, P["wood1"])
    box(img, 17, 48, 18, 59, P["wood0"])
    tiers = [(8, 6), (18, 10), (28, 13), (38, 15)]
    cone = new(32, 64)
    for i, (ty, half) in enumerate(tiers):
        for y in range(ty, ty + 13):
            f = (y - ty) / 12
            hw = min(15, int(2 + half * f))
            for x in range(16 - hw, 16 + hw):
                light = (x < 16) and (y - ty) < 9
                cone[y, x] = P["leaf2"] if light else P["leaf1"]
            if f > 0.75:
                for x in range(16 - hw, 16 + hw, 3):
                    cone[y, x] = P["leaf0"]
        hline(cone, 16 - 2 - int(half * 0.6), 14, ty + 4 + i % 2, P["leaf3"])
    px(cone, 15, 5, P["leaf3"])
    px(cone, 16, 5, P["leaf2"])
    outline(cone, P["ink"])
    over(img, cone)
    return img


@cache
def bush(kind: str = "plain") -> np.ndarray:
    img = new(T, T)
    shadow_ellipse(img, 18, 27, 13, 4, 80)
    b = new(T, T)
    _clumps(b, [(11, 19, 7), (21, 19, 7), (16, 14, 8)], LEAVES["oak"], "bush" + kind)
    if kind == "berry":
        for x, y in ((10, 16), (17, 12), (22, 18), (14, 21), (19, 22)):
            box(b, x, y, x + 1, y + 1, P["red2"])
            px(b, x, y, P["red3"])
    elif kind == "flower":
        for x, y in ((9, 17), (16, 11), (23, 17), (13, 21), (20, 21), (18, 16)):
            px(b, x, y, P["bloom2"])
            px(b, x + 1, y, P["bloom1"])
            px(b, x, y + 1, P["bloom1"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def hedge(part: str) -> np.ndarray:
    """Hedge segment: part in {'l', 'm', 'r', 's'} (left, middle, right, single)."""
    img = new(T, T)
    box(img, 0, 26, T - 1, 29, P["shadow"])
    h = new(T, T)
    x0 = 3 if part in "ls" else 0
    x1 = 28 if part in "rs" else T - 1
    box(h, x0, 6, x1, 25, P["leaf2"])
    box(h, x0, 18, x1, 25, P["leaf1"])
    r = rng("hedge", part)
    for _ in range(40):
        x, y = int(r.integers(x0, x1 + 1)), int(r.integers(7, 24))
        px(h, x, y, P["leaf3"] if y < 16 else P["leaf0"])
    hline(h, x0, x1, 6, P["leaf3"])
    hline(h, x0, x1, 7, P["leaf4"])
    for x in range(x0, x1 + 1, 4):
        px(h, x + 1, 5, P["leaf3"])
    if part in "ls":
        vline(h, x0, 8, 24, P["leaf1"])
    outline(h, P["ink"])
    if part in "mr":
        h[:, 0] = np.where(h[:, 1:2, 3] > 0, h[:, 1], h[:, 0])
    if part in "lm":
        h[:, T - 1] = np.where(h[:, T - 2 : T - 1, 3] > 0, h[:, T - 2], h[:, T - 1])
    over(img, h)
    return img


@cache
def fence(part: str) -> np.ndarray:
    """Picket fence: 'h' horizontal run, 'v' vertical run, 'p' lone post."""
    img = new(T, T)
    f = new(T, T)
    if part == "h":
        box(img, 0, 27, T - 1, 28, P["shadow"])
        for x0 in (2, 10, 18, 26):
            box(f, x0, 10, x0 + 4, 26, P["plaster3"])
            box(f, x0 + 3, 12, x0 + 4, 26, P["plaster1"])
            px(f, x0, 10, (0, 0, 0, 0))
            px(f, x0 + 4, 10, (0, 0, 0, 0))
        box(f, 0, 14, T - 1, 16, P["plaster2"])
        box(f, 0, 21, T - 1, 23, P["plaster2"])
        hline(f, 0, T - 1, 16, P["plaster0"])
        hline(f, 0, T - 1, 23, P["plaster0"])
    elif part == "v":
        box(img, 16, 0, 19, T - 1, P["shadow"])
        box(f, 13, 0, 17, T - 1, P["plaster2"])
        box(f, 16, 0, 17, T - 1, P["plaster0"])
        box(f, 12, 8, 18, 12, P["plaster3"])
        box(f, 12, 24, 18, 28, P["plaster3"])
    else:
        box(img, 13, 27, 21, 28, P["shadow"])
        box(f, 12, 10, 18, 26, P["plaster3"])
        box(f, 16, 12, 18, 26, P["plaster1"])
    outline(f, P["wood0"])
    over(img, f)
    return img


@cache
def bench() -> np.ndarray:
    """A 2x1 park bench facing the viewer."""
    img = new(64, T)
    box(img, 6, 27, 60, 29, P["shadow"])
    b = new(64, T)
    for y in (6, 11):
        box(b, 4, y, 59, y + 3, P["wood3"])
        hline(b, 4, 59, y, P["wood4"])
        hline(b, 4, 59, y + 3, P["wood1"])
    box(b, 3, 17, 60, 21, P["wood2"])
    hline(b, 3, 60, 17, P["wood4"])
    hline(b, 3, 60, 21, P["wood1"])
    for x in (7, 54):
        box(b, x, 4, x + 2, 27, P["stone0"])
        px(b, x, 4, P["stone1"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def lamp() -> np.ndarray:
    """A 1x2 street lamp: lantern in the top tile, post and base in the bottom."""
    img = new(T, 64)
    shadow_ellipse(img, 19, 59, 8, 3, 80)
    glow = new(T, 64)
    glow[ellipse(T, 64, 16, 17, 14, 13)] = (255, 214, 120, 36)
    over(img, glow)
    lp = new(T, 64)
    box(lp, 15, 26, 17, 58, P["blue0"])
    px(lp, 15, 30, P["blue1"])
    vline(lp, 15, 27, 56, P["blue1"])
    box(lp, 12, 56, 20, 59, P["blue0"])
    hline(lp, 12, 20, 56, P["blue1"])
    box(lp, 10, 10, 22, 12, P["blue0"])
    box(lp, 11, 13, 21, 24, P["gold3"])
    box(lp, 11, 13, 13, 24, P["gold2"])
    vline(lp, 16, 13, 24, P["blue0"])
    box(lp, 11, 24, 21, 26, P["blue0"])
    box(lp, 13, 7, 19, 9, P["blue0"])
    px(lp, 16, 6, P["blue0"])
    outline(lp, P["ink"])
    over(img, lp)
    return img


@cache
def signpost(kind: int = 0) -> np.ndarray:
    img = new(T, T)
    box(img, 15, 28, 22, 29, P["shadow"])
    s = new(T, T)
    box(s, 14, 12, 17, 28, P["wood1"])
    vline(s, 14, 12, 28, P["wood2"])
    box(s, 4, 5, 27, 14, P["wood3"])
    hline(s, 4, 27, 5, P["wood4"])
    hline(s, 4, 27, 14, P["wood1"])
    if kind == 0:  # arrow
        box(s, 7, 9, 20, 10, P["wood1"])
        for i in range(3):
            vline(s, 21 + i, 7 + i, 12 - i, P["wood1"])
    else:
        for x in range(7, 25, 4):
            hline(s, x, x + 2, 9, P["wood1"])
            hline(s, x + 1, x + 2, 11, P["wood1"])
    outline(s, P["ink"])
    over(img, s)
    return img


@cache
def fountain() -> np.ndarray:
    """A 4x4 round fountain (top row is the spray, drawn above characters)."""
    img = new(128, 128)
    shadow_ellipse(img, 68, 110, 60, 14, 70)
    f = new(128, 128)
    outer = ellipse(128, 128, 64, 92, 60, 30)
    inner = ellipse(128, 128, 64, 90, 50, 22)
    fill(f, outer, P["stone2"])
    lip = outer & ~shift(outer, 0, 3)
    fill(f, lip, P["stone1"])  # the visible front face of the rim
    fill(f, outer & shift(outer, 0, 4) & ~shift(outer, 0, 1) & ~lip, P["stone3"])
    front = ellipse(128, 128, 64, 96, 60, 30) & ~ellipse(128, 128, 64, 90, 60, 30)
    fill(f, front & outer, P["stone1"])
    fill(f, inner, P["water1"])
    fill(f, inner & ~shift(inner, 0, 4), P["water0"])
    fill(f, edge_in(inner) & ~shift(inner, 0, -1), P["water0"])
    r = rng("fountain")
    for _ in range(22):
        x, y = int(r.integers(20, 108)), int(r.integers(74, 108))
        if inner[y, x] and inner[y, x + 3]:
            hline(f, x, x + 2, y, P["water3"])
    fill(f, edge_in(outer) & ~shift(outer, 0, 1), P["stone4"])
    # pillar and upper bowl
    box(f, 58, 46, 70, 90, P["stone2"])
    box(f, 58, 46, 61, 90, P["stone3"])
    box(f, 67, 46, 70, 90, P["stone1"])
    bowl = ellipse(128, 128, 64, 46, 24, 9)
    fill(f, bowl, P["stone2"])
    fill(f, bowl & ~shift(bowl, 0, 2), P["stone1"])
    water_b = ellipse(128, 128, 64, 44, 19, 5)
    fill(f, water_b, P["water2"])
    # spray
    spray = ellipse(128, 128, 64, 30, 5, 16)
    fill(f, spray, P["water3"])
    fill(f, ellipse(128, 128, 63, 26, 2, 11), P["water4"])
    for x, y in ((50, 40), (78, 40), (44, 50), (84, 50), (42, 60), (86, 62), (40, 72), (88, 74)):
        box(f, x, y, x + 1, y + 2, P["water3"])
        px(f, x, y, P["water4"])
    for x, y in ((52, 20), (74, 22), (58, 12), (70, 14)):
        px(f, x, y, P["water4"])
        px(f, x, y + 1, P["water3"])
    outline(f, P["ink"])
    over(img, f)
    return img


@cache
def stall(col: str = "red") -> np.ndarray:
    """A 3x3 market stall with a striped awning and a counter of produce."""
    img = new(96, 96)
    box(img, 8, 88, 92, 92, P["shadow"])
    s = new(96, 96)
    box(s, 8, 30, 11, 86, P["wood1"])
    box(s, 84, 30, 87, 86, P["wood1"])
    box(s, 10, 36, 85, 62, P["wood0"])  # dark back of the stall
    box(s, 4, 62, 91, 86, P["wood2"])
    for x in range(4, 92, 8):
        vline(s, x, 66, 86, P["wood1"])
    box(s, 2, 60, 93, 65, P["wood3"])
    hline(s, 2, 93, 60, P["wood4"])
    goods = [("red1", "red3"), ("gold1", "gold3"), ("leaf2", "leaf4"), ("plum1", "plum3")]
    for i, x0 in enumerate(range(10, 86, 19)):
        box(s, x0, 50, x0 + 15, 60, P["wood1"])
        dk, lt = (P[k] for k in goods[(i + len(col)) % 4])
        for j, (dx, dy) in enumerate(((2, 46), (7, 45), (11, 47), (4, 50), (9, 50))):
            box(s, x0 + dx, dy, x0 + dx + 3, dy + 3, dk)
            px(s, x0 + dx, dy, lt)
            px(s, x0 + dx + 1, dy + (j % 2), lt)
    stripe = (
        (P[f"{col}1"], P["white"])
        if col in ("red", "blue", "teal", "gold")
        else (P[col], P["white"])
    )
    for y in range(8, 34):
        inset = max(0, (20 - y) // 2)
        for x in range(inset, 96 - inset):
            s[y, x] = stripe[(x // 12) % 2]
    hline(s, 0, 95, 8, P["white"])
    for x in range(0, 96, 12):
        sc = ellipse(96, 96, x + 6, 34, 6, 5)
        k = (x // 12) % 2
        s[sc & (s[:, :, 3] == 0) | (sc & (np.mgrid[0:96, 0:96][0] >= 33))] = stripe[k]
    for y in range(8, 40):
        for x in range(96):
            if s[y, x, 3] and tuple(s[y, x]) == stripe[0] and y > 28:
                s[y, x] = P[f"{col}0"] if col in ("red", "blue", "teal", "gold") else stripe[0]
    outline(s, P["ink"])
    over(img, s)
    return img


@cache
def cafe_table() -> np.ndarray:
    """1x2: a parasol (top tile, overhead) over a round table with two chairs."""
    img = new(T, 64)
    shadow_ellipse(img, 18, 54, 14, 5, 70)
    t = new(T, 64)
    for x in (3, 25):
        box(t, x, 42, x + 4, 55, P["wood2"])
        box(t, x, 42, x + 4, 44, P["wood3"])
    box(t, 15, 26, 16, 52, P["stone0"])
    fill(t, ellipse(T, 64, 16, 46, 10, 4), P["white"])
    fill(t, ellipse(T, 64, 16, 47, 10, 4) & ~ellipse(T, 64, 16, 45, 10, 4), P["plaster1"])
    px(t, 14, 44, P["red1"])
    px(t, 15, 44, P["red1"])
    box(t, 18, 43, 19, 44, P["wood1"])
    um = ellipse(T, 64, 16, 20, 16, 9)
    ys, xs = np.mgrid[0:64, 0:T]
    seg = ((np.arctan2(ys - 24, xs - 15.5) * 3).astype(int)) % 2 == 0
    t[um & seg] = P["red2"]
    t[um & ~seg] = P["plaster3"]
    t[um & ~shift(um, 0, 2)] = P["red1"]
    px(t, 15, 10, P["stone0"])
    px(t, 16, 10, P["stone0"])
    outline(t, P["ink"])
    over(img, t)
    return img


@cache
def barrel() -> np.ndarray:
    img = new(T, T)
    shadow_ellipse(img, 18, 28, 11, 3, 80)
    b = new(T, T)
    box(b, 8, 8, 23, 27, P["wood2"])
    box(b, 8, 8, 11, 27, P["wood3"])
    box(b, 20, 8, 23, 27, P["wood1"])
    for y in (11, 23):
        hline(b, 8, 23, y, P["stone0"])
    fill(b, ellipse(T, T, 16, 8, 8, 3), P["wood1"])
    fill(b, ellipse(T, T, 16, 8, 6, 2), P["wood0"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def crates() -> np.ndarray:
    img = new(T, T)
    box(img, 5, 28, 30, 29, P["shadow"])
    b = new(T, T)
    for x0, y0, s in ((3, 14, 13), (16, 12, 13), (9, 3, 11)):
        box(b, x0, y0, x0 + s, y0 + s, P["wood3"])
        box(b, x0 + 2, y0 + 2, x0 + s - 2, y0 + s - 2, P["wood2"])
        for i in range(s - 4):
            px(b, x0 + 2 + i, y0 + 2 + i, P["wood1"])
        hline(b, x0, x0 + s, y0, P["wood4"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def flowerbed(part: str, colour: int = 0) -> np.ndarray:
    """Wood-edged raised bed full of flowers: part in l/m/r/s."""
    from .terrain import flower

    img = new(T, T)
    x0 = 2 if part in "ls" else 0
    x1 = 29 if part in "rs" else T - 1
    box(img, x0, 26, x1, 28, P["shadow"])
    b = new(T, T)
    box(b, x0, 12, x1, 25, P["wood2"])
    box(b, x0, 14, x1, 22, P["dirt0"])
    hline(b, x0, x1, 12, P["wood4"])
    hline(b, x0, x1, 23, P["wood1"])
    box(b, x0, 23, x1, 25, P["wood1"])
    r = rng("bed", part, colour)
    for x in range(x0 + 2, x1 - 1, 2):
        for y in (14, 16, 18, 20):
            if r.random() < 0.5:
                px(b, x, y, P["leaf1"] if r.random() < 0.5 else P["leaf2"])
    for i, x in enumerate(range(x0 + 4, x1 - 2, 6)):
        flower(b, x, 11 + (i % 2) * 5, colour + (i % 2) * 3)
    outline(b, P["ink"])
    if part in "mr":
        b[:, 0] = np.where(b[:, 1:2, 3] > 0, b[:, 1], b[:, 0])
    if part in "lm":
        b[:, T - 1] = np.where(b[:, T - 2 : T - 1, 3] > 0, b[:, T - 2], b[:, T - 1])
    over(img, b)
    return img


@cache
def rock(v: int = 0) -> np.ndarray:
    img = new(T, T)
    shadow_ellipse(img, 18, 24, 10, 3, 80)
    b = new(T, T)
    m = ellipse(T, T, 15, 19, 9 - v * 2, 6 - v)
    fill(b, m, P["stone1"])
    fill(b, m & ~shift(m, 1, 1), P["stone2"])
    fill(b, m & ~shift(m, 2, 2) & ~shift(m, 1, 1), P["stone3"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def lily(v: int = 0) -> np.ndarray:
    img = new(T, T)
    for cx, cy, rr in ((10, 12, 5), (22, 20, 4), (14 + v * 3, 24, 3))[: 2 + v % 2]:
        m = ellipse(T, T, cx, cy, rr, rr * 0.7)
        notch = (np.abs(np.mgrid[0:T, 0:T][1] - cx - rr / 2) < 1.2) & (np.mgrid[0:T, 0:T][0] < cy)
        fill(img, m & ~notch, P["leaf3"])
        fill(img, m & ~notch & ~shift(m, 0, -1), P["leaf1"])
    if v % 2 == 0:
        px(img, 10, 11, P["bloom2"])
        px(img, 9, 11, P["bloom1"])
        px(img, 11, 11, P["bloom1"])
        px(img, 10, 10, P["white"])
    return img


@cache
def reeds() -> np.ndarray:
    img = new(T, T)
    for i, x in enumerate((6, 9, 12, 20, 23, 26)):
        top = 8 + (i * 5) % 7
        vline(img, x, top, 26, P["leaf2"] if i % 2 else P["leaf1"])
        if i % 3 == 0:
            box(img, x - 1, top, x, top + 4, P["wood1"])
    return img


@cache
def mailbox(col: str = "red") -> np.ndarray:
    img = new(T, T)
    box(img, 14, 27, 22, 28, P["shadow"])
    b = new(T, T)
    box(b, 14, 14, 16, 27, P["wood1"])
    box(b, 9, 7, 21, 14, P[f"{col}1"])
    hline(b, 9, 21, 7, P[f"{col}2"])
    box(b, 19, 9, 20, 12, P["gold2"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def woodpile() -> np.ndarray:
    img = new(64, T)
    box(img, 4, 28, 62, 30, P["shadow"])
    b = new(64, T)
    for row, y in enumerate((20, 13, 6)):
        for x in range(4 + row * 4, 60 - row * 4, 8):
            fill(b, ellipse(64, T, x + 4, y + 4, 4, 4), P["wood2"])
            fill(b, ellipse(64, T, x + 4, y + 4, 2, 2), P["wood4"])
            px(b, x + 4, y + 4, P["wood3"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def well() -> np.ndarray:
    """A 2x2 stone well with a little roof; top row overhead."""
    img = new(64, 64)
    shadow_ellipse(img, 36, 58, 26, 6, 80)
    b = new(64, 64)
    fill(b, ellipse(64, 64, 32, 46, 20, 12), P["stone2"])
    fill(b, ellipse(64, 64, 32, 43, 15, 7), P["water0"])
    fill(b, ellipse(64, 64, 32, 50, 20, 8) & ~ellipse(64, 64, 32, 45, 20, 10), P["stone1"])
    box(b, 11, 14, 13, 44, P["wood1"])
    box(b, 51, 14, 53, 44, P["wood1"])
    for y in range(4, 18):
        hw = 10 + (y - 4) * 1.6
        hline(b, int(32 - hw), int(32 + hw), y, P["red1"] if y % 4 else P["red0"])
    hline(b, 22, 42, 4, P["red2"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def jetty() -> np.ndarray:
    """A 1x2 wooden jetty reaching into the pond (walkable)."""
    img = new(T, 64)
    box(img, 6, 4, 27, 63, P["shadow"])
    j = new(T, 64)
    box(j, 4, 0, 25, 60, P["wood3"])
    for y in range(0, 60, 6):
        hline(j, 4, 25, y, P["wood1"])
        hline(j, 4, 25, y + 1, P["wood4"])
    for x, y in ((3, 2), (25, 2), (3, 52), (25, 52)):
        box(j, x, y, x + 2, y + 10, P["wood1"])
    outline(j, P["wood0"])
    over(img, j)
    return img


@cache
def collision_marker() -> np.ndarray:
    img = new(T, T)
    img[:, :] = (220, 40, 60, 110)
    for i in range(T):
        img[i, i] = img[i, T - 1 - i] = (255, 255, 255, 200)
    return img


@cache
def planter() -> np.ndarray:
    """1x2 small tree in a stone planter box (top tile overhead)."""
    img = new(T, 64)
    box(img, 6, 58, 29, 60, P["shadow"])
    b = new(T, 64)
    box(b, 14, 30, 17, 46, P["wood1"])
    box(b, 16, 30, 17, 46, P["wood0"])
    _clumps(b, [(16, 14, 9), (10, 22, 7), (22, 22, 7), (16, 26, 7)], LEAVES["oak"], "planter")
    box(b, 5, 44, 26, 57, P["stone2"])
    box(b, 5, 44, 26, 46, P["stone3"])
    hline(b, 5, 26, 44, P["stone4"])
    box(b, 23, 47, 26, 57, P["stone1"])
    for x in range(7, 24, 5):
        px(b, x, 51, P["stone1"])
    outline(b, P["ink"])
    over(img, b)
    return img


@cache
def mosaic(rx: int, ry: int) -> np.ndarray:
    """A decorative elliptical band of dark cobbles set into plaza paving."""
    w, h = 2 * rx + 16, 2 * ry + 16
    img = new(w, h)
    cx, cy = w / 2, h / 2
    outer = ellipse(w, h, cx, cy, rx, ry)
    inner = ellipse(w, h, cx, cy, rx - 12, ry - 10)
    band = outer & ~inner
    ys, xs = np.mgrid[0:h, 0:w]
    ang = np.arctan2((ys + 0.5 - cy) / ry, (xs + 0.5 - cx) / rx)
    seg = (np.floor(ang / (np.pi / 36)).astype(int)) % 2
    img[band] = P["stone1"]
    img[band & (seg == 0)] = P["stone2"]
    img[band & ~shift(band, 0, 1)] = P["stone4"]
    img[band & ~shift(band, 0, -1)] = P["stone0"]
    mid = ellipse(w, h, cx, cy, rx - 6, ry - 5) & ~ellipse(w, h, cx, cy, rx - 7, ry - 6)
    img[mid & band] = P["gold1"]
    return img


@cache
def crops(kind: int = 0) -> np.ndarray:
    """A tilled vegetable bed: 0 cabbages, 1 carrots, 2 tomatoes on canes."""
    img = new(T, T)
    box(img, 1, 3, 30, 29, P["dirt0"])
    for y in (8, 16, 24):
        box(img, 2, y - 2, 29, y + 1, P["dirt1"])
        hline(img, 2, 29, y - 2, P["dirt2"])
    for y in (6, 14, 22):
        for x in range(5, 28, 8):
            if kind == 0:
                fill(img, ellipse(T, T, x + 1, y + 1, 3.5, 3), P["leaf3"])
                fill(img, ellipse(T, T, x + 1, y + 1, 2, 1.6), P["leaf4"])
                px(img, x + 3, y + 3, P["leaf1"])
            elif kind == 1:
                for dx in (-1, 1, 3):
                    vline(img, x + dx, y - 2, y + 1, P["leaf3"])
                px(img, x + 1, y + 2, P["red3"])
            else:
                vline(img, x + 1, y - 5, y + 2, P["wood3"])
                box(img, x - 1, y - 2, x + 3, y + 1, P["leaf2"])
                px(img, x, y, P["red2"])
                px(img, x + 2, y - 2, P["red2"])
    outline(img, P["wood0"])
    return img


@cache
def hopscotch() -> np.ndarray:
    """Chalk hopscotch drawn on the ground, 1x2 tiles (walkable decoration)."""
    img = new(T, 64)
    chalk = (250, 246, 236, 200)
    cells = [(10, 2), (4, 14), (16, 14), (10, 26), (4, 38), (16, 38), (10, 50)]
    for i, (x, y) in enumerate(cells):
        box(img, x, y, x + 11, y, chalk)
        box(img, x, y + 11, x + 11, y + 11, chalk)
        box(img, x, y, x, y + 11, chalk)
        box(img, x + 11, y, x + 11, y + 11, chalk)
        px(img, x + 5, y + 5, chalk if i % 2 else (240, 160, 180, 220))
    return img
