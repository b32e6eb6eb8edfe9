"""One subscription per web process and world: broadcasts arrive once, then fan out in memory.

Joining every socket to the world's group made the channel layer carry each broadcast once
per socket (with Redis: one push and one pop per socket) and made every socket run its own
receive task. A WorldHub joins the group once for all the sockets of this process that
watch the world, receives each broadcast once and hands it to them directly. This is the
Evennia split: the web role holds connections, the engine holds the world.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Protocol

from town import metrics, rejoin
from town.groups import world_group
from town.viewport import Frame, placed

log = logging.getLogger(__name__)

# Group memberships expire (channels-redis: after a day); a hub can live longer than that.
RENEW_EVERY = 3600.0
LATER_EVERY = 0.1  # seconds between looks at sockets holding events (backed up, far moves)
# Sockets served before the delivery lets the event loop do anything else. Handing one
# broadcast to a thousand sockets takes 15-60 ms; in one go, every input, ack and Redis
# reply of this process waited for it, and an input's way to the engine takes several.
YIELD_EVERY = 64


class Watcher(Protocol):
    async def dispatch(self, message: dict) -> None: ...

    async def request_snapshot(self) -> None: ...

    def due(self, now: float) -> bool: ...

    async def flush(self, now: float, shared: dict) -> bool: ...


class WorldHub:
    """This process's subscription to one world's broadcasts.

    Two tasks: one receives from the channel layer, one delivers. A broadcast that
    arrives while the last is still being handed out waits, and every broadcast waiting
    goes out as one `events` frame: an idle process sends each at once, a busy one
    coalesces (instead of the engine holding every event for a fixed window).
    """

    def __init__(self, layer, world_id: int) -> None:
        self.layer = layer
        self.world_id = world_id
        self.loop = asyncio.get_running_loop()
        self.watchers: set[Watcher] = set()
        self.channel: str | None = None
        self.pump: asyncio.Task | None = None
        self.inbox: list[dict] = []
        self.arrived = asyncio.Event()
        # Sockets holding events to send later (a backed-up buffer, far movement).
        self.holding: set = set()

    async def watch(self, watcher: Watcher) -> None:
        """Start delivering this world's broadcasts to `watcher` (raises if the layer is down)."""
        if self.pump is None:
            channel = await self.layer.new_channel()
            await self.layer.group_add(world_group(self.world_id), channel)
            if self.pump is None:  # nobody else started it while we waited
                self.channel = channel
                self.pump = asyncio.ensure_future(self._pump())
            else:
                with contextlib.suppress(Exception):
                    await self.layer.group_discard(world_group(self.world_id), channel)
        if watcher not in self.watchers:
            self.watchers.add(watcher)
            metrics.hold("watchers", 1)

    async def unwatch(self, watcher: Watcher) -> None:
        """Stop delivering to `watcher`; the last one out leaves the group."""
        self.holding.discard(watcher)
        if watcher in self.watchers:
            self.watchers.discard(watcher)
            metrics.hold("watchers", -1)
        if self.watchers or self.pump is None:
            return
        pump, channel = self.pump, self.channel
        self.pump = self.channel = None
        pump.cancel()
        if _hubs.get(_key(self.layer, self.world_id)) is self:
            del _hubs[_key(self.layer, self.world_id)]
        with contextlib.suppress(Exception):  # the layer may be why the socket is closing
            await self.layer.group_discard(world_group(self.world_id), channel)

    def later(self, watcher) -> None:
        """`watcher` holds events: call its `flush()` every LATER_EVERY until it says done."""
        self.holding.add(watcher)

    async def _pump(self) -> None:
        helpers = [
            asyncio.ensure_future(self._renew()),
            asyncio.ensure_future(self._deliver()),
            asyncio.ensure_future(self._flush_later()),
        ]
        try:
            await self._receive()
        finally:
            for task in helpers:
                task.cancel()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            with contextlib.suppress(Exception):  # a layer outage is _receive's to handle
                await self.layer.group_add(world_group(self.world_id), self.channel)

    async def _receive(self) -> None:
        group = world_group(self.world_id)
        while True:
            message = await rejoin.receive(self.layer, self.channel, group, self._resync)
            self.inbox.append(message)
            self.arrived.set()

    async def _resync(self) -> None:
        """Broadcasts were missed during an outage: every watcher starts from a snapshot."""
        for watcher in list(self.watchers):
            with contextlib.suppress(Exception):
                await watcher.request_snapshot()

    async def _deliver(self) -> None:
        while True:
            await self.arrived.wait()
            self.arrived.clear()
            waiting, self.inbox = self.inbox, []
            for message in coalesce(waiting):
                for n, watcher in enumerate(list(self.watchers), 1):
                    try:
                        await watcher.dispatch(message)
                    except Exception:  # one broken socket must not starve the others
                        log.exception("world %s: delivery to a socket failed", self.world_id)
                    if n % YIELD_EVERY == 0:
                        # A socket that joins meanwhile asks for its snapshot after joining,
                        # so the snapshot holds this broadcast's events.
                        await asyncio.sleep(0)
            # Let the transports write (and the receiver gather what came meanwhile).
            await asyncio.sleep(0)

    async def _flush_later(self) -> None:
        while True:
            await asyncio.sleep(LATER_EVERY)
            now = time.monotonic()
            shared: dict = {}  # summaries this round, encoded once for sockets that share them
            for watcher in list(self.holding):
                if not watcher.due(now):
                    continue
                try:
                    done = await watcher.flush(now, shared)
                except Exception:
                    log.exception("world %s: a held delivery failed", self.world_id)
                    done = True
                if done:
                    self.holding.discard(watcher)


def coalesce(messages: list[dict]) -> list[dict]:
    """Consecutive event broadcasts become one; others (a resync) keep their place."""
    out: list[dict] = []
    run: list[dict] = []
    for message in messages:
        if message.get("type") == "world.events" and "text" in message:
            run.append(message)
            continue
        if run:
            out.append(merge(run))
            run = []
        out.append(message)
    if run:
        out.append(merge(run))
    return out


def merge(run: list[dict]) -> dict:
    """One broadcast from several, encoded once for every socket of this process.

    `parts` keeps each original's seq and event count, for a socket whose snapshot
    already holds the first ones; `moves` says where each movement event goes (for
    sockets that sent a `view`); `encoded` caches the payloads of subsets of the events
    (and `framed` them as WebSocket frames, town/viewport.Frame).
    """
    events: list[dict] = []
    parts: list[tuple[int | None, int]] = []
    for message in run:
        batch = json.loads(message["text"])["events"]
        parts.append((message.get("seq"), len(batch)))
        events.extend(batch)
    last = run[-1]
    if len(run) == 1:
        text = last["text"]
    else:
        text = json.dumps({"type": "events", "events": events}, separators=(",", ":"))
    status = next((m["status"] for m in reversed(run) if m.get("status")), None)
    merged = {
        **last,
        "text": text,
        "payload": text.encode(),
        "frame": Frame(text.encode()),
        "events": events,
        "parts": parts,
        "moves": placed(events),
        "encoded": {},
        "framed": {},
        "joined": [p for m in run for p in m.get("joined", ())],
        "left": [p for m in run for p in m.get("left", ())],
    }
    if status:
        merged["status"] = status
    return merged


_hubs: dict[tuple[int, int], WorldHub] = {}


def _key(layer, world_id: int) -> tuple[int, int, int]:
    # Per event loop too: a hub's task lives in one loop (tests run many loops in turn).
    return (id(layer), id(asyncio.get_running_loop()), world_id)


def hub_for(layer, world_id: int) -> WorldHub:
    """The hub of this process (and channel layer) for a world."""
    key = _key(layer, world_id)
    hub = _hubs.get(key)
    if hub is None or hub.loop.is_closed():
        hub = _hubs[key] = WorldHub(layer, world_id)
    return hub


def hubs_of(layer, world_id: int) -> list[WorldHub]:
    """This process's live subscriptions to a world's broadcasts, in the running loop."""
    hub = _hubs.get(_key(layer, world_id))
    return [hub] if hub is not None and hub.channel is not None else []
