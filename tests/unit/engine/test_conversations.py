"""Conversations: invite, accept or decline, walk together, talk, end, cool down."""

import pytest

from town.engine import EngineConfig, InputRefused


def kinds(events):
    return [e["kind"] for e in events]


def invite(world, inviter, invitee, now=0):
    (event,) = world.apply({"type": "invite", "actor": inviter, "to": invitee}, now)
    return event["conversation"]["id"]


def talking(world, a="ann", b="bob", now=0):
    """Invite, accept and tick until the pair is talking; returns the conversation id."""
    conv = invite(world, a, b, now)
    if "conversation_started" in kinds(
        world.apply({"type": "accept", "actor": b, "conversation": conv}, now)
    ):
        return conv
    for t in range(now + 1000, now + 30_000, 1000):
        if "conversation_started" in kinds(world.tick(t)):
            return conv
    raise AssertionError("the conversation never started")


def refused(world, inp, now=0):
    with pytest.raises(InputRefused) as info:
        world.apply(inp, now)
    return info.value.code


def test_invite_accept_walk_then_start(world_with):
    world = world_with({"ann": (0, 0), "bob": (12, 6)})
    (invited,) = world.apply({"type": "invite", "actor": "ann", "to": "bob"}, 0)
    conv = invited["conversation"]
    assert conv["status"] == "invited" and conv["participants"] == ["ann", "bob"]
    assert (conv["inviter"], conv["invitee"], conv["created"], conv["started"]) == (
        "ann",
        "bob",
        0,
        None,
    )
    events = world.apply({"type": "accept", "actor": "bob", "conversation": conv["id"]}, 500)
    assert kinds(events) == ["conversation_accepted", "move", "move"]
    assert events[0]["conversation"]["status"] == "walking"
    ann_path, bob_path = events[1]["path"], events[2]["path"]
    assert ann_path[0] == [0, 0] and bob_path[0] == [12, 6]
    started = []
    for now in range(1000, 10_000, 1000):
        started += [e for e in world.tick(now) if e["kind"] == "conversation_started"]
        if started:
            break
    assert started and started[0]["conversation"]["status"] == "active"
    state = world.public_state(now)
    ann, bob = state["players"]
    assert abs(ann["x"] - bob["x"]) + abs(ann["y"] - bob["y"]) <= 2
    assert "path" not in ann and "path" not in bob  # both stopped to talk
    facing = {"right": (1, 0), "left": (-1, 0), "down": (0, 1), "up": (0, -1)}
    dx, dy = facing[ann["facing"]]
    assert dx * (bob["x"] - ann["x"]) + dy * (bob["y"] - ann["y"]) > 0  # they face each other
    dx, dy = facing[bob["facing"]]
    assert dx * (ann["x"] - bob["x"]) + dy * (ann["y"] - bob["y"]) > 0
    assert ann["conversation"] == bob["conversation"] == conv["id"]
    assert state["conversations"][0]["started"] == now


def test_neighbours_start_talking_at_once(world_with):
    world = world_with({"ann": (3, 3), "bob": (4, 4)})
    conv = invite(world, "ann", "bob")
    events = world.apply({"type": "accept", "actor": "bob", "conversation": conv}, 0)
    assert kinds(events) == ["conversation_accepted", "conversation_started"]


def test_decline_and_timeout_end_invitation(world_with):
    world = world_with({"ann": (0, 0), "bob": (5, 5), "cy": (9, 9)})
    conv = invite(world, "ann", "bob")
    assert refused(world, {"type": "decline", "actor": "ann", "conversation": conv}) == "forbidden"
    events = world.apply({"type": "decline", "actor": "bob", "conversation": conv}, 100)
    assert events == [
        {
            "kind": "conversation_ended",
            "t": 100,
            "conversation": conv,
            "reason": "declined",
            "participants": ["ann", "bob"],
        }
    ]
    assert refused(world, {"type": "accept", "actor": "bob", "conversation": conv}) == "conflict"
    conv2 = invite(world, "ann", "cy", 1000)
    assert world.tick(30_000) == []
    events = world.tick(31_000)
    assert events == [
        {
            "kind": "conversation_ended",
            "t": 31_000,
            "conversation": conv2,
            "reason": "timeout",
            "participants": ["ann", "cy"],
        }
    ]
    assert all(p["conversation"] is None for p in world.public_state(31_000)["players"])


def test_one_conversation_at_a_time(world_with):
    world = world_with({"ann": (0, 0), "bob": (2, 0), "cy": (9, 9), "dee": (9, 7)})
    invite(world, "ann", "bob")
    assert refused(world, {"type": "invite", "actor": "cy", "to": "ann"}) == "conflict"
    assert refused(world, {"type": "invite", "actor": "cy", "to": "bob"}) == "conflict"
    assert refused(world, {"type": "invite", "actor": "ann", "to": "cy"}) == "conflict"
    assert refused(world, {"type": "invite", "actor": "cy", "to": "cy"}) == "conflict"
    assert refused(world, {"type": "invite", "actor": "cy", "to": "nobody"}) == "not_found"
    assert kinds(world.apply({"type": "invite", "actor": "cy", "to": "dee"}, 0)) == [
        "conversation_invited"
    ]


def test_cooldown_blocks_same_pair(world_with):
    config = EngineConfig(conversation_cooldown_ms=10_000)
    world = world_with({"ann": (0, 0), "bob": (1, 0), "cy": (3, 0)}, config)
    conv = talking(world)
    world.apply({"type": "leave_conversation", "actor": "ann", "conversation": conv}, 2000)
    assert refused(world, {"type": "invite", "actor": "bob", "to": "ann"}, 3000) == "conflict"
    assert kinds(world.apply({"type": "invite", "actor": "ann", "to": "cy"}, 3000)) == [
        "conversation_invited"
    ]
    world.tick(13_000)  # the invitation to cy is still pending: ann stays busy
    assert refused(world, {"type": "invite", "actor": "bob", "to": "ann"}, 13_000) == "conflict"
    world.tick(34_000)  # ann's invitation to cy timed out and the cooldown with bob is over
    assert kinds(world.apply({"type": "invite", "actor": "bob", "to": "ann"}, 34_000)) == [
        "conversation_invited"
    ]


def test_message_cap_ends_conversation(world_with):
    world = world_with(
        {"ann": (0, 0), "bob": (1, 0)}, EngineConfig(max_messages_per_conversation=3)
    )
    conv = talking(world)
    ids = []
    for i, who in enumerate(["ann", "bob", "ann"]):
        events = world.apply(
            {"type": "say", "actor": who, "conversation": conv, "text": f" hi {i} "}, 5000 + i
        )
        assert events[0] == {
            "kind": "message", "t": 5000 + i, "conversation": conv, "author": who,
            "text": f"hi {i}", "id": events[0]["id"],
        }  # fmt: skip
        ids.append(events[0]["id"])
    assert len(set(ids)) == 3
    assert events[-1] == {
        "kind": "conversation_ended",
        "t": 5002,
        "conversation": conv,
        "reason": "message_cap",
        "participants": ["ann", "bob"],
    }
    assert (
        refused(world, {"type": "say", "actor": "bob", "conversation": conv, "text": "wait"})
        == "conflict"
    )


def test_say_and_typing_rules(world_with):
    world = world_with({"ann": (0, 0), "bob": (1, 0), "cy": (5, 5)})
    conv = invite(world, "ann", "bob")
    assert (
        refused(world, {"type": "say", "actor": "ann", "conversation": conv, "text": "hi"})
        == "conflict"
    )
    world.apply({"type": "accept", "actor": "bob", "conversation": conv}, 0)
    for text in ["", "   ", "x" * 501, 42]:
        assert (
            refused(world, {"type": "say", "actor": "ann", "conversation": conv, "text": text})
            == "invalid"
        )
    assert (
        refused(world, {"type": "say", "actor": "cy", "conversation": conv, "text": "hi"})
        == "forbidden"
    )
    assert (
        refused(world, {"type": "say", "actor": "ann", "conversation": "c999", "text": "hi"})
        == "not_found"
    )
    assert kinds(
        world.apply({"type": "say", "actor": "ann", "conversation": conv, "text": "x" * 500}, 1)
    ) == ["message"]
    assert world.apply({"type": "typing", "actor": "bob", "conversation": conv}, 2) == [
        {"kind": "typing", "t": 2, "conversation": conv, "player": "bob"}
    ]
    assert refused(world, {"type": "typing", "actor": "cy", "conversation": conv}) == "forbidden"


def test_moving_away_leaves_the_conversation_but_shuffling_does_not(world_with):
    world = world_with({"ann": (0, 0), "bob": (1, 0)})
    conv = talking(world)
    assert kinds(world.apply({"type": "move", "actor": "ann", "x": 0, "y": 1}, 2000)) == ["move"]
    events = world.apply({"type": "move", "actor": "bob", "x": 15, "y": 8}, 3000)
    assert kinds(events) == ["conversation_left", "conversation_ended", "move"]
    assert (
        events[0]["player"] == "bob"
        and events[1]["reason"] == "left"
        and events[1]["conversation"] == conv
    )


def test_leaving_the_world_ends_the_conversation(world_with):
    world = world_with({"ann": (0, 0), "bob": (1, 0)})
    conv = talking(world)
    events = world.apply({"type": "leave", "actor": "bob"}, 2000)
    assert kinds(events) == ["conversation_left", "conversation_ended", "player_left"]
    assert events[2]["player"] == "bob" and events[1]["conversation"] == conv
    assert world.public_state(2000)["players"][0]["conversation"] is None


def test_idle_conversation_ends(world_with):
    world = world_with({"ann": (0, 0), "bob": (1, 0)}, EngineConfig(conversation_idle_ms=5000))
    conv = talking(world)
    started = world.snapshot()["conversations"][0]["started"]
    events = world.tick(started + 5000)
    assert {
        "kind": "conversation_ended",
        "t": started + 5000,
        "conversation": conv,
        "reason": "idle",
        "participants": ["ann", "bob"],
    } in events
