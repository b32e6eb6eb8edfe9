"""Continuous movement: paths with a start time and speed, interpolated positions."""

import pytest

from town.engine import EngineConfig, InputRefused


def test_walking_position_interpolates_along_path(world_with):
    world = world_with({"ann": (0, 0)})
    (event,) = world.apply({"type": "move", "actor": "ann", "x": 6, "y": 0}, 1000)
    assert event["kind"] == "move" and event["t0"] == 1000 and event["speed"] == 3.0
    assert event["path"] == [[x, 0] for x in range(7)]
    assert world.player_position("ann", 1000) == (0.0, 0.0)
    assert world.player_position("ann", 1500) == pytest.approx((1.5, 0.0))
    assert world.player_position("ann", 2000) == pytest.approx((3.0, 0.0))
    assert world.player_position("ann", 9000) == (6.0, 0.0)  # rests on the last tile
    me = next(p for p in world.public_state(1500)["players"] if p["id"] == "ann")
    assert (me["x"], me["y"], me["facing"]) == (2, 0, "right")  # nearest tile while walking
    assert me["path"] == event["path"] and me["t0"] == 1000 and me["speed"] == 3.0


def test_tick_settles_finished_paths_without_per_frame_events(world_with):
    world = world_with({"ann": (5, 5)})
    world.apply({"type": "move", "actor": "ann", "x": 5, "y": 2}, 0)
    assert world.tick(500) == []
    assert world.tick(1000) == [{"kind": "arrived", "t": 1000, "player": "ann", "x": 5, "y": 2}]
    me = world.public_state(1000)["players"][0]
    assert (me["x"], me["y"], me["facing"]) == (5, 2, "up") and "path" not in me


def test_new_move_starts_from_the_current_tile(world_with):
    world = world_with({"ann": (0, 0)})
    world.apply({"type": "move", "actor": "ann", "x": 9, "y": 0}, 0)
    (event,) = world.apply({"type": "move", "actor": "ann", "x": 2, "y": 3}, 1000)
    assert event["path"][0] == [3, 0] and event["path"][-1] == [2, 3]
    assert world.public_state(1000)["players"][0]["facing"] == "left"


def test_blocked_target_snaps_to_nearest_walkable_tile(make_map):
    from town.engine import World

    town_map = make_map(["......", "..##..", "..##..", "......"])
    world = World(town_map)
    world.apply({"type": "join", "actor": "ann", "x": 0, "y": 0}, 0)
    (event,) = world.apply({"type": "move", "actor": "ann", "x": 2, "y": 1}, 0)
    assert event["path"][-1] == [2, 0]
    walled = make_map(["#######", "#######", "#######", "#######", "#######", "......."])
    world = World(walled, EngineConfig(snap_radius=2))
    world.apply({"type": "join", "actor": "ann", "x": 0, "y": 5}, 0)
    with pytest.raises(InputRefused) as refused:
        world.apply({"type": "move", "actor": "ann", "x": 3, "y": 0}, 0)
    assert refused.value.code == "invalid"


def test_unreachable_target_is_refused_as_no_path(make_map):
    from town.engine import World

    world = World(make_map(["..#..", "..#..", "..#.."]))
    world.apply({"type": "join", "actor": "ann", "x": 0, "y": 0}, 0)
    with pytest.raises(InputRefused) as refused:
        world.apply({"type": "move", "actor": "ann", "x": 4, "y": 1}, 0)
    assert (refused.value.code, refused.value.message) == ("invalid", "no path")


def test_agent_path_searches_beyond_the_tick_cap_wait_for_the_next_tick(world_with):
    config = EngineConfig(max_path_searches_per_tick=2)
    world = world_with({f"a{i}": (i, 0, "agent") for i in range(4)}, config)
    world.apply({"type": "join", "actor": "hum", "x": 0, "y": 9}, 0)
    moves = [world.apply({"type": "move", "actor": f"a{i}", "x": i, "y": 8}, 100) for i in range(4)]
    assert [len(m) for m in moves] == [1, 1, 0, 0]  # two searched now, two queued
    assert (
        len(world.apply({"type": "move", "actor": "hum", "x": 5, "y": 9}, 100)) == 1
    )  # humans never wait
    events = world.tick(1000)
    assert [e["player"] for e in events if e["kind"] == "move"] == ["a2", "a3"]
    assert all(e["t0"] == 1000 for e in events if e["kind"] == "move")
