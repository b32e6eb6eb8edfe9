"""Killing the whole town process mid-conversation loses nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.request

from tests.netclient import NetSocket, make_sessions, run


def fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def conversation_id(event: dict) -> str:
    conv = event["conversation"]
    return conv if isinstance(conv, str) else conv["id"]


async def talk_then_get_killed(town) -> tuple[str, str, list[str], tuple[int, int]]:
    session = make_sessions(town.env, ["kim"])["kim"]
    kim = NetSocket(town.url, session)
    _, snapshot = await kim.open()
    await kim.send(type="join", id="join-1", name="Kim", character="kit")
    me = (await kim.ack("join-1"))["player"]
    residents = [p for p in snapshot["players"] if p["kind"] == "agent"]
    assert residents, "the default world has residents"
    conversation = None
    for n, resident in enumerate(residents * 2):
        await kim.send(type="invite", id=f"inv-{n}", to=resident["id"])
        if (await kim.ack(f"inv-{n}"))["type"] == "ack":
            invited = await kim.until(lambda e: e.get("kind") == "conversation_invited")
            conversation = invited["conversation"]["id"]
            started = await kim.until(
                lambda e, cid=conversation: (
                    e.get("kind") in ("conversation_started", "conversation_ended")
                    and conversation_id(e) == cid
                ),
                timeout=60,
            )
            if started["kind"] == "conversation_started":
                break
            conversation = None
    assert conversation, "no resident would talk"
    said = []
    for n in range(3):
        text = f"I am opening a bakery on Friday (note {n})"
        await kim.send(type="say", id=f"say-{n}", conversation=conversation, text=text)
        assert (await kim.ack(f"say-{n}"))["type"] == "ack"
        said.append(text)
    # Where Kim stands when the process dies: the engine's latest word on it.
    await kim.send(type="leave_conversation", id="bye", conversation=conversation)
    await kim.ack("bye")
    await asyncio.sleep(1.5)
    await kim.close()
    spectator = NetSocket(town.url)
    _, snap = await spectator.open()
    await spectator.close()
    mine = next(p for p in snap["players"] if p["id"] == me)
    path = mine.get("path")
    where = tuple(path[-1]) if path else (mine["x"], mine["y"])
    return me, conversation, said, where


def test_kill_9_mid_conversation_loses_no_acknowledged_message(town_process, tmp_path):
    town = town_process(var_dir=tmp_path / "town").start()
    town.wait_ready()
    me, conversation, said, where = run(talk_then_get_killed(town))
    town.proc.send_signal(signal.SIGKILL)
    town.proc.wait()

    again = town_process(var_dir=tmp_path / "town")
    again.port = town.port
    again.url = town.url
    again.start()
    again.wait_ready()

    async def look() -> dict:
        spectator = NetSocket(again.url)
        _, snap = await spectator.open()
        await spectator.close()
        return snap

    snap = run(look())
    world = snap["world"]["id"]
    history = fetch_json(f"{again.url}/api/worlds/{world}/conversations/{conversation}/messages/")
    texts = [m["text"] for m in history["messages"]]
    for text in said:
        assert text in texts
    mine = next(p for p in snap["players"] if p["id"] == me)
    path = mine.get("path")
    assert (tuple(path[-1]) if path else (mine["x"], mine["y"])) == where
    assert again.stop(signal.SIGINT) == 0
