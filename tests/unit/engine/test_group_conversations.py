"""Group conversations: joining, leaving one by one, the residents' floor, snapshots."""

import contextlib
import itertools

import pytest

from agents.routine import RoutineMind
from town.engine import EngineConfig, InputRefused, World
from town.engine.conversations import MAX_PARTICIPANTS


def kinds(events):
    return [e["kind"] for e in events]


def refused(world, inp, now=0):
    before = {**world.snapshot(), "now": None}
    with pytest.raises(InputRefused) as info:
        world.apply(inp, now)
    assert {**world.snapshot(), "now": None} == before  # a refusal changes nothing
    return info.value.code


def talking(world, a, b, now=0):
    """a invites b, b accepts; the two stand close, so the talk starts at once."""
    (invited,) = world.apply({"type": "invite", "actor": a, "to": b}, now)
    cid = invited["conversation"]["id"]
    events = world.apply({"type": "accept", "actor": b, "conversation": cid}, now)
    assert "conversation_started" in kinds(events)
    return cid


def join(world, who, cid, now=0):
    return world.apply({"type": "join_conversation", "actor": who, "conversation": cid}, now)


def say(world, who, cid, text, now=0, decision=None):
    inp = {"type": "say", "actor": who, "conversation": cid, "text": text}
    if decision:
        inp["decision"] = decision
    return world.apply(inp, now)


def replies(world, now):
    """Tick and return the reply requests handed out, as (agent, conversation)."""
    world.tick(now)
    return [
        (r["agent"], r["conversation"])
        for r in world.take_decision_requests()
        if r["kind"] == "reply"
    ]


def outstanding_replies(world):
    return sorted(a for a, r in world.requests.items() if r["kind"] == "reply")


@pytest.fixture
def trio(world_with):
    """Ann and Bob talking on the open field, Cy standing two tiles from Bob."""
    world = world_with({"ann": (3, 3), "bob": (4, 3), "cy": (6, 3), "far": (15, 8)})
    return world, talking(world, "ann", "bob")


def test_someone_nearby_joins_an_active_conversation(trio):
    world, cid = trio
    events = join(world, "cy", cid, 500)
    assert kinds(events) == ["conversation_joined"]
    joined = events[0]
    assert joined["player"] == "cy" and joined["t"] == 500
    conv = joined["conversation"]
    assert conv["participants"] == ["ann", "bob", "cy"]
    assert (conv["inviter"], conv["invitee"], conv["status"]) == ("ann", "bob", "active")
    state = world.public_state(500)
    assert state["conversations"][0]["participants"] == ["ann", "bob", "cy"]
    assert {p["id"]: p["conversation"] for p in state["players"]}["cy"] == cid
    cy = next(p for p in state["players"] if p["id"] == "cy")
    assert cy["facing"] == "left"  # towards Bob
    # Everyone in it may talk; messages carry on counting.
    for who in ("cy", "ann", "bob"):
        assert kinds(say(world, who, cid, f"hello from {who}", 600)) == ["message"]
    assert world.public_state(600)["conversations"][0]["message_count"] == 3


def test_joining_while_walking_stops_the_walker(world_with):
    world = world_with({"ann": (3, 3), "bob": (4, 3), "cy": (8, 3)})
    cid = talking(world, "ann", "bob")
    world.apply({"type": "move", "actor": "cy", "x": 5, "y": 6}, 0)
    events = join(world, "cy", cid, 1000)  # three tiles along: (5, 3) is one from Bob
    assert kinds(events) == ["move", "conversation_joined"]
    assert len(events[0]["path"]) == 1  # stopped where it stood
    assert "path" not in next(p for p in world.public_state(1000)["players"] if p["id"] == "cy")


def test_join_refusals(world_with):
    people = {"ann": (3, 3), "bob": (4, 3), "cy": (6, 3), "far": (15, 8), "dee": (3, 5)}
    people.update({"eve": (10, 3), "fin": (11, 3)})
    world = world_with(people)
    cid = talking(world, "ann", "bob")
    inp = {"type": "join_conversation", "actor": "far", "conversation": cid}
    assert refused(world, inp) == "conflict"  # too far
    assert refused(world, {**inp, "conversation": "c99"}) == "not_found"
    assert refused(world, {**inp, "conversation": 7}) == "invalid"
    assert refused(world, {**inp, "actor": "ann"}) == "conflict"  # already in it
    assert refused(world, {**inp, "actor": "nobody"}) == "not_player"
    # Eve and Fin are talking themselves: Eve cannot join another conversation.
    other = talking(world, "eve", "fin")
    assert refused(world, {**inp, "actor": "eve"}) == "conflict"
    # An invitation that is not under way yet cannot be joined.
    world.apply({"type": "leave_conversation", "actor": "fin", "conversation": other}, 0)
    world.apply({"type": "invite", "actor": "dee", "to": "cy"}, 0)
    pending = world.players["dee"].conversation
    assert refused(world, {**inp, "actor": "eve", "conversation": pending}) == "conflict"
    # An ended conversation is a conflict, not "not found".
    world.apply({"type": "leave_conversation", "actor": "dee", "conversation": pending}, 0)
    assert refused(world, {**inp, "actor": "eve", "conversation": pending}) == "conflict"


def test_a_full_conversation_refuses_one_more(world_with):
    around = [(4, 2), (4, 4), (2, 3), (3, 2), (3, 4), (5, 3)]
    people = {"ann": (3, 3), "bob": (4, 3)}
    people.update({f"p{n}": xy for n, xy in enumerate(around)})
    world = world_with(people)
    cid = talking(world, "ann", "bob")
    for n in range(MAX_PARTICIPANTS - 2):
        join(world, f"p{n}", cid)
    assert len(world.conversations[cid].participants) == MAX_PARTICIPANTS
    late = {"type": "join_conversation", "actor": f"p{MAX_PARTICIPANTS - 2}", "conversation": cid}
    assert refused(world, late) == "conflict"


def test_one_of_three_leaves_and_the_others_talk_on(trio):
    world, cid = trio
    join(world, "cy", cid)
    say(world, "ann", cid, "hi all", 100)
    events = world.apply({"type": "leave_conversation", "actor": "ann", "conversation": cid}, 200)
    assert events == [
        {"kind": "conversation_left", "t": 200, "conversation": cid, "player": "ann",
         "participants": ["bob", "cy"]},
    ]  # fmt: skip
    conv = world.public_state(200)["conversations"][0]
    # The first two remaining stand in for inviter and invitee (old clients read those).
    assert (conv["participants"], conv["inviter"], conv["invitee"]) == (["bob", "cy"], "bob", "cy")
    assert world.players["ann"].conversation is None
    assert refused(world, {"type": "say", "actor": "ann", "conversation": cid, "text": "x"}) == (
        "forbidden"
    )
    assert kinds(say(world, "cy", cid, "still here", 300)) == ["message"]
    # Ann is free again: she can invite someone else right away.
    assert kinds(world.apply({"type": "invite", "actor": "ann", "to": "far"}, 300)) == [
        "conversation_invited"
    ]


def test_the_conversation_ends_when_one_remains(trio):
    world, cid = trio
    join(world, "cy", cid)
    world.apply({"type": "leave_conversation", "actor": "bob", "conversation": cid}, 100)
    events = world.apply({"type": "leave_conversation", "actor": "cy", "conversation": cid}, 200)
    assert kinds(events) == ["conversation_left", "conversation_ended"]
    assert events[1]["reason"] == "left" and events[1]["participants"] == ["ann", "cy"]
    assert world.conversations == {} and world.players["ann"].conversation is None
    # The pair that was there at the end cools down; the early leaver does not.
    assert refused(world, {"type": "invite", "actor": "ann", "to": "cy"}, 300) == "conflict"
    assert kinds(world.apply({"type": "invite", "actor": "ann", "to": "bob"}, 300)) == [
        "conversation_invited"
    ]


def test_walking_away_or_quitting_leaves_only_that_one(world_with):
    world = world_with({"ann": (3, 3), "bob": (4, 3), "cy": (6, 3), "dee": (3, 5)})
    cid = talking(world, "ann", "bob")
    join(world, "cy", cid)
    join(world, "dee", cid)
    # A shuffle within reach of someone keeps Cy in; walking off leaves.
    assert "conversation_left" not in kinds(
        world.apply({"type": "move", "actor": "cy", "x": 7, "y": 3}, 0)
    )
    events = world.apply({"type": "move", "actor": "cy", "x": 15, "y": 3}, 100)
    assert kinds(events)[:1] == ["conversation_left"] and "conversation_ended" not in kinds(events)
    events = world.apply({"type": "leave", "actor": "dee"}, 200)
    assert kinds(events) == ["conversation_left", "player_left"]
    assert world.conversations[cid].participants == ["ann", "bob"]


def test_a_quiet_group_ends_idle_for_everyone(world_with):
    config = EngineConfig(conversation_idle_ms=10_000)
    world = world_with({"ann": (3, 3), "bob": (4, 3), "cy": (6, 3)}, config)
    cid = talking(world, "ann", "bob")
    join(world, "cy", cid, 5000)  # joining counts as life in the conversation
    assert "conversation_ended" not in kinds(world.tick(12_000))
    (ended,) = [e for e in world.tick(15_000) if e["kind"] == "conversation_ended"]
    assert ended["reason"] == "idle" and ended["participants"] == ["ann", "bob", "cy"]
    assert all(p.conversation is None for p in world.players.values())


@pytest.fixture
def council(world_with):
    """Ann (a person) talking with three residents: Rae (invited), Sol and Tam (joined)."""
    people = {"ann": (3, 3), "rae": (4, 3, "agent"), "sol": (3, 4, "agent"), "tam": (4, 4, "agent")}
    world = world_with(people, EngineConfig(agent_idle_ms=1000))
    cid = talking(world, "ann", "rae")
    join(world, "sol", cid)
    join(world, "tam", cid)
    world.tick(0)
    world.take_decision_requests()
    return world, cid


def test_only_one_resident_is_asked_at_a_time(council):
    world, cid = council
    assert replies(world, 1000) == []  # Ann invited: she opens
    say(world, "ann", cid, "Hello everyone!", 1500)
    assert replies(world, 2000) == [("rae", cid)]  # nobody spoke yet: the first in order
    # Ann talks on while Rae thinks: Rae keeps the floor, nobody else is asked.
    say(world, "ann", cid, "Sol, how are you?", 2500)
    assert replies(world, 3000) == [] and outstanding_replies(world) == ["rae"]
    req = world.requests["rae"]
    say(world, "rae", cid, "Hi everyone!", 3500, decision=req["id"])
    # Then whoever spoke least recently and is not Rae: Sol (never spoke, before Tam).
    assert replies(world, 4000) == [("sol", cid)]
    say(world, "sol", cid, "Fine, thanks.", 4500, decision=world.requests["sol"]["id"])
    assert replies(world, 5000) == [("tam", cid)]
    say(world, "tam", cid, "Lovely day.", 5500, decision=world.requests["tam"]["id"])
    assert replies(world, 6000) == [("rae", cid)]  # Rae spoke longest ago
    assert outstanding_replies(world) == ["rae"]


def test_the_resident_addressed_by_name_speaks_next(council):
    world, cid = council
    say(world, "ann", cid, "What do you think, tam?", 1000)  # any case, first name
    assert replies(world, 1000) == [("tam", cid)]
    say(world, "tam", cid, "I agree with Sol and Rae.", 1500, decision=world.requests["tam"]["id"])
    assert replies(world, 2000) == [("sol", cid)]  # named first
    say(world, "sol", cid, "Me too, Tam.", 2500, decision=world.requests["sol"]["id"])
    assert replies(world, 3000) == [("tam", cid)]
    # A line addressed to someone who is not in the conversation does not count.
    world.tick(3000)
    world.requests.clear()
    say(world, "ann", cid, "Rafael told me so, Samuel.", 3500)
    assert replies(world, 4000) == [("rae", cid)]  # least recent, not a prefix match


def test_a_line_for_a_person_leaves_the_residents_quiet(world_with):
    people = {"ann": (3, 3), "bob": (4, 3), "rae": (3, 4, "agent")}
    world = world_with(people, EngineConfig(agent_idle_ms=1000))
    cid = talking(world, "ann", "bob")
    join(world, "rae", cid)
    say(world, "ann", cid, "Bob, did you see that?", 500)
    assert replies(world, 1000) == []  # Bob should answer, not Rae
    say(world, "bob", cid, "I did!", 1500)
    assert replies(world, 2000) == [("rae", cid)]


def test_a_resident_never_follows_itself(world_with):
    people = {"ann": (3, 3), "bob": (4, 3), "rae": (3, 4, "agent")}
    world = world_with(people, EngineConfig(agent_idle_ms=1000))
    cid = talking(world, "ann", "bob")
    join(world, "rae", cid)
    say(world, "rae", cid, "Hello Rae here", 500)
    assert replies(world, 1000) == []  # the only resident wrote last; it is named too


def test_reply_context_lists_everyone_last_speaker_first(council):
    world, cid = council
    say(world, "ann", cid, "Hello everyone!", 500)
    world.tick(1000)
    (req,) = world.take_decision_requests()
    others = req["context"]["others"]
    assert [o["id"] for o in others] == ["ann", "sol", "tam"]
    assert others[0] == {"id": "ann", "name": "Ann", "kind": "human"}


def test_a_resident_sees_a_joinable_conversation_nearby(world_with):
    people = {"ann": (3, 3), "bob": (4, 3), "rae": (7, 3, "agent")}
    world = world_with(people, EngineConfig(agent_idle_ms=1000))
    cid = talking(world, "ann", "bob")
    world.tick(1000)
    (req,) = world.take_decision_requests()
    assert req["kind"] == "next"
    seen = {o["id"]: o for o in req["context"]["nearby"]}
    assert seen["bob"]["conversation"] == cid and seen["bob"]["joinable"] is True
    assert seen["ann"]["joinable"] is False  # four tiles from Ann: too far from her
    world.apply(
        {"type": "join_conversation", "actor": "rae", "conversation": cid, "decision": req["id"]},
        1500,
    )
    assert world.conversations[cid].participants == ["ann", "bob", "rae"]


def test_a_group_survives_snapshot_and_restore(council, town_map):
    world, cid = council
    say(world, "ann", cid, "Hello everyone!", 500)
    world.tick(1000)
    world.take_decision_requests()
    copy = World.restore(world.snapshot(), world.map, world.config)

    def script(w):
        out = [w.take_decision_requests()]
        out.append(say(w, "rae", cid, "Hi, Tam!", 1500, decision=w.requests["rae"]["id"]))
        out.append(w.tick(2000))
        out.append(w.take_decision_requests())
        out.append(
            w.apply({"type": "leave_conversation", "actor": "sol", "conversation": cid}, 2500)
        )
        out.append(w.public_state(2500)["conversations"])
        return out

    assert script(copy) == script(world)
    assert world.conversations[cid].participants == ["ann", "rae", "tam"]


def test_an_old_snapshot_without_group_fields_restores(world_with):
    world = world_with({"ann": (3, 3), "bob": (4, 3)})
    cid = talking(world, "ann", "bob")
    data = world.snapshot()
    for conv in data["conversations"]:
        del conv["joined"], conv["spoke"]
    restored = World.restore(data, world.map, world.config)
    assert restored.conversations[cid].participants == ["ann", "bob"]
    assert kinds(say(restored, "bob", cid, "still fine", 100)) == ["message"]


def test_routine_residents_in_a_group_never_talk_over_each_other(world_with):
    people = {"ann": (3, 3), "rae": (4, 3, "agent"), "sol": (3, 4, "agent"), "tam": (4, 4, "agent")}
    world = world_with(people, EngineConfig(agent_idle_ms=1000, conversation_cooldown_ms=0))
    cid = talking(world, "ann", "rae")
    join(world, "sol", cid)
    join(world, "tam", cid)
    say(world, "ann", cid, "Hello, all of you!", 0)
    residents = [{"id": p, "name": p.title(), "routine": []} for p in ("rae", "sol", "tam")]
    mind = RoutineMind(residents, world.map, seed=3)
    authors = []
    for now in range(1000, 40_000, 1000):
        events = world.tick(now)
        requests = world.take_decision_requests()
        in_group = [r for r in requests if r.get("conversation") == cid]
        assert len(in_group) <= 1
        assert len([r for r in world.requests.values() if r.get("conversation") == cid]) <= 1
        for request in requests:
            for inp in mind.decide(request, {}):
                with contextlib.suppress(InputRefused):
                    events += world.apply(inp, now)
        authors += [e["author"] for e in events if e["kind"] == "message"]
        if cid not in world.conversations:
            break
        if not world.requests and world.conversations[cid].last_author != "ann":
            # The residents greet Ann by name and wait for her: she answers them all.
            authors += [e["author"] for e in say(world, "ann", cid, "Go on, friends.", now)]
    assert set(authors) == {"ann", "rae", "sol", "tam"}  # every resident got a turn
    assert all(a != b for a, b in itertools.pairwise(authors))  # never twice running


def test_the_offline_mind_names_whom_it_answers_in_a_group():
    from agents.offline import in_group

    others = [{"id": "ann", "name": "Ann Lee", "kind": "human"}, {"id": "sol", "name": "Sol"}]
    ctx = {"me": "rae", "others": others, "messages": [{"author": "ann", "text": "Hi!"}]}
    assert in_group(ctx, "The cafe is lovely.", False) == ("Ann, the cafe is lovely.", False)
    assert in_group(ctx, "I've been reading.", False) == ("Ann, I've been reading.", False)
    assert in_group(ctx, "Good morning, ann!", False) == ("Good morning, ann!", False)
    # One person's goodbye is not the group's: a kind word, and the resident stays.
    bye = {**ctx, "messages": [{"author": "ann", "text": "Goodbye everyone"}]}
    assert in_group(bye, "Nice talking, Ann. Take care!", True) == ("Take care, Ann!", False)
    # A pair is left alone.
    pair = {**ctx, "others": others[:1]}
    assert in_group(pair, "The cafe is lovely.", True) == ("The cafe is lovely.", True)
