"""Reply latency: how long after a person's line is acknowledged a resident answers.

Starts one `runtown` (offline mind, no key), signs a visitor in, talks with a resident and
times each reply from the `ack` of the person's line to the resident's `message` event.
The baseline in the same run is the engine's step (the old path asked residents only at
the next 1 s step, so a reply waited ~0.5 s on average before any thinking).

Run: .venv/bin/python bench/reply_latency.py [--lines 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import TownProcess, free_port  # noqa: E402
from tests.netclient import NetSocket, make_sessions  # noqa: E402

LINES = [
    "Hi, I'm Mara",
    "what are you doing?",
    "I keep bees up on the hill",
    "whom should I meet?",
    "do you remember what I told you?",
]

OUTCOMES = ("conversation_started", "conversation_ended", "conversation_declined")


async def talk(url: str, session: str, lines: int) -> list[float]:
    me = NetSocket(url, session)
    _, snap = await me.open()
    await me.send(type="join", id="j", name="Mara Quill")
    pid = (await me.ack("j"))["player"]
    conv = None
    for n, resident in enumerate([p for p in snap["players"] if p["kind"] == "agent"] * 3):
        await me.send(type="invite", id=f"i{n}", to=resident["id"])
        if (await me.ack(f"i{n}"))["type"] != "ack":
            await asyncio.sleep(1)
            continue
        event = await me.until(lambda e: e.get("kind") in OUTCOMES, 60)
        if event["kind"] == "conversation_started":
            conv = event["conversation"]["id"]
            break
    if conv is None:
        raise SystemExit("no resident would talk")
    out = []
    for n in range(lines):
        await me.send(type="say", id=f"s{n}", conversation=conv, text=LINES[n % len(LINES)])
        if (await me.ack(f"s{n}"))["type"] != "ack":
            break  # the conversation ended (its message cap): enough figures
        t0 = time.monotonic()
        await me.until(lambda e: e.get("kind") == "message" and e.get("author") != pid, timeout=30)
        out.append((time.monotonic() - t0) * 1000)
        await asyncio.sleep(1.2)  # the chat limit: a line every 2 s, burst 5
    await me.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reply-") as tmp:
        town = TownProcess(Path(tmp), free_port()).start()
        try:
            town.wait_ready()
            session = make_sessions(town.env, ["mara"])["mara"]
            times = asyncio.run(talk(town.url, session, args.lines))
        finally:
            town.stop()
    step_ms = 1000
    p50 = statistics.median(times)
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    print(f"replies timed: {len(times)}")
    print(f"reply after ack: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms")
    print(
        f"baseline (the step a reply used to wait for): {step_ms} ms; p50/step = {p50 / step_ms:.2f}"
    )


if __name__ == "__main__":
    main()
