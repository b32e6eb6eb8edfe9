"""World-level guarantees: idempotent inputs, determinism, snapshots, error codes, clock."""

import json
import random

import pytest

from agents.routine import RoutineMind
from town.engine import EngineConfig, InputRefused, World

from .conftest import run_with_mind


def refused(world, inp, now=0):
    with pytest.raises(InputRefused) as info:
        world.apply(inp, now)
    return info.value.code


def scripted_inputs(seed, count=300):
    """A reproducible stream of human inputs, many of them refused."""
    rng = random.Random(seed)
    ids = [f"h{i}" for i in range(8)]
    out = [(0, {"type": "join", "actor": pid, "name": pid}) for pid in ids]
    for n in range(count):
        t = 100 + n * 150
        actor = rng.choice(ids)
        roll = rng.random()
        if roll < 0.5:
            inp = {"type": "move", "x": rng.randrange(24), "y": rng.randrange(14)}
        elif roll < 0.65:
            inp = {"type": "invite", "to": rng.choice(ids)}
        elif roll < 0.8:
            inp = {"type": "accept", "conversation": f"c{rng.randrange(1, 30)}"}
        else:
            inp = {"type": "say", "conversation": f"c{rng.randrange(1, 30)}", "text": f"hello {n}"}
        out.append((t, {**inp, "actor": actor, "key": f"k{n}"}))
    return out


def play(world, inputs, mind=None, until=None):
    """Apply timed inputs with ticks each second; record events and refusals."""
    log = []
    next_tick = 1000
    for t, inp in inputs:
        while next_tick <= t:
            log += world.tick(next_tick)
            log += _answer(world, mind, next_tick)
            next_tick += 1000
        try:
            log += world.apply(inp, t)
        except InputRefused as err:
            log.append({"refused": err.code})
    return log


def _answer(world, mind, now):
    if mind is None:
        return [{"requests": [r["id"] for r in world.take_decision_requests()]}]
    return run_with_mind(world, mind, now, now + 1, 1000)


def residents():
    return [
        {"id": "ada", "name": "Ada", "character": "ada", "home": "home_ada",
         "routine": [{"hour": 7, "area": "cafe", "activity": "coffee"}]},
        {"id": "bo", "name": "Bo", "character": "bo", "home": "home_bo",
         "routine": [{"hour": 7, "area": "cafe", "activity": "tea"}]},
    ]  # fmt: skip


def test_resending_input_key_applies_once(world_with):
    world = world_with({"ann": (0, 0)})
    move = {"type": "move", "actor": "ann", "x": 5, "y": 0, "key": "u1:abc"}
    assert not world.has_applied("u1:abc")
    assert len(world.apply(move, 0)) == 1
    assert world.has_applied("u1:abc")
    before = world.snapshot()
    assert world.apply(move, 10) == []
    assert world.apply({**move, "x": 9}, 20) == []  # same key, even with other fields
    assert world.snapshot()["players"] == before["players"]
    join = {"type": "join", "actor": "bob", "key": "u2:join"}
    assert len(world.apply(join, 30)) == 1 and world.apply(join, 40) == []


def test_input_keys_are_bounded(world_with):
    world = world_with({"ann": (0, 0)}, EngineConfig(remembered_input_keys=5))
    for i in range(8):
        world.apply({"type": "set_activity", "actor": "ann", "text": f"t{i}", "key": f"k{i}"}, i)
    assert world.snapshot()["keys"] == ["k3", "k4", "k5", "k6", "k7"]
    assert (
        world.apply({"type": "set_activity", "actor": "ann", "text": "again", "key": "k0"}, 9) != []
    )


def test_same_inputs_same_events(town_map):
    agents = [(0, {"type": "join", "actor": r["id"], "kind": "agent"}) for r in residents()]
    inputs = agents + scripted_inputs(5)
    first = play(World(town_map, seed=3), inputs, RoutineMind(residents(), town_map))
    second = play(World(town_map, seed=3), inputs, RoutineMind(residents(), town_map))
    assert first == second
    seen = {e.get("kind") for e in first}
    assert {"move", "arrived", "message", "conversation_ended", "activity"} <= seen


def test_snapshot_restore_continues_identically(town_map):
    inputs = scripted_inputs(9, 400)
    head, tail = inputs[:200], inputs[200:]
    agents = [
        (0, {"type": "join", "actor": r["id"], "kind": "agent", "name": r["name"]})
        for r in residents()
    ]
    world = World(town_map, seed=11)
    play(world, agents + head, RoutineMind(residents(), town_map))
    data = json.loads(json.dumps(world.snapshot()))  # must survive JSON
    restored = World.restore(data, town_map, world.config)
    assert restored.snapshot() == world.snapshot()
    original_rest = play(world, tail, RoutineMind(residents(), town_map))
    restored_rest = play(restored, tail, RoutineMind(residents(), town_map))
    assert original_rest == restored_rest
    assert world.snapshot() == restored.snapshot()


def test_refused_inputs_change_nothing(town_map):
    world = World(town_map, seed=2)
    play(world, scripted_inputs(4, 60))
    before = json.dumps(world.snapshot())
    for inp in [
        {
            "type": "move",
            "actor": "h1",
            "x": 0,
            "y": 0,
        },  # a wall far from any floor? snaps or refuses
        {"type": "say", "actor": "h1", "conversation": "c1", "text": ""},
        {"type": "invite", "actor": "h2", "to": "h2"},
        {"type": "join", "actor": "h3"},
    ]:
        try:
            world.apply(inp, world.now)
        except InputRefused:
            assert json.dumps(world.snapshot()) == before
        else:
            before = json.dumps(world.snapshot())


@pytest.mark.parametrize(
    ("inp", "code"),
    [
        ({"type": "dance", "actor": "ann"}, "unknown_type"),
        ({"actor": "ann"}, "unknown_type"),
        ({"type": "move", "actor": "zed", "x": 1, "y": 1}, "not_player"),
        ({"type": "move", "x": 1, "y": 1}, "invalid"),
        ({"type": "move", "actor": "ann", "x": 99, "y": 1}, "invalid"),
        ({"type": "move", "actor": "ann", "x": -1, "y": 1}, "invalid"),
        ({"type": "move", "actor": "ann", "x": "1", "y": 1}, "invalid"),
        ({"type": "move", "actor": "ann", "x": True, "y": 1}, "invalid"),
        ({"type": "move", "actor": "ann", "x": 2, "y": 2, "activity": "x" * 121}, "invalid"),
        ({"type": "join", "actor": "ann"}, "conflict"),
        ({"type": "join", "actor": "new", "kind": "robot"}, "invalid"),
        ({"type": "join", "actor": "new", "x": 500, "y": 0}, "invalid"),
        ({"type": "join", "actor": "x" * 65}, "invalid"),
        ({"type": "invite", "actor": "ann", "to": "zed"}, "not_found"),
        ({"type": "invite", "actor": "ann"}, "invalid"),
        ({"type": "accept", "actor": "ann", "conversation": "c404"}, "not_found"),
        ({"type": "decline", "actor": "ann", "conversation": 7}, "invalid"),
        ({"type": "leave_conversation", "actor": "ann", "conversation": "c404"}, "not_found"),
        ({"type": "set_activity", "actor": "ann", "text": None}, "invalid"),
        ({"type": "set_activity", "actor": "ann", "text": "ok", "for_ms": -1}, "invalid"),
        ({"type": "move", "actor": "ann", "x": 1, "y": 1, "key": ""}, "invalid"),
    ],
)
def test_bad_inputs_get_protocol_error_codes(world_with, inp, code):
    world = world_with({"ann": (0, 0)})
    assert refused(world, inp) == code


def test_full_world_refuses_joins(world_with):
    world = world_with({"ann": (0, 0)}, EngineConfig(max_players=1))
    assert refused(world, {"type": "join", "actor": "bob"}) == "world_full"


def test_join_at_a_spawn_point_avoids_occupied_tiles(town_map):
    world = World(town_map)
    tiles = set()
    for i in range(5):
        (event,) = world.apply(
            {"type": "join", "actor": f"p{i}", "name": f"P{i}", "character": "c"}, 0
        )
        player = event["player"]
        tiles.add((player["x"], player["y"]))
        assert town_map.walkable(player["x"], player["y"])
    assert (11, 6) in tiles and len(tiles) == 5
    assert player == {
        "id": "p4", "name": "P4", "kind": "human", "character": "c", "x": player["x"],
        "y": player["y"], "facing": "down", "activity": "", "conversation": None,
    }  # fmt: skip


def test_leave_removes_the_player(world_with):
    world = world_with({"ann": (0, 0), "bob": (3, 3)})
    assert world.apply({"type": "leave", "actor": "ann"}, 5) == [
        {"kind": "player_left", "t": 5, "player": "ann"}
    ]
    assert [p["id"] for p in world.public_state(5)["players"]] == ["bob"]
    assert refused(world, {"type": "leave", "actor": "ann"}) == "not_player"


def test_clock_runs_a_game_hour_per_real_minute_with_daylight(open_map):
    world = World(open_map)
    assert world.clock(0) == {
        "day": 1, "hour": 7, "minute": 0, "minute_of_day": 420, "daylight": 1.0, "label": "Day 1, 07:00",
    }  # fmt: skip
    assert world.clock(60_000)["label"] == "Day 1, 08:00"
    assert world.clock(17 * 60_000)["label"] == "Day 2, 00:00"
    night = World(open_map, EngineConfig(start_minute_of_day=0))
    light = [night.clock(h * 60_000)["daylight"] for h in range(25)]
    assert light[0] == light[4] == light[21] == 0.0 and light[12] == 1.0
    assert 0 < light[6] < 1 and 0 < light[19] < 1
    assert light[5] <= light[6] <= light[7] and light[18] >= light[19] >= light[20]
    assert world.public_state(0)["clock"]["hour"] == 7
