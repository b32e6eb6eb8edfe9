"""Engine benchmark: 25 routine-driven residents and 100 restless humans on a 64x48 town.

Run: .venv/bin/python bench/engine.py [--seconds N] [--humans N] [--agents N]
Prints world-seconds per CPU-second and per-step (tick + that second's inputs) costs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.routine import RoutineMind  # noqa: E402 - runnable as a plain script
from town.engine import InputRefused, TownMap, World  # noqa: E402
from town.engine.movement import current_tile  # noqa: E402

REAL_MAP = ROOT / "town" / "maps" / "town.tmj"
WORK_PLACES = ["cafe", "library", "shop", "park", "plaza"]
VIEW_W, VIEW_H = 12, 8  # half a 25x17-tile screen: where people usually click
CHAT = ["hi!", "nice day", "where are you going?", "to the cafe", "see you", "lol", "ok"]


def generated_town(width: int = 64, height: int = 48) -> dict:
    """A Tiled-like 64x48 town: two rows of walled buildings with doors, a park and a plaza."""
    blocked = set()
    for x in range(width):
        blocked |= {(x, 0), (x, height - 1)}
    for y in range(height):
        blocked |= {(0, y), (width - 1, y)}
    areas = []
    names = iter(
        [
            "cafe",
            "library",
            "home_1",
            "home_2",
            "shop",
            "home_3",
            "home_4",
            "home_5",
            "home_6",
            "home_7",
        ]
    )
    for top, door_y in ((2, 10), (height - 11, height - 11)):
        for left in range(3, width - 10, 12):
            name = next(names)
            # A hollow 10x9 building; the door faces the middle street.
            for x in range(left, left + 10):
                blocked |= {(x, top), (x, top + 8)}
            for y in range(top, top + 9):
                blocked |= {(left, y), (left + 9, y)}
            blocked.discard((left + 5, top + 8 if door_y > top else top))
            kind = name.split("_")[0]
            areas.append((name, kind, left + 1, top + 1, 8, 7))
    rng = random.Random(5)
    for _ in range(40):  # trees in the park
        blocked.add((rng.randrange(3, 20), rng.randrange(15, 33)))
    areas += [("park", "park", 2, 14, 19, 20), ("plaza", "plaza", 26, 17, 14, 12)]
    data = [1 if (i % width, i // width) in blocked else 0 for i in range(width * height)]
    tile = 32
    return {
        "width": width,
        "height": height,
        "tilewidth": tile,
        "tileheight": tile,
        "layers": [
            {"type": "tilelayer", "name": "collision", "width": width, "height": height, "data": data},
            {"type": "objectgroup", "name": "areas", "objects": [
                {"name": n, "type": k, "x": x * tile, "y": y * tile, "width": w * tile, "height": h * tile}
                for n, k, x, y, w, h in areas
            ]},
            {"type": "objectgroup", "name": "spawns", "objects": [
                {"name": "spawn", "point": True, "x": (30 + 2 * i) * tile, "y": 22 * tile} for i in range(4)
            ]},
        ],
    }  # fmt: skip


def residents(town_map: TownMap, count: int, rng: random.Random) -> list[dict]:
    """Residents with a home and a day: home, work, lunch, work, out, home."""
    homes = sorted(n for n, a in town_map.areas.items() if "home" in (a.kind, n.split("_")[0]))
    homes = homes or [None]
    places = [p for p in WORK_PLACES if p in town_map.areas] or list(town_map.areas)
    out = []
    for i in range(count):
        home = homes[i % len(homes)]
        work = rng.choice(places)
        out.append(
            {
                "id": f"agent{i}",
                "name": f"Resident {i}",
                "character": f"c{i % 8}",
                "home": home,
                "routine": [
                    {"hour": 7, "area": home, "activity": "having breakfast"},
                    {"hour": 9, "area": work, "activity": "working"},
                    {"hour": 12, "area": rng.choice(places), "activity": "having lunch"},
                    {"hour": 13, "area": work, "activity": "working"},
                    {"hour": 17, "area": rng.choice(places), "activity": "meeting friends"},
                    {"hour": 20, "area": home, "activity": "resting"},
                ],
            }
        )
    return out


class Humans:
    """Scripted people: walk somewhere every few seconds, sometimes chat in pairs."""

    def __init__(self, world: World, count: int, rng: random.Random) -> None:
        self.world, self.rng = world, rng
        self.ids = [f"human{i}" for i in range(count)]
        self.tiles = list(world.map.walkable_tiles())
        self.next_at = {h: rng.randrange(0, 5000) for h in self.ids}
        self.talk_at: dict[str, int] = {}

    def _click(self, player, now: int) -> dict:
        """A tile a person would click: mostly on screen around them, sometimes anywhere."""
        if self.rng.random() < 0.2:
            x, y = self.rng.choice(self.tiles)
        else:
            cx, cy = current_tile(player, now)
            w, h = self.world.map.width, self.world.map.height
            x = min(max(cx + self.rng.randint(-VIEW_W, VIEW_W), 0), w - 1)
            y = min(max(cy + self.rng.randint(-VIEW_H, VIEW_H), 0), h - 1)
        return {"x": x, "y": y}

    def inputs(self, now: int, events: list[dict]) -> list[dict]:
        """This second's inputs, reacting to the last step's events."""
        out = []
        players = self.world.players
        for e in events:
            if e["kind"] == "conversation_invited" and e["conversation"]["invitee"].startswith(
                "human"
            ):
                out.append({"type": "accept", "actor": e["conversation"]["invitee"],
                            "conversation": e["conversation"]["id"]})  # fmt: skip
            elif e["kind"] == "conversation_started":
                for pid in e["conversation"]["participants"]:
                    if pid.startswith("human"):
                        self.talk_at[pid] = now + self.rng.randrange(1000, 4000)
        for h in self.ids:
            conv_id = players[h].conversation
            if conv_id is not None:
                conv = self.world.conversations.get(conv_id)
                if conv is None or conv.status != "active" or now < self.talk_at.get(h, 0):
                    continue
                self.talk_at[h] = now + self.rng.randrange(2000, 5000)
                if conv.message_count >= 8 or self.rng.random() < 0.1:
                    out.append({"type": "leave_conversation", "actor": h, "conversation": conv_id})
                else:
                    out.append({"type": "say", "actor": h, "conversation": conv_id,
                                "text": self.rng.choice(CHAT)})  # fmt: skip
            elif now >= self.next_at[h]:
                self.next_at[h] = now + self.rng.randrange(3000, 8000)
                if self.rng.random() < 0.15:
                    out.append({"type": "invite", "actor": h, "to": self.rng.choice(self.ids)})
                else:
                    out.append({"type": "move", "actor": h, **self._click(players[h], now)})
        return out


def simulate(map_data: dict, seconds: int, humans: int, agents: int, seed: int = 1) -> dict:
    """Run the world for `seconds` world-seconds and measure engine and total CPU time."""
    town_map = TownMap.from_tiled(map_data)
    world = World(town_map, seed=seed)
    rng = random.Random(seed)
    people = residents(town_map, agents, rng)
    mind = RoutineMind(people, town_map, seed=seed)
    for r in people:
        area = town_map.areas.get(r["home"] or "")
        x, y = area.random_tile(rng) if area else town_map.default_spawn()
        world.apply({"type": "join", "actor": r["id"], "name": r["name"], "character": r["character"],
                     "kind": "agent", "x": x, "y": y}, 0)  # fmt: skip
    crowd = Humans(world, humans, rng)
    for h in crowd.ids:
        world.apply({"type": "join", "actor": h, "name": h, "character": "human"}, 0)
    step_costs, apply_costs = [], []
    counts = {"inputs": 0, "refused": 0, "events": 0, "messages": 0, "requests": 0}
    clock = time.process_time
    events: list[dict] = []
    tick_time = 0.0
    total_start = clock()
    for second in range(1, seconds + 1):
        now = second * 1000
        t = clock()
        events = world.tick(now)
        step = clock() - t
        tick_time += step
        pending = crowd.inputs(now, events)
        requests = world.take_decision_requests()
        counts["requests"] += len(requests)
        state = world.public_state(now) if requests else {}
        for request in requests:
            pending += mind.decide(request, state)
        for inp in pending:
            t = clock()
            try:
                events += world.apply(inp, now)
            except InputRefused:
                counts["refused"] += 1
            cost = clock() - t
            apply_costs.append(cost)
            step += cost
        counts["inputs"] += len(pending)
        counts["events"] += len(events)
        counts["messages"] += sum(1 for e in events if e["kind"] == "message")
        step_costs.append(step)
    total = clock() - total_start
    engine = sum(step_costs)
    step_costs.sort()
    return {
        "seconds": seconds,
        "players": len(world.players),
        "engine_cpu": engine,
        "total_cpu": total,
        "speed_engine": seconds / engine if engine else float("inf"),
        "speed_total": seconds / total if total else float("inf"),
        "ticks_per_s": seconds / tick_time if tick_time else float("inf"),
        "step_mean_us": statistics.fmean(step_costs) * 1e6,
        "step_p99_us": step_costs[int(len(step_costs) * 0.99) - 1] * 1e6,
        "apply_mean_us": statistics.fmean(apply_costs) * 1e6 if apply_costs else 0.0,
        "snapshot_bytes": len(json.dumps(world.snapshot())),
        **counts,
    }


def report(label: str, r: dict) -> None:
    """Print one run's figures."""
    print(f"== {label}: {r['players']} players, {r['seconds']} world-seconds")
    print(f"  world-seconds per CPU-second (engine only):  {r['speed_engine']:10.0f}x real time")
    print(f"  world-seconds per CPU-second (with drivers): {r['speed_total']:10.0f}x real time")
    print(f"  tick() calls per CPU-second (tick alone):    {r['ticks_per_s']:10.0f}")
    print(
        f"  step cost (tick + inputs) mean / p99:  {r['step_mean_us']:8.0f} / {r['step_p99_us']:8.0f} us"
    )
    print(
        f"  apply() mean: {r['apply_mean_us']:6.1f} us over {r['inputs']} inputs ({r['refused']} refused)"
    )
    print(f"  events {r['events']}, messages {r['messages']}, decision requests {r['requests']}, "
          f"snapshot {r['snapshot_bytes'] / 1024:.0f} KiB")  # fmt: skip


def main() -> None:
    """Parse arguments, run the loaded and the baseline world, print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="world-seconds to simulate")
    parser.add_argument("--humans", type=int, default=100)
    parser.add_argument("--agents", type=int, default=25)
    parser.add_argument("--generated", action="store_true", help="ignore town/maps/town.tmj")
    args = parser.parse_args()
    if REAL_MAP.exists() and not args.generated:
        map_data, source = json.loads(REAL_MAP.read_text()), str(REAL_MAP.relative_to(ROOT))
    else:
        map_data, source = generated_town(), "generated 64x48 town"
    print(f"map: {source}; target >= 500x real time")
    report(
        f"{args.agents} agents + {args.humans} humans",
        simulate(map_data, args.seconds, args.humans, args.agents),
    )
    report(
        f"baseline {args.agents} agents + 0 humans",
        simulate(map_data, args.seconds, 0, args.agents),
    )


if __name__ == "__main__":
    main()
