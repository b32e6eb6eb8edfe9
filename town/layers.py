"""The channel layers: one for a single process (`runtown --role all` without Redis), one
over Redis (the scale-out topology, further down).

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
import logging
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer

log = logging.getLogger(__name__)

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


# -- Redis -------------------------------------------------------------------------------

# channels-redis makes every step a string of round trips to Redis, one after the other:
# a send is four (trim, count, add, expire), a group send four, and a receive on a
# process-local channel three before the message is handed on (put back what a cancelled
# receive left, the blocking pop, a backup copy) and a fourth before the next receive may
# start (remove the backup copy). On two busy cores each round trip waits for Redis and
# then for this process to be scheduled again, and a web process received its world's
# broadcasts one by one: when they came faster than that chain, they queued in Redis and
# no two were ever merged into one delivery (docs/performance.md, "Fourth pass").
_SEND = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
if redis.call('ZCOUNT', KEYS[1], '-inf', '+inf') >= tonumber(ARGV[2]) then
    return 1
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 0
"""

_MEMBERS = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

# KEYS: channel keys; ARGV: a message per key, a capacity per key, oldest kept, now, expiry.
_FAN_OUT = """
local n = #KEYS
local oldest, now, expiry = ARGV[2 * n + 1], ARGV[2 * n + 2], ARGV[2 * n + 3]
local over = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, oldest)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over = over + 1
    end
end
return over
"""

BATCH = 200  # messages taken from Redis in one round trip by a process's reader
IDLE_STOP = 1.0  # seconds with nobody receiving before a process's reader stops


class _Reader:
    """The one task of a process (and event loop) that reads its process-local channels."""

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None
        self.waiting: dict[str, int] = {}  # channel -> receives waiting on it
        self.idle: asyncio.TimerHandle | None = None


class TownRedisChannelLayer(RedisChannelLayer):
    """channels-redis's core layer with the same semantics (capacity, expiry, groups,
    process-local channels) in fewer round trips.

    * A send is one script; a group send two (members, then every member's queue).
    * A process reads all its process-local channels (`specific.<process>!…`) with one
      task: it takes everything waiting (up to BATCH) in one round trip, and blocks on
      Redis only when nothing is. Broadcasts that queued while the process was busy
      therefore arrive together, and the world hub merges them into one delivery.

    channels-redis keeps a backup copy of each message while it is handed on, because its
    receive runs in whichever consumer's task holds a lock, and that consumer may be
    cancelled (its socket closed) mid-receive. This reader belongs to no consumer: it is
    stopped only when nobody in the process has received for IDLE_STOP seconds, or with
    the event loop, so there is no backup copy (docs/decisions.md).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._readers: dict[tuple[asyncio.AbstractEventLoop, str], _Reader] = {}

    async def send(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        assert "__asgi_channel__" not in message
        key_channel = channel
        if "!" in channel:
            message = {**message, "__asgi_channel__": channel}
            key_channel = self.non_local_name(channel)
            index = self.consistent_hash(channel)
        else:
            index = next(self._send_index_generator)
        now = time.time()
        full = await self.connection(index).eval(
            _SEND,
            1,
            self.prefix + key_channel,
            int(now) - int(self.expiry),
            self.get_capacity(channel),
            now,
            self.serialize(message),
            int(self.expiry),
        )
        if full:
            raise ChannelFull()

    async def group_send(self, group: str, message: dict) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        connection = self.connection(self.consistent_hash(group))
        members = await connection.eval(
            _MEMBERS, 1, self._group_key(group), int(time.time()) - self.group_expiry
        )
        channels = [m.decode("utf8") for m in members]
        by_connection, messages, capacities = self._map_channel_keys_to_connection(
            channels, message
        )
        for index, keys in by_connection.items():
            now = time.time()
            over = await self.connection(index).eval(
                _FAN_OUT,
                len(keys),
                *keys,
                *(messages[k] for k in keys),
                *(capacities[k] for k in keys),
                int(now) - int(self.expiry),
                now,
                int(self.expiry),
            )
            if over:
                log.info("%s of %s channels over capacity in group %s", over, len(channels), group)

    async def receive(self, channel: str) -> dict:
        if "!" not in channel:
            return await super().receive(channel)
        assert self.require_valid_channel_name(channel)
        local = self.non_local_name(channel)
        assert local.endswith(self.client_prefix + "!"), "Wrong client prefix"
        reader = self._reader(local)
        queue = self.receive_buffer[channel]
        reader.waiting[channel] = reader.waiting.get(channel, 0) + 1
        if reader.idle is not None:
            reader.idle.cancel()
            reader.idle = None
        try:
            item = await queue.get()
        finally:
            left = reader.waiting[channel] - 1
            if left:
                reader.waiting[channel] = left
            else:
                del reader.waiting[channel]
            if not reader.waiting and reader.task is not None:
                loop = asyncio.get_running_loop()
                reader.idle = loop.call_later(IDLE_STOP, self._stop_idle, reader)
        if queue.empty() and self.receive_buffer.get(channel) is queue:
            del self.receive_buffer[channel]
        if isinstance(item, BaseException):
            raise item
        return item

    def _reader(self, local: str) -> _Reader:
        loop = asyncio.get_running_loop()
        reader = self._readers.get((loop, local))
        if reader is None:  # a new event loop (tests run several): forget closed ones
            for key in [k for k in self._readers if k[0].is_closed()]:
                del self._readers[key]
            reader = self._readers[(loop, local)] = _Reader()
        if reader.task is None or reader.task.done():
            reader.task = loop.create_task(self._read(local, reader))
        return reader

    @staticmethod
    def _stop_idle(reader: _Reader) -> None:
        reader.idle = None
        if not reader.waiting and reader.task is not None:
            reader.task.cancel()

    async def _read(self, local: str, reader: _Reader) -> None:
        """Hand every message for this process's channels to their buffers, in order."""
        key = self.prefix + local
        connection = self.connection(self.consistent_hash(local))
        try:
            while True:
                contents = [member for member, _ in await connection.zpopmin(key, BATCH)]
                if not contents:
                    popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                    if popped is None:
                        continue
                    contents = [popped[1]]
                for content in contents:
                    message = self.deserialize(content)
                    targets = message.pop("__asgi_channel__", None) or ()
                    for target in [targets] if isinstance(targets, str) else targets:
                        self.receive_buffer[target].put_nowait(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis went away: every receive waiting now fails with it
            for channel in list(reader.waiting):
                self.receive_buffer[channel].put_nowait(exc)
