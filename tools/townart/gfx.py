"""Tiny deterministic pixel-art toolkit on numpy RGBA arrays (H x W x 4, uint8)."""

from __future__ import annotations

import zlib

import numpy as np

T = 32  # tile size in pixels

BAYER4 = (
    np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], dtype=np.float32) + 0.5
) / 16.0


def c(hexstr: str, a: int = 255) -> tuple[int, int, int, int]:
    """'#rrggbb' -> RGBA tuple."""
    h = hexstr.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), a)


# A warm, limited palette shared by tiles and sprites.
P = {
    "ink": c("#2b1e26"),
    "grass0": c("#3d6e3b"),
    "grass1": c("#4f8a42"),
    "grass2": c("#66a34c"),
    "grass3": c("#86bb5a"),
    "grass4": c("#a9d172"),
    "leaf0": c("#24472f"),
    "leaf1": c("#2f6139"),
    "leaf2": c("#3f7d42"),
    "leaf3": c("#5c9c4a"),
    "leaf4": c("#8cc163"),
    "bloom0": c("#b85a78"),
    "bloom1": c("#e08aa4"),
    "bloom2": c("#f4bccb"),
    "dirt0": c("#7d5538"),
    "dirt1": c("#a4744a"),
    "dirt2": c("#c79a66"),
    "dirt3": c("#dcb885"),
    "stone0": c("#5f5560"),
    "stone1": c("#8d8289"),
    "stone2": c("#b5aaa5"),
    "stone3": c("#d6ccbf"),
    "stone4": c("#ece3d3"),
    "water0": c("#2d4f7c"),
    "water1": c("#3a6c9e"),
    "water2": c("#4f8fbf"),
    "water3": c("#7cb8d9"),
    "water4": c("#c9e8f0"),
    "sand0": c("#c9a46c"),
    "sand1": c("#e0c48c"),
    "sand2": c("#f0dcaa"),
    "wood0": c("#4e3024"),
    "wood1": c("#7a4a32"),
    "wood2": c("#a56a43"),
    "wood3": c("#c98e5a"),
    "wood4": c("#e2b27a"),
    "brick0": c("#6e2f2b"),
    "brick1": c("#9c4436"),
    "brick2": c("#bf6047"),
    "brick3": c("#d8866a"),
    "plaster0": c("#b89c7c"),
    "plaster1": c("#d9c29c"),
    "plaster2": c("#eedcb8"),
    "plaster3": c("#faf0d8"),
    "red0": c("#7a2430"),
    "red1": c("#b03a3c"),
    "red2": c("#d9574a"),
    "red3": c("#f08a6a"),
    "gold0": c("#8a5a1c"),
    "gold1": c("#c98d2a"),
    "gold2": c("#efc04e"),
    "gold3": c("#fae58a"),
    "blue0": c("#283a5e"),
    "blue1": c("#3b5a8a"),
    "blue2": c("#5a82b4"),
    "blue3": c("#8fb2d8"),
    "teal0": c("#1f4c4c"),
    "teal1": c("#2f7270"),
    "teal2": c("#48a096"),
    "teal3": c("#7fcbb8"),
    "plum0": c("#3e2444"),
    "plum1": c("#623a68"),
    "plum2": c("#8b5a8e"),
    "plum3": c("#b889b4"),
    "white": c("#fbf7ee"),
    "glass0": c("#2c4660"),
    "glass1": c("#4e7898"),
    "glass2": c("#9cc8de"),
    "shadow": (34, 24, 40, 70),
}


def seed(*parts: object) -> int:
    return zlib.crc32("/".join(map(str, parts)).encode())


def rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(seed(*parts))


def new(w: int, h: int) -> np.ndarray:
    return np.zeros((h, w, 4), np.uint8)


def solid(w: int, h: int, col) -> np.ndarray:
    a = new(w, h)
    a[:, :] = col
    return a


def grid(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w]
    return xs, ys


def ellipse(w, h, cx, cy, rx, ry) -> np.ndarray:
    """Boolean mask of pixels whose centres fall in the ellipse."""
    xs, ys = grid(w, h)
    return ((xs + 0.5 - cx) / rx) ** 2 + ((ys + 0.5 - cy) / ry) ** 2 <= 1.0


def rect(w, h, x0, y0, x1, y1) -> np.ndarray:
    """Boolean mask of the half-open pixel rectangle [x0, x1) x [y0, y1)."""
    m = np.zeros((h, w), bool)
    m[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
    return m


def fill(img: np.ndarray, mask: np.ndarray, col) -> None:
    img[mask] = col


def px(img: np.ndarray, x: int, y: int, col) -> None:
    if 0 <= y < img.shape[0] and 0 <= x < img.shape[1]:
        img[y, x] = col


def hline(img, x0, x1, y, col) -> None:
    for x in range(x0, x1 + 1):
        px(img, x, y, col)


def vline(img, x, y0, y1, col) -> None:
    for y in range(y0, y1 + 1):
        px(img, x, y, col)


def box(img, x0, y0, x1, y1, col) -> None:
    """Filled inclusive rectangle, clipped."""
    h, w = img.shape[:2]
    img[max(0, y0) : min(h, y1 + 1), max(0, x0) : min(w, x1 + 1)] = col


def shift(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys = slice(max(0, dy), min(h, h + dy))
    yd = slice(max(0, -dy), min(h, h - dy))
    xs = slice(max(0, dx), min(w, w + dx))
    xd = slice(max(0, -dx), min(w, w - dx))
    out[ys, xs] = mask[yd, xd]
    return out


def dilate(mask: np.ndarray, diag: bool = False) -> np.ndarray:
    out = mask | shift(mask, 1, 0) | shift(mask, -1, 0) | shift(mask, 0, 1) | shift(mask, 0, -1)
    if diag:
        for dx in (-1, 1):
            for dy in (-1, 1):
                out |= shift(mask, dx, dy)
    return out


def edge_in(mask: np.ndarray) -> np.ndarray:
    """Pixels of mask that touch a pixel outside it."""
    return mask & ~erode(mask)


def erode(mask: np.ndarray) -> np.ndarray:
    return ~dilate(~mask)


def outline(img: np.ndarray, col=None, diag: bool = False) -> None:
    """Draw a 1-px outline around the opaque silhouette (outside it)."""
    m = img[:, :, 3] > 0
    ring = dilate(m, diag) & ~m
    img[ring] = col or P["ink"]


def over(dst: np.ndarray, src: np.ndarray, x: int = 0, y: int = 0) -> None:
    """Alpha-composite src onto dst with its top-left at (x, y), clipped."""
    sh, sw = src.shape[:2]
    dh, dw = dst.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(dw, x + sw), min(dh, y + sh)
    if x0 >= x1 or y0 >= y1:
        return
    s = src[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32) / 255.0
    d = dst[y0:y1, x0:x1].astype(np.float32) / 255.0
    sa = s[:, :, 3:4]
    da = d[:, :, 3:4]
    oa = sa + da * (1 - sa)
    rgb = np.where(
        oa > 0, (s[:, :, :3] * sa + d[:, :, :3] * da * (1 - sa)) / np.maximum(oa, 1e-6), 0
    )
    out = np.concatenate([rgb, oa], axis=2)
    dst[y0:y1, x0:x1] = np.round(out * 255).astype(np.uint8)


def dither(mask: np.ndarray, t: np.ndarray | float, ox: int = 0, oy: int = 0) -> np.ndarray:
    """Ordered-dither: True where the (0..1) value t beats the Bayer threshold."""
    h, w = mask.shape
    xs, ys = grid(w, h)
    thr = BAYER4[(ys + oy) % 4, (xs + ox) % 4]
    return mask & (np.asarray(t) > thr)


def mix(a, b, t: float):
    return (*tuple(round(a[i] + (b[i] - a[i]) * t) for i in range(3)), a[3])


def darker(col, k: float = 0.75):
    return (
        int(col[0] * k),
        int(col[1] * k),
        int(col[2] * k * 1.05) if col[2] * k * 1.05 < 255 else 255,
        col[3],
    )


def ramp(base, n: int = 4):
    """A 4-step light ramp around a base colour (hue-shifted: warm highlights, cool shadows)."""
    r, g, b = base[:3]
    dark2 = (int(r * 0.45), int(g * 0.42), int(b * 0.55 + 20), 255)
    dark = (int(r * 0.7), int(g * 0.68), int(b * 0.75 + 10), 255)
    light = (
        min(255, int(r * 1.12 + 22)),
        min(255, int(g * 1.1 + 18)),
        min(255, int(b * 1.02 + 8)),
        255,
    )
    return [dark2, dark, (r, g, b, 255), light][:n]


def shadow_ellipse(img: np.ndarray, cx, cy, rx, ry, alpha: int = 70) -> None:
    h, w = img.shape[:2]
    m = ellipse(w, h, cx, cy, rx, ry)
    sh = new(w, h)
    sh[m] = (34, 24, 40, alpha)
    over(img, sh)


def tiles_of(img: np.ndarray) -> list[list[np.ndarray]]:
    """Slice an image whose size is a multiple of T into rows of T x T tiles."""
    h, w = img.shape[:2]
    return [[img[y : y + T, x : x + T] for x in range(0, w, T)] for y in range(0, h, T)]
