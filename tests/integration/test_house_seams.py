"""How the world hears from the minds and music without importing them (docs/architecture.md):
music publishes the day's track to the world, the minds tell the engine which mind thinks."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from tests.inbox import eventually
from tests.wsclient import Socket
from town import selectors, services
from town.groups import engine_group
from town.management.commands.runtown import run_roles
from town.models import Player

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
async def engine_only():
    """A fresh world run by an engine in this loop, with no worker (no minds speak)."""
    world = await database_sync_to_async(services.create_world)("Seamtown")
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine"], stop))
    await eventually(lambda: world.pk in services.lease_holders())  # the engine runs it
    yield world
    stop.set()
    await asyncio.wait_for(roles, 20)


async def page(world_id: int) -> tuple[Socket, dict, dict]:
    sock = Socket(world_id)
    hello, snapshot = await sock.open()
    return sock, hello, snapshot


async def test_published_music_reaches_open_pages_new_pages_and_stored_snapshots(engine_only):
    world = engine_only
    watcher, _, snapshot = await page(world.pk)
    assert snapshot["music"] is None
    url = "/media/music/world-x/today.wav"
    await database_sync_to_async(services.publish_music)(world.pk, url)
    event = await watcher.until(lambda e: e.get("kind") == "music")
    assert event["url"] == url
    _, _, fresh = await page(world.pk)
    assert fresh["music"] == url  # the running engine's snapshot
    stored = await database_sync_to_async(selectors.stored_snapshot)(world.pk)
    assert stored["music"] == url  # and the world's own row, for worlds no engine runs
    await watcher.close()


async def send_status(world_id: int, mode: str, offline: list[str]) -> None:
    await get_channel_layer().group_send(
        engine_group(world_id),
        {"type": "mind.status", "world": world_id, "status": {"mode": mode, "offline": offline}},
    )


async def test_the_engine_tells_pages_when_the_minds_status_changes(engine_only, settings):
    settings.LLM_API_KEY, settings.LLM_BASE_URL = "", ""  # no model: pages assume offline
    world = engine_only
    watcher, hello, snapshot = await page(world.pk)
    assert hello["mind"] == "offline" and snapshot["minds_offline"] == []
    await send_status(world.pk, "offline", ["cora", "ada"])
    await send_status(world.pk, "offline", ["ada", "cora"])  # the same again: no news
    await send_status(world.pk, "llm", [])
    first = await watcher.until(lambda e: e.get("kind") == "mind")
    second = await watcher.until(lambda e: e.get("kind") == "mind")
    assert (first["mode"], first["offline"]) == ("offline", ["ada", "cora"])
    assert (second["mode"], second["offline"]) == ("llm", [])
    late, hello, snapshot = await page(world.pk)
    assert hello["mind"] == "llm" and snapshot["minds_offline"] == []
    await late.close()
    await watcher.close()


async def test_a_worker_without_a_model_says_every_resident_thinks_offline(town, settings):
    settings.LLM_API_KEY, settings.LLM_BASE_URL = "", ""
    residents = await database_sync_to_async(
        lambda: sorted(
            Player.objects.filter(world=town, kind=Player.Kind.AGENT).values_list("pid", flat=True)
        )
    )()
    assert residents
    watcher, _, _ = await page(town.pk)
    event = await watcher.until(lambda e: e.get("kind") == "mind", timeout=30)
    assert event["mode"] == "offline" and event["offline"] == residents
    late, hello, snapshot = await page(town.pk)
    assert hello["mind"] == "offline" and snapshot["minds_offline"] == residents
    await late.close()
    await watcher.close()
