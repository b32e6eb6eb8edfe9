"""Rejoin a channel-layer group after an outage (Redis went away): one loop for everyone.

The consumer, the world hub and the engine runner all wait for the layer the same way:
try `group_add` every REJOIN_EVERY seconds until it works, then carry on (the caller
resyncs what it missed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

REJOIN_EVERY = 1.0  # seconds between tries to rejoin a group after a channel-layer error


async def rejoin(layer, group: str, channel: str, first: bool = False) -> None:
    """Join `group` with `channel`, waiting for the layer as long as it takes.

    `first`: the initial join (try at once, log nothing); otherwise the caller saw the
    layer fail, so wait a moment before the first try and say when it is back.
    """
    await _until_done(lambda: layer.group_add(group, channel), first)
    if not first:
        log.info("channel layer back; rejoined %s", group)


async def receive(layer, channel: str, group: str, on_back: Callable[[], Awaitable[None]]):
    """The next message on `channel`; when the layer fails, wait for it, rejoin `group`,
    let the caller resync (`on_back`) and listen again."""
    while True:
        try:
            return await layer.receive(channel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the layer (Redis) went away: wait for it
            log.warning("%s: channel layer receive failed (%s)", group, exc)
            await rejoin(layer, group, channel)
            await on_back()


async def layer_back(layer, group: str, channel: str) -> None:
    """Wait until the layer answers again, for a channel that is not in `group`.

    A socket's own channel is in no group (its process's hub is): leaving `group` is a
    harmless call that fails exactly while the layer is down.
    """
    await _until_done(lambda: layer.group_discard(group, channel), first=False)


async def _until_done(call, first: bool) -> None:
    if not first:
        await asyncio.sleep(REJOIN_EVERY)
    while True:
        try:
            await call()
        except asyncio.CancelledError:
            raise
        except Exception:
            await asyncio.sleep(REJOIN_EVERY)
            continue
        return
