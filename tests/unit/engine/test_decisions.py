"""The agent-mind interface: the engine asks, minds answer with ordinary inputs."""

from town.engine import EngineConfig


def test_agent_gets_asked_and_unanswered_request_expires(world_with):
    config = EngineConfig(agent_idle_ms=3000, decision_timeout_ms=20_000)
    world = world_with({"ada": (2, 2, "agent"), "ann": (4, 2)}, config)
    world.tick(2000)
    assert world.take_decision_requests() == []
    world.tick(3000)
    (req,) = world.take_decision_requests()
    assert (req["id"], req["agent"], req["kind"], req["t"]) == ("r1", "ada", "next", 3000)
    ctx = req["context"]
    assert ctx["clock"]["label"] == "Day 1, 07:03" and (ctx["x"], ctx["y"]) == (2, 2)
    assert ctx["nearby"] == [
        {"id": "ann", "name": "Ann", "kind": "human", "distance": 2, "x": 4, "y": 2,
         "in_conversation": False, "cooldown": False},
    ]  # fmt: skip
    for now in range(4000, 23_000, 1000):
        world.tick(now)
        assert world.take_decision_requests() == []  # one outstanding request at a time
    assert world.tick(23_000) == [] and world.take_decision_requests() == []
    assert world.snapshot()["requests"] == []  # expired silently at 23 s
    for now in range(24_000, 26_000, 1000):
        world.tick(now)
        assert world.take_decision_requests() == []  # a breather before asking again
    world.tick(26_000)
    assert [r["id"] for r in world.take_decision_requests()] == ["r2"]


def test_answer_closes_the_request(world_with):
    world = world_with({"ada": (2, 2, "agent")})
    world.tick(3000)
    (req,) = world.take_decision_requests()
    world.apply(
        {
            "type": "set_activity",
            "actor": "ada",
            "text": "reading",
            "for_ms": 10_000,
            "decision": req["id"],
        },
        3500,
    )
    assert world.snapshot()["requests"] == []
    for now in range(4000, 13_500, 500):
        world.tick(now)
        assert world.take_decision_requests() == []
    world.tick(13_500)
    assert [r["kind"] for r in world.take_decision_requests()] == ["next"]


def test_invitation_supersedes_a_pending_next_request(world_with):
    world = world_with({"ada": (2, 2, "agent"), "ann": (4, 2)})
    world.tick(3000)
    (first,) = world.take_decision_requests()
    (invited,) = world.apply({"type": "invite", "actor": "ann", "to": "ada"}, 3500)
    world.tick(4000)
    (req,) = world.take_decision_requests()
    assert req["kind"] == "invite" and req["id"] != first["id"]
    conv = invited["conversation"]["id"]
    assert req["context"]["conversation"] == conv
    assert (req["context"]["inviter"], req["context"]["inviter_name"]) == ("ann", "Ann")
    # A late answer to the withdrawn request is still just an input.
    world.apply(
        {"type": "accept", "actor": "ada", "conversation": conv, "decision": req["id"]}, 4100
    )
    assert world.snapshot()["requests"] == []


def test_reply_requests_follow_turns(world_with):
    world = world_with({"ada": (2, 2, "agent"), "bo": (3, 2, "agent"), "ann": (9, 9)})
    world.tick(3000)
    for req in world.take_decision_requests():
        world.apply(
            {
                "type": "set_activity",
                "actor": req["agent"],
                "text": "idle",
                "for_ms": 60_000,
                "decision": req["id"],
            },
            3000,
        )
    (invited,) = world.apply({"type": "invite", "actor": "ada", "to": "bo"}, 3100)
    conv = invited["conversation"]["id"]
    world.tick(4000)
    (req,) = world.take_decision_requests()
    assert (req["agent"], req["kind"]) == ("bo", "invite")
    world.apply(
        {"type": "accept", "actor": "bo", "conversation": conv, "decision": req["id"]}, 4100
    )
    world.tick(5000)
    (req,) = world.take_decision_requests()
    assert (req["agent"], req["kind"], req["context"]["messages"]) == (
        "ada",
        "reply",
        [],
    )  # inviter opens
    world.apply(
        {
            "type": "say",
            "actor": "ada",
            "conversation": conv,
            "text": "Hi Bo",
            "decision": req["id"],
        },
        5100,
    )
    world.tick(6000)
    (req,) = world.take_decision_requests()
    assert (req["agent"], req["kind"]) == ("bo", "reply")
    assert req["context"]["messages"] == [{"author": "ada", "name": "Ada", "text": "Hi Bo"}]
    assert req["context"]["others"] == [{"id": "ada", "name": "Ada", "kind": "agent"}]
    # Ada leaves: Bo's reply request is withdrawn, nothing waits on it.
    world.apply({"type": "leave_conversation", "actor": "ada", "conversation": conv}, 6100)
    world.tick(7000)
    assert world.snapshot()["requests"] == []


def test_humans_are_never_asked(world_with):
    world = world_with({"ann": (2, 2), "bob": (5, 5)})
    for now in range(1000, 30_000, 1000):
        world.tick(now)
    assert world.take_decision_requests() == []


def test_a_persons_line_is_answered_at_once_not_at_the_next_step(world_with):
    world = world_with({"ada": (2, 2, "agent"), "ann": (3, 2), "bo": (9, 9, "agent")})
    world.tick(3000)
    world.take_decision_requests()
    (invited,) = world.apply({"type": "invite", "actor": "ann", "to": "ada"}, 3100)
    conv = invited["conversation"]["id"]
    (req,) = world.take_decision_requests()  # asked without waiting for a tick
    assert (req["agent"], req["kind"], req["t"]) == ("ada", "invite", 3100)
    world.apply(
        {"type": "accept", "actor": "ada", "conversation": conv, "decision": req["id"]}, 3200
    )
    world.tick(4000)
    world.take_decision_requests()
    world.apply({"type": "say", "actor": "ann", "conversation": conv, "text": "Hi Ada"}, 4300)
    (req,) = world.take_decision_requests()
    assert (req["agent"], req["kind"], req["t"]) == ("ada", "reply", 4300)
    assert req["context"]["messages"][-1]["text"] == "Hi Ada"
    # Residents among themselves keep the step's pace: bo is asked only by a tick.
    world.apply({"type": "leave_conversation", "actor": "ann", "conversation": conv}, 4400)
    assert world.take_decision_requests() == []
