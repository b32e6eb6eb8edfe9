"""The agent-mind interface: the engine asks, minds answer with ordinary inputs."""

from town.engine import EngineConfig

# Residents among themselves: the next line once the last could be read (50 ms a character).
READING = EngineConfig(
    resident_line_ms_per_char=50,
    resident_line_min_ms=2000,
    resident_line_max_ms=8000,
    resident_typing_ms=1200,
)


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
    world = world_with({"ada": (2, 2, "agent"), "bo": (3, 2, "agent"), "ann": (9, 9)}, READING)
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
    # Among residents the first line comes after a short pause, its speaker typing first.
    assert world.tick(4800) == [] and world.take_decision_requests() == []
    assert world.tick(5000) == [
        {"kind": "typing", "t": 5000, "conversation": conv, "player": "ada"}
    ]
    assert world.take_decision_requests() == []
    world.tick(6100)
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
        6200,
    )
    assert [e["player"] for e in world.tick(7000) if e["kind"] == "typing"] == ["bo"]
    assert world.take_decision_requests() == []
    world.tick(8200)
    (req,) = world.take_decision_requests()
    assert (req["agent"], req["kind"]) == ("bo", "reply")
    assert req["context"]["messages"] == [{"author": "ada", "name": "Ada", "text": "Hi Bo"}]
    assert req["context"]["others"] == [{"id": "ada", "name": "Ada", "kind": "agent"}]
    # Ada leaves: Bo's reply request is withdrawn, nothing waits on it.
    world.apply({"type": "leave_conversation", "actor": "ada", "conversation": conv}, 8300)
    world.tick(9000)
    assert world.snapshot()["requests"] == []


def test_residents_among_themselves_talk_at_reading_speed(world_with):
    world = world_with({"ada": (2, 2, "agent"), "bo": (3, 2, "agent")}, READING)
    (invited,) = world.apply({"type": "invite", "actor": "ada", "to": "bo"}, 1000)
    conv = invited["conversation"]["id"]
    world.apply({"type": "accept", "actor": "bo", "conversation": conv}, 1000)

    def say(who: str, text: str, now: int) -> None:
        req = world.requests[who]
        inp = {"type": "say", "actor": who, "conversation": conv, "text": text}
        world.apply({**inp, "decision": req["id"]}, now)

    world.tick(3000)
    assert [r["agent"] for r in world.take_decision_requests()] == ["ada"]
    say("ada", "x" * 100, 3000)  # 100 characters at 50 ms: 5 s, typing for the last 1.2 s
    assert world.tick(6700) == [] and world.take_decision_requests() == []
    assert [e["kind"] for e in world.tick(6800)] == ["typing"]
    world.tick(7900)
    assert world.take_decision_requests() == []
    world.tick(8000)
    assert [r["agent"] for r in world.take_decision_requests()] == ["bo"]
    # A very long line waits at most resident_line_max_ms.
    say("bo", "y" * 400, 8000)  # 20 s to read: 8 s
    world.tick(15_900)
    assert world.take_decision_requests() == []
    world.tick(16_000)
    assert [r["agent"] for r in world.take_decision_requests()] == ["ada"]
    # 0, 0 turns the pause off.
    world.config = EngineConfig(resident_line_min_ms=0, resident_line_max_ms=0)
    say("ada", "z" * 400, 16_100)
    assert world.tick(16_200) == []  # nobody shown typing
    assert [r["agent"] for r in world.take_decision_requests()] == ["bo"]


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
