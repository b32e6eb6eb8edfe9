"""Operator levers reach the running world and every open page, whichever process pulls them.

A real `runtown` (one process, the in-memory channel layer: the default `make run`) and a
second process running `manage.py town …`, as an operator in another terminal does.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from tests.conftest import ROOT
from tests.inbox import eventually, wait_for
from tests.netclient import NetSocket, make_sessions, run
from town.groups import engine_group, world_group
from town.models import Player

SECRET = "the spare key is under the blue flowerpot"


@pytest.fixture(scope="module")
def town(module_town_process, tmp_path_factory):
    proc = module_town_process({"LOG_LEVEL": "INFO"}, tmp_path_factory.mktemp("control"))
    proc.start().wait_ready()
    return proc


def stored(town, code: str) -> object:
    """Run Django code (an expression) in a second process; its JSON value."""
    script = (
        f"import django, json; django.setup(); from town.models import *; print(json.dumps({code}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**town.env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def status_is(status: str):
    return lambda e: e.get("kind") == "world_status" and e.get("status") == status


async def joined(socket: NetSocket, name: str) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """Join, then find a tile to walk to: (player id, where I stand, a tile I may walk to)."""
    await socket.send(type="join", id=f"join-{name}", name=name, character="kit")
    me = (await socket.ack(f"join-{name}"))["player"]
    event = await socket.until(
        lambda e: e.get("kind") == "player_joined" and e["player"]["id"] == me
    )
    x, y = event["player"]["x"], event["player"]["y"]
    for n, (dx, dy) in enumerate([(2, 0), (-2, 0), (0, 2), (0, -2), (3, 3), (-3, -3)]):
        await socket.send(type="move", id=f"probe-{name}-{n}", x=x + dx, y=y + dy)
        if (await socket.ack(f"probe-{name}-{n}"))["type"] == "ack":
            return me, (x, y), (x + dx, y + dy)
    raise AssertionError("no walkable tile near the player")


async def move(socket: NetSocket, fid: str, to: tuple[int, int]) -> dict:
    await socket.send(type="move", id=fid, x=to[0], y=to[1])
    return await socket.ack(fid)


async def engine_ready(town) -> None:
    await wait_for(lambda: "world 1 running" in town.output(), 60, "engine start")


def test_staff_freeze_and_resume_over_the_socket_then_the_next_move_is_acked(town):
    sessions = make_sessions(town.env, ["staff-sue", "pip"])

    async def scenario() -> None:
        await engine_ready(town)
        staff = NetSocket(town.url, sessions["staff-sue"])
        pip = NetSocket(town.url, sessions["pip"])
        await staff.open()
        await pip.open()
        _, home, away = await joined(pip, "Pip")

        await staff.send(type="freeze", id="freeze-1")
        assert (await staff.ack("freeze-1"))["type"] == "ack"
        await pip.until(status_is("frozen"))
        refused = await move(pip, "m-frozen", home)
        assert refused["type"] == "error" and refused["code"] == "world_frozen"

        await staff.send(type="resume", id="resume-1")
        assert (await staff.ack("resume-1"))["type"] == "ack"
        await pip.until(status_is("running"), 30)
        # The first move on the news: an engine holds the world and answers it.
        assert (await move(pip, "m-resumed", home))["type"] == "ack"
        assert (await move(pip, "m-again", away))["type"] == "ack"
        await staff.close()
        await pip.close()

    run(scenario())


def test_forget_from_a_second_terminal_scrubs_the_running_world(town):
    sessions = make_sessions(town.env, ["kim"])

    async def scenario() -> None:
        await engine_ready(town)
        kim = NetSocket(town.url, sessions["kim"])
        _, snapshot = await kim.open()
        me, _, _ = await joined(kim, "Kim")
        residents = [p for p in snapshot["players"] if p["kind"] == "agent"]
        conversation = None
        for n, resident in enumerate(residents * 2):
            await kim.send(type="invite", id=f"inv-{n}", to=resident["id"])
            if (await kim.ack(f"inv-{n}"))["type"] != "ack":
                continue
            invited = await kim.until(lambda e: e.get("kind") == "conversation_invited")
            cid = invited["conversation"]["id"]
            started = await kim.until(
                lambda e, cid=cid: (
                    e.get("kind") in ("conversation_started", "conversation_ended")
                    and (e["conversation"] if isinstance(e["conversation"], str)
                         else e["conversation"]["id"]) == cid
                ),
                timeout=60,
            )  # fmt: skip
            if started["kind"] == "conversation_started":
                conversation = cid
                break
        assert conversation, "no resident would talk"
        await kim.send(type="say", id="secret", conversation=conversation, text=SECRET)
        assert (await kim.ack("secret"))["type"] == "ack"
        watcher = NetSocket(town.url)
        _, before = await watcher.open()
        assert any(m["text"] == SECRET for m in before["messages"])  # the engine has it

        last_snapshot = stored(town, "WorldSnapshot.objects.order_by('-id').first().id")
        out = (await asyncio.to_thread(town.manage, "town", "forget", "--user", "kim")).stdout
        assert "Forgot kim" in out
        # Open pages are told to drop the lines...
        for page in (kim, watcher):
            gone = await page.until(lambda e: e.get("kind") == "messages_forgotten")
            assert gone["author"] == me
        # ...a page opened now never sees them...
        fresh = NetSocket(town.url)
        _, after = await fresh.open()
        assert not any(m["author"] == me for m in after["messages"])
        assert SECRET not in json.dumps(after)
        # ...and no snapshot the engine saves afterwards holds them.
        await eventually(
            lambda: (
                stored(town, "WorldSnapshot.objects.order_by('-id').first().id") > last_snapshot
            ),
            30,
        )
        snapshots = stored(town, "[s.data for s in WorldSnapshot.objects.all()]")
        assert snapshots and SECRET not in json.dumps(snapshots)
        for page in (kim, watcher, fresh):
            await page.close()

    run(scenario())


def test_levers_pulled_in_a_second_terminal_reach_open_pages(town):
    sessions = make_sessions(town.env, ["lou"])

    async def scenario() -> None:
        await engine_ready(town)
        spectator = NetSocket(town.url)
        lou = NetSocket(town.url, sessions["lou"])
        await spectator.open()
        await lou.open()
        _, home, away = await joined(lou, "Lou")

        assert "Froze" in (await asyncio.to_thread(town.manage, "town", "freeze")).stdout
        for page in (spectator, lou):
            await page.until(status_is("frozen"))
        refused = await move(lou, "m-frozen", home)
        assert refused["type"] == "error" and refused["code"] == "world_frozen"

        assert "Resumed" in (await asyncio.to_thread(town.manage, "town", "resume")).stdout
        for page in (spectator, lou):
            await page.until(status_is("running"), 30)
        assert (await move(lou, "m-running", home))["type"] == "ack"

        await asyncio.to_thread(town.manage, "town", "announce", "The market opens early")
        notice = await spectator.until(lambda e: e.get("kind") == "announcement")
        assert notice["text"] == "The market opens early"

        assert "Archived" in (await asyncio.to_thread(town.manage, "town", "archive")).stdout
        for page in (spectator, lou):
            await page.until(status_is("archived"))
        refused = await move(lou, "m-archived", away)
        assert refused["type"] == "error" and refused["code"] == "world_frozen"
        await spectator.close()
        await lou.close()

    run(scenario())


# -- the runner's own defence: a write the database refuses never stops the world ----------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "answer"),
    [("Nul\x00Byte", "ack"), ("A name far longer than the forty characters a row holds", "error")],
    ids=["nul", "too-long-for-the-row"],
)
async def test_an_input_the_database_refuses_gets_one_answer_and_the_world_runs_on(
    town_engine, name, answer
):
    world = town_engine
    layer = get_channel_layer()
    await eventually(lambda: world.history.filter(kind="player_joined").exists())
    me = await layer.new_channel()
    watcher = await layer.new_channel()
    await layer.group_add(world_group(world.pk), watcher)
    seen: list[dict] = []
    reader = asyncio.ensure_future(_collect(layer, watcher, seen))

    async def send(fid: str, actor: str, name: str) -> dict:
        inp = {"type": "join", "actor": actor, "key": f"test:{fid}", "name": name,
               "character": "kit", "kind": "human"}  # fmt: skip
        message = {"type": "engine.input", "input": inp, "client_id": fid, "reply_to": me}
        await layer.group_send(engine_group(world.pk), message)
        reply = await asyncio.wait_for(layer.receive(me), 15)
        return reply["frame"]

    try:
        first = await send("bad", "h9001", name)
        assert first["type"] == answer and first["id"] == "bad"
        if answer == "error":
            assert first["code"] == "invalid"
        second = await send("good", "h9002", "Plain")
        assert second == {"type": "ack", "id": "good", "player": "h9002"}
        with pytest.raises(TimeoutError):  # exactly one answer each
            await asyncio.wait_for(layer.receive(me), 1.5)
    finally:
        reader.cancel()
    # The same engine went on: no restart (which resyncs pages), world time never went back.
    assert not [m for m in seen if m["type"] == "world.resync"]
    times = [e["t"] for m in seen if m["type"] == "world.events"
             for e in json.loads(m["text"])["events"]]  # fmt: skip
    assert times == sorted(times)
    rows = await database_sync_to_async(
        lambda: dict(Player.objects.filter(world=world, pid__in=["h9001", "h9002"]).values_list("pid", "name"))
    )()  # fmt: skip
    assert rows["h9002"] == "Plain"
    if answer == "ack":
        assert rows["h9001"] == "NulByte"  # NUL, which PostgreSQL refuses, left out
    else:
        assert "h9001" not in rows


async def _collect(layer, channel: str, seen: list[dict]) -> None:
    while True:
        seen.append(await layer.receive(channel))


@pytest.fixture
async def town_engine():
    from town import services
    from town.management.commands.runtown import run_roles

    world = await database_sync_to_async(services.create_world)("Nulport")
    stop = asyncio.Event()
    roles = asyncio.ensure_future(run_roles(["engine"], stop))
    yield world
    stop.set()
    await asyncio.wait_for(roles, 20)
