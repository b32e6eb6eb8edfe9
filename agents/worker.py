"""The worker role: answers residents' decision requests, off the engine's loop.

Engines put requests on one shared channel; whichever worker takes a request decides and
sends the decision back to the world's engine as ordinary inputs. A slow or failed decision
only leaves a resident idle: the engine never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from agents.routine import RoutineMind
from town import selectors
from town.groups import MINDS_CHANNEL, engine_group
from town.models import Player, World

log = logging.getLogger(__name__)

MIND_REFRESH = 30.0  # seconds before a world's residents are re-read (edits, new residents)


def residents_of(world_id: int) -> tuple[list[dict], str, int]:
    """The world's residents as the minds see them, its map name and seed."""
    world = World.objects.get(pk=world_id)
    residents = [
        {**p.data, "id": p.pid, "name": p.name, "identity": p.identity}
        for p in Player.objects.filter(world=world, kind=Player.Kind.AGENT)
    ]
    return residents, world.map_name, world.seed


class MindWorker:
    """Receives decision requests from engines and sends decisions back as inputs."""

    def __init__(self) -> None:
        self.minds: dict[int, tuple[RoutineMind, float]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        layer = get_channel_layer()
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(layer.receive(MINDS_CHANNEL), 1.0)
            except TimeoutError:
                continue
            try:
                await self.answer(layer, message)
            except Exception:  # one bad request must not stop the worker
                log.exception("could not answer %s", message.get("request"))

    async def mind_for(self, world_id: int) -> RoutineMind:
        cached = self.minds.get(world_id)
        if cached is None or time.monotonic() - cached[1] > MIND_REFRESH:
            residents, map_name, seed = await database_sync_to_async(residents_of)(world_id)
            mind = RoutineMind(residents, selectors.town_map(map_name), seed=seed)
            self.minds[world_id] = cached = (mind, time.monotonic())
        return cached[0]

    async def answer(self, layer, message: dict) -> None:
        if message.get("type") != "mind.request":
            return  # the routine mind keeps no memories of events
        world_id, request = message["world"], message["request"]
        mind = await self.mind_for(world_id)
        for n, inp in enumerate(mind.decide(request, {})):
            inp["key"] = f"mind:{request['id']}:{n}"
            await layer.group_send(engine_group(world_id), {"type": "engine.input", "input": inp})
