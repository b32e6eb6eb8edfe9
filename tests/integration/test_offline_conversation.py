"""A newcomer talks with a resident in a running town with no model key (the offline mind):
a real engine and worker, a real WebSocket, real PostgreSQL. The five lines of issue #16
get replies that take up what was said, in English and in Spanish."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from agents.models import Memory
from tests.wsclient import Socket, make_user
from town import services as town_services
from town.language import set_world_language
from town.management.commands.runtown import run_roles

pytestmark = [pytest.mark.django_db(transaction=True)]

FIVE = {
    "en": [
        "Hi, I'm Mara",
        "what are you doing?",
        "I keep bees up on the hill",
        "whom should I meet?",
        "do you remember what I told you?",
    ],
    "es": [
        "Hola, soy Mara",
        "¿qué estás haciendo?",
        "Tengo abejas en la colina",
        "¿a quién debería conocer?",
        "¿te acuerdas de lo que te dije?",
    ],
}


def fresh_world(language: str):
    world = town_services.create_world("Offlineville")
    set_world_language(world, language, actor="test")
    return world


async def talk_to_a_resident(world, lines: list[str]) -> tuple[str, list[str]]:
    """Join as Mara, invite residents until one accepts, say `lines`; the resident's name and
    its replies."""
    cookie = await database_sync_to_async(make_user)("mara")
    mara = Socket(world.pk, cookie)
    hello, snapshot = await mara.open()
    assert hello["mind"] == "offline"
    await mara.send(type="join", id="j", name="Mara")
    me = (await mara.ack("j"))["player"]
    residents = {p["id"]: p["name"] for p in snapshot["players"] if p["kind"] == "agent"}
    conversation, resident = None, None
    for n in range(20):
        resident = list(residents)[n % len(residents)]
        await mara.send(type="invite", id=f"i{n}", to=resident)
        if (await mara.ack(f"i{n}"))["type"] == "ack":
            invited = await mara.until(lambda e: e.get("kind") == "conversation_invited")
            conversation = invited["conversation"]["id"]
            started = await mara.until(
                lambda e, c=conversation: (
                    e.get("kind") in ("conversation_started", "conversation_ended")
                    and c in (e["conversation"], e["conversation"].get("id"))
                ),
                timeout=60,
            )
            if started["kind"] == "conversation_started":
                break
        conversation = None
        await asyncio.sleep(0.3)
    assert conversation, "no resident accepted"
    replies = []
    for n, line in enumerate(lines):
        await mara.send(type="say", id=f"s{n}", conversation=conversation, text=line)
        reply = await mara.until(
            lambda e: (
                e.get("kind") == "message"
                and e["author"] == resident
                and e.get("conversation") == conversation
            ),
            timeout=30,
        )
        replies.append(reply["text"])
    await mara.send(type="leave_conversation", id="l", conversation=conversation)
    await mara.close()
    assert me
    return residents[resident], replies


@pytest.mark.parametrize(
    ("language", "echo", "kept_as"),
    [
        ("en", "you keep bees up on the hill", "Mara keeps bees up on the hill."),
        ("es", "tienes abejas en la colina", "Mara tiene abejas en la colina."),
    ],
)
async def test_a_newcomer_is_answered_and_remembered_offline(settings, language, echo, kept_as):
    settings.LLM_BASE_URL, settings.LLM_API_KEY = "", ""
    world = await database_sync_to_async(fresh_world)(language)
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine", "worker"], stop))
    try:
        name, (hello, doing, bees, meet, remember) = await talk_to_a_resident(world, FIVE[language])
    finally:
        stop.set()
        await asyncio.wait_for(roles, 20)
    assert "Mara" in hello and name.split(" ")[0] in hello  # greets her by name, says who
    assert doing and doing not in (hello, bees, meet, remember)
    assert echo in bees.lower()  # takes up what she said
    others = ["Ada", "Bram", "Cora", "Dev", "Edith", "Felix", "Gus", "Hana", "Ivo", "Mae"]
    assert any(o in meet for o in others if o not in name)  # names someone to meet
    assert echo in remember  # and remembers it, within the conversation
    kept = await database_sync_to_async(
        lambda: list(
            Memory.objects.filter(agent__world=world, source="fact").values_list("text", flat=True)
        )
    )()
    assert kept_as in kept  # and afterwards, in third person
