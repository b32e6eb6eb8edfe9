"""Generate every art asset of the town: tileset, map, character sprites.

    python tools/make_art.py [OUTPUT_ROOT]

OUTPUT_ROOT defaults to the repository root; files are written to
static/tiles/town.png, town/maps/town.tmj, static/sprites/*.png and
static/sprites/characters.json below it. The output is byte-identical on every run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from PIL import Image
from townart import props as pr
from townart import terrain as tr
from townart.canvas import LAYERS, Tileset
from townart.characters import CHARACTERS, sheet
from townart.gfx import T
from townart.layout import build
from townart.townmap import H, W

ROOT = Path(__file__).resolve().parent.parent
SIDES = {  # simple auto-tile masks offered to map editors (N, NE, E, SE, S, SW, W, NW)
    "full": (1, 1, 1, 1, 1, 1, 1, 1),
    "n": (0, 0, 1, 1, 1, 1, 1, 0),
    "s": (1, 1, 1, 0, 0, 0, 1, 1),
    "w": (1, 1, 1, 1, 1, 0, 0, 0),
    "e": (1, 0, 0, 0, 1, 1, 1, 1),
    "nw": (0, 0, 1, 1, 1, 0, 0, 0),
    "ne": (0, 0, 0, 0, 1, 1, 1, 0),
    "sw": (1, 1, 1, 0, 0, 0, 0, 0),
    "se": (1, 0, 0, 0, 0, 0, 1, 1),
    "inw": (1, 1, 1, 1, 1, 1, 1, 0),
    "ine": (1, 0, 1, 1, 1, 1, 1, 1),
    "isw": (1, 1, 1, 1, 1, 0, 1, 1),
    "ise": (1, 1, 1, 0, 1, 1, 1, 1),
    "h": (0, 0, 1, 0, 0, 0, 1, 0),
    "v": (1, 0, 0, 0, 1, 0, 0, 0),
    "dot": (0, 0, 0, 0, 0, 0, 0, 0),
}


def base_tiles(ts: Tileset) -> int:
    """Add a curated palette of building blocks first, so the tileset is usable in Tiled."""
    collide = ts.add(pr.collision_marker())
    for v in range(5):
        ts.add(tr.grass(v))
    for v in range(6):
        ts.add(tr.flowers(v))
    for kind in ("cobble", "plaza", "dirt", "sand"):
        for m in SIDES.values():
            ts.add(tr.path(kind, tuple(bool(b) for b in m)))
    for m in SIDES.values():
        ts.add(tr.water(tuple(bool(b) for b in m)))
    for img in (
        pr.tree("oak"), pr.tree("blossom"), pr.tree("apple"), pr.tree("autumn"), pr.pine(),
        pr.fountain(), pr.stall("red"), pr.stall("gold"), pr.lamp(), pr.cafe_table(), pr.bench(),
        pr.well(), pr.woodpile(), pr.jetty(),
    ):  # fmt: skip
        ts.add_image(img)
    for part in "lmrs":
        ts.add(pr.hedge(part))
        ts.add(pr.flowerbed(part, 0))
    for img in (
        pr.fence("h"), pr.fence("v"), pr.fence("p"), pr.bush("plain"), pr.bush("berry"),
        pr.bush("flower"), pr.signpost(0), pr.signpost(1), pr.barrel(), pr.crates(), pr.rock(0),
        pr.rock(1), pr.lily(0), pr.lily(1), pr.reeds(), pr.mailbox("red"),
    ):  # fmt: skip
        ts.add(img)
    return collide


def prop(name: str, ptype: str, value) -> dict:
    return {"name": name, "type": ptype, "value": value}


def build_map(ts: Tileset) -> tuple[dict, object]:
    town = build()
    cv = town.paint()
    collide = base_tiles(ts)
    layers = []
    for i, name in enumerate(LAYERS):
        layer = {
            "id": i + 1,
            "name": name,
            "type": "tilelayer",
            "x": 0,
            "y": 0,
            "width": W,
            "height": H,
            "opacity": 1,
            "visible": True,
            "data": ts.layer_gids(cv.img[name]),
        }
        if name == "overhead":
            layer["properties"] = [prop("above", "bool", True)]
        layers.append(layer)
    blocked = ~cv.walkable()
    layers.append(
        {
            "id": 5,
            "name": "collision",
            "type": "tilelayer",
            "x": 0,
            "y": 0,
            "width": W,
            "height": H,
            "opacity": 0.5,
            "visible": False,
            "properties": [prop("collides", "bool", True)],
            "data": [collide if blocked[y, x] else 0 for y in range(H) for x in range(W)],
        }
    )
    oid = 1
    objects = []
    for name, x, y, w, h in town.areas:
        objects.append(
            {
                "id": oid,
                "name": name,
                "type": name,
                "class": name,
                "x": x * T,
                "y": y * T,
                "width": w * T,
                "height": h * T,
                "rotation": 0,
                "visible": True,
            }
        )
        oid += 1
    layers.append(
        {
            "id": 6,
            "name": "areas",
            "type": "objectgroup",
            "draworder": "topdown",
            "x": 0,
            "y": 0,
            "opacity": 1,
            "visible": True,
            "objects": objects,
        }
    )
    spawns = []
    for x, y in town.spawns:
        spawns.append(
            {
                "id": oid,
                "name": "spawn",
                "type": "spawn",
                "class": "spawn",
                "point": True,
                "x": x * T + T // 2,
                "y": y * T + T // 2,
                "width": 0,
                "height": 0,
                "rotation": 0,
                "visible": True,
            }
        )
        oid += 1
    layers.append(
        {
            "id": 7,
            "name": "spawns",
            "type": "objectgroup",
            "draworder": "topdown",
            "x": 0,
            "y": 0,
            "opacity": 1,
            "visible": True,
            "objects": spawns,
        }
    )
    tiles_img = ts.image()
    tmj = {
        "type": "map",
        "version": "1.10",
        "tiledversion": "1.10.2",
        "orientation": "orthogonal",
        "renderorder": "right-down",
        "infinite": False,
        "width": W,
        "height": H,
        "tilewidth": T,
        "tileheight": T,
        "compressionlevel": -1,
        "nextlayerid": 8,
        "nextobjectid": oid,
        "layers": layers,
        "tilesets": [
            {
                "firstgid": 1,
                "name": "town",
                "image": "../../static/tiles/town.png",
                "imagewidth": tiles_img.shape[1],
                "imageheight": tiles_img.shape[0],
                "tilewidth": T,
                "tileheight": T,
                "columns": ts.columns,
                "tilecount": len(ts.tiles),
                "margin": 0,
                "spacing": 0,
            }
        ],
    }
    return tmj, tiles_img


def save_png(arr, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, "RGBA").save(path, optimize=False, compress_level=9)


def generate(root: Path = ROOT) -> list[Path]:
    """Write all assets below `root`; returns the written paths."""
    root = Path(root)
    written = []
    ts = Tileset(columns=16)
    tmj, tiles_img = build_map(ts)
    p = root / "static/tiles/town.png"
    save_png(tiles_img, p)
    written.append(p)
    p = root / "town/maps/town.tmj"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(tmj, separators=(",", ":")) + "\n")
    written.append(p)
    listing = []
    for ch in CHARACTERS:
        p = root / f"static/sprites/{ch.name}.png"
        save_png(sheet(ch), p)
        written.append(p)
        listing.append({"name": ch.name, "label": ch.label})
    p = root / "static/sprites/characters.json"
    p.write_text(json.dumps(listing, indent=2) + "\n")
    written.append(p)
    return written


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    for p in generate(root):
        print(p)


if __name__ == "__main__":
    main()
