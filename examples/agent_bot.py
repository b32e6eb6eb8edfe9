"""A tiny guest agent for Hearthvale: joins with a token, walks to the plaza, greets people.

Standalone: Python 3.10+ and the `websockets` package, nothing from the town's code.

    pip install websockets
    python agent_bot.py --url http://127.0.0.1:8000 --token hv_...   # or HEARTHVALE_TOKEN

Get a token on the town's /accounts/agents/ page (or an operator's
`python manage.py town agent-token create USERNAME`). The protocol is in docs/protocol.md
and docs/agents.md; this script is a starting point, not a framework.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import sys
import time
import urllib.request

import websockets

MEET_DISTANCE = 4  # tiles: close enough to greet someone
LOOK_EVERY = 2.0  # seconds between looks around
ASK_AGAIN_AFTER = 15.0  # seconds before inviting again someone who could not talk yet


class Bot:
    """One agent: what it knows of the world, and what it does next."""

    def __init__(self, url: str, token: str, greeting: str, world: int | None) -> None:
        self.http = url.rstrip("/")
        ws = "ws" + self.http.removeprefix("http")
        self.ws_url = f"{ws}/ws/world/{world}/" if world else f"{ws}/ws/world/"
        self.token = token
        self.greeting = greeting
        self.ids = (f"bot{n}" for n in itertools.count(1))
        self.me: str | None = None
        self.players: dict[str, dict] = {}
        self.conversations: dict[str, dict] = {}
        self.greeted: set[str] = set()
        self.asked: set[str] = set()  # people invited already (once each)
        self.inviting: dict[str, str] = {}  # invite's id -> whom, until the town answers
        self.clock = (0, time.monotonic())  # (world ms, when we heard it)
        self.joined = asyncio.Event()

    def say(self, text: str) -> None:
        print(text, flush=True)

    async def send(self, type_: str, **fields) -> str:
        fid = next(self.ids)
        await self.ws.send(json.dumps({"type": type_, "id": fid, **fields}))
        return fid

    async def run(self, seconds: float) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}  # no cookie, no Origin needed
        async with websockets.connect(self.ws_url, additional_headers=headers) as self.ws:
            reader = asyncio.ensure_future(self.read())
            try:
                await asyncio.wait_for(self.live(), seconds or None)
            except TimeoutError:
                pass
            finally:
                reader.cancel()
        self.say(f"done: greeted {len(self.greeted)} people")

    async def live(self) -> None:
        await self.joined.wait()
        plaza = await asyncio.to_thread(self.plaza)  # a blocking HTTP read
        if plaza:
            self.say(f"walking to the plaza {plaza}")
            await self.send("move", x=plaza[0], y=plaza[1])
        while True:
            await asyncio.sleep(LOOK_EVERY)
            await self.ws.send('{"type":"heartbeat"}')
            await self.look_around()

    async def look_around(self) -> None:
        me = self.players.get(self.me or "")
        if me is None or me.get("conversation") or self.in_conversation():
            return
        here = self.tile(me)
        for pid, p in self.players.items():
            if pid == self.me or pid in self.asked or p.get("conversation"):
                continue
            if math.dist(here, self.tile(p)) <= MEET_DISTANCE:
                self.asked.add(pid)
                self.say(f"inviting {p['name']}")
                self.inviting[await self.send("invite", to=pid)] = pid
                return

    def in_conversation(self) -> bool:
        return any(self.me in c.get("participants", ()) for c in self.conversations.values())

    def plaza(self) -> tuple[int, int] | None:
        """The middle of the map's area called "plaza" (from the Tiled JSON)."""
        with urllib.request.urlopen(self.http + self.map_url, timeout=10) as response:
            data = json.load(response)
        tw, th = data.get("tilewidth", 32), data.get("tileheight", 32)
        for layer in data.get("layers", []):
            for obj in layer.get("objects", []) if layer.get("name") == "areas" else []:
                if obj.get("name") == "plaza":
                    x = int((obj["x"] + obj["width"] / 2) // tw)
                    y = int((obj["y"] + obj["height"] / 2) // th)
                    return x, y
        return None

    def tile(self, p: dict) -> tuple[int, int]:
        """Where a character is now: walking ones along their path (speed in tiles/s)."""
        path = p.get("path")
        if not path:
            return p["x"], p["y"]
        now = self.clock[0] + (time.monotonic() - self.clock[1]) * 1000
        step = min(int(max(now - p.get("t0", 0), 0) * p.get("speed", 0) / 1000), len(path) - 1)
        return path[step][0], path[step][1]

    async def read(self) -> None:
        async for text in self.ws:
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "ack":
                self.inviting.pop(frame.get("id"), None)
            if kind == "hello":
                self.say(f"hello: {frame['you']}")
                self.me = frame["you"].get("player")
                if self.me:
                    self.joined.set()
            elif kind == "snapshot":
                self.map_url = frame["map"]
                self.clock = (frame["world"]["time"], time.monotonic())
                self.players = {p["id"]: p for p in frame["players"]}
                self.conversations = {c["id"]: c for c in frame["conversations"]}
                if self.me is None:
                    await self.send("join")
            elif kind == "ack" and frame.get("player") and self.me is None:
                self.me = frame["player"]
                self.say(f"joined as {self.me}")
                self.joined.set()
            elif kind == "error":
                self.say(f"refused: {frame.get('code')}: {frame.get('message')}")
                whom = self.inviting.pop(frame.get("id"), None)
                if whom is not None:  # busy, or we talked a moment ago: ask again later
                    asyncio.get_running_loop().call_later(ASK_AGAIN_AFTER, self.asked.discard, whom)
            elif kind == "events":
                for event in frame["events"]:
                    await self.on_event(event)

    async def on_event(self, e: dict) -> None:
        kind = e["kind"]
        self.clock = (e.get("t", self.clock[0]), time.monotonic())
        if kind in ("player_joined", "player_updated"):
            self.players[e["player"]["id"]] = e["player"]
        elif kind == "player_left":
            self.players.pop(e["player"], None)
        elif kind == "move" and e["player"] in self.players:
            self.players[e["player"]].update(path=e["path"], t0=e["t0"], speed=e["speed"])
        elif kind == "arrived" and e["player"] in self.players:
            self.players[e["player"]].update(x=e["x"], y=e["y"], path=None)
        elif kind == "conversation_ended":
            self.conversations.pop(e["conversation"], None)
        elif isinstance(e.get("conversation"), dict):
            conv = e["conversation"]
            self.conversations[conv["id"]] = conv
            mine = self.me in conv["participants"]
            if kind == "conversation_invited" and conv["invitee"] == self.me:
                await self.send("accept", conversation=conv["id"])
            elif kind == "conversation_started" and mine:
                others = [self.players.get(p, {}).get("name", p) for p in conv["participants"]]
                others = [
                    n for n, p in zip(others, conv["participants"], strict=True) if p != self.me
                ]
                await self.send("say", conversation=conv["id"], text=self.greeting)
                self.greeted.update(others)
                self.say(f"greeted {', '.join(others)}")


def main() -> None:
    """Parse the command line and run the bot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the town's address")
    parser.add_argument("--token", default=os.environ.get("HEARTHVALE_TOKEN"))
    parser.add_argument("--world", type=int, help="world id (default: the current world)")
    parser.add_argument("--seconds", type=float, default=0, help="stop after (0: never)")
    parser.add_argument("--greeting", default="Hello! I'm a guest agent. Lovely day, isn't it?")
    args = parser.parse_args()
    if not args.token:
        sys.exit("an agent token is needed: --token or HEARTHVALE_TOKEN")
    try:
        asyncio.run(Bot(args.url, args.token, args.greeting, args.world).run(args.seconds))
    except websockets.InvalidStatus as exc:
        sys.exit(f"the town refused the token ({exc.response.status_code})")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
