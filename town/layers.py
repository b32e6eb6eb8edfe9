"""The single-process channel layer (`runtown --role all` without Redis).

Channels' InMemoryChannelLayer scans every channel and group for expired entries on each
receive and group send, and fans a group send out through one task per member with a deep
copy each. With hundreds of sockets watching one world that is quadratic work per
broadcast (hundreds of receives, each scanning hundreds of channels). This layer keeps its
semantics (capacity, expiry, groups) and makes a broadcast linear: expired entries are
swept at most once a second, and a group send puts one copy per member directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

SWEEP_EVERY = 1.0  # seconds between sweeps for expired messages and group memberships


class TownInMemoryChannelLayer(InMemoryChannelLayer):
    """InMemoryChannelLayer with linear-time group sends and rate-limited expiry sweeps."""

    _next_sweep = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        super()._clean_expired()

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        # One deep copy for the whole group: receivers get their own top-level dict, and
        # they only read what it holds (event text, lists of ids).
        shared = copy.deepcopy(message)
        expires = time.time() + self.expiry
        for channel in list(self.groups.get(group, ())):
            queue = self.channels.get(channel)
            if queue is None:
                queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
            # A full channel drops the broadcast, as Channels' own layer does.
            with contextlib.suppress(asyncio.QueueFull, ChannelFull):
                queue.put_nowait((expires, dict(shared)))
