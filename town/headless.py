"""Fast-forwarding a world without an engine process: `town run --steps N`.

It takes the world's lease itself (so no engine can run the world meanwhile), rebuilds the
world as an engine would, then applies N fixed steps with the given mind answering every
decision at once. It steps, applies and records exactly as the runner does (town/stepping.py,
persistence.record), and saves a snapshot at the end, so an engine later carries on from
there. The mind comes from the caller (ops gives the routine mind): the world imports none.
"""

from __future__ import annotations

from typing import Any, Protocol

from town import persistence, stepping
from town.engine import InputRefused
from town.lease import world_lease
from town.models import World
from town.services import WrongState, audit

FLUSH_EVERY = 200  # steps between writes


class Mind(Protocol):
    def decide(self, request: dict, state: dict) -> list[dict]: ...


def fast_forward(world_id: int, steps: int, *, mind: Mind, actor: Any = None) -> dict[str, int]:
    """Run a world headless for `steps` fixed steps; refuses while an engine holds it."""
    world = World.objects.get(pk=world_id)
    if world.status == World.Status.ARCHIVED:
        raise WrongState(f"{world.name} is archived: it is kept as it was")
    if steps < 1:
        raise WrongState("give a number of steps of at least 1")
    with world_lease(world_id) as taken:
        if not taken:
            raise WrongState(
                f"an engine is running {world.name}; freeze it (town freeze) or stop the "
                "engine, then try again"
            )
        report = _run(world, steps, mind)
    audit(world, "run", actor, **report)
    return report


def _run(row: World, steps: int, mind: Mind) -> dict[str, int]:
    loaded = persistence.load_world(row.pk)
    world, last_input = loaded.world, loaded.last_input
    accepted: list[dict] = []
    events: list[dict] = []
    report = {"steps": steps, "inputs": 0, "events": 0, "from_ms": world.now}

    def apply(inp: dict, now: int) -> None:
        try:
            happened = world.apply(inp, now)
        except InputRefused:
            return
        accepted.append({"input": inp, "t": now})
        events.extend(happened)

    for inp in loaded.pending_joins:
        apply(inp, world.now)
    next_tick = stepping.first_tick(world)
    for step in range(steps):
        now = next_tick
        ticked, next_tick = stepping.tick_until(world, next_tick, now)
        events.extend(ticked)
        for request in world.take_decision_requests():
            for n, inp in enumerate(mind.decide(request, {})):
                inp["key"] = f"mind:{request['id']}:{n}"
                apply(inp, now)
        if (step + 1) % FLUSH_EVERY == 0 or step == steps - 1:
            stepping.name_authors(world, events)
            report["inputs"] += len(accepted)
            report["events"] += len(events)
            last_input = persistence.record(row.pk, accepted, events, last_input)
            accepted.clear()
            events.clear()
    persistence.save_snapshot(row.pk, world, last_input)
    report["to_ms"] = world.now
    return report
