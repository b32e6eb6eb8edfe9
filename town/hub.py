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
import logging
from typing import Protocol

from town import metrics
from town.groups import world_group

log = logging.getLogger(__name__)

REJOIN_EVERY = 1.0  # seconds between tries to rejoin the group after a channel-layer error
# Group memberships expire (channels-redis: after a day); a hub can live longer than that.
RENEW_EVERY = 3600.0


class Watcher(Protocol):
    async def dispatch(self, message: dict) -> None: ...

    async def request_snapshot(self) -> None: ...


class WorldHub:
    """This process's subscription to one world's broadcasts."""

    def __init__(self, layer, world_id: int) -> None:
        self.layer = layer
        self.world_id = world_id
        self.loop = asyncio.get_running_loop()
        self.watchers: set[Watcher] = set()
        self.channel: str | None = None
        self.pump: asyncio.Task | None = None

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

    async def _pump(self) -> None:
        renew = asyncio.ensure_future(self._renew())
        try:
            await self._deliver()
        finally:
            renew.cancel()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            with contextlib.suppress(Exception):  # a layer outage is _deliver's to handle
                await self.layer.group_add(world_group(self.world_id), self.channel)

    async def _deliver(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the layer (Redis) went away: wait, rejoin, resync
                log.warning("world %s: broadcast receive failed (%s)", self.world_id, exc)
                await self._rejoin()
                continue
            if message.get("type") == "world.events" and "text" in message:
                # Encoded once here for every socket of this process (see WorldConsumer).
                message = {**message, "payload": message["text"].encode()}
            for watcher in list(self.watchers):
                try:
                    await watcher.dispatch(message)
                except Exception:  # one broken socket must not starve the others
                    log.exception("world %s: delivery to a socket failed", self.world_id)

    async def _rejoin(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_EVERY)
            try:
                await self.layer.group_add(world_group(self.world_id), self.channel)
            except Exception:
                continue
            log.info("channel layer back; world %s broadcasts resumed", self.world_id)
            # Broadcasts were missed meanwhile: every watcher starts again from a snapshot.
            for watcher in list(self.watchers):
                with contextlib.suppress(Exception):
                    await watcher.request_snapshot()
            return


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
