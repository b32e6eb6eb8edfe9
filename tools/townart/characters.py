"""Chibi characters: 96x128 sheets, 3 columns (stand, step A, step B) x 4 rows (down, left, right, up)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gfx import P, box, ellipse, new, outline, over, px, shadow_ellipse

S = 32

SKIN = {
    "pale": ((252, 226, 204), (228, 184, 160)),
    "light": ((240, 200, 162), (212, 158, 124)),
    "tan": ((214, 164, 118), (176, 124, 88)),
    "olive": ((192, 140, 98), (154, 104, 72)),
    "brown": ((150, 98, 66), (114, 72, 50)),
    "deep": ((104, 66, 48), (78, 48, 38)),
}


def rgb(h: str) -> tuple[int, int, int, int]:
    h = h.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)


def shades(h: str) -> tuple:
    """(dark, base, light) from a hex base colour."""
    b = rgb(h)
    dark = (int(b[0] * 0.68), int(b[1] * 0.66), int(b[2] * 0.74 + 12), 255)
    light = (
        min(255, int(b[0] * 1.12 + 24)),
        min(255, int(b[1] * 1.1 + 22)),
        min(255, int(b[2] * 1.05 + 16)),
        255,
    )
    return dark, b, light


@dataclass(frozen=True)
class Character:
    name: str
    label: str
    skin: str
    hair: str  # hex colour
    hairstyle: str  # short, bob, long, spiky, curly, bun, ponytail, bald, pigtails, messy
    top: str  # hex colour of the shirt / coat / dress
    bottom: str  # hex colour of trousers / skirt
    outfit: str = "shirt"  # shirt, coat, dress, overalls, hoodie, suit, smock
    accent: str = "#fbf7ee"  # inner shirt, apron, tie, scarf ...
    shoes: str = "#4e3024"
    extras: tuple[
        str, ...
    ] = ()  # glasses, beard, apron, backpack, satchel, beret, sunhat, cap, scarf, freckles


def _skin(ch):
    a, b = SKIN[ch.skin]
    return (*a, 255), (*b, 255)


# ------------------------------------------------------------------ parts


def _legs(img, ch, facing, step):
    """Legs and shoes; step is 0 (stand), 1 or 2."""
    d, b, _ = shades(ch.bottom)
    sd, sb, sl = shades(ch.shoes)
    legc = b
    if ch.outfit == "dress":
        legc = _skin(ch)[1] if "tights" not in ch.extras else rgb("#3b3040")
    if facing in ("down", "up"):
        for i, x0 in enumerate((12, 17)):
            lift = 0
            if step == 1:
                lift = 2 if i == 1 else -1
            elif step == 2:
                lift = 2 if i == 0 else -1
            if facing == "up":
                lift = -lift if lift < 0 else lift
            y1 = 27 - max(lift, 0) + (1 if lift < 0 else 0)
            box(img, x0, 23, x0 + 2, y1, legc)
            box(img, x0 + 2, 23, x0 + 2, y1, d if ch.outfit != "dress" else legc)
            box(img, x0 - (1 if i == 0 else 0), y1 + 1, x0 + 2 + (1 if i == 1 else 0), y1 + 2, sb)
            px(img, x0 + (0 if i == 0 else 1), y1 + 1, sl)
    else:
        # side view: front leg and back leg
        if step == 0:
            legs = [(14, 0, True), (15, 0, False)]
        elif step == 1:
            legs = [(12, -1, True), (17, 0, False)]
        else:
            legs = [(17, -1, True), (12, 0, False)]
        for x0, dy, back in legs:
            col = d if back else legc
            box(img, x0, 23, x0 + 2, 27 + dy, col)
            box(img, x0, 28 + dy, x0 + 3, 29 + dy, sd if back else sb)
            if not back:
                px(img, x0 + 1, 28 + dy, sl)


def _torso(img, ch, facing, step):
    d, b, lt = shades(ch.top)
    ad, ab, _al = shades(ch.accent)
    bd, bb, _ = shades(ch.bottom)
    front = facing == "down"
    side = facing in ("left", "right")
    x0, x1 = (12, 19) if side else (10, 21)
    bottom = 24
    if ch.outfit in ("coat", "smock"):
        bottom = 26
    box(img, x0, 17, x1, bottom, b)
    box(img, x1 - 1, 17, x1, bottom, d)
    box(img, x0, 17, x0, bottom - 1, lt)
    if ch.outfit == "dress":
        for y in range(21, 27):
            w = (y - 21) // 2
            box(img, x0 - w, y, x1 + w, y, b)
            px(img, x1 + w, y, d)
        box(img, x0 - 2, 26, x1 + 2, 26, d)
    if ch.outfit in ("shirt", "hoodie", "overalls", "suit"):
        box(img, x0, 22, x1, 24, bb)  # trousers waist / belt line
        box(img, x0, 22, x1, 22, bd)
    if ch.outfit == "overalls":
        if front or facing == "up":
            box(img, x0 + 2, 19, x1 - 2, 24, bb)
            px(img, x0 + 2, 17, bb)
            px(img, x0 + 2, 18, bb)
            px(img, x1 - 2, 17, bb)
            px(img, x1 - 2, 18, bb)
            if front:
                px(img, x0 + 3, 19, rgb("#efc04e"))
                px(img, x1 - 3, 19, rgb("#efc04e"))
        else:
            box(img, x0 + 1, 19, x1 - 1, 24, bb)
    if front:
        if ch.outfit in ("coat", "suit"):
            box(img, 15, 17, 16, bottom, ab)  # inner shirt
            if ch.outfit == "suit":
                box(img, 15, 18, 16, 21, rgb("#b03a3c") if ch.accent == "#fbf7ee" else ab)
                px(img, 15, 17, P["white"])
                px(img, 16, 17, P["white"])
            px(img, 14, 17, d)
            px(img, 17, 17, d)
            px(img, 14, 18, d)
            px(img, 17, 18, d)
        if ch.outfit == "hoodie":
            box(img, 13, 21, 18, 23, d)
            px(img, 14, 17, ad)
            px(img, 17, 17, ad)
            px(img, 14, 18, ad)
            px(img, 17, 18, ad)
        if ch.outfit == "smock":
            for x, y, k in (
                (12, 20, "#d9574a"),
                (18, 22, "#5a82b4"),
                (14, 24, "#efc04e"),
                (19, 19, "#48a096"),
            ):
                px(img, x, y, rgb(k))
        if "apron" in ch.extras:
            box(img, 12, 19, 19, 26 if ch.outfit == "dress" else 24, ab)
            box(img, 19, 19, 19, 24, ad)
            box(img, 13, 17, 13, 18, ab)
            box(img, 18, 17, 18, 18, ab)
            box(img, 13, 22, 18, 22, ad)
    if side and "apron" in ch.extras:
        fx = x1 if facing == "right" else x0
        box(img, fx, 19, fx, 24, ab)
    if facing == "up" and "backpack" in ch.extras:
        box(img, 11, 17, 20, 24, rgb("#d9574a"))
        box(img, 12, 19, 19, 22, rgb("#b03a3c"))
        box(img, 12, 17, 19, 17, rgb("#f08a6a"))
    if side and "backpack" in ch.extras:
        bx = x0 - 3 if facing == "right" else x1 + 1
        box(img, bx, 17, bx + 2, 23, rgb("#d9574a"))
        box(img, bx, 17, bx + 2, 17, rgb("#f08a6a"))
    if front and "backpack" in ch.extras:
        px(img, 11, 17, rgb("#b03a3c"))
        px(img, 20, 17, rgb("#b03a3c"))
        box(img, 11, 18, 11, 21, rgb("#b03a3c"))
        box(img, 20, 18, 20, 21, rgb("#b03a3c"))
    if "satchel" in ch.extras and facing != "up":
        box(
            img,
            18 if facing != "left" else 11,
            21,
            21 if facing != "left" else 14,
            24,
            rgb("#7a4a32"),
        )
        if front:
            for i in range(6):
                px(img, 12 + i, 17 + i, rgb("#7a4a32"))
    if "satchel" in ch.extras and facing == "up":
        for i in range(6):
            px(img, 19 - i, 17 + i, rgb("#7a4a32"))
    if "scarf" in ch.extras:
        box(img, x0, 16, x1, 18, ab)
        box(img, x0, 18, x1, 18, ad)
        if front:
            box(img, 17, 18, 18, 21, ab)
            px(img, 18, 21, ad)


def _arms(img, ch, facing, step, skin):
    d, b, lt = shades(ch.top)
    if ch.outfit == "overalls" or ch.outfit == "dress":
        d, b, lt = shades(ch.accent) if ch.outfit == "overalls" else (d, b, lt)
    sl, sd = skin
    if facing in ("down", "up"):
        swing = {0: (0, 0), 1: (1, -1), 2: (-1, 1)}[step]
        if facing == "up":
            swing = (swing[1], swing[0])
        for (x0, sgn), dy in zip(((8, -1), (22, 1)), swing, strict=True):
            box(img, x0, 18, x0 + 1, 22 + dy, b if sgn < 0 else d)
            px(img, x0 + (1 if sgn < 0 else 0), 18, lt)
            box(img, x0, 23 + dy, x0 + 1, 24 + dy, sl)
            px(img, x0 + (0 if sgn < 0 else 1), 24 + dy, sd)
    else:
        off = {0: 0, 1: 2, 2: -2}[step]
        ax = 15 + off // 2
        box(img, ax, 18, ax + 2, 22, b)
        box(img, ax + 2, 18, ax + 2, 22, d)
        hx = ax + (1 if off > 0 else 0) - (1 if off < 0 else 0)
        box(img, hx, 23, hx + 2, 24, sl)
        px(img, hx + 2, 24, sd)


HEAD = (16.0, 10.5, 8.2, 7.6)


def _head(img, ch, facing, skin):
    sl, sd = skin
    cx, cy, rx, ry = HEAD
    head = ellipse(S, S, cx, cy, rx, ry)
    img[head] = sl
    # shade the lower right of the face
    shade = head & ~ellipse(S, S, cx - 1.2, cy - 1.0, rx, ry)
    img[shade] = sd
    if facing == "down":
        for ex in (11, 19):
            box(img, ex, 11, ex + 1, 13, P["ink"])
            px(img, ex, 11, (255, 255, 255, 255))
        px(img, 15, 15, sd)
        px(img, 16, 15, sd)
        blush = (min(255, sl[0] + 4), int(sl[1] * 0.78), int(sl[2] * 0.78), 255)
        px(img, 10, 14, blush)
        px(img, 21, 14, blush)
        if "freckles" in ch.extras:
            for x, y in ((12, 14), (13, 15), (18, 15), (19, 14)):
                px(img, x, y, sd)
    elif facing in ("left", "right"):
        ex = 19
        box(img, ex, 11, ex + 1, 13, P["ink"])
        px(img, ex + 1, 11, (255, 255, 255, 255))
        px(img, 22, 15, sd)
        px(img, 23, 12, sl)  # nose
        px(img, 23, 13, sl)
        blush = (min(255, sl[0] + 4), int(sl[1] * 0.78), int(sl[2] * 0.78), 255)
        px(img, 20, 14, blush)


def _hair(img, ch, facing, layer):
    """Hair in two layers: 'back' (behind the body) and 'front' (over the head)."""
    d, b, lt = shades(ch.hair)
    cx, cy, _, _ = HEAD
    st = ch.hairstyle
    xs, ys = np.mgrid[0:S, 0:S][1], np.mgrid[0:S, 0:S][0]
    m = np.zeros((S, S), bool)
    cap = ellipse(S, S, cx, cy - 0.6, 9.2, 8.4)
    if layer == "back":
        if st == "long":
            if facing == "down":
                m = (ys >= 10) & (ys <= 22) & (((xs >= 6) & (xs <= 9)) | ((xs >= 22) & (xs <= 25)))
            elif facing == "up":
                m = (ys >= 10) & (ys <= 23) & (xs >= 8) & (xs <= 23)
            else:
                m = (ys >= 9) & (ys <= 22) & (xs >= 7) & (xs <= 13)
        if st == "ponytail" and facing in ("left", "right"):
            m = ellipse(S, S, 7, 15, 2.6, 6.5)
        if st == "pigtails":
            m = ellipse(S, S, 6, 15, 2.5, 4) | ellipse(S, S, 26, 15, 2.5, 4)
            if facing in ("left", "right"):
                m = ellipse(S, S, 9, 16, 2.5, 4)
        if st == "bun" and facing == "up":
            m = ellipse(S, S, 16, 4, 4, 3.5)
        if m.any():
            img[m] = b
            img[m & (xs >= 16) & ~(ys < 11)] = d
        return
    if st == "bald":
        if facing == "down":
            m = cap & (ys >= 7) & (ys <= 12) & ((xs <= 9) | (xs >= 22))
        elif facing == "up":
            m = cap & (ys >= 7) & (ys <= 14)
        else:
            m = cap & (ys >= 7) & (ys <= 13) & (xs <= 14)
        img[m] = b
        img[m & (ys >= 11)] = d
        return
    if facing == "down":
        fringe = {
            "short": 7, "bob": 8, "long": 8, "spiky": 7, "curly": 7, "bun": 7,
            "ponytail": 7, "pigtails": 8, "messy": 8,
        }[st]  # fmt: skip
        side = {"bob": 15, "long": 15, "pigtails": 13, "curly": 13, "messy": 12}.get(st, 11)
        m = cap & (ys <= fringe)
        m |= cap & (ys <= side) & ((xs <= 9) | (xs >= 22))
        # fringe strands
        for x in range(10, 22):
            if (x * 7 + len(ch.name)) % 5 < 2:
                m[fringe + 1, x] = True
        if st in ("bob", "long", "pigtails"):
            m |= cap & (ys <= fringe + 1) & ((xs <= 12) | (xs >= 19))
    elif facing == "up":
        m = cap & (ys <= {"bob": 15, "long": 16, "pigtails": 15, "curly": 14}.get(st, 13))
    else:
        m = cap & ((ys <= 7) | ((xs <= 14) & (ys <= {"bob": 15, "long": 16}.get(st, 13))))
        m |= cap & (ys <= 8) & (xs >= 17)
        m[9, 21] = m[9, 22] = True
    if st == "curly":
        big = ellipse(S, S, cx, cy - 2.0, 10.5, 8.6)
        if facing == "down":
            big &= (ys <= 8) | (xs <= 8) | (xs >= 23)
        elif facing in ("left", "right"):
            big &= (ys <= 8) | (xs <= 14)
        m |= big
        for bx, by in ((7, 4), (11, 1), (16, 0), (21, 1), (25, 4)):
            m |= ellipse(S, S, bx, by + 2, 2.6, 2.6)
    if st == "spiky":
        for i, sx in enumerate((8, 11, 15, 19, 23)):
            for k in range(4):
                for dx in range(-2 + k // 2 + 1, 2 - k // 2):
                    y = 3 - k + (i % 2)
                    if 0 <= y < S:
                        m[y, sx + dx] = True
    if st == "messy":
        for sx, sy in ((9, 2), (14, 1), (19, 2), (23, 4), (7, 6)):
            m[sy, sx] = m[sy + 1, sx] = m[sy + 1, sx + 1] = True
    if st == "bun" and facing != "up":
        bun = ellipse(S, S, 16 if facing == "down" else 12, 2.5, 4, 3)
        m |= bun
    if st == "ponytail" and facing == "up":
        m |= ellipse(S, S, 16, 17, 2.6, 6.5)
        m |= ellipse(S, S, 16, 8, 3, 2) & (ys >= 6)
    img[m] = b
    # shading: darker at the bottom/right, highlight band on the top-left
    img[m & ~ellipse(S, S, cx - 1.5, cy - 2.5, 9.5, 9)] = d
    hi = m & ellipse(S, S, cx - 3.5, cy - 5.5, 4.5, 2.0)
    img[hi] = lt
    if facing == "down":
        img[m & (ys == 8) & ((xs + len(ch.name)) % 4 == 0)] = d


def _hat(img, ch, facing):
    if "beret" in ch.extras:
        d, b, lt = shades("#8a2436")
        m = ellipse(S, S, 15 if facing != "right" else 14, 3.5, 9, 3.2)
        img[m] = b
        img[m & (np.mgrid[0:S, 0:S][0] >= 5)] = d
        px(img, 15, 0, d)
        px(img, 13, 2, lt)
        px(img, 14, 2, lt)
    if "sunhat" in ch.extras:
        d, b, lt = shades("#e6c77a")
        brim = ellipse(S, S, 16, 6.5, 13, 3.2)
        crown = ellipse(S, S, 16, 3.5, 7, 4) & (np.mgrid[0:S, 0:S][0] <= 5)
        img[brim] = b
        img[brim & (np.mgrid[0:S, 0:S][0] >= 7)] = d
        img[crown] = lt
        band = crown & (np.mgrid[0:S, 0:S][0] == 5)
        img[band] = rgb("#b889b4")
    if "cap" in ch.extras:
        d, b, lt = shades(ch.accent if ch.accent != "#fbf7ee" else "#3b5a8a")
        crown = ellipse(S, S, 16, 5.5, 8.8, 4.6) & (np.mgrid[0:S, 0:S][0] <= 6)
        img[crown] = b
        img[crown & (np.mgrid[0:S, 0:S][1] >= 20)] = d
        if facing == "down":
            box(img, 10, 7, 21, 8, d)
            px(img, 15, 3, lt)
            px(img, 16, 3, lt)
        elif facing == "right":
            box(img, 19, 6, 25, 7, d)
        elif facing == "left":
            box(img, 6, 6, 12, 7, d)


def _face_extras(img, ch, facing):
    hd, hb, _hl = shades(ch.hair)
    if "beard" in ch.extras:
        if facing == "down":
            for y in range(13, 19):
                w = 7 - max(0, y - 15) * 2
                box(img, 16 - w, y, 15 + w, y, hb)
            box(img, 14, 14, 17, 14, hd)
            px(img, 15, 15, (170, 90, 80, 255))
            px(img, 16, 15, (170, 90, 80, 255))
            box(img, 16, 16, 20, 18, hd)
        elif facing in ("left", "right"):
            box(img, 15, 13, 22, 17, hb)
            box(img, 16, 18, 21, 18, hd)
            box(img, 21, 14, 23, 14, hd)
    if "glasses" in ch.extras:
        g = (58, 44, 52, 255)
        lens = (214, 232, 240, 255)
        if facing == "down":
            for ex in (10, 18):
                box(img, ex, 10, ex + 3, 10, g)
                box(img, ex, 14, ex + 3, 14, g)
                box(img, ex, 11, ex, 13, g)
                box(img, ex + 3, 11, ex + 3, 13, g)
                px(img, ex + 2, 11, lens)
            box(img, 14, 11, 17, 11, g)
        elif facing in ("left", "right"):
            box(img, 18, 10, 21, 10, g)
            box(img, 18, 14, 21, 14, g)
            box(img, 21, 11, 21, 13, g)
            box(img, 15, 11, 17, 11, g)


def frame(ch: Character, facing: str, step: int) -> np.ndarray:
    flip = facing == "left"
    f = "right" if flip else facing
    skin = _skin(ch)
    img = new(S, S)
    _hair(img, ch, f, "back")
    _legs(img, ch, f, step)
    _torso(img, ch, f, step)
    _arms(img, ch, f, step, skin)
    _head(img, ch, f, skin)
    _face_extras(img, ch, f)
    _hair(img, ch, f, "front")
    _hat(img, ch, f)
    if step:  # a one-pixel bob of the upper body on stride frames
        top = img[:23].copy()
        img[:23] = 0
        img[1:24] = np.where(top[:, :, 3:4] > 0, top, img[1:24])
    if flip:
        img = img[:, ::-1].copy()
    outline(img, P["ink"])
    out = new(S, S)
    shadow_ellipse(out, 16, 30, 7, 2, 70)
    over(out, img)
    return out


ROWS = ("down", "left", "right", "up")


def sheet(ch: Character) -> np.ndarray:
    img = new(3 * S, 4 * S)
    for r, facing in enumerate(ROWS):
        for c in range(3):
            img[r * S : (r + 1) * S, c * S : (c + 1) * S] = frame(ch, facing, c)
    return img


CHARACTERS = [
    Character("ada", "Ada (red coat)", "light", "#b5522c", "bob", "#c0392b", "#3b3040", "coat", "#f4e3c1",
              extras=("scarf",)),
    Character("bram", "Bram (green cardigan)", "deep", "#c9c4bc", "short", "#4f7d4a", "#6b4a36", "coat", "#e8dcc0",
              extras=("glasses", "beard")),
    Character("cora", "Cora (yellow dress)", "pale", "#2c2230", "curly", "#e3b23c", "#e3b23c", "dress", "#fbf7ee",
              extras=("apron",)),
    Character("dev", "Dev (blue shirt)", "brown", "#1e1a22", "short", "#4f86c6", "#3b3f5c", "suit", "#fbf7ee",
              "#2b2630"),
    Character("edith", "Edith (sun hat)", "pale", "#ebe6e0", "bun", "#b48fc4", "#5c8a4a", "overalls", "#b48fc4",
              extras=("sunhat",)),
    Character("felix", "Felix (painter's smock)", "olive", "#2a2a3a", "messy", "#e8d9b8", "#4a4e6a", "smock",
              "#e8d9b8", extras=("beret",)),
    Character("gus", "Gus (teal hoodie)", "light", "#d9742e", "spiky", "#2f9c94", "#3f5a8a", "hoodie", "#e0f0ea",
              extras=("backpack", "freckles")),
    Character("hana", "Hana (navy suit)", "deep", "#1c1418", "ponytail", "#2f3f6e", "#2f3f6e", "suit", "#efc04e"),
    Character("ivo", "Ivo (red flannel)", "tan", "#6b3b22", "short", "#b8433a", "#6b5a3e", "overalls", "#b8433a",
              extras=("beard",)),
    Character("mae", "Mae (postal cap)", "light", "#231c26", "pigtails", "#3b6fb0", "#2c3e66", "shirt", "#3b6fb0",
              extras=("cap", "satchel")),
    Character("juno", "Juno (pink hair)", "olive", "#ea7fb0", "ponytail", "#7d5aa6", "#2e2a3a", "hoodie", "#f3d9ea"),
    Character("kit", "Kit (green jacket)", "pale", "#f0d27a", "short", "#5a8f3c", "#c9ae7c", "coat", "#fbf7ee"),
    Character("rio", "Rio (orange tee)", "brown", "#2a1e1c", "curly", "#ef8a3c", "#35506e", "shirt", "#fbf7ee",
              extras=("freckles",)),
    Character("sol", "Sol (silver hair)", "tan", "#d8d8e0", "long", "#4e5a8a", "#2f2a3a", "dress", "#9cc8de",
              extras=("tights",)),
]  # fmt: skip
