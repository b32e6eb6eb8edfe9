"""Minds in a running town: a real engine and worker, real WebSockets, real PostgreSQL, and
the fake OpenAI-compatible server standing in for the model provider."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from agents import budget, services
from agents.models import Memory, ModelCall
from tests.inbox import eventually
from tests.wsclient import Socket, make_user
from town import services as town_services
from town.management.commands.runtown import run_roles

pytestmark = [pytest.mark.django_db(transaction=True)]


def fresh_world():
    world = town_services.create_world("Mindsville")
    world.settings = {"engine": {"conversation_cooldown_ms": 0}}
    world.save(update_fields=["settings"])
    return world


@pytest.fixture
async def minds_town(settings, fake_model):
    """A world whose residents think through the fake model; engine + worker in this loop."""
    settings.LLM_TIMEOUT = 1.0
    world = await database_sync_to_async(fresh_world)()
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine", "worker"], stop))
    yield world, fake_model
    stop.set()
    await asyncio.wait_for(roles, 20)


async def resident_moves(sock: Socket, count: int, timeout: float = 25) -> set[str]:
    residents = {p["id"] for p in sock.snapshot["players"] if p["kind"] == "agent"}
    moved: set[str] = set()
    while len(moved) < count:
        event = await sock.until(lambda e: e.get("kind") == "move", timeout=timeout)
        if event["player"] in residents or not residents:
            moved.add(event["player"])
    return moved


async def test_resident_remembers_what_a_human_told_them(minds_town):
    world, _fake = minds_town
    cookie = await database_sync_to_async(make_user)("ana")
    ana = Socket(world.pk, cookie)
    hello, snapshot = await ana.open()
    assert hello["mind"] == "llm"
    await ana.send(type="join", id="j", name="Ana")
    me = (await ana.ack("j"))["player"]
    agents = [p["id"] for p in snapshot["players"] if p["kind"] == "agent"]
    if not agents:
        agents = [(await ana.until(lambda e: e.get("kind") == "player_joined"))["player"]["id"]]
    conversation = None
    for n in range(12):
        await ana.send(type="invite", id=f"i{n}", to=agents[n % len(agents)])
        if (await ana.ack(f"i{n}"))["type"] == "ack":
            invited = await ana.until(lambda e: e.get("kind") == "conversation_invited")
            conversation = invited["conversation"]["id"]
            break
        await asyncio.sleep(0.3)
    assert conversation, "no resident could be invited"
    started = await ana.until(
        lambda e: (
            e.get("kind") in ("conversation_started", "conversation_ended")
            and conversation in (e["conversation"], e["conversation"].get("id"))
        ),
        timeout=60,
    )
    assert started["kind"] == "conversation_started", started
    text = "Hi! I'm Ana and I'm opening a bakery on Friday."
    await ana.send(type="say", id="s1", conversation=conversation, text=text)
    reply = await ana.until(
        lambda e: e.get("kind") == "message" and e["author"] != me,
        timeout=30,
    )
    assert reply["text"]
    await ana.send(type="leave_conversation", id="l1", conversation=conversation)
    await ana.until(lambda e: e.get("kind") == "conversation_ended", timeout=15)

    memory = await eventually(
        lambda: (
            Memory.objects.filter(
                agent__world=world, kind="conversation", author_user__username="ana"
            )
            .select_related("agent")
            .first()
        )
    )
    assert "bakery" in memory.text
    answer = await database_sync_to_async(services.interview)(
        world, memory.agent.pid, "What is Ana opening?"
    )
    assert "bakery" in answer
    purposes = await database_sync_to_async(
        lambda: set(ModelCall.objects.filter(world=world).values_list("purpose", flat=True))
    )()
    assert {"plan", "reply", "summary", "embed"} <= purposes
    await ana.close()


async def test_a_hanging_provider_does_not_stall_the_residents(minds_town):
    world, fake = minds_town
    fake.mode = "hang"
    watcher = Socket(world.pk)
    await watcher.open()
    assert len(await resident_moves(watcher, 3)) == 3
    await watcher.close()
    late = Socket(world.pk)
    hello, _ = await late.open()
    assert hello["mind"] == "offline"  # the page says so
    await late.close()


async def test_spent_budget_stops_spending_but_not_the_town(minds_town, settings):
    world, fake = minds_town
    settings.MIND_DAILY_TOKENS = 1500
    await eventually(lambda: not budget.budget_left(world.pk))
    await asyncio.sleep(1.5)  # calls already in flight finish
    sent = len(fake.requests)
    watcher = Socket(world.pk)
    hello, _ = await watcher.open()
    assert hello["mind"] == "offline"
    await resident_moves(watcher, 2)
    assert len(fake.requests) == sent
    await watcher.close()
