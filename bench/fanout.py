"""Fan-out benchmark: N WebSocket clients on one `runtown` process.

A share of the clients are players: half walk (a move every ~3 s), half talk in pairs
standing still (a line every ~5 s, then walk when the conversation ends); the rest are
spectators. Reports delivery latency (send → receipt at other
clients) p50/p99, the server's CPU and memory, and bytes per client per second, for each N,
with ratios to the smallest N measured in the same run.

Run: .venv/bin/python bench/fanout.py [--clients 50 200 500] [--seconds 20] [--players 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import TownProcess, free_port  # noqa: E402
from tests.netclient import NetSocket, make_sessions  # noqa: E402

MEASURING_SPECTATORS = 40  # spectators that parse frames (the rest only count bytes)


class Run:
    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], float] = {}  # (kind, player) -> last send time
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def observe(self, frame: dict, now: float) -> None:
        if frame.get("type") == "error":
            self.errors.append(frame.get("code", "?"))
            if os.environ.get("BENCH_DEBUG"):
                print("error", frame, file=sys.stderr)
        for event in frame.get("events", ()):
            if event["kind"] == "move":
                key = ("move", event["player"])
            elif event["kind"] == "message":
                key = ("say", event["author"])
            else:
                continue
            sent = self.sent.get(key)
            if sent is not None:
                self.latencies.append((now - sent) * 1000)


async def listen(sock: NetSocket, run: Run, parse: bool, stop: asyncio.Event) -> None:
    """Count (and for a sample, parse) every frame until the socket is closed."""
    with contextlib.suppress(Exception):
        async for raw in sock.ws:  # no per-frame timer task: the generator must stay cheap
            sock.bytes_in += len(raw)
            if parse and not stop.is_set():
                frame = json.loads(raw)
                run.observe(frame, time.monotonic())
                for event in frame.get("events", ()):
                    if event["kind"] == "conversation_ended" and event["conversation"] == getattr(
                        sock, "conversation", None
                    ):
                        sock.conversation = None  # back to walking


async def player_loop(sock: NetSocket, me: str, partner_first: bool, run: Run, stop) -> None:
    rng = random.Random(me)
    n = 0
    next_move = time.monotonic() + rng.uniform(0, 3)
    next_say = time.monotonic() + rng.uniform(6, 9)  # after the pair has met
    while not stop.is_set():
        now = time.monotonic()
        if now >= next_move and not sock.conversation:  # talkers stand still; walkers walk
            n += 1
            x, y = sock.home[0] + rng.randint(-4, 4), sock.home[1] + rng.randint(-4, 4)
            run.sent[("move", me)] = time.monotonic()
            await sock.send(type="move", id=f"m{n}", x=max(1, x), y=max(1, y))
            next_move = now + rng.uniform(2.5, 3.5)
        if now >= next_say and sock.conversation:
            n += 1
            run.sent[("say", me)] = time.monotonic()
            await sock.send(type="say", id=f"s{n}", conversation=sock.conversation, text=f"hi {n}")
            next_say = now + rng.uniform(4.5, 5.5)
        await asyncio.sleep(0.1)


async def measure(
    urls: list[str], sessions: list[str], clients: int, seconds: float, pids: list[int]
) -> dict:
    """One run: `clients` sockets spread over the web processes at `urls`; CPU and memory
    of the server processes `pids`."""
    run = Run()
    stop = asyncio.Event()
    players = sessions[: min(len(sessions), clients)]
    socks: list[NetSocket] = []
    sem = asyncio.Semaphore(10)

    spread = iter(range(10**9))

    async def connect(session: str | None) -> NetSocket:
        async with sem:
            sock = NetSocket(urls[next(spread) % len(urls)], session)
            await sock.open()
            return sock

    t0 = time.monotonic()
    socks = list(await asyncio.gather(*(connect(s) for s in players)))
    socks += await asyncio.gather(*(connect(None) for _ in range(clients - len(players))))
    connect_s = time.monotonic() - t0
    # Players join (or are already in), then pair up to talk.
    for n, sock in enumerate(socks[: len(players)]):
        await sock.send(type="join", id="join", name=f"P{n}", character="kit")
        ack = await sock.ack("join", timeout=30)
        sock.me = ack.get("player") or sock.items[0]["you"]["player"]
    snap_sock = NetSocket(urls[0])
    _, snap = await snap_sock.open()
    await snap_sock.close()
    where = {p["id"]: (p["x"], p["y"]) for p in snap["players"]}
    for sock in socks[: len(players)]:
        sock.home = where.get(sock.me, (32, 24))
        sock.conversation = None
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
    cpu0 = [p.cpu_times() for p in procs]
    me = psutil.Process()
    gen0 = me.cpu_times()
    for s in socks:
        s.bytes_in = 0
    listeners = [
        asyncio.ensure_future(listen(s, run, i < len(players) + MEASURING_SPECTATORS, stop))
        for i, s in enumerate(socks)
    ]
    walkers = [
        asyncio.ensure_future(player_loop(s, s.me, True, run, stop)) for s in socks[: len(players)]
    ]
    wall0 = time.monotonic()
    await asyncio.sleep(seconds)
    stop.set()
    elapsed = time.monotonic() - wall0
    cpu1 = [p.cpu_times() for p in procs]
    gen1 = me.cpu_times()
    rss = [p.memory_info().rss for p in procs]
    await asyncio.gather(*walkers, return_exceptions=True)
    for s in socks:
        await s.close()  # ends the listeners' loops
    await asyncio.gather(*listeners, return_exceptions=True)
    cpu = [
        100 * ((b.user + b.system) - (a.user + a.system)) / elapsed
        for a, b in zip(cpu0, cpu1, strict=True)
    ]
    lat = sorted(run.latencies) or [float("nan")]
    return {
        "clients": clients,
        "players": len(players),
        "connect_s": connect_s,
        "p50_ms": statistics.median(lat),
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "deliveries": len(run.latencies),
        "server_cpu_pct": sum(cpu),
        "server_rss_mb": sum(rss) / 2**20,
        # The load generator shares the machine: past ~100 % it, not the server, adds delay.
        "generator_cpu_pct": 100
        * ((gen1.user + gen1.system) - (gen0.user + gen0.system))
        / elapsed,
        "per_process": [(round(c), round(r / 2**20)) for c, r in zip(cpu, rss, strict=True)],
        "bytes_per_client_s": statistics.mean(s.bytes_in for s in socks) / elapsed,
        "errors": len(run.errors),
        "error_codes": sorted(set(run.errors)),
    }


# The bench opens hundreds of sockets from one address: lift the per-address cap.
BENCH_ENV = {"TOWN_MAX_HUMANS": "1000", "DEBUG": "true", "TOWN_MAX_CONNECTIONS_PER_IP": "100000"}


def print_header() -> None:
    print(
        f"{'clients':>7} {'players':>7} {'p50 ms':>8} {'p99 ms':>8} {'deliv':>7} "
        f"{'cpu %':>6} {'gen %':>6} {'rss MB':>7} {'B/cl/s':>8} {'errors':>6}  ratio p99 / cpu"
    )


def print_row(r: dict, base: dict) -> None:
    print(
        f"{r['clients']:>7} {r['players']:>7} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
        f"{r['deliveries']:>7} {r['server_cpu_pct']:>6.1f} {r['generator_cpu_pct']:>6.1f} "
        f"{r['server_rss_mb']:>7.0f} "
        f"{r['bytes_per_client_s']:>8.0f} {r['errors']:>6}  "
        f"{r['p99_ms'] / base['p99_ms']:.2f}x / {r['server_cpu_pct'] / base['server_cpu_pct']:.2f}x"
        + (f"  codes={r['error_codes']}" if r["errors"] else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--players", type=int, default=40)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="fanout-"))
    town = TownProcess(var, free_port(), BENCH_ENV)
    town.start()
    try:
        town.wait_ready()
        print(f"server pid {town.proc.pid}, {os.cpu_count()} cores, {args.seconds:.0f} s per run")
        print_header()
        base = None
        for n in args.clients:
            # Fresh people for every run, so no run inherits another's conversations.
            names = [f"bench{n}-{i}" for i in range(args.players)]
            sessions = list(make_sessions(town.env, names).values())
            r = asyncio.run(measure([town.url], sessions, n, args.seconds, [town.proc.pid]))
            base = base or r
            print_row(r, base)
    finally:
        town.stop()


if __name__ == "__main__":
    main()
