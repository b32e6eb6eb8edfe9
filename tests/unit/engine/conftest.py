"""Small hand-written Tiled maps and a driver loop for engine tests (no Django needed)."""

from __future__ import annotations

import contextlib

import pytest

from agents.routine import RoutineMind
from town.engine import EngineConfig, InputRefused, TownMap, World

TILE = 16

# A 24x14 town: '#' walls, '.' ground. Houses have doors so every area is reachable.
TOWN = [
    "########################",
    "#......#.......#.......#",
    "#......#.......#.......#",
    "#......#.......#.......#",
    "###.####.......####.####",
    "#......................#",
    "#......................#",
    "#......................#",
    "#......................#",
    "###.#####.....######.###",
    "#.......#.....#........#",
    "#.......#.....#........#",
    "#.......#.....#........#",
    "########################",
]
TOWN_AREAS = [
    ("home_ada", "home", 1, 1, 6, 3),
    ("library", "library", 8, 1, 7, 3),
    ("home_bo", "home", 16, 1, 7, 3),
    ("plaza", "plaza", 8, 5, 8, 4),
    ("cafe", "cafe", 1, 10, 7, 3),
    ("park", "park", 9, 9, 5, 4),
    ("shop", "shop", 15, 10, 8, 3),
]


def tiled(rows: list[str], areas=(), spawns=(), *, class_key: str = "type") -> dict:
    """A Tiled-like map dict: '#' cells go on a layer with collides=true; areas in pixels."""
    height, width = len(rows), len(rows[0])
    ground = [1] * (width * height)
    walls = [7 if ch == "#" else 0 for row in rows for ch in row]
    objects = [
        {
            "id": i,
            "name": n,
            class_key: k,
            "x": x * TILE,
            "y": y * TILE,
            "width": w * TILE,
            "height": h * TILE,
        }
        for i, (n, k, x, y, w, h) in enumerate(areas, start=1)
    ]
    points = [
        {"id": 100 + i, "name": "spawn", "point": True, "x": x * TILE + 8, "y": y * TILE + 8}
        for i, (x, y) in enumerate(spawns)
    ]
    layers = [
        {"type": "tilelayer", "name": "ground", "width": width, "height": height, "data": ground},
        {
            "type": "tilelayer",
            "name": "walls",
            "width": width,
            "height": height,
            "data": walls,
            "properties": [{"name": "collides", "type": "bool", "value": True}],
        },
        {"type": "objectgroup", "name": "areas", "objects": objects},
    ]
    if points:
        layers.append({"type": "objectgroup", "name": "spawns", "objects": points})
    return {
        "width": width,
        "height": height,
        "tilewidth": TILE,
        "tileheight": TILE,
        "orientation": "orthogonal",
        "layers": layers,
    }


@pytest.fixture
def make_map():
    """Build a TownMap from ASCII rows (and optional areas/spawns) through from_tiled."""

    def build(rows: list[str], areas=(), spawns=()) -> TownMap:
        return TownMap.from_tiled(tiled(rows, areas, spawns))

    return build


@pytest.fixture
def town_map() -> TownMap:
    """The little test town with homes, library, plaza, cafe, park and shop."""
    return TownMap.from_tiled(tiled(TOWN, TOWN_AREAS, spawns=[(11, 6)]))


@pytest.fixture
def open_map(make_map) -> TownMap:
    """A 20x10 empty field."""
    return make_map(["." * 20] * 10)


@pytest.fixture
def world_with(open_map):
    """A world on the open field with the given players (id -> (x, y, kind)) already joined."""

    def build(players: dict, config: EngineConfig | None = None, town_map=None) -> World:
        world = World(town_map or open_map, config or EngineConfig(), seed=1)
        for pid, (x, y, *kind) in players.items():
            world.apply(
                {"type": "join", "actor": pid, "name": pid.title(), "x": x, "y": y,
                 "kind": kind[0] if kind else "human"},
                0,
            )  # fmt: skip
        return world

    return build


def run_with_mind(
    world: World, mind: RoutineMind, start: int, end: int, step: int = 1000
) -> list[dict]:
    """Tick the world and answer every decision request with the mind; return all events."""
    events: list[dict] = []
    for now in range(start, end, step):
        events += world.tick(now)
        requests = world.take_decision_requests()
        state = world.public_state(now) if requests else {}
        for request in requests:
            for inp in mind.decide(request, state):
                # A stale answer is refused; the request expires and the agent is asked again.
                with contextlib.suppress(InputRefused):
                    events += world.apply(inp, now)
    return events


@pytest.fixture
def drive():
    """The run_with_mind driver loop."""
    return run_with_mind
