"""A group conversation through the real consumers, engine, worker and PostgreSQL: two people
and a resident (the offline mind), messages in the same order for everyone, summaries after."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from agents.models import Memory
from tests.inbox import eventually
from tests.wsclient import Socket, make_user
from town import services
from town.management.commands.runtown import run_roles
from town.models import Conversation

pytestmark = [pytest.mark.django_db(transaction=True)]


def fresh_world():
    world = services.create_world("Groupville")
    # Quick walks keep the test short; no cooldown so a busy resident can be retried.
    world.settings = {"engine": {"walk_speed": 12.0, "conversation_cooldown_ms": 0}}
    world.save(update_fields=["settings"])
    return world


@pytest.fixture
async def group_town():
    world = await database_sync_to_async(fresh_world)()
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine", "worker"], stop))
    yield world
    stop.set()
    await asyncio.wait_for(roles, 20)


async def person(world_id: int, username: str, name: str) -> tuple[Socket, str]:
    cookie = await database_sync_to_async(make_user)(username)
    sock = Socket(world_id, cookie)
    await sock.open()
    await sock.send(type="join", id="j", name=name)
    ack = await sock.ack("j")
    assert ack["type"] == "ack", ack
    return sock, ack["player"]


def is_conv(event: dict, kind: str, cid: str) -> bool:
    conv = event.get("conversation")
    return event.get("kind") == kind and cid in (
        conv,
        conv.get("id") if isinstance(conv, dict) else None,
    )


async def talk_with_a_resident(ana: Socket, me: str, world_id: int) -> tuple[str, str]:
    """Ana invites the nearest free resident until one accepts; (conversation, resident)."""
    players = {p["id"]: p for p in (await fresh_snapshot(world_id))["players"]}
    here = players[me]
    residents = sorted(
        (p for p in players.values() if p["kind"] == "agent" and p["conversation"] is None),
        key=lambda p: abs(p["x"] - here["x"]) + abs(p["y"] - here["y"]),
    )
    assert residents, "no free resident"
    for n in range(12):
        resident = residents[n % len(residents)]["id"]
        await ana.send(type="invite", id=f"i{n}", to=resident)
        if (await ana.ack(f"i{n}"))["type"] != "ack":
            await asyncio.sleep(0.3)
            continue
        invited = await ana.until(lambda e: e.get("kind") == "conversation_invited")
        cid = invited["conversation"]["id"]
        outcome = await ana.until(
            lambda e, cid=cid: (
                is_conv(e, "conversation_started", cid) or is_conv(e, "conversation_ended", cid)
            ),
            timeout=30,
        )
        if outcome["kind"] == "conversation_started":
            return cid, resident
    raise AssertionError("no resident would talk")


async def fresh_snapshot(world_id: int) -> dict:
    """The engine's current state, as a newly connected spectator sees it."""
    look = Socket(world_id)
    _, snapshot = await look.open()
    await look.close()
    return snapshot


async def walk_next_to(sock: Socket, pid: str, target: dict, taken: set) -> None:
    """Walk to a free tile within two of `target` and wait until there."""
    spots = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3) if 0 < abs(dx) + abs(dy) <= 2]
    spots.sort(key=lambda d: abs(d[0]) + abs(d[1]))
    for n, (dx, dy) in enumerate(spots):
        x, y = target["x"] + dx, target["y"] + dy
        if (x, y) in taken or x < 0 or y < 0:
            continue
        await sock.send(type="move", id=f"mv{n}", x=x, y=y)
        if (await sock.ack(f"mv{n}"))["type"] != "ack":
            continue
        move = await sock.until(lambda e: e.get("kind") == "move" and e["player"] == pid)
        end = tuple(move["path"][-1])
        if abs(end[0] - target["x"]) + abs(end[1] - target["y"]) > 2:
            continue  # snapped somewhere else
        if len(move["path"]) > 1:
            await sock.until(lambda e: e.get("kind") == "arrived" and e["player"] == pid)
        return
    raise AssertionError("no free tile next to the conversation")


async def test_two_people_and_a_resident_talk_in_one_group(group_town):
    world = group_town
    spy = Socket(world.pk)
    await spy.open()
    ana, ana_id = await person(world.pk, "ana", "Ana")
    ben, ben_id = await person(world.pk, "ben", "Ben")
    cid, resident = await talk_with_a_resident(ana, ana_id, world.pk)

    # Refusals are error frames and change nothing.
    await ben.send(type="join_conversation", id="bad1", conversation="c999999")
    assert (await ben.ack("bad1"))["code"] == "not_found"
    await ben.send(type="join_conversation", id="bad2")
    assert (await ben.ack("bad2"))["code"] == "invalid"

    players = {p["id"]: p for p in (await fresh_snapshot(world.pk))["players"]}
    taken = {(p["x"], p["y"]) for p in players.values()}
    await walk_next_to(ben, ben_id, players[ana_id], taken)
    await ben.send(type="join_conversation", id="join", conversation=cid)
    assert (await ben.ack("join"))["type"] == "ack"
    for sock in (ana, ben, spy):
        joined = await sock.until(lambda e: is_conv(e, "conversation_joined", cid))
        assert joined["player"] == ben_id
        assert joined["conversation"]["participants"] == [ana_id, resident, ben_id]

    def reply_from(sock: Socket):
        return sock.until(lambda e: e.get("kind") == "message" and e["author"] == resident, 20)

    await ana.send(type="say", id="s1", conversation=cid, text="Hello, both of you!")
    assert (await ana.ack("s1"))["type"] == "ack"
    await reply_from(ana)
    await ben.send(type="say", id="s2", conversation=cid, text="Nice to meet you all.")
    assert (await ben.ack("s2"))["type"] == "ack"
    await reply_from(ana)

    # Ben walks out: the other two talk on.
    await ben.send(type="leave_conversation", id="l1", conversation=cid)
    assert (await ben.ack("l1"))["type"] == "ack"
    left = await ana.until(lambda e: is_conv(e, "conversation_left", cid))
    assert left["player"] == ben_id and left["participants"] == [ana_id, resident]
    await ana.send(type="say", id="s3", conversation=cid, text="Just us two now.")
    assert (await ana.ack("s3"))["type"] == "ack"
    await ana.send(type="leave_conversation", id="l2", conversation=cid)
    ended = await ana.until(lambda e: is_conv(e, "conversation_ended", cid))
    assert ended["reason"] == "left"

    # Everyone saw the same lines in the same order.
    for sock in (ben, spy):
        await sock.until(lambda e: is_conv(e, "conversation_ended", cid))
    orders = [
        [e["id"] for e in sock.events if e.get("kind") == "message" and e["conversation"] == cid]
        for sock in (ana, ben, spy)
    ]
    assert orders[0] == orders[1] == orders[2] and len(orders[0]) >= 5

    # The resident remembers the whole conversation, Ben included although he left early.
    memory = await eventually(
        lambda: Memory.objects.filter(
            agent__world=world, agent__pid=resident, kind="conversation", text__contains="Ben"
        ).first()
    )
    assert "Ana" in memory.text and "Nice to meet you all." in memory.text
    stored = await database_sync_to_async(
        lambda: Conversation.objects.get(world=world, cid=cid).participants
    )()
    assert stored == [ana_id, resident, ben_id]
    for sock in (ana, ben, spy):
        await sock.close()


def test_a_resident_sometimes_walks_up_and_joins_a_conversation(settings):
    settings.LLM_BASE_URL = settings.LLM_API_KEY = ""
    from agents.mind import Mind
    from agents.residents import load_town

    world = services.create_world("Joinville")
    mind = Mind(load_town(world.pk))
    x, y = mind.town.town_map.areas["cafe"].center  # where Ada spends the morning

    def decide(t: int, joinable: bool) -> list[dict]:
        bram = {"id": "bram", "name": "Bram", "kind": "agent", "distance": 2, "x": 0, "y": 0}
        bram |= {"in_conversation": True, "cooldown": False}
        bram |= {"conversation": "c7", "joinable": joinable}
        clock = {"day": 1, "hour": 7, "minute": t // 1000, "minute_of_day": 420 + t // 1000}
        ctx = {"clock": clock, "name": "Ada", "x": int(x), "y": int(y), "activity": ""}
        ctx |= {"area": "cafe", "nearby": [bram]}
        request = {"id": f"n{t}", "agent": "ada", "kind": "next", "t": t, "context": ctx}
        return mind.decide(request)

    times = range(1000, 31_000, 1000)
    joins = [t for t in times if decide(t, True)[0]["type"] == "join_conversation"]
    assert joins and len(joins) < len(times)  # now and then, not always
    assert decide(joins[0], True)[0] == {
        "type": "join_conversation",
        "conversation": "c7",
        "actor": "ada",
        "decision": f"n{joins[0]}",
    }
    assert all(decide(t, False)[0]["type"] != "join_conversation" for t in joins)
