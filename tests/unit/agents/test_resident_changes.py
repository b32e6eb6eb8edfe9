"""The worker's minds follow operators' resident changes without a restart (offline mind)."""

from __future__ import annotations

import asyncio

import pytest

from agents.models import MindState
from agents.worker import MindWorker
from tests.unit.agents.helpers import next_request
from town import residents, selectors, services
from town.models import Player

pytestmark = pytest.mark.django_db(transaction=True)  # the worker reads in its own threads

ZOE = {
    "id": "zoe",
    "name": "Zoe Marsh",
    "character": "gus",
    "identity": "Zoe feeds the pigeons.",
    "home": "plaza",
    "routine": [{"hour": 6, "area": "plaza", "activity": "feeding the pigeons"}],
}


def test_worker_rereads_residents_after_add_and_edit(offline):
    world = services.create_world("Mindful")
    worker = MindWorker()
    areas = selectors.town_map(world.map_name).areas
    try:
        assert "zoe" not in asyncio.run(worker.mind_for(world.pk)).town.residents
        residents.add_resident(world.pk, ZOE, "test")
        mind = asyncio.run(worker.mind_for(world.pk, "zoe"))
        assert mind.town.residents["zoe"]["identity"] == "Zoe feeds the pigeons."
        zoe = Player.objects.get(world=world, pid="zoe")
        x, y = areas["plaza"].center
        first = mind.decide(next_request(zoe, 1000, int(x), int(y), area="plaza", rid="r1"))
        assert first and MindState.objects.get(agent=zoe).schedule[0]["area"] == "plaza"

        changes = {"identity": "Zoe bakes now.", "routine": [{"hour": 6, "area": "cafe",
                   "activity": "baking bread"}]}  # fmt: skip
        residents.edit_resident(world.pk, "zoe", changes, "test")
        mind = asyncio.run(worker.mind_for(world.pk, "zoe"))
        assert mind.town.residents["zoe"]["identity"] == "Zoe bakes now."
        moves = mind.decide(next_request(zoe, 2000, int(x), int(y), area="plaza", rid="r2"))
        assert moves[0]["type"] == "move" and areas["cafe"].contains(moves[0]["x"], moves[0]["y"])
        assert MindState.objects.get(agent=zoe).schedule[0]["activity"] == "baking bread"
    finally:
        worker.pool.shutdown(wait=True)
