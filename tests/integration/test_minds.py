"""Minds in a running town: a real engine and worker, real WebSockets, real PostgreSQL, and
the fake OpenAI-compatible server standing in for the model provider."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from agents import budget, services
from agents.models import ConversationMind, Memory, ModelCall
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
    world, fake = minds_town
    # Given the model summarises conversations this way (scripted; the fake is neutral
    # otherwise), the resident keeps it as Ana's and recalls it when interviewed.
    fake.script("Summary", '{"summary": "Ana is opening a bakery on Friday.", "importance": 7}')
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
    assert memory.text.endswith("Ana is opening a bakery on Friday.")
    summarised = [
        c["messages"][-1]["content"]
        for c in fake.chats("Summary")
        if '<untrusted from="Ana">' in c["messages"][-1]["content"]
    ]
    assert any(text in prompt for prompt in summarised)  # her words went to the summariser
    answer = await database_sync_to_async(services.interview)(
        world, memory.agent.pid, "What is Ana opening?"
    )
    assert answer  # the model's words; what matters is what it was given:
    [prompt] = [
        c["messages"][-1]["content"]
        for c in fake.chats()
        if "An interviewer asks" in c["messages"][-1]["content"]
    ]
    remembered = prompt.split("What you remember:")[1].split("An interviewer asks")[0]
    assert "Ana is opening a bakery on Friday." in remembered
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
    assert await a_new_page_says(world, "offline") == "offline"  # the page says so


async def mind_of_a_new_page(world) -> str:
    sock = Socket(world.pk)
    hello, _ = await sock.open()
    await sock.close()
    return hello["mind"]


async def a_new_page_says(world, mode: str, timeout: float = 15) -> str:
    """The mind a new page is told, once it is `mode` (the minds tell the world after their
    next decision; the engine tells the pages), or the last one seen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = await mind_of_a_new_page(world)
    while seen != mode and loop.time() < deadline:
        await asyncio.sleep(0.5)
        seen = await mind_of_a_new_page(world)
    return seen


async def test_the_model_is_back_soon_after_a_hung_provider_recovers(minds_town, settings):
    world, fake = minds_town
    settings.MIND_PROVIDER_PROBE = 2
    fake.mode = "hang"
    await eventually(lambda: not budget.provider_up())
    assert await a_new_page_says(world, "offline") == "offline"
    await asyncio.sleep(3)  # a probe or two goes out into the hang and fails
    assert not budget.provider_up()
    back = len(fake.requests)
    fake.mode = "ok"
    # Within 10 s of the provider coming back a probe finds it and pages say so; the
    # residents' calls are answered again (texts embedded before come from the cache, so
    # the first call that goes out may wait for a new conversation or memory).
    await eventually(lambda: budget.provider_up(), 10)
    assert await a_new_page_says(world, "llm") == "llm"
    await eventually(lambda: any(r.get("status") == 200 for r in fake.requests[back:]), 60)


async def test_one_server_error_leaves_the_minds_on_the_model_three_do_not(minds_town, settings):
    world, fake = minds_town
    settings.LLM_MAX_RETRIES = 0
    # An operator's interviews make model calls on demand, through the same client and
    # provider health as the residents' thinking (the world may be quiet just then).
    interview = database_sync_to_async(services.interview)
    fake.fail_next(1, status=500)
    assert await interview(world, "ada", "How is the cafe?")
    assert [r.get("status") for r in fake.requests].count(500) == 1
    assert any(r.get("status") == 200 for r in fake.requests)  # later calls were answered
    assert budget.provider_up() and await a_new_page_says(world, "llm") == "llm"
    fake.mode = "error"
    for _ in range(3):
        assert await interview(world, "ada", "How is the cafe?")  # the offline mind answers
    assert not budget.provider_up()
    assert [r.get("status") for r in fake.requests].count(500) >= 3
    assert await a_new_page_says(world, "offline") == "offline"


async def test_spent_budget_stops_spending_but_not_the_town(minds_town, settings):
    world, fake = minds_town
    settings.MIND_DAILY_TOKENS = 1500
    await eventually(lambda: not budget.budget_left(world.pk))
    assert await a_new_page_says(world, "offline") == "offline"
    # Conversations begun with the model keep it to their end (their mode never changes
    # half way); once they are over, nothing more is spent.
    await eventually(
        lambda: not ConversationMind.objects.filter(world=world, mode="llm").exists(), 60
    )
    await asyncio.sleep(1.5)  # calls already in flight finish
    sent = len(fake.requests)
    watcher = Socket(world.pk)
    await watcher.open()
    await resident_moves(watcher, 2)
    assert len(fake.requests) == sent
    await watcher.close()
