"""Redis in the multi-process topology: limits shared by web processes, and an outage that
is reported clearly (/healthz 503, logs) and recovered from when Redis is back."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import websockets

from tests.conftest import free_port
from tests.inbox import wait_for
from tests.netclient import NetSocket, make_sessions, run


class Redis:
    """A redis-server this module can stop and start again on the same port."""

    def __init__(self, binary: str, port: int, dir_: str):
        self.cmd = [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", dir_]
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise TimeoutError("redis did not start")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def topology(module_town_process, tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    redis = Redis(binary, free_port(), str(tmp_path_factory.mktemp("redis-faults")))
    redis.start()
    env = {"REDIS_URL": redis.url, "TOWN_MAX_CONNECTIONS_PER_USER": "3"}
    var = tmp_path_factory.mktemp("faultredis")
    town = module_town_process(env, var).start()  # web + engine + worker
    town.wait_ready()
    web2 = module_town_process(env, var).start("--role", "web", "--no-migrate")
    web2.wait_ready()
    yield {"redis": redis, "town": town, "web2": web2}
    if redis.proc.poll() is None:
        redis.stop()


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def test_connection_limit_per_user_spans_web_processes(topology):
    town, web2 = topology["town"], topology["web2"]
    session = make_sessions(town.env, ["rex"])["rex"]

    async def scenario() -> None:
        socks = [NetSocket(town.url, session), NetSocket(town.url, session)]
        socks.append(NetSocket(web2.url, session))
        for sock in socks:
            await sock.open()
        ws = web2.url.replace("http://", "ws://") + "/ws/world/"
        async with websockets.connect(
            ws, origin=web2.url, additional_headers={"Cookie": f"sessionid={session}"}
        ) as fourth:
            frame = json.loads(await asyncio.wait_for(fourth.recv(), 10))
            assert frame["code"] == "rate_limited"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(fourth.recv(), 10)
            assert closed.value.rcvd.code == 4008
        await socks[0].close()  # its slot is free again, on the other process too
        await asyncio.sleep(0.3)
        again = NetSocket(web2.url, session)
        await again.open()
        for sock in (*socks[1:], again):
            await sock.close()

    run(scenario())


def test_redis_outage_is_reported_and_recovered_from(topology):
    redis, town, web2 = topology["redis"], topology["town"], topology["web2"]
    session = make_sessions(town.env, ["sol"])["sol"]

    async def scenario() -> None:
        await wait_for(lambda: "world 1 running" in town.output(), 30, "engine start")
        assert health(web2.url)[1]["channel_layer"] == "ok"
        sol = NetSocket(web2.url, session)  # web2 forwards to the engine in `town` via Redis
        await sol.open()
        await sol.send(type="join", id="j", name="Sol", character="kit")
        assert (await sol.ack("j"))["type"] == "ack"

        redis.stop()
        await wait_for(lambda: health(web2.url)[0] == 503, 10, "web2 reports Redis down")
        status, body = health(town.url)
        assert status == 503 and body["channel_layer"].startswith("error")
        assert body["database"] == "ok"
        # The socket stays open; an input gets a clear refusal instead of silence.
        await sol.send(type="leave", id="l1")
        refusal = await sol.ack("l1", timeout=30)
        assert refusal["type"] == "error" and refusal["code"] == "unavailable"
        await asyncio.sleep(2)

        redis.start()
        await wait_for(lambda: health(web2.url)[0] == 200, 15, "web2 healthy again")
        await wait_for(lambda: health(town.url)[0] == 200, 15, "town healthy again")
        # The socket rejoined and was resynced; inputs reach the engine again.
        await sol.until(lambda f: f.get("type") == "hello", 30)
        for attempt in range(20):
            # A join always gets the engine's own answer: ack, or "conflict" if Sol is in.
            await sol.send(type="join", id=f"j-{attempt}", name="Sol")
            try:
                reply = await sol.ack(f"j-{attempt}", timeout=5)
            except AssertionError:
                continue  # the engine had not rejoined yet: nobody heard it
            if reply["type"] == "ack" or reply.get("code") == "conflict":
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError("inputs never reached the engine again")
        await sol.close()

    run(scenario())
    assert town.proc.poll() is None and web2.proc.poll() is None
    assert "channel layer" in web2.output()
