"""Relationships in a running town: a real engine and worker, real WebSockets and HTTP, real
PostgreSQL, the fake model standing in for the provider. After a visitor talks with a
resident, the resident's view of them (from the one summary call) is stored, carried into
the next conversation's prompt, and shown to staff on the character card's API only."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User
from django.test import Client

from agents.models import Relationship
from tests.inbox import eventually
from tests.wsclient import Socket, make_user
from town import services as town_services
from town.management.commands.runtown import run_roles

pytestmark = [pytest.mark.django_db(transaction=True)]


def fresh_world():
    world = town_services.create_world("Friendsville")
    world.settings = {"engine": {"conversation_cooldown_ms": 0}}
    world.save(update_fields=["settings"])
    return world


@pytest.fixture
async def friends_town(settings, fake_model):
    settings.LLM_TIMEOUT = 1.0
    world = await database_sync_to_async(fresh_world)()
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine", "worker"], stop))
    yield world, fake_model
    stop.set()
    await asyncio.wait_for(roles, 20)


def views_for_everyone(body: dict) -> str:
    """The model's summary: each resident now thinks the visitor keeps bees (our code must
    store it for the right pair; which words the model picks is not ours)."""
    prompt = "\n".join(m["content"] for m in body["messages"])  # wherever the prompt asks
    pairs = re.search(r"for: (.*?)\}?\.$", prompt, re.M).group(1).split("; ")
    views = [
        {"who": who, "of": of, "view": f"{of} keeps bees on the hill and seems kind."}
        for who, of in (p.split(" of ", 1) for p in pairs if " of " in p)
    ]
    return json.dumps({"summary": "Ana keeps bees.", "importance": 5, "views": views})


def cid(event: dict) -> str:
    """The conversation an event is about (started: the conversation; ended: its id)."""
    conv = event["conversation"]
    return conv["id"] if isinstance(conv, dict) else conv


async def talk_once(ana: Socket, me: str, agents: list[str], text: str, tag: str) -> str:
    """Invite a resident, say one line, wait for the answer, leave; the resident's pid."""
    conversation = resident = None
    for n in range(12):
        resident = agents[n % len(agents)]
        await ana.send(type="invite", id=f"{tag}i{n}", to=resident)
        if (await ana.ack(f"{tag}i{n}"))["type"] == "ack":
            invited = await ana.until(
                lambda e: (
                    e.get("kind") == "conversation_invited" and e["conversation"]["inviter"] == me
                )
            )
            conversation = invited["conversation"]["id"]
            break
        await asyncio.sleep(0.3)
    assert conversation, "no resident could be invited"
    started = await ana.until(
        lambda e: (
            e.get("kind") in ("conversation_started", "conversation_ended")
            and cid(e) == conversation
        ),
        timeout=60,
    )
    assert started["kind"] == "conversation_started", started
    await ana.send(type="say", id=f"{tag}s", conversation=conversation, text=text)
    # The resident's answer to it in this conversation (residents talk among themselves
    # meanwhile, and their lines reach every page).
    mine = await ana.until(
        lambda e: (
            e.get("kind") == "message" and e["conversation"] == conversation and e["author"] == me
        )
    )
    await ana.until(
        lambda e: (
            e.get("kind") == "message"
            and e["conversation"] == conversation
            and e["author"] != me
            and e["t"] >= mine["t"]
        ),
        timeout=30,
    )
    await ana.send(type="leave_conversation", id=f"{tag}l", conversation=conversation)
    await ana.until(
        lambda e: e.get("kind") == "conversation_ended" and cid(e) == conversation, timeout=15
    )
    return resident


def get_as(username: str | None, url: str):
    client = Client()
    if username:
        client.force_login(User.objects.get(username=username))
    return client.get(url)


async def test_a_resident_remembers_what_it_thinks_of_a_visitor_and_staff_see_it(friends_town):
    world, fake = friends_town
    fake.script("Summary", views_for_everyone)
    cookie = await database_sync_to_async(make_user)("ana")
    await database_sync_to_async(make_user)("sam", staff=True)
    ana = Socket(world.pk, cookie)
    _, snapshot = await ana.open()
    await ana.send(type="join", id="j", name="Ana")
    me = (await ana.ack("j"))["player"]
    agents = [p["id"] for p in snapshot["players"] if p["kind"] == "agent"]
    resident = await talk_once(ana, me, agents, "I keep bees up on the hill.", "a")

    row = await eventually(
        lambda: (
            Relationship.objects.filter(agent__world=world, agent__pid=resident, other__pid=me)
            .select_related("author_user")
            .first()
        )
    )
    assert row.opinion == "Ana keeps bees on the hill and seems kind."
    assert row.talks == 1 and row.author_user.username == "ana"

    # The next conversation's reply prompt says what the resident thinks of Ana.
    fake.script("Summary", '{"summary": "They talked again.", "importance": 3}')
    again = await talk_once(ana, me, [resident], "Hello again!", "b")
    assert again == resident
    prompts = ["\n".join(m["content"] for m in c["messages"]) for c in fake.chats("Reply")]
    line = "- Ana, a visitor. What you think of them: "
    assert any(line in p and "keeps bees on the hill and seems kind" in p for p in prompts)
    await ana.close()

    # Staff read it through the card's API; nobody else does, and the public card has none.
    url = f"/api/worlds/{world.pk}/players/{resident}/relationships/"
    # The second conversation's end is remembered a moment after the visitor left.
    await eventually(
        lambda: Relationship.objects.filter(
            agent__world=world, agent__pid=resident, other__pid=me, talks=2
        ).first()
    )
    staff = await database_sync_to_async(get_as)("sam", url)
    assert staff.status_code == 200
    [seen] = [r for r in staff.json()["relationships"] if r["id"] == me]
    assert seen["opinion"] == "Ana keeps bees on the hill and seems kind."
    assert seen["name"] == "Ana" and seen["kind"] == "human" and seen["talks"] == 2
    for who in ("ana", None):
        refused = await database_sync_to_async(get_as)(who, url)
        assert refused.status_code == 403
        assert "seems kind" not in refused.content.decode()
    public = await database_sync_to_async(get_as)(
        None, f"/api/worlds/{world.pk}/players/{resident}/"
    )
    assert public.status_code == 200 and "seems kind" not in public.content.decode()
    missing = await database_sync_to_async(get_as)(
        "sam", f"/api/worlds/{world.pk}/players/nobody/relationships/"
    )
    assert missing.status_code == 404
