"""Residents added, edited and retired while the world runs (join / update_player / leave)."""

import pytest

from town.engine import InputRefused, World


def kinds(events):
    return [e["kind"] for e in events]


def refused(world, inp, now=0):
    with pytest.raises(InputRefused) as info:
        world.apply(inp, now)
    return info.value.code


def add(world, pid, now, **fields):
    inp = {"type": "join", "actor": pid, "kind": "agent", "name": pid.title(),
           "character": "ada", "identity": f"{pid} lives here.", **fields}  # fmt: skip
    return world.apply(inp, now)


def test_added_resident_appears_in_state_and_is_asked_to_decide(town_map):
    world = World(town_map, seed=3)
    events = add(world, "zoe", 500, x=3, y=2)
    assert kinds(events) == ["player_joined"]
    assert events[0]["player"]["kind"] == "agent" and events[0]["player"]["name"] == "Zoe"
    assert [p["id"] for p in world.public_state(500)["players"]] == ["zoe"]
    asked = []
    for now in range(1000, 6000, 1000):
        world.tick(now)
        asked += world.take_decision_requests()
    assert [(r["agent"], r["kind"]) for r in asked] == [("zoe", "next")]


def test_update_player_changes_name_sprite_and_identity_live(world_with):
    world = world_with({"zoe": (2, 2, "agent"), "ann": (5, 5)})
    events = world.apply(
        {"type": "update_player", "actor": "zoe", "name": "Zoe Quill", "character": "bram",
         "identity": "Zoe now runs the library."},
        1200,
    )  # fmt: skip
    assert kinds(events) == ["player_updated"]
    player = events[0]["player"]
    assert (player["name"], player["character"], player["x"], player["y"]) == (
        "Zoe Quill", "bram", 2, 2,
    )  # fmt: skip
    assert world.players["zoe"].identity == "Zoe now runs the library."
    state = {p["id"]: p for p in world.public_state(1200)["players"]}
    assert state["zoe"]["name"] == "Zoe Quill" and state["zoe"]["character"] == "bram"
    # Nothing new: nothing happens (a resent edit is harmless).
    assert world.apply({"type": "update_player", "actor": "zoe", "name": "Zoe Quill"}, 1300) == []


def test_update_player_refusals_change_nothing(world_with):
    world = world_with({"zoe": (2, 2, "agent")})
    before = world.snapshot()
    assert refused(world, {"type": "update_player", "actor": "zoe", "name": "  "}) == "invalid"
    assert refused(world, {"type": "update_player", "actor": "zoe", "character": 3}) == "invalid"
    long = "x" * 65
    assert refused(world, {"type": "update_player", "actor": "zoe", "name": long}) == "invalid"
    assert refused(world, {"type": "update_player", "actor": "nobody", "name": "N"}) == "not_player"
    assert world.snapshot() == before


def test_update_survives_snapshot_and_restore(world_with, open_map):
    world = world_with({"zoe": (2, 2, "agent")})
    world.apply({"type": "update_player", "actor": "zoe", "name": "Zoe Q", "key": "e1"}, 100)
    again = World.restore(world.snapshot(), open_map)
    assert again.players["zoe"].name == "Zoe Q"
    assert (
        again.apply({"type": "update_player", "actor": "zoe", "name": "X", "key": "e1"}, 200) == []
    )


def test_retiring_a_resident_mid_conversation_ends_it_cleanly(world_with):
    world = world_with({"zoe": (2, 2, "agent"), "ann": (3, 2)})
    invited = world.apply({"type": "invite", "actor": "ann", "to": "zoe"}, 100)
    conv = invited[0]["conversation"]["id"]
    world.apply({"type": "accept", "actor": "zoe", "conversation": conv}, 200)
    world.apply({"type": "say", "actor": "ann", "conversation": conv, "text": "Hello!"}, 300)
    world.tick(1000)
    assert "zoe" in world.requests  # asked to reply
    events = world.apply({"type": "leave", "actor": "zoe", "key": "retire-zoe"}, 1500)
    assert kinds(events) == ["conversation_left", "conversation_ended", "player_left"]
    assert events[1]["reason"] == "left" and events[-1]["player"] == "zoe"
    assert "zoe" not in world.players and "zoe" not in world.requests
    assert world.conversations == {} and world.players["ann"].conversation is None
    assert [p["id"] for p in world.public_state(1500)["players"]] == ["ann"]
    # A late answer of the retired resident is refused, and it can come back by id.
    late = {"type": "say", "actor": "zoe", "conversation": conv, "text": "Bye"}
    assert refused(world, late, 1600) == "not_player"
    assert kinds(add(world, "zoe", 1700, x=2, y=2)) == ["player_joined"]
