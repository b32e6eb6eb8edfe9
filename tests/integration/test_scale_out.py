"""The scale-out topology for real: Redis, two web processes, two engines, two workers."""

from __future__ import annotations

import signal
import time

import pytest

from tests.inbox import wait_for
from tests.netclient import NetSocket, make_sessions, run


@pytest.fixture(scope="module")
def topology(module_town_process, redis_url, tmp_path_factory):
    """web ×2, engine ×2, worker ×2 sharing one (embedded) PostgreSQL and Redis.

    Shared by the module's tests, which run in order: the later ones kill processes.
    """
    town_process = module_town_process
    env = {"REDIS_URL": redis_url}
    var = tmp_path_factory.mktemp("topology")
    web1 = town_process(env, var).start("--role", "web")
    web1.wait_ready()  # it migrates and creates the default world first
    web2 = town_process(env, var).start("--role", "web", "--no-migrate")
    engines = [town_process(env, var).start("--role", "engine") for _ in range(2)]
    workers = [town_process(env, var).start("--role", "worker") for _ in range(2)]
    web2.wait_ready()
    return {"web": [web1, web2], "engines": engines, "workers": workers}


def engine_running(engines, world: int = 1) -> list:
    return [e for e in engines if f"world {world} running" in e.output()]


def test_people_on_different_web_processes_share_one_world(topology):
    web1, web2 = topology["web"]
    sessions = make_sessions(web1.env, ["lea", "max"])

    async def scenario() -> None:
        await wait_for(lambda: engine_running(topology["engines"]), 30)
        lea = NetSocket(web1.url, sessions["lea"])
        max_ = NetSocket(web2.url, sessions["max"])
        await lea.open()
        _, snap = await max_.open()
        assert any(p["kind"] == "agent" for p in snap["players"])
        await lea.send(type="join", id="j", name="Lea", character="kit")
        lea_id = (await lea.ack("j"))["player"]
        joined = await max_.until(
            lambda e: e.get("kind") == "player_joined" and e["player"]["id"] == lea_id
        )
        x, y = joined["player"]["x"], joined["player"]["y"]
        for n, (dx, dy) in enumerate([(2, 0), (-2, 0), (0, 2), (0, -2)]):
            await lea.send(type="move", id=f"m{n}", x=x + dx, y=y + dy)
            if (await lea.ack(f"m{n}"))["type"] == "ack":
                break
        await max_.until(lambda e: e.get("kind") == "move" and e["player"] == lea_id)
        # Residents think in the worker processes and keep walking.
        await max_.until(lambda e: e.get("kind") == "move" and e["player"] != lea_id, 30)
        await lea.close()
        await max_.close()

    run(scenario())


def test_a_killed_engine_is_replaced_within_ten_seconds(topology):
    web1, _ = topology["web"]
    engines = topology["engines"]
    session = make_sessions(web1.env, ["ned"])["ned"]

    async def scenario() -> float:
        await wait_for(lambda: engine_running(engines), 30)
        ned = NetSocket(web1.url, session)
        await ned.open()
        await ned.send(type="join", id="j", name="Ned", character="kit")
        assert (await ned.ack("j"))["type"] == "ack"
        owner = engine_running(engines)[0]
        survivor = next(e for e in engines if e is not owner)
        owner.proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await wait_for(lambda: "world 1 running" in survivor.output(), 15)
        took = time.monotonic() - killed_at
        # The client is resynced without reconnecting, and can act again.
        await ned.until(lambda f: f.get("type") == "hello", 15)
        await ned.send(type="join", id="j", name="Ned", character="kit")
        assert (await ned.ack("j"))["type"] == "ack"  # a resend of an applied id: acked once
        await ned.send(type="leave", id="bye")
        assert (await ned.ack("bye"))["type"] == "ack"
        await ned.close()
        return took

    assert run(scenario()) <= 10


def test_input_resent_through_another_web_process_applies_once(topology):
    web1, web2 = topology["web"]
    session = make_sessions(web1.env, ["ola"])["ola"]

    async def scenario() -> None:
        await wait_for(lambda: engine_running(topology["engines"]), 30)
        first = NetSocket(web1.url, session)
        await first.open()
        await first.send(type="join", id="join-once", name="Ola", character="kit")
        web1.proc.send_signal(signal.SIGKILL)  # the web process dies, maybe before the ack
        second = NetSocket(web2.url, session)
        await second.open()
        await second.send(type="join", id="join-once", name="Ola", character="kit")
        assert (await second.ack("join-once"))["type"] == "ack"
        await second.send(type="join", id="join-twice", name="Ola", character="kit")
        assert (await second.ack("join-twice"))["code"] == "conflict"
        await second.close()

    run(scenario())
