"""Render town/maps/town.tmj (all visible layers + a few characters) to a preview PNG.

    python tools/render_map.py [OUT.png] [--crop X Y W H] [--scale N] [--collision]

Reads the generated files from the repository, so run tools/make_art.py first.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
WALKERS = [  # (sprite, tile x, tile y, row, column)
    ("ada", 18, 23, 0, 0), ("bram", 19, 11, 0, 1), ("cora", 45, 24, 1, 0),
    ("dev", 7, 11, 2, 0), ("edith", 44, 30, 0, 0), ("felix", 24, 34, 3, 1),
    ("gus", 13, 30, 0, 2), ("hana", 31, 12, 0, 0), ("ivo", 44, 11, 2, 0),
    ("mae", 28, 25, 1, 1), ("juno", 29, 21, 0, 0), ("kit", 35, 15, 2, 2),
]  # fmt: skip


def render(root: Path = ROOT, collision: bool = False, walkers: bool = True) -> Image.Image:
    tmj = json.loads((root / "town/maps/town.tmj").read_text())
    ts = tmj["tilesets"][0]
    sheet = Image.open((root / "town/maps" / ts["image"]).resolve()).convert("RGBA")
    tw, cols = ts["tilewidth"], ts["columns"]
    tiles = [
        sheet.crop(((i % cols) * tw, (i // cols) * tw, (i % cols + 1) * tw, (i // cols + 1) * tw))
        for i in range(ts["tilecount"])
    ]
    w, h = tmj["width"], tmj["height"]
    out = Image.new("RGBA", (w * tw, h * tw), (0, 0, 0, 255))

    def draw(layer):
        for i, gid in enumerate(layer["data"]):
            if gid:
                out.alpha_composite(tiles[gid - 1], ((i % w) * tw, (i // w) * tw))

    layers = {lay["name"]: lay for lay in tmj["layers"]}
    for name in ("ground", "detail", "buildings"):
        draw(layers[name])
    if walkers:
        for name, x, y, row, col in WALKERS:
            p = root / f"static/sprites/{name}.png"
            if p.exists():
                fr = (
                    Image.open(p)
                    .convert("RGBA")
                    .crop((col * 32, row * 32, col * 32 + 32, row * 32 + 32))
                )
                out.alpha_composite(fr, (x * tw, y * tw))
    draw(layers["overhead"])
    if collision:
        draw(layers["collision"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="/tmp/town_preview.png")
    ap.add_argument("--crop", nargs=4, type=int, metavar=("X", "Y", "W", "H"), help="in tiles")
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--collision", action="store_true")
    ap.add_argument("--no-walkers", action="store_true")
    a = ap.parse_args()
    img = render(collision=a.collision, walkers=not a.no_walkers)
    if a.crop:
        x, y, w, h = (v * 32 for v in a.crop)
        img = img.crop((x, y, x + w, y + h))
    if a.scale != 1:
        img = img.resize((img.width * a.scale, img.height * a.scale), Image.NEAREST)
    img.save(a.out)
    print(a.out)


if __name__ == "__main__":
    main()
