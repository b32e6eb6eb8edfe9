"""Fast-forwarding a world without an engine process: `town run --steps N`.

It takes the world's lease itself (so no engine can run the world meanwhile), rebuilds the
world as an engine would, then applies N fixed steps with the routine mind answering every
decision at once. Inputs, chat and history are recorded as the runner records them, and a
snapshot is saved at the end, so an engine later carries on from there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg

from town import persistence, selectors
from town.engine import InputRefused
from town.language import world_language
from town.lease import LEASE_NAMESPACE, lease_connection_params
from town.models import Player, World
from town.services import WrongState, audit

STEP_MS = persistence.STEP_MS
FLUSH_EVERY = 200  # steps between writes


@contextlib.contextmanager
def world_lease(world_id: int) -> Iterator[bool]:
    """Hold a world's engine lease for the block; yields False if someone else holds it."""
    params = {**lease_connection_params(), "application_name": "town-run"}
    with psycopg.connect(**params) as conn:
        taken = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (LEASE_NAMESPACE, world_id)
        ).fetchone()[0]
        try:
            yield bool(taken)
        finally:
            if taken:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LEASE_NAMESPACE, world_id))


def routine_mind(world: World):
    """The routine mind for a world's residents (no model, deterministic)."""
    from agents.routine import RoutineMind

    residents = [
        {**p.data, "id": p.pid, "name": p.name, "identity": p.identity}
        for p in Player.objects.filter(world=world, kind=Player.Kind.AGENT)
    ]
    return RoutineMind(
        residents,
        selectors.town_map(world.map_name),
        seed=world.seed,
        language=world_language(world),
    )


def fast_forward(world_id: int, steps: int, *, actor: Any = None) -> dict[str, int]:
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
        report = _run(world, steps)
    audit(world, "run", actor, **report)
    return report


def _run(row: World, steps: int) -> dict[str, int]:
    loaded = persistence.load_world(row.pk)
    world, last_input = loaded.world, loaded.last_input
    mind = routine_mind(row)
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
    next_tick = (world.now // STEP_MS + 1) * STEP_MS
    for step in range(steps):
        now = next_tick
        events.extend(world.tick(now))
        for request in world.take_decision_requests():
            for n, inp in enumerate(mind.decide(request, {})):
                inp["key"] = f"mind:{request['id']}:{n}"
                apply(inp, now)
        next_tick += STEP_MS
        if (step + 1) % FLUSH_EVERY == 0 or step == steps - 1:
            _name_authors(world, events)
            report["inputs"] += len(accepted)
            report["events"] += len(events)
            last_input = persistence.record(row.pk, accepted, events, last_input)
            accepted.clear()
            events.clear()
    persistence.save_snapshot(row.pk, world, last_input)
    report["to_ms"] = world.now
    return report


def _name_authors(world, events: list[dict]) -> None:
    for event in events:
        if event["kind"] == "message" and "author_name" not in event:
            author = world.players.get(event["author"])
            event["author_name"] = author.name if author else "someone"
