"""What a hostile visitor tries against a live `runtown` (issue #20, docs/security.md).

Each test reproduces an attack that worked before: deeply nested frames that crashed the
consumer and leaked its connection slot (twenty of them locked an address out), NUL and
other control characters that crashed the engine, look-alike names. After every attack
the town still answers `/healthz`, a fresh signed-in visitor gets in, and the sockets'
holdings (connection slots, hub places) are back at zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import websockets

from tests.netclient import NetSocket, make_sessions, run

ROOT = Path(__file__).resolve().parents[2]
PER_ADDRESS = 6  # small, so that a leak per socket shows within a few attacks
PER_USER = 3


@pytest.fixture(scope="module")
def town(module_town_process):
    proc = module_town_process(
        {
            "TOWN_MAX_CONNECTIONS_PER_IP": str(PER_ADDRESS),
            "TOWN_MAX_CONNECTIONS_PER_USER": str(PER_USER),
            "TOWN_SEND_BUFFER_BYTES": "8192",
            "TOWN_SLOW_CLIENT_SECONDS": "4",
        }
    ).start()
    proc.wait_ready()
    proc.sessions = make_sessions(
        proc.env, ["mallory", "trent", "walker1", "walker2", "walker3", "honest", "reader"]
    )
    yield proc
    proc.stop()


def holdings(town) -> dict[str, float]:
    """The gauges of what open sockets hold, from /metrics (loopback may read it)."""
    with urllib.request.urlopen(town.url + "/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out = {}
    for name in ("town_connection_slots", "town_hub_watchers", "town_sockets_backed_up"):
        out[name] = float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))
    out["town_connected_clients"] = sum(
        float(v) for v in re.findall(r"^town_connected_clients\{[^}]*\} (\S+)$", text, re.M)
    )
    return out


async def settled(town, timeout: float = 10.0) -> dict[str, float]:
    """Wait until every socket's holdings are given back; the last reading."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        figures = await loop.run_in_executor(None, holdings, town)
        if not any(figures.values()) or loop.time() > deadline:
            return figures
        await asyncio.sleep(0.2)


def health(town) -> int:
    with urllib.request.urlopen(town.url + "/healthz", timeout=5) as resp:
        return resp.status


async def still_open_to_honest_people(town) -> None:
    """The town answers, and a signed-in visitor with no socket open gets in and is heard."""
    assert health(town) == 200
    figures = await settled(town)
    assert figures == {
        "town_connection_slots": 0,
        "town_hub_watchers": 0,
        "town_sockets_backed_up": 0,
        "town_connected_clients": 0,
    }, figures
    honest = NetSocket(town.url, town.sessions["honest"])
    hello, _ = await honest.open()
    assert hello["you"]["user"] == "honest"
    await honest.send(type="join", id="j-honest")
    reply = await honest.until(lambda f: f.get("id") == "j-honest")
    assert reply["type"] == "ack" or reply.get("code") == "conflict", reply
    await honest.send(type="leave", id="l-honest")
    await honest.until(lambda f: f.get("id") == "l-honest")
    await honest.close()


async def connect(town, session: str | None = None, **kwargs):
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    return await websockets.connect(
        town.url.replace("http://", "ws://") + "/ws/world/",
        origin=town.url,
        additional_headers=headers,
        ping_interval=None,
        max_size=2**22,
        **kwargs,
    )


async def frame_of(ws, predicate, timeout: float = 10.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), deadline - loop.time()))
        if predicate(frame):
            return frame


NESTED = {
    "arrays": "[" * 1900 + "]" * 1900,
    "objects": '{"a":' * 600 + "1" + "}" * 600,
    "mixed": '[{"a":' * 500 + "1" + "}]" * 500,
    "inside a field": '{"type":"say","id":"n1","conversation":"c","text":'
    + "[" * 1500
    + "]" * 1500
    + "}",
    "unclosed": "[" * 3000,
}


def test_deeply_nested_frames_are_refused_and_cannot_lock_an_address_out(town):
    async def scenario() -> None:
        # Several times more attacks than the address may hold sockets: a leak would lock
        # the address (and every visitor behind the same proxy) out.
        for round_ in range(3):
            for shape, text in NESTED.items():
                session = town.sessions["mallory"] if round_ == 1 else None
                ws = await connect(town, session)
                await frame_of(ws, lambda f: f.get("type") == "snapshot")
                await ws.send(text)
                error = await frame_of(ws, lambda f: f.get("type") == "error")
                assert error["code"] in {"invalid", "bad_json"}, (shape, error)
                # The socket is still usable: an honest frame gets its answer.
                fid = f"m-{round_}"
                await ws.send(json.dumps({"type": "move", "id": fid, "x": 1, "y": 1}))
                answer = await frame_of(ws, lambda f, fid=fid: f.get("id") == fid)
                assert answer["type"] == "error"
                assert answer["code"] in {"not_signed_in", "not_player"}, answer
                if round_ == 2:
                    ws.transport.abort()  # and some end abruptly
                else:
                    await ws.close()
        await still_open_to_honest_people(town)

    run(scenario())


def test_sockets_ended_every_way_give_back_what_they_held(town):
    async def scenario() -> None:
        # A clean close, an abrupt TCP close, a server-side close for garbage, a close in
        # the middle of the handshake, and one per user beyond the account's cap.
        ws = await connect(town)
        await ws.close()

        ws = await connect(town, town.sessions["trent"])
        await frame_of(ws, lambda f: f.get("type") == "snapshot")
        ws.transport.abort()

        ws = await connect(town)
        await frame_of(ws, lambda f: f.get("type") == "snapshot")
        for n in range(30):
            try:
                await ws.send(f"garbage {n}")
            except websockets.ConnectionClosed:
                break
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd.code == 4008

        raw = socket.create_connection(("127.0.0.1", town.port))
        raw.sendall(
            b"GET /ws/world/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: "
            + town.url.encode()
            + b"\r\n\r\n"
        )
        raw.close()  # gone before the server answered

        held = [await connect(town, town.sessions["trent"]) for _ in range(PER_USER)]
        extra = await connect(town, town.sessions["trent"])
        refusal = await frame_of(extra, lambda f: f.get("type") == "error")
        assert refusal["code"] == "rate_limited"
        for ws in held:
            ws.transport.abort()
        await still_open_to_honest_people(town)

    run(scenario())


def test_nul_and_control_characters_are_refused_and_the_engine_keeps_running(town):
    async def scenario() -> None:
        watcher = NetSocket(town.url)
        _, first = await watcher.open()
        player = NetSocket(town.url, town.sessions["mallory"])
        await player.open()
        bad_names = ["Mal\x00lory", "Bell\x07", "Esc\x1b[31m", "\u202eyrollam", "\u200b", " "]
        for n, name in enumerate(bad_names):
            await player.send(type="join", id=f"bad-join-{n}", name=name)
            error = await player.until(lambda f, n=n: f.get("id") == f"bad-join-{n}")
            assert (error["type"], error["code"]) == ("error", "invalid"), (name, error)
        await player.send(type="join", id="join", name="Mallory")
        assert (await player.until(lambda f: f.get("id") == "join"))["type"] == "ack"
        for n, text in enumerate(["a\x00b", "\x00", "ding\x07", "\x1b]0;owned\x07", "\ud800"]):
            await player.send(type="say", id=f"bad-say-{n}", conversation="c1", text=text)
            error = await player.until(lambda f, n=n: f.get("id") == f"bad-say-{n}")
            assert (error["type"], error["code"]) == ("error", "invalid"), (text, error)
        for ident in ["id\x00", "\u202eid", "a\nb"]:
            await player.send(type="move", id=ident, x=3, y=3)
            error = await player.until(lambda f, ident=ident: f.get("id") == ident)
            assert error["code"] == "invalid", error
        # The world did not restart: no second hello for the watcher, and its clock moved on.
        await player.send(type="move", id="walk", x=5, y=5)
        await player.until(lambda f: f.get("id") == "walk")
        await asyncio.sleep(1.5)
        assert [f["type"] for f in watcher.frames].count("hello") == 1
        later = NetSocket(town.url)
        _, second = await later.open()
        assert second["world"]["time"] >= first["world"]["time"]
        await player.send(type="leave", id="bye")
        await player.until(lambda f: f.get("id") == "bye")
        for s in (player, watcher, later):
            await s.close()
        await still_open_to_honest_people(town)

    run(scenario())


def test_names_that_read_like_a_resident_or_the_town_are_refused(town):
    async def scenario() -> None:
        walker = NetSocket(town.url, town.sessions["walker1"])
        await walker.open()
        await walker.send(type="join", id="w1", name="Wanda Reed")
        assert (await walker.until(lambda f: f.get("id") == "w1"))["type"] == "ack"
        impostor = NetSocket(town.url, town.sessions["mallory"])
        await impostor.open()
        cases = {
            "Ada Byrne": "conflict",  # a resident's own name
            "ADA  BYRNE": "conflict",
            "Аda Byrne": "invalid",  # a Cyrillic А among Latin letters
            "Ａｄａ Ｂｙｒｎｅ": "conflict",  # full-width: NFKC makes it Ada Byrne
            "Wanda Reed": "conflict",  # someone present
            "Wanda Rееd": "invalid",  # Cyrillic е
            "Town notice": "invalid",
            "T0wn Notice": "invalid",
            "Bram 0kafor": "conflict",
        }
        for n, (name, code) in enumerate(cases.items()):
            await impostor.send(type="join", id=f"imp-{n}", name=name)
            reply = await impostor.until(lambda f, n=n: f.get("id") == f"imp-{n}")
            assert (reply["type"], reply.get("code")) == ("error", code), (name, reply)
        await impostor.send(type="join", id="imp-ok", name="Mallory Vance")
        assert (await impostor.until(lambda f: f.get("id") == "imp-ok"))["type"] == "ack"
        for s, fid in ((walker, "w-bye"), (impostor, "i-bye")):
            await s.send(type="leave", id=fid)
            await s.until(lambda f, fid=fid: f.get("id") == fid)
            await s.close()
        await still_open_to_honest_people(town)

    run(scenario())


async def walk(walkers: list[NetSocket], seconds: float) -> None:
    """Walkers cross the town back and forth: long paths, many bytes to every watcher."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        walk.n += 1
        for i, w in enumerate(walkers):
            x, y = (3 + i, 3) if walk.n % 2 else (40 + i, 30)
            await w.send(type="move", id=f"walk-{i}-{walk.n}", x=x, y=y)
        await asyncio.sleep(0.15)


walk.n = 0


async def walk_until_backed_up(town, walkers: list[NetSocket], timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await loop.run_in_executor(None, holdings, town))["town_sockets_backed_up"] < 1:
        assert loop.time() < deadline, "the reader's buffer never backed up"
        await walk(walkers, 0.5)


def test_a_client_that_stops_reading_holds_no_backlog_and_is_let_go(town):
    async def scenario() -> None:
        walkers = [NetSocket(town.url, town.sessions[f"walker{n}"]) for n in (1, 2, 3)]
        for n, w in enumerate(walkers):
            await w.open()
            await w.send(type="join", id=f"wj{n}", name=f"Walker {n}")
            await w.until(lambda f, n=n: f.get("id") == f"wj{n}")
        spectator = NetSocket(town.url)
        await spectator.open()

        # Small receive buffer, then stop reading: the server's buffer for it fills up.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.connect(("127.0.0.1", town.port))
        stuck = await connect(town, town.sessions["reader"], sock=sock)
        await frame_of(stuck, lambda f: f.get("type") == "snapshot")
        stuck.transport.pause_reading()

        await walk_until_backed_up(town, walkers)
        await walk(walkers, 5)  # past TOWN_SLOW_CLIENT_SECONDS backed up
        # Honest watchers were served all along.
        with contextlib.suppress(TimeoutError):
            while True:
                await spectator.recv(timeout=1)
        assert sum(1 for e in spectator.events if e.get("kind") == "move") > 20
        stuck.transport.resume_reading()
        with pytest.raises(websockets.ConnectionClosed):
            while True:  # whatever was buffered, then the end: the server let it go
                await asyncio.wait_for(stuck.recv(), 10)

        for n, w in enumerate(walkers):
            await w.send(type="leave", id=f"wl{n}")
            await w.until(lambda f, n=n: f.get("id") == f"wl{n}")
            await w.close()
        await spectator.close()
        await still_open_to_honest_people(town)

    run(scenario())


def test_a_client_that_falls_behind_briefly_gets_a_fresh_snapshot(town):
    async def scenario() -> None:
        walker = NetSocket(town.url, town.sessions["walker1"])
        await walker.open()
        await walker.send(type="join", id="bj", name="Brief Walker")
        await walker.until(lambda f: f.get("id") == "bj")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.connect(("127.0.0.1", town.port))
        lagging = await connect(town, town.sessions["reader"], sock=sock)
        await frame_of(lagging, lambda f: f.get("type") == "snapshot")
        lagging.transport.pause_reading()
        await walk_until_backed_up(town, [walker])
        await walk([walker], 1.0)  # events while it is backed up: these it misses
        lagging.transport.resume_reading()  # well before TOWN_SLOW_CLIENT_SECONDS; it drains first
        resync = await frame_of(lagging, lambda f: f.get("type") == "hello", timeout=30)
        assert resync["world"]
        snapshot = await frame_of(lagging, lambda f: f.get("type") == "snapshot")
        assert any(p["name"] == "Brief Walker" for p in snapshot["players"])
        await lagging.close()
        await walker.send(type="leave", id="bl")
        await walker.until(lambda f: f.get("id") == "bl")
        await walker.close()
        await still_open_to_honest_people(town)

    run(scenario())


_STAFF = """
from django.contrib.auth.models import User
User.objects.filter(username="warden").delete()
User.objects.create_superuser("warden", "warden@example.com", "right-horse-battery-7")
"""


def test_staff_passwords_cannot_be_guessed_at_the_admin(town):
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _STAFF],
        cwd=ROOT,
        env={**town.env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        check=True,
        capture_output=True,
        timeout=120,
    )

    def sign_in(password: str) -> str:
        """The page the admin's sign-in leads to after one try (a fresh browser each time)."""
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with browser.open(town.url + "/admin/login/?next=/admin/", timeout=10) as resp:
            page, url = resp.read().decode(), resp.url
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "login": "warden", "password": password}
        request = urllib.request.Request(
            url, urllib.parse.urlencode(form).encode(), headers={"Referer": url}
        )
        try:
            with browser.open(request, timeout=10) as resp:
                return resp.url + "\n" + resp.read().decode()
        except urllib.error.HTTPError as refused:
            return f"{refused.code}\n" + refused.read().decode()

    answers = [sign_in(f"guess-{n}") for n in range(12)]
    assert all("/admin/" not in a.splitlines()[0] for a in answers)
    # The right password, after the guesses: still refused while the limit holds.
    final = sign_in("right-horse-battery-7")
    assert "/admin/" not in final.splitlines()[0].replace("next=/admin/", "")
    assert "Too many failed login attempts" in final or final.startswith("429"), final[:400]
    assert health(town) == 200
