"""Fan-out benchmark: N WebSocket clients on one `runtown` process.

A share of the clients are players: half walk (a move every ~3 s), half talk in pairs
standing still (a line every ~5 s, then walk when the conversation ends); the rest are
spectators. Every socket is timed: delivery latency (a move's or line's send → its event
at every other client) p50/p99 over all of them; bytes per client per second counted on
the wire (what the TCP socket delivered: WebSocket framing included, the handshake not);
the server's CPU and memory; sockets lost and events the server skipped for slow readers.
With `--views` every page sends a `view` (a 24×16-tile screen; players around their own
character), as the browser does; summary frames of far movement are counted apart and
not timed (they are late on purpose, docs/protocol.md).

Run: .venv/bin/python bench/fanout.py [--clients 50 200 500] [--seconds 20] [--players 40]
     [--variants before now view] [--soak 300] [--deflate]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import contextlib
import gc
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
import urllib.request
import zlib
from array import array
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import TownProcess, free_port  # noqa: E402
from tests.netclient import NetSocket, make_sessions  # noqa: E402

VIEW_W, VIEW_H = 24, 16  # tiles on a spectator's screen (a laptop at zoom 2, a phone at 1)
MAP_W, MAP_H = 64, 48


def event_key(event: dict) -> tuple[str, str] | None:
    """What a timed event answers: a player's move or line (None: not timed)."""
    if event["kind"] == "move":
        return ("move", event["player"])
    if event["kind"] == "message":
        return ("say", event["author"])
    return None


class Run:
    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], float] = {}  # (kind, player) -> last send time
        # Every send per key, for receipts timed in other generator processes (spectate).
        self.history: dict[tuple[str, str], list[float]] = {}
        # Receipt time and ms of every timed delivery, in arrays: a list of tuples (a million
        # in a soak) made the generator's own full garbage collections stall it 100-165 ms.
        self.received_at = array("d")
        self.latencies = array("d")
        self.errors: list[str] = []
        # `conflict` for a line said as its conversation ended (the end crossed the line on
        # its way): the right answer to a race of the bench's own, counted apart.
        self.raced = 0
        # Such refusals that came before the end itself (acks and errors are never merged,
        # broadcasts may be): by conversation, raced once its end arrives, else errors.
        self.doubtful: dict[str, int] = {}
        self.summaries = 0  # frames of far movement (not timed)
        self.asked: dict[tuple[str, str], float] = {}  # (player, frame id) -> send time
        self.acks: list[float] = []  # ms from an input's send to its ack (engine + write)
        self.samples: list[bytes] = []  # one socket's frames, for the deflate estimate

    def observe(
        self, frame: dict, now: float, me: str | None, conversation: str | None = None
    ) -> None:
        if frame.get("type") == "ack" and me is not None:
            sent = self.asked.pop((me, frame.get("id")), None)
            if sent is not None:
                self.acks.append((now - sent) * 1000)
        if frame.get("type") == "error":
            code, fid = frame.get("code"), str(frame.get("id"))
            if code == "conflict" and fid.startswith("s"):
                if conversation is None:
                    self.raced += 1
                else:
                    self.doubtful[conversation] = self.doubtful.get(conversation, 0) + 1
                return
            self.errors.append(frame.get("code", "?"))
            if os.environ.get("BENCH_DEBUG"):
                print("error", frame, file=sys.stderr)
        if frame.get("summary"):
            self.summaries += 1
            return
        for event in frame.get("events", ()):
            key = event_key(event)
            if key is not None:
                self.received(key, now)

    def received(self, key: tuple[str, str], now: float) -> None:
        """A timed event arrived: its latency from the latest send of its key."""
        sent = self.sent.get(key)
        if sent is not None:
            self.received_at.append(now)
            self.latencies.append((now - sent) * 1000)

    def send_at(self, key: tuple[str, str], fid: str, at: float) -> None:
        self.sent[key] = self.asked[(key[1], fid)] = at
        self.history.setdefault(key, []).append(at)

    def join(self, received_at: array, keys: array, names: list) -> array:
        """ms for receipts recorded elsewhere: each from the latest send of its key before it."""
        out = array("d")
        for at, k in zip(received_at, keys, strict=True):
            sends = self.history.get(names[k])
            i = bisect.bisect_right(sends, at) - 1 if sends else -1
            if i >= 0:
                out.append((at - sends[i]) * 1000)
        return out


class Receipts(Run):
    """A spectator-only generator process: keeps when each timed event arrived, and for
    what; the process with the players turns them into latencies (Run.join)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys = array("i")
        self.index: dict[tuple[str, str], int] = {}

    def received(self, key: tuple[str, str], now: float) -> None:
        self.received_at.append(now)
        self.keys.append(self.index.setdefault(key, len(self.index)))


async def listen(sock: NetSocket, run: Run, stop: asyncio.Event, sample: bool) -> None:
    """Parse and time every frame until the socket is closed; a loss counts as a drop."""
    sample_from = time.monotonic() + 2  # frames queued before the run are read first
    try:
        async for raw in sock.ws:  # no per-frame timer task: the generator must stay cheap
            sock.bytes_in += len(raw)
            if stop.is_set():
                continue
            frame = json.loads(raw)
            run.observe(
                frame,
                time.monotonic(),
                getattr(sock, "me", None),
                getattr(sock, "conversation", None),
            )
            if sample and time.monotonic() >= sample_from:
                run.samples.append(raw.encode() if isinstance(raw, str) else raw)
            for event in frame.get("events", ()):
                if event["kind"] == "conversation_ended" and event["conversation"] == getattr(
                    sock, "conversation", None
                ):
                    run.raced += run.doubtful.pop(sock.conversation, 0)
                    sock.conversation = None  # back to walking
    except Exception:
        pass
    if not stop.is_set():
        sock.lost = True


class Spectator(asyncio.Protocol):
    """A watching client as lean as a browser's: a real WebSocket over TCP (handshake,
    permessage-deflate when offered back, pings answered), each frame timed when its bytes
    come off the socket, parsed and observed in that same callback. Players keep the full
    client (NetSocket); spectators are most of the sockets, and a generator spending its
    CPU in a library's per-message machinery measured itself (`gen %` above the server's).
    """

    def __init__(self, url: str, run: Run, stop: asyncio.Event, sample: bool = False) -> None:
        self.url, self.run, self.stop, self.sample = url, run, stop, sample
        self.opened = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.ready = False
        self.inflater = None  # zlib decompressor when permessage-deflate was accepted
        self.fresh_context = False  # server_no_context_takeover: a new inflater per message
        self.parts: list[bytes] = []
        self.compressed = False
        self.wire_in = self.bytes_in = 0
        self.lost = False
        self.closed = False
        self.sample_from = time.monotonic() + 2

    async def open(self) -> None:
        host, port = self.url.split("//", 1)[1].rstrip("/").split(":")
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, host, int(port))
        await asyncio.wait_for(self.opened, 60)

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        host = self.url.split("//", 1)[1].rstrip("/")
        transport.write(
            (
                f"GET /ws/world/ HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {self.url.rstrip('/')}\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if self.ready:
            self.wire_in += len(data)
        self.buffer += data
        if not self.ready:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            lines = head.decode("latin-1").split("\r\n")
            if " 101 " not in lines[0] + " ":
                self.opened.set_exception(ConnectionError(lines[0]))
                self.transport.close()
                return
            extensions = " ".join(
                line.split(":", 1)[1]
                for line in lines[1:]
                if line.lower().startswith("sec-websocket-extensions:")
            )
            if "permessage-deflate" in extensions:
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                self.fresh_context = "server_no_context_takeover" in extensions
            self.ready, self.buffer = True, rest
            self.opened.set_result(None)
        self._frames(now)

    def _frames(self, now: float) -> None:
        buf = self.buffer
        at = 0
        while len(buf) - at >= 2:
            b0, b1 = buf[at], buf[at + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                if len(buf) - at < 4:
                    break
                n, head = int.from_bytes(buf[at + 2 : at + 4], "big"), 4
            elif n == 127:
                if len(buf) - at < 10:
                    break
                n, head = int.from_bytes(buf[at + 2 : at + 10], "big"), 10
            if len(buf) - at < head + n:
                break
            payload = buf[at + head : at + head + n]
            at += head + n
            opcode = b0 & 0x0F
            if opcode in (1, 0):
                if opcode == 1:
                    self.compressed = bool(b0 & 0x40)
                self.parts.append(payload)
                if b0 & 0x80:
                    self._message(b"".join(self.parts), now)
                    self.parts = []
            elif opcode == 9:  # ping: the server closes sockets that never answer
                self._send(0xA, payload)
            elif opcode == 8:
                self.closed = True
                self._send(0x8, payload[:2])
                self.transport.close()
        self.buffer = buf[at:]

    def _message(self, data: bytes, now: float) -> None:
        if self.compressed:
            if self.fresh_context:
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            data = self.inflater.decompress(data + b"\x00\x00\xff\xff")
        self.bytes_in += len(data)
        if self.stop.is_set():
            return
        self.run.observe(json.loads(data), now, None)
        if self.sample and now >= self.sample_from:
            self.run.samples.append(data)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = (
            bytes((0x80 | opcode, 0x80 | n))
            if n < 126
            else bytes((0x80 | opcode, 0xFE)) + n.to_bytes(2, "big")
        )
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(head + mask + masked)

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))
        if not self.stop.is_set() and not self.closed:
            self.lost = True

    async def close(self) -> None:
        if not self.transport.is_closing():
            self.closed = True
            self._send(0x8, (1000).to_bytes(2, "big"))
            self.transport.close()


async def player_loop(sock: NetSocket, me: str, run: Run, stop) -> None:
    rng = random.Random(me)
    n = 0
    next_move = time.monotonic() + rng.uniform(0, 3)
    next_say = time.monotonic() + rng.uniform(6, 9)  # after the pair has met
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_move and not sock.conversation:  # talkers stand still; walkers walk
            n += 1
            x, y = sock.home[0] + rng.randint(-4, 4), sock.home[1] + rng.randint(-4, 4)
            run.send_at(("move", me), f"m{n}", time.monotonic())
            await sock.send(type="move", id=f"m{n}", x=max(1, x), y=max(1, y))
            next_move = now + rng.uniform(2.5, 3.5)
        if now >= next_say and sock.conversation:
            n += 1
            run.send_at(("say", me), f"s{n}", time.monotonic())
            await sock.send(type="say", id=f"s{n}", conversation=sock.conversation, text=f"hi {n}")
            next_say = now + rng.uniform(4.5, 5.5)
        await asyncio.sleep(0.1)


def view_around(x: int, y: int) -> dict:
    x0 = min(max(0, x - VIEW_W // 2), MAP_W - VIEW_W)
    y0 = min(max(0, y - VIEW_H // 2), MAP_H - VIEW_H)
    return {"x0": x0, "y0": y0, "x1": x0 + VIEW_W - 1, "y1": y0 + VIEW_H - 1}


def slow_client_totals(url: str) -> dict[str, float]:
    """The server's slow-client counters (/metrics, local scrape), {} if unavailable."""
    out: dict[str, float] = {}
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("town_slow_clients_total{"):
                    what = line.split('what="')[1].split('"')[0]
                    out[what] = out.get(what, 0) + float(line.rsplit(" ", 1)[1])
    except Exception:
        return {}
    return out


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * q))]


async def connect_all(urls: list[str], sessions: list, first: int = 0, make=NetSocket) -> list:
    """Open a socket per session with `make(url, session)`, alternating over the web
    processes."""
    sem = asyncio.Semaphore(10)
    spread = iter(range(first, 10**9))

    async def connect(session):
        async with sem:
            sock = make(urls[next(spread) % len(urls)], session)
            await sock.open()
            sock.lost = False
            return sock

    return list(await asyncio.gather(*(connect(s) for s in sessions)))


async def show(sock, corners: dict) -> None:
    """Send a `view` from a player (NetSocket) or a spectator."""
    if isinstance(sock, Spectator):
        sock.send_text(json.dumps({"type": "view", **corners}))
    else:
        await sock.send(type="view", **corners)


def spectator_process(urls: list[str], count: int, views: bool, seed: int, conn) -> None:
    """A generator process of spectators only (`measure(generators=N)`)."""
    asyncio.run(_spectate(urls, count, views, seed, conn))


async def _spectate(urls: list[str], count: int, views: bool, seed: int, conn) -> None:
    rng = random.Random(seed)
    run, stop = Receipts(), asyncio.Event()
    socks = await connect_all(
        urls, [None] * count, first=seed, make=lambda url, _: Spectator(url, run, stop)
    )
    if views:
        for sock in socks:
            await show(sock, view_around(rng.randrange(MAP_W), rng.randrange(MAP_H)))
    gc.collect()
    gc.freeze()
    conn.send(len(socks))
    start, end = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    for s in socks:
        s.bytes_in = s.wire_in = 0
    me = psutil.Process()
    cpu0 = me.cpu_times()
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    stop.set()
    cpu1 = me.cpu_times()
    first = bisect.bisect_left(run.received_at, start)
    names = sorted(run.index, key=run.index.get)  # key number -> key
    conn.send(
        {
            "received_at": run.received_at[first:],
            "keys": run.keys[first:],
            "names": names,
            "wire": [s.wire_in for s in socks],
            "text": [s.bytes_in for s in socks],
            "lost": sum(1 for s in socks if s.lost),
            "errors": run.errors,
            "summaries": run.summaries,
            "cpu_s": (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
        }
    )
    for s in socks:
        await s.close()


async def measure(
    urls: list[str],
    sessions: list[str],
    clients: int,
    seconds: float,
    pids: list[int],
    views: bool = False,
    window: float | None = None,
    generators: int = 1,
) -> dict:
    """One run: `clients` sockets spread over the web processes at `urls`; CPU and memory
    of the server processes `pids`. `window`: also report p99 and RSS every so many s.
    `generators` > 1: this process holds the players and its share of spectators, the
    others are spread over more processes (spectator_process), each timing every socket."""
    run = Run()
    stop = asyncio.Event()
    players = sessions[: min(len(sessions), clients)]
    rng = random.Random(clients)
    share = clients // max(1, generators)
    helpers = []
    for n in range(1, generators):
        ours, theirs = multiprocessing.Pipe()
        proc = multiprocessing.get_context("spawn").Process(
            target=spectator_process, args=(urls, share, views, n, theirs), daemon=True
        )
        proc.start()
        helpers.append((proc, ours))
    t0 = time.monotonic()
    socks = await connect_all(urls, players)
    socks += await connect_all(
        urls,
        [None] * (clients - len(players) - share * len(helpers)),
        make=lambda url, _: Spectator(url, run, stop),
    )
    for _, pipe in helpers:  # their sockets are open too
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    connect_s = time.monotonic() - t0
    # Players join (or are already in), then pair up to talk.
    for n, sock in enumerate(socks[: len(players)]):
        await sock.send(type="join", id="join", name=f"P{n} of {clients}", character="kit")
        ack = await sock.ack("join", timeout=30)
        sock.me = ack.get("player") or sock.items[0]["you"]["player"]
    snap_sock = NetSocket(urls[0])
    _, snap = await snap_sock.open()
    await snap_sock.close()
    where = {p["id"]: (p["x"], p["y"]) for p in snap["players"]}
    for sock in socks[: len(players)]:
        sock.home = where.get(sock.me, (32, 24))
        sock.conversation = None
    if views:
        for n, sock in enumerate(socks):
            if n < len(players):
                corners = view_around(*sock.home)
            else:
                corners = view_around(rng.randrange(MAP_W), rng.randrange(MAP_H))
            await show(sock, corners)
    # Half the players talk in pairs (standing still, a line every ~5 s), half walk.
    talkers = socks[: len(players) // 2]
    pairs = list(zip(talkers[0::2], talkers[1::2], strict=False))
    for a, b in pairs:
        await a.send(type="invite", id="inv", to=b.me)
    for a, b in pairs:
        try:
            invited = await b.until(
                lambda e, a=a: (
                    e.get("kind") == "conversation_invited" and e["conversation"]["inviter"] == a.me
                ),
                timeout=10,
            )
            cid = invited["conversation"]["id"]
            await b.send(type="accept", id="acc", conversation=cid)
            b.accepted = cid
        except AssertionError:
            pass
    # Pairs walk to each other first; a line said before they meet is rightly refused.
    for a, b in pairs:
        cid = getattr(b, "accepted", None)
        with contextlib.suppress(AssertionError):
            if cid:
                await b.until(
                    lambda e, cid=cid: (
                        e.get("kind") == "conversation_started" and e["conversation"]["id"] == cid
                    ),
                    timeout=30,
                )
                a.conversation = b.conversation = cid
    procs = [psutil.Process(pid) for pid in pids]
    slow0 = slow_client_totals(urls[0])
    cpu0 = [p.cpu_times() for p in procs]
    me = psutil.Process()
    gen0 = me.cpu_times()
    for s in socks:
        s.bytes_in = s.wire_in = 0
    # The sockets' objects live as long as the run: out of the collector's way, so its full
    # collections (which stall the generator, not the server) stay short.
    gc.collect()
    gc.freeze()
    # Players read through the full client (they wait for acks and events); spectators read
    # in their own callbacks. One socket's frames are kept for the byte counts by kind.
    last = socks[-1]
    if isinstance(last, Spectator):
        last.sample, last.sample_from = True, time.monotonic() + 2
    listeners = [
        asyncio.ensure_future(listen(s, run, stop, sample=s is last))
        for s in socks
        if not isinstance(s, Spectator)
    ]
    walkers = [
        asyncio.ensure_future(player_loop(s, s.me, run, stop)) for s in socks[: len(players)]
    ]
    wall0 = time.monotonic()
    for _, pipe in helpers:
        pipe.send((wall0, wall0 + seconds))
    rss_start = sum(p.memory_info().rss for p in procs)
    windows: list[dict] = []
    if window:
        while time.monotonic() - wall0 < seconds - 1e-3:
            w0 = time.monotonic()
            await asyncio.sleep(min(window, seconds - (w0 - wall0)))
            start = bisect.bisect_left(run.received_at, w0)
            lat = run.latencies[start:].tolist()
            rss = sum(p.memory_info().rss for p in procs)
            windows.append(
                {
                    "end_s": time.monotonic() - wall0,
                    "p50_ms": percentile(lat, 0.5),
                    "p99_ms": percentile(lat, 0.99),
                    "deliveries": len(lat),
                    "rss_mb": rss / 2**20,
                    "lost": sum(1 for s in socks if s.lost),
                }
            )
            print(
                f"  t={windows[-1]['end_s']:5.0f} s  p50 {windows[-1]['p50_ms']:6.1f}  "
                f"p99 {windows[-1]['p99_ms']:6.1f} ms  deliveries {len(lat):7d}  "
                f"rss {rss / 2**20:6.0f} MB  lost {windows[-1]['lost']}",
                flush=True,
            )
    else:
        await asyncio.sleep(seconds)
    stop.set()
    elapsed = time.monotonic() - wall0
    cpu1 = [p.cpu_times() for p in procs]
    gen1 = me.cpu_times()
    rss = [p.memory_info().rss for p in procs]
    lost = sum(1 for s in socks if s.lost)
    wire = [s.wire_in for s in socks]
    text = [s.bytes_in for s in socks]
    gen_cpu_s = [(gen1.user + gen1.system) - (gen0.user + gen0.system)]
    for proc, pipe in helpers:  # their receipts, timed against our sends
        got = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        run.latencies.extend(run.join(got["received_at"], got["keys"], got["names"]))
        wire += got["wire"]
        text += got["text"]
        lost += got["lost"]
        run.errors += got["errors"]
        run.summaries += got["summaries"]
        gen_cpu_s.append(got["cpu_s"])
        proc.join(30)
    await asyncio.gather(*walkers, return_exceptions=True)
    slow1 = slow_client_totals(urls[0])
    for s in socks:
        await s.close()  # ends the listeners' loops
    await asyncio.gather(*listeners, return_exceptions=True)
    gc.unfreeze()
    cpu = [
        100 * ((b.user + b.system) - (a.user + a.system)) / elapsed
        for a, b in zip(cpu0, cpu1, strict=True)
    ]
    lat = sorted(run.latencies)
    spectators = wire[len(players) :] or wire
    run.errors += ["conflict"] * sum(run.doubtful.values())  # no end came: a real refusal
    return {
        "clients": clients,
        "players": len(players),
        "connect_s": connect_s,
        "p50_ms": percentile(lat, 0.5),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": lat[-1] if lat else float("nan"),
        "deliveries": len(lat),
        "ack_p50_ms": percentile(run.acks, 0.5),
        "ack_p99_ms": percentile(run.acks, 0.99),
        "summaries": run.summaries,
        "server_cpu_pct": sum(cpu),
        "server_rss_mb": sum(rss) / 2**20,
        "rss_growth_pct": 100 * (sum(rss) - rss_start) / rss_start,
        # The load generator shares the machine: past ~100 % it, not the server, adds delay.
        "generator_cpu_pct": 100 * sum(gen_cpu_s) / elapsed,
        "generator_cpu_each": [round(100 * c / elapsed) for c in gen_cpu_s],
        "per_process": [(round(c), round(r / 2**20)) for c, r in zip(cpu, rss, strict=True)],
        "wire_per_client_s": statistics.mean(wire) / elapsed,
        "wire_per_spectator_s": statistics.mean(spectators) / elapsed,
        "text_per_client_s": statistics.mean(text) / elapsed,
        "errors": len(run.errors),
        "error_codes": sorted(set(run.errors)),
        "raced": run.raced,
        "lost": lost,
        "skipped_slow": (slow1.get("events_skipped", 0) - slow0.get("events_skipped", 0))
        if slow0 and slow1
        else float("nan"),
        "windows": windows,
        "samples": run.samples,
        "frames_per_client_s": len(run.samples) / elapsed,
    }


def deflate_cost(frames: list[bytes], frames_per_s: float, sockets: int) -> str:
    """permessage-deflate for these frames, as autobahn would run it for one socket each."""
    if not frames:
        return "deflate: no frames sampled"
    out = []
    # (name, context takeover, window bits, memory level): zlib keeps about
    # 2**(bits+2) + 2**(level+9) bytes per socket with context takeover (256 KiB at 15/8).
    settings = (
        ("context takeover, 15 bits", True, 15, 8),
        ("context takeover, 11 bits, mem 4 (16 KiB/socket)", True, 11, 4),
        ("no context takeover", False, 15, 8),
    )
    for name, takeover, bits, level in settings:
        raw = packed = 0
        started = time.process_time()
        comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits, level)
        for frame in frames:
            if not takeover:
                comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits, level)
            data = comp.compress(frame) + comp.flush(zlib.Z_SYNC_FLUSH)
            raw += len(frame)
            packed += len(data) - 4  # the sync flush's tail is not sent
        per_frame = (time.process_time() - started) / len(frames)
        cores = per_frame * frames_per_s * sockets
        out.append(
            f"{name}: {packed / raw:.0%} of the bytes, {per_frame * 1e6:.0f} µs per frame per "
            f"socket = {cores:.2f} of a core for {sockets} sockets at {frames_per_s:.1f} frames/s"
        )
    return "deflate (measured on one socket's frames):\n  " + "\n  ".join(out)


def bytes_by_kind(frames: list[bytes]) -> str:
    """Where one socket's bytes go: each event kind's share of the text, frame overhead apart."""
    kinds: dict[str, int] = {}
    total = 0
    for raw in frames:
        total += len(raw)
        frame = json.loads(raw)
        for event in frame.get("events", ()):
            size = len(json.dumps(event, separators=(",", ":")))
            kinds[event["kind"]] = kinds.get(event["kind"], 0) + size
    if not total:
        return "bytes by kind: no frames sampled"
    rest = total - sum(kinds.values())
    parts = [*sorted(kinds.items(), key=lambda kv: -kv[1]), ("(frame)", rest)]
    return "bytes by kind: " + ", ".join(f"{k} {v / total:.0%}" for k, v in parts)


# The bench opens hundreds of sockets from one address: lift the per-address cap. DEBUG is
# off, as in production (DEBUG on keeps every query and slows the web role down).
BENCH_ENV = {
    "TOWN_MAX_HUMANS": "1000",
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "TOWN_MAX_CONNECTIONS_PER_IP": "100000",
}
# What each variant changes: `before` is this server as it was (the engine holds events
# 100 ms, pages send no view, no compression); `now` sends at once, compressed for clients
# that offer permessage-deflate (the generator's do, as browsers do); `plain` is `view`
# without compression; `view` is today's default with views.
VARIANTS = {
    "before": ({"TOWN_BROADCAST_MS": "100", "TOWN_WS_DEFLATE": "false"}, False),
    "now": ({"TOWN_BROADCAST_MS": "0"}, False),
    "plain": ({"TOWN_BROADCAST_MS": "0", "TOWN_WS_DEFLATE": "false"}, True),
    "view": ({"TOWN_BROADCAST_MS": "0"}, True),
}


def print_marginal(a: dict, b: dict) -> None:
    """What one more socket costs the server, from two runs of the same process."""
    more = b["clients"] - a["clients"]
    cpu_us = (b["server_cpu_pct"] - a["server_cpu_pct"]) / 100 / more * 1e6  # µs per second
    frames = max(b["frames_per_client_s"], 1e-9)
    rss_kb = (b["server_rss_mb"] - a["server_rss_mb"]) * 1024 / more
    print(
        f"  per extra socket ({a['clients']} -> {b['clients']}): {cpu_us:.0f} µs of CPU per "
        f"second = {cpu_us / frames:.0f} µs per frame at {frames:.1f} frames/s; "
        f"{rss_kb:.0f} KiB of memory",
        flush=True,
    )


def print_header() -> None:
    print(
        f"{'variant':>7} {'clients':>7} {'players':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'deliv':>7} {'ack50':>6} {'ack99':>6} {'cpu %':>6} {'gen %':>6} {'rss MB':>7} {'wire B/cl/s':>11} "
        f"{'spect.':>7} {'err':>4} {'lost':>4} {'skip':>4}  ratio p99 / cpu / bytes"
    )


def print_row(r: dict, base: dict, variant: str = "") -> None:
    print(
        f"{variant:>7} {r['clients']:>7} {r['players']:>7} {r['p50_ms']:>7.1f} "
        f"{r['p99_ms']:>7.1f} {r['max_ms']:>7.0f} {r['deliveries']:>7} "
        f"{r['ack_p50_ms']:>6.0f} {r['ack_p99_ms']:>6.0f} "
        f"{r['server_cpu_pct']:>6.1f} {r['generator_cpu_pct']:>6.1f} {r['server_rss_mb']:>7.0f} "
        f"{r['wire_per_client_s']:>11.0f} {r['wire_per_spectator_s']:>7.0f} {r['errors']:>4} "
        f"{r['lost']:>4} {r['skipped_slow']:>4.0f}  "
        f"{r['p99_ms'] / base['p99_ms']:.2f}x / {r['server_cpu_pct'] / base['server_cpu_pct']:.2f}x"
        f" / {r['wire_per_client_s'] / base['wire_per_client_s']:.2f}x"
        + (f"  codes={r['error_codes']}" if r["errors"] else "")
        + (f"  (+{r['raced']} lines refused as their conversation ended)" if r["raced"] else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--players", type=int, default=40)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["view"])
    parser.add_argument("--soak", type=float, help="one long run of this many seconds")
    parser.add_argument("--deflate", action="store_true", help="estimate permessage-deflate")
    parser.add_argument("--cpu", action="store_true", help="only the in-process fan-out CPU")
    args = parser.parse_args()
    if args.cpu:
        print(fanout_cpu())
        return
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()}, {args.seconds:.0f} s per run")
    print_header()
    base = None
    for variant in args.variants:
        env, views = VARIANTS[variant]
        var = Path(tempfile.mkdtemp(prefix="fanout-"))
        town = TownProcess(var, free_port(), {**BENCH_ENV, **env})
        town.start()
        try:
            town.wait_ready()
            previous = None
            for n in args.clients:
                # Fresh people for every run, so no run inherits another's conversations.
                names = [f"bench{n}-{i}" for i in range(args.players)]
                sessions = list(make_sessions(town.env, names).values())
                seconds = args.soak or args.seconds
                window = 30 if args.soak else None
                r = asyncio.run(
                    measure([town.url], sessions, n, seconds, [town.proc.pid], views, window)
                )
                base = base or r
                print_row(r, base, variant)
                if previous is not None:
                    print_marginal(previous, r)
                previous = r
                if args.soak:
                    print(f"  rss growth over the soak: {r['rss_growth_pct']:+.1f} %")
                print(bytes_by_kind(r["samples"]))
                if args.deflate:
                    print(deflate_cost(r["samples"], r["frames_per_client_s"], n))
        finally:
            town.stop()


def fanout_cpu(sockets: int = 1000, rounds: int = 200) -> str:
    """CPU per socket per broadcast of the consumer's delivery path, in this process.

    Real WorldConsumer and hub code; the connection is a stand-in whose `write` keeps the
    bytes (the kernel's send, ~2-5 µs per socket on loopback, comes on top). The same
    broadcast with and without a `view` on every socket.
    """
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from autobahn.websocket.protocol import WebSocketProtocol

    from town.backpressure import SendBuffer
    from town.consumers import WorldConsumer
    from town.hub import merge
    from town.viewport import Interest, View

    class Connection:  # what the consumer reaches through daphne: state and transport
        _perMessageCompress = None
        state = WebSocketProtocol.STATE_OPEN
        send_queue = ()

        def __init__(self) -> None:
            self.transport = self
            self.sent = 0

        def write(self, data: bytes) -> None:
            self.sent += len(data)

    class Hub:
        def later(self, watcher) -> None:
            pass

    def consumer(view: View | None) -> WorldConsumer:
        c = object.__new__(WorldConsumer)
        c.synced, c.snapshot_seq, c.status, c.pid, c.present = True, -1, "running", None, False
        c.send_buffer = SendBuffer(lambda: None, lambda: None, 30)
        c.interest, c.held, c.hub, c.direct, c.far_due = Interest(), [], Hub(), Connection(), 0
        c.interest.show(view)
        return c

    rng = random.Random(1)
    events = []
    for n in range(4):  # a typical batch: three walks and a line
        x, y = rng.randrange(60), rng.randrange(44)
        path = [[x + i, y] for i in range(8)]
        events.append(
            {
                "kind": "move",
                "t": 1000 + n,
                "player": f"h{n}",
                "path": path,
                "t0": 1000 + n,
                "speed": 4.0,
            }
        )
    events[-1] = {
        "kind": "message",
        "t": 1004,
        "conversation": "c1",
        "author": "h3",
        "author_name": "P3",
        "text": "hi there",
        "id": "m9",
    }
    text = json.dumps({"type": "events", "events": events}, separators=(",", ":"))
    lines = []

    async def run(label: str, views: bool) -> None:
        crowd = [
            consumer(View.around(rng.randrange(40), rng.randrange(32), 0, 0) if views else None)
            for _ in range(sockets)
        ]
        for c in crowd:
            if views:
                v = c.interest.view
                c.interest.show(View.around(v.x0 + 6, v.y0 + 6, v.x0 + 29, v.y0 + 21))
        started = time.process_time()
        for seq in range(rounds):
            message = merge([{"type": "world.events", "seq": seq, "text": text}])
            for c in crowd:
                await c.dispatch(message)
        spent = time.process_time() - started
        lines.append(f"{label}: {spent / rounds / sockets * 1e6:.1f} µs per socket per broadcast")

    async def all_runs() -> None:
        await run("no view, shared frame", False)
        await run("view on every socket, shared frames", True)

    asyncio.run(all_runs())
    from town.viewport import deflated_frame

    payload = text.encode()
    started = time.process_time()
    for _ in range(rounds):
        packed = deflated_frame(payload)
    spent = time.process_time() - started
    lines.append(
        f"compressing that broadcast (once per process, permessage-deflate): "
        f"{spent / rounds * 1e6:.0f} µs, {len(payload)} -> {len(packed)} bytes"
    )
    return "fan-out CPU (this process, stand-in connection):\n  " + "\n  ".join(lines)


if __name__ == "__main__":
    main()
