"""Abuse limits: per-connection token buckets, and per-user / per-address limits shared
by every socket (and every web process) through Django's cache."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from town import metrics

log = logging.getLogger(__name__)


@dataclass
class TokenBucket:
    """`rate` tokens per second up to `burst`; take() says whether one was available."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


# -- shared limits: per user and per client address, in Django's cache ------------------
# Counters live in the default cache: in-process (locmem) for one process, Redis (shared by
# every web process) when REDIS_URL is set. A socket's frames never touch the database.
# When the cache is unreachable the shared limits let frames through (the per-connection
# buckets still apply) and say so in the log once a minute.

SLOT_TTL = 120  # seconds a connection slot lives without being refreshed (a crashed process)
SLOT_REFRESH = 30  # seconds between refreshes by a live connection
SLOT_PROBES = 3  # places tried at random before the ordered scan (claim_slot)

_pool = ThreadPoolExecutor(4, thread_name_prefix="limits")
_last_warning = 0.0


def _cache():
    return caches["default"]


async def run(fn, *args):
    """Call a limits function: inline for the in-process cache, else on the limits threads."""
    if isinstance(_cache(), LocMemCache):
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(_pool, functools.partial(fn, *args))


def _unreachable(exc: Exception) -> None:
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        log.warning("rate-limit cache unreachable, shared limits not enforced: %s", exc)


def client_ip(scope: dict) -> str:
    """The client's address: the peer, or behind TOWN_TRUSTED_PROXIES proxies, from XFF."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    proxies = settings.TOWN_TRUSTED_PROXIES
    if proxies <= 0:
        return peer
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops = [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
            if hops:
                return hops[max(0, len(hops) - proxies)]
    return peer


def _count(cache, key: str, ttl: int) -> int:
    """Add one to a counter that lives `ttl` seconds from its first count; its new value."""
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        return 1


# Counters are taken in order and counting stops at the first over its limit (a refused
# input does not use up the chat allowance). Over Redis that is one script, one round
# trip: a line was three counters of up to three round trips each (add, exists, incr), on
# a thread that waited for the interpreter lock between them while the web process
# delivered broadcasts (docs/performance.md, "Fourth pass").
_COUNT = """
for i = 1, #KEYS do
    local n = redis.call('INCR', KEYS[i])
    if n == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 1]) end
    if n > tonumber(ARGV[2 * i]) then return i end
end
return 0
"""


@dataclass(frozen=True)
class Counter:
    """One shared limit: at most `limit` counts per `window` seconds."""

    key: str
    window: int
    limit: int
    refusal: str
    # False: one count for as long as the key lives (the daily cap: its key names the day).
    rolling: bool = True

    @property
    def ttl(self) -> int:
        return self.window + 1

    def windowed(self, now: float) -> str:
        """The key of the window `now` falls in."""
        return f"{self.key}:{int(now // self.window) if self.rolling else 0}"


def first_over(counters: list[Counter], now: float) -> str | None:
    """Count one against each counter in turn; the refusal of the first over its limit."""
    cache = _cache()
    client = _redis_client(cache)
    if client is None:
        for c in counters:
            if _count(cache, c.windowed(now), c.ttl) > c.limit:
                return c.refusal
        return None
    keys = [cache.make_and_validate_key(c.windowed(now)) for c in counters]
    args = [a for c in counters for a in (c.ttl, c.limit)]
    over = client.eval(_COUNT, len(keys), *keys, *args)
    return counters[over - 1].refusal if over else None


def _redis_client(cache):
    """The redis client behind Django's RedisCache (its writes go to the first server), or
    None for any other backend."""
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(write=True)


def check_user_frame(user_id: int, kind: str, now: float | None = None) -> str | None:
    """Count one frame against the user's shared limits; the refusal message, or None."""
    now = time.time() if now is None else now
    window = settings.TOWN_USER_LIMIT_WINDOW
    counters = [
        Counter(
            f"lim:in:{user_id}",
            window,
            settings.TOWN_USER_INPUTS,
            "slow down: too many inputs from your account",
        )
    ]
    if kind == "say":
        counters.append(
            Counter(
                f"lim:say:{user_id}",
                window,
                settings.TOWN_USER_CHAT,
                "slow down: too many messages from your account",
            )
        )
        cap = settings.TOWN_USER_CHAT_PER_DAY
        if cap:
            day = time.strftime("%Y-%m-%d", time.gmtime(now))
            counters.append(
                Counter(
                    f"lim:sayday:{user_id}:{day}",
                    2 * 86400,
                    cap,
                    f"daily message limit reached ({cap} a day); try again tomorrow",
                    rolling=False,
                )
            )
    if kind == "invite":
        counters.append(
            Counter(
                f"lim:inv:{user_id}",
                window,
                settings.TOWN_USER_INVITES,
                "slow down: too many invitations from your account",
            )
        )
    try:
        return first_over(counters, now)
    except Exception as exc:  # the cache backend raises its own kinds (redis, …)
        _unreachable(exc)
    return None


def claim_connection(ip: str, user_id: int | None, owner: str) -> tuple[list[str], str | None]:
    """Take a connection slot for the address (and the user); (slots, refusal message)."""
    claims = [("ip", ip, settings.TOWN_MAX_CONNECTIONS_PER_IP)]
    if user_id is not None:
        claims.append(("user", user_id, settings.TOWN_MAX_CONNECTIONS_PER_USER))
    taken: list[str] = []
    try:
        for what, who, limit in claims:
            slot = claim_slot(f"lim:conn:{what}:{who}", limit, owner)
            if slot is None:
                _cache().delete_many(taken)  # not counted as held yet
                return (
                    [],
                    f"too many connections from this {'address' if what == 'ip' else 'account'} (at most {limit})",
                )
            taken.append(slot)
    except Exception as exc:
        _unreachable(exc)
    metrics.hold("slots", len(taken))
    return taken, None


def claim_slot(prefix: str, limit: int, owner: str) -> str | None:
    """Take one of `limit` places `prefix:0` … (each a cache key that expires unless
    refreshed); its key, or None when every place is held.

    A few places picked at random first, then every place in order: with a large limit far
    from full (an event behind one proxy address) a connection costs one or two round
    trips to the cache instead of one per socket already there; a full or nearly full
    limit is still checked place by place, so "full" is never a guess.
    """
    cache = _cache()
    tried = random.sample(range(limit), min(limit, SLOT_PROBES)) if limit > SLOT_PROBES else []
    for n in [*tried, *(n for n in range(limit) if n not in tried)]:
        key = f"{prefix}:{n}"
        if cache.add(key, owner, SLOT_TTL):
            return key
    return None


def refresh_connection(slots: list[str]) -> None:
    try:
        for key in slots:
            _cache().touch(key, SLOT_TTL)
    except Exception as exc:
        _unreachable(exc)


def release_connection(slots: list[str]) -> None:
    """Give back slots taken by claim_connection (each list once)."""
    try:
        if slots:
            _cache().delete_many(slots)
    except Exception as exc:
        _unreachable(exc)
    metrics.hold("slots", -len(slots))
