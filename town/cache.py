"""The one-process cache (no REDIS_URL): Django's LocMemCache, sized for a crowd.

Connection slots and rate-limit counters live in the default cache (town/ratelimit.py).
Django's LocMemCache keeps 300 entries and, when full, drops a third of them, the most
recently used first: with a few hundred sockets that dropped live connection slots, and
the per-address and per-user caps stopped counting. This one holds CACHE_ENTRIES and, when
full, drops what has expired before anything else.
"""

from __future__ import annotations

import time

from django.core.cache.backends.locmem import LocMemCache

CACHE_ENTRIES = 200_000  # a few hundred bytes each; slots and counters for ~50,000 sockets


class TownLocMemCache(LocMemCache):
    def __init__(self, name: str, params: dict) -> None:
        options = params.get("OPTIONS") or {}
        super().__init__(name, {**params, "OPTIONS": {"MAX_ENTRIES": CACHE_ENTRIES, **options}})

    def _cull(self) -> None:  # called with the cache's lock held, when it is full
        now = time.time()
        for key in [k for k, at in self._expire_info.items() if at is not None and at <= now]:
            self._delete(key)
        if len(self._cache) >= self._max_entries:
            super()._cull()
