"""The placeholder routine mind keeps residents on their timetable and chatting."""

from agents.routine import RoutineMind
from town.engine import World

RESIDENTS = [
    {"id": "ada", "name": "Ada Byrne", "character": "ada", "home": "home_ada", "routine": [
        {"hour": 7, "area": "home_ada", "activity": "having breakfast"},
        {"hour": 8, "area": "cafe", "activity": "drinking coffee"},
        {"hour": 10, "area": "library", "activity": "reading about bees"},
        {"hour": 12, "area": "park", "activity": "eating lunch on the grass"},
        {"hour": 22, "area": "home_ada", "activity": "sleeping"},
    ]},
    {"id": "bo", "name": "Bo Lind", "character": "bo", "home": "home_bo", "routine": [
        {"hour": 7, "area": "home_bo", "activity": "stretching"},
        {"hour": 8, "area": "cafe", "activity": "baking bread"},
        {"hour": 10, "area": "shop", "activity": "selling bread"},
        {"hour": 12, "area": "park", "activity": "feeding ducks"},
    ]},
    {"id": "cy", "name": "Cy Moss", "character": "cy", "home": "home_bo", "routine": [
        {"hour": 7, "area": "plaza", "activity": "sweeping"},
        {"hour": 8, "area": "cafe", "activity": "reading the paper"},
        {"hour": 10, "area": "library", "activity": "shelving books"},
        {"hour": 12, "area": "park", "activity": "sketching"},
    ]},
]  # fmt: skip


def test_routine_mind_walks_residents_to_their_areas(town_map, drive):
    world = World(town_map, seed=4)
    for r in RESIDENTS:
        x, y = town_map.areas[r["routine"][0]["area"]].center
        world.apply({"type": "join", "actor": r["id"], "name": r["name"], "character": r["character"],
                     "kind": "agent", "x": x, "y": y}, 0)  # fmt: skip
    mind = RoutineMind(RESIDENTS, town_map, seed=1)
    visited = {r["id"]: set() for r in RESIDENTS}
    events = []
    for hour in range(6):  # 07:00 to 13:00, one game hour per real minute
        start = hour * 60_000
        events += drive(world, mind, start, start + 60_000)
        for p in world.public_state(start + 60_000)["players"]:
            area = town_map.area_at(p["x"], p["y"])
            visited[p["id"]].add(area.name if area else None)
    for r in RESIDENTS:
        planned = {e["area"] for e in r["routine"] if e["hour"] <= 12}
        assert planned <= visited[r["id"]], (r["id"], visited[r["id"]])
    messages = [e for e in events if e["kind"] == "message"]
    assert len(messages) >= 4 and len({m["author"] for m in messages}) >= 2
    ended = [e["reason"] for e in events if e["kind"] == "conversation_ended"]
    assert "left" in ended
    activities = {e["text"] for e in events if e["kind"] == "activity"}
    assert "reading about bees" in activities or any("library" in a for a in activities)


def test_routine_plan_in_force_wraps_past_midnight(town_map):
    mind = RoutineMind(RESIDENTS, town_map)
    ada = RESIDENTS[0]
    assert mind.current_plan(ada, 9)["area"] == "cafe"
    assert mind.current_plan(ada, 23)["activity"] == "sleeping"
    assert mind.current_plan(ada, 3)["activity"] == "sleeping"  # still last night's entry


def test_routine_mind_is_deterministic_and_marks_its_answers(town_map):
    request = {
        "id": "r7", "agent": "bo", "kind": "reply", "t": 0,
        "context": {"clock": {"hour": 9, "minute": 5}, "x": 3, "y": 11, "area": "cafe",
                    "activity": "baking bread", "conversation": "c2",
                    "others": [{"id": "ann", "name": "Ann Smith", "kind": "human"}],
                    "messages": [{"author": "ann", "name": "Ann Smith", "text": "Hello!"}]},
    }  # fmt: skip
    first = RoutineMind(RESIDENTS, town_map, seed=3).decide(request, {})
    again = RoutineMind(RESIDENTS, town_map, seed=3).decide(request, {})
    assert first == again
    (say,) = first
    assert say["type"] == "say" and say["actor"] == "bo" and say["decision"] == "r7"
    assert "Ann" in say["text"] and 1 <= len(say["text"]) <= 500
    assert RoutineMind(RESIDENTS, town_map).decide({**request, "agent": "stranger"}, {}) == []
