"""Loading Tiled maps: collision, areas, spawns."""

import base64
import json
import random
import struct
import zlib
from pathlib import Path

import pytest

from town.engine import TownMap

from .conftest import TOWN, TOWN_AREAS, tiled


def test_collides_layer_blocks_tiles_and_areas_convert_pixels_to_tiles(town_map):
    assert town_map.width == 24 and town_map.height == 14 and town_map.tile_size == 16
    assert not town_map.walkable(0, 0)
    assert town_map.walkable(1, 1)
    assert not town_map.walkable(-1, 3) and not town_map.walkable(24, 3)
    cafe = town_map.areas["cafe"]
    assert (cafe.name, cafe.kind, cafe.x, cafe.y, cafe.w, cafe.h) == ("cafe", "cafe", 1, 10, 7, 3)
    assert cafe.center == (4, 11)
    assert cafe.contains(1, 10) and not cafe.contains(8, 10)
    rng = random.Random(3)
    for _ in range(50):
        x, y = cafe.random_tile(rng)
        assert cafe.contains(x, y) and town_map.walkable(x, y)


def test_layer_named_collision_and_tiled_class_attribute_are_understood():
    data = tiled(["....", "....", "...."], [("park", "park", 0, 0, 2, 2)], class_key="class")
    walls = data["layers"][1]
    walls.pop("properties")
    walls["name"] = "Collision"
    walls["data"] = [0, 5, 0, 0] + [0] * 8
    town_map = TownMap.from_tiled(data)
    assert not town_map.walkable(1, 0) and town_map.walkable(0, 0)
    assert town_map.areas["park"].kind == "park"


def test_base64_zlib_layers_and_flipped_gids_collide():
    data = tiled(["...", "..."])
    gids = [0, 0x80000003, 0, 0, 0, 2]  # a horizontally flipped tile still collides
    raw = zlib.compress(struct.pack("<6I", *gids))
    data["layers"][1].update(
        {"data": base64.b64encode(raw).decode(), "encoding": "base64", "compression": "zlib"}
    )
    town_map = TownMap.from_tiled(json.loads(json.dumps(data)))
    assert [town_map.walkable(x, y) for y in range(2) for x in range(3)] == [
        True, False, True, True, True, False,
    ]  # fmt: skip


def test_spawn_points_and_fallback_near_the_plaza(make_map, town_map):
    assert town_map.spawn_points() == [(11, 6)]
    no_spawns = make_map(TOWN, TOWN_AREAS)
    plaza = no_spawns.areas["plaza"]
    (spawn,) = no_spawns.spawn_points()
    assert plaza.contains(*spawn) and no_spawns.walkable(*spawn)


def test_unsupported_encoding_is_reported():
    data = tiled(["..", ".."])
    data["layers"][1].update({"data": "AAAA", "encoding": "base64", "compression": "zstd"})
    with pytest.raises(ValueError, match="zstd"):
        TownMap.from_tiled(data)


REAL_MAP = Path(__file__).resolve().parents[3] / "town" / "maps" / "town.tmj"


@pytest.mark.skipif(not REAL_MAP.exists(), reason="town/maps/town.tmj not made yet")
def test_real_town_map_loads_and_its_areas_are_reachable():
    town_map = TownMap.from_tiled(json.loads(REAL_MAP.read_text()))
    assert town_map.areas, "the town map names no areas"
    spawn = town_map.spawn_points()[0]
    for area in town_map.areas.values():
        assert area.tiles, f"area {area.name} has no walkable tile"
        assert any(town_map.connected(spawn, t) for t in area.tiles), f"{area.name} is unreachable"


def test_area_at_prefers_the_smallest_overlapping_area(make_map):
    town_map = make_map(
        ["." * 8] * 6, [("plaza", "plaza", 0, 0, 8, 6), ("fountain", "plaza", 3, 2, 2, 2)]
    )
    assert town_map.area_at(3, 2).name == "fountain"
    assert town_map.area_at(0, 0).name == "plaza"
    assert town_map.area_at(99, 0) is None


@pytest.mark.skipif(not REAL_MAP.exists(), reason="town/maps/town.tmj not made yet")
def test_residents_live_their_routine_on_the_real_town_map(drive):
    from agents.routine import RoutineMind
    from town.engine import World

    town_map = TownMap.from_tiled(json.loads(REAL_MAP.read_text()))
    places = [n for n in ("cafe", "library", "park", "plaza", "shop") if n in town_map.areas]
    homes = [n for n in town_map.areas if n.startswith("home")] or places
    residents = [
        {"id": f"r{i}", "name": f"R{i}", "home": homes[i % len(homes)],
         "routine": [{"hour": 7, "area": places[i % len(places)], "activity": "busy"}]}
        for i in range(4)
    ]  # fmt: skip
    world = World(town_map, seed=2)
    for r in residents:
        x, y = town_map.areas[r["home"]].random_tile(random.Random(r["id"]))
        world.apply({"type": "join", "actor": r["id"], "kind": "agent", "x": x, "y": y}, 0)
    mind = RoutineMind(residents, town_map)
    arrived = set()
    for start in range(0, 120_000, 5000):
        drive(world, mind, start, start + 5000)
        for p, r in zip(world.public_state(start + 5000)["players"], residents, strict=True):
            if town_map.areas[r["routine"][0]["area"]].contains(p["x"], p["y"]):
                arrived.add(p["id"])
    assert arrived == {r["id"] for r in residents}
