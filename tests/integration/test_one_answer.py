"""Every request gets exactly one answer, whatever happens to the engine it went to.

The scale-out topology for real (Redis, a web process, a worker, engine processes): an
engine that hangs with the world's lease, an engine killed, the world moved to another
engine. The consumer answers what the engine did not within 5 s (`error unavailable`),
and the engine drops such an input if it ever gets to it, so a resend applies it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import pytest

from tests.inbox import wait_for
from tests.netclient import NetSocket, make_sessions, run


@pytest.fixture(scope="module")
def topology(module_town_process, redis_url, tmp_path_factory):
    env = {"REDIS_URL": redis_url}
    var = tmp_path_factory.mktemp("one-answer")
    web = module_town_process(env, var).start("--role", "web")
    web.wait_ready()
    worker = module_town_process(env, var).start("--role", "worker")
    engine = module_town_process(env, var).start("--role", "engine")
    return {"web": web, "worker": worker, "engine": engine, "make": module_town_process}, (
        env,
        var,
    )


def answers(sock: NetSocket, fid: str) -> list[dict]:
    return [f for f in sock.frames if f.get("id") == fid and f.get("type") in ("ack", "error")]


async def drain(sock: NetSocket, seconds: float) -> None:
    """Read whatever arrives for a while (frames land in sock.frames)."""
    with contextlib.suppress(TimeoutError):
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            await sock.recv(timeout=max(0.05, end - loop.time()))


def test_a_hung_engine_and_a_moved_world_still_answer_every_input_once(topology):
    (parts, (env, var)) = topology
    web, engine = parts["web"], parts["engine"]
    session = make_sessions(web.env, ["una"])["una"]

    async def scenario() -> None:
        await wait_for(lambda: "world 1 running" in engine.output(), 30)
        una = NetSocket(web.url, session)
        await una.open()
        await una.send(type="join", id="join", name="Una", character="kit")
        me = (await una.ack("join"))["player"]

        # The engine hangs holding the lease: nobody else may run the world, nobody answers.
        engine.proc.send_signal(signal.SIGSTOP)
        await una.send(type="move", id="lost", x=40, y=30)
        answer = await una.ack("lost", timeout=10)
        assert (answer["type"], answer["code"]) == ("error", "unavailable"), answer

        # It wakes up with the input still in its queue: too late, so it is not applied,
        # and no second answer reaches the player.
        engine.proc.send_signal(signal.SIGCONT)
        assert (await until_acked(una, "after", x=3, y=3))["type"] == "ack"
        await drain(una, 2)
        assert len(answers(una, "lost")) == 1
        moves = [e for e in una.events if e.get("kind") == "move" and e["player"] == me]
        assert not any(m["path"][-1] == [40, 30] for m in moves), moves

        # The engine dies; another takes the world. The player is resynced, and the input
        # that was never applied is applied once when resent.
        engine.proc.send_signal(signal.SIGKILL)
        await una.send(type="move", id="gap", x=41, y=30)
        assert len([a async for a in _one(una, "gap")]) == 1
        successor = parts["make"](env, var).start("--role", "engine")
        await wait_for(lambda: "world 1 running" in successor.output(), 30)
        await una.until(lambda f: f.get("type") == "hello", 15)
        await una.send(type="move", id="lost", x=40, y=30)
        assert (await una.ack("lost", timeout=10))["type"] == "ack"
        await una.send(type="move", id="lost", x=40, y=30)  # a resend of an applied id
        assert (await una.ack("lost", timeout=10))["type"] == "ack"
        await drain(una, 1)
        assert [a["type"] for a in answers(una, "lost")] == ["error", "ack", "ack"]
        await una.send(type="leave", id="bye")
        assert (await una.ack("bye"))["type"] == "ack"
        await una.close()

    run(scenario())


async def until_acked(sock: NetSocket, fid: str, **frame) -> dict:
    """Send an input until it is acked: a busy machine may need more than one 5 s deadline
    for an engine that just woke up to catch up (a resend with the same id is safe)."""
    for _ in range(6):
        await sock.send(type="move", id=fid, **frame)
        answer = await sock.ack(fid, timeout=10)
        if answer["type"] == "ack" or answer.get("code") != "unavailable":
            return answer
    return answer


async def _one(sock: NetSocket, fid: str):
    """The answers to `fid` within the deadline and a little after: exactly one expected."""
    yield await sock.ack(fid, timeout=10)
    await drain(sock, 1.5)
    for extra in answers(sock, fid)[1:]:
        yield extra
