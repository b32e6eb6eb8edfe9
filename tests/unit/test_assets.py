"""Checks on the generated town assets: map, tileset, sprites and residents (no Django, no db)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections import deque
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
MAP = ROOT / "town/maps/town.tmj"
SPRITES = ROOT / "static/sprites"
RESIDENTS = ROOT / "town/data/residents.toml"
REQUIRED_AREAS = {"plaza", "cafe", "library", "park", "shop", "town_hall", "school"}


@pytest.fixture(scope="module")
def tmj() -> dict:
    return json.loads(MAP.read_text())


@pytest.fixture(scope="module")
def layers(tmj) -> dict:
    return {layer["name"]: layer for layer in tmj["layers"]}


@pytest.fixture(scope="module")
def residents() -> list[dict]:
    return tomllib.loads(RESIDENTS.read_text())["resident"]


def props(layer: dict) -> dict:
    return {p["name"]: (p["type"], p["value"]) for p in layer.get("properties", [])}


def walkable(tmj, layers) -> list[list[bool]]:
    w, h = tmj["width"], tmj["height"]
    data = layers["collision"]["data"]
    return [[data[y * w + x] == 0 for x in range(w)] for y in range(h)]


def area_cells(obj: dict) -> list[tuple[int, int]]:
    x0, y0 = int(obj["x"] // 32), int(obj["y"] // 32)
    x1 = int((obj["x"] + obj["width"] - 1) // 32)
    y1 = int((obj["y"] + obj["height"] - 1) // 32)
    return [(x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]


def test_map_header(tmj):
    assert (tmj["width"], tmj["height"]) == (64, 48)
    assert (tmj["tilewidth"], tmj["tileheight"]) == (32, 32)
    assert tmj["orientation"] == "orthogonal"
    assert tmj["renderorder"] == "right-down"
    assert tmj["infinite"] is False


def test_embedded_tileset(tmj):
    assert len(tmj["tilesets"]) == 1
    ts = tmj["tilesets"][0]
    assert ts["firstgid"] == 1 and ts["name"] == "town"
    assert ts["tilewidth"] == ts["tileheight"] == 32
    assert ts["margin"] == 0 and ts["spacing"] == 0
    image = (MAP.parent / ts["image"]).resolve()
    assert image == (ROOT / "static/tiles/town.png").resolve()
    with Image.open(image) as im:
        assert im.size == (ts["imagewidth"], ts["imageheight"])
        assert im.mode == "RGBA"
    assert ts["columns"] == ts["imagewidth"] // 32
    assert ts["tilecount"] <= ts["columns"] * (ts["imageheight"] // 32)


def test_layers_and_properties(tmj, layers):
    for name in ("ground", "detail", "buildings", "overhead", "collision"):
        layer = layers[name]
        assert layer["type"] == "tilelayer"
        assert isinstance(layer["data"], list)
        assert len(layer["data"]) == 64 * 48
        assert max(layer["data"]) <= tmj["tilesets"][0]["tilecount"]
    assert props(layers["overhead"])["above"] == ("bool", True)
    assert props(layers["collision"])["collides"] == ("bool", True)
    assert layers["collision"]["visible"] is False
    assert all(layers["ground"]["data"]), "ground layer must cover the whole map"
    for name in ("areas", "spawns"):
        assert layers[name]["type"] == "objectgroup"


def test_border_collides(tmj, layers):
    walk = walkable(tmj, layers)
    w, h = tmj["width"], tmj["height"]
    for x in range(w):
        assert not walk[0][x] and not walk[h - 1][x]
    for y in range(h):
        assert not walk[y][0] and not walk[y][w - 1]


def test_areas(layers):
    objs = layers["areas"]["objects"]
    names = [o["name"] for o in objs]
    assert len(names) == len(set(names)), "area names must be unique"
    assert set(names) >= REQUIRED_AREAS
    assert sum(n.startswith("home_") for n in names) >= 8
    for o in objs:
        assert o["type"] == o["name"] and o["class"] == o["name"]
        assert o["width"] > 0 and o["height"] > 0
        assert o["x"] % 32 == 0 and o["y"] % 32 == 0


def test_spawns_on_plaza(tmj, layers):
    spawns = layers["spawns"]["objects"]
    assert len(spawns) >= 1
    plaza = next(o for o in layers["areas"]["objects"] if o["name"] == "plaza")
    walk = walkable(tmj, layers)
    for s in spawns:
        assert s["name"] == "spawn" and s.get("point") is True
        assert plaza["x"] <= s["x"] < plaza["x"] + plaza["width"]
        assert plaza["y"] <= s["y"] < plaza["y"] + plaza["height"]
        assert walk[int(s["y"] // 32)][int(s["x"] // 32)]


def test_everything_reachable(tmj, layers):
    walk = walkable(tmj, layers)
    w, h = tmj["width"], tmj["height"]
    s = layers["spawns"]["objects"][0]
    start = (int(s["x"] // 32), int(s["y"] // 32))
    seen = {start}
    todo = deque([start])
    while todo:
        x, y = todo.popleft()
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if 0 <= nx < w and 0 <= ny < h and walk[ny][nx] and (nx, ny) not in seen:
                seen.add((nx, ny))
                todo.append((nx, ny))
    for o in layers["areas"]["objects"]:
        cells = area_cells(o)
        assert any(walk[y][x] for x, y in cells), f"{o['name']} has no walkable tile"
        assert any(c in seen for c in cells), f"{o['name']} is not reachable from the plaza"
    for sp in layers["spawns"]["objects"]:
        assert (int(sp["x"] // 32), int(sp["y"] // 32)) in seen


def test_characters_json_and_sheets():
    listing = json.loads((SPRITES / "characters.json").read_text())
    assert len(listing) >= 12
    names = [c["name"] for c in listing]
    assert len(set(names)) == len(names)
    for c in listing:
        assert c["label"]
        with Image.open(SPRITES / f"{c['name']}.png") as im:
            assert im.size == (96, 128)
            assert im.mode == "RGBA"
            alpha = im.getchannel("A")
            for row in range(4):
                for col in range(3):
                    box = (col * 32, row * 32, col * 32 + 32, row * 32 + 32)
                    assert alpha.crop(box).getbbox() is not None, f"{c['name']} frame {row},{col}"


def test_residents(residents, layers):
    areas = {o["name"] for o in layers["areas"]["objects"]}
    sprites = {c["name"] for c in json.loads((SPRITES / "characters.json").read_text())}
    assert len(residents) >= 8
    ids = [r["id"] for r in residents]
    assert len(set(ids)) == len(ids)
    for r in residents:
        for key in ("id", "name", "character", "age", "identity", "traits", "home", "routine"):
            assert key in r, f"{r.get('id')} lacks {key}"
        assert r["character"] in sprites
        assert (SPRITES / f"{r['character']}.png").exists()
        assert r["home"] in areas
        assert r["home"] == f"home_{r['id']}"
        assert 5 <= len(r["routine"]) <= 8
        hours = [e["hour"] for e in r["routine"]]
        assert hours == sorted(hours) and all(0 <= hr <= 23 for hr in hours)
        for entry in r["routine"]:
            assert entry["area"] in areas, f"{r['id']}: unknown area {entry['area']}"
            assert entry["activity"]
    assert len({r["character"] for r in residents}) == len(residents)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_generator_is_deterministic(tmp_path):
    """Two independent runs give identical bytes, and the committed assets are up to date."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_art
    finally:
        sys.path.remove(str(ROOT / "tools"))
    a, b = tmp_path / "a", tmp_path / "b"
    make_art.generate(a)
    subprocess.run(
        [sys.executable, str(ROOT / "tools/make_art.py"), str(b)], check=True, capture_output=True
    )
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys()
    for name in fa:
        assert fa[name] == fb[name], f"{name} differs between runs"
    for name, data in fa.items():
        assert (ROOT / name).read_bytes() == data, f"{name} is stale: run python tools/make_art.py"
