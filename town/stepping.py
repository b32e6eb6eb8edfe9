"""How a world advances, the same way live (runner), replayed (persistence) and headless.

The engine ticks at every multiple of STEP_MS; inputs apply between ticks at their own time.
"""

from __future__ import annotations

from town.engine import World
from town.engine.config import STEP_MS


def first_tick(world: World) -> int:
    """The world time of the first step after `world.now`."""
    return (world.now // STEP_MS + 1) * STEP_MS


def tick_until(world: World, next_tick: int, now: int) -> tuple[list[dict], int]:
    """Run every step due by `now`; returns their events and the next step's time."""
    events: list[dict] = []
    while next_tick <= now:
        events += world.tick(next_tick)
        next_tick += STEP_MS
    return events, next_tick


def name_authors(world: World, events: list[dict]) -> None:
    """Give each chat line its author's name as the world knows it now."""
    for event in events:
        if event["kind"] == "message" and "author_name" not in event:
            author = world.players.get(event["author"])
            event["author_name"] = author.name if author else "someone"
