"""Keep the garbage collector's pauses short in a process holding many sockets.

A collection walks every object in the generations it collects. With a thousand sockets
open a web process tracks hundreds of thousands of objects (each socket's consumer,
protocol, transport, compressor and session state). In the 2,000-client bench
(docs/performance.md, "Fourth pass"), full collections paused a web process for 100-300 ms
several times a minute and an engine (which froze nothing) for 120-250 ms, and with young
collections made rare (every 20,000 new objects) the middle generation grew to 190,000
objects and took 130 ms. Every broadcast arriving in such a pause waited: those were the
slowest deliveries.

So young collections come at a modest pace (every YOUNG_THRESHOLD new objects, a
millisecond or two each), and what survives two of them has usually come to stay: after
each collection of the middle or the oldest generation, the survivors are frozen
(`gc.freeze()`) and no later collection walks them. Frozen objects are still freed when
nothing refers to them; only garbage *cycles* among them would wait (a closed socket's
consumer and protocol refer to each other). So every FULL_EVERY seconds everything is
unfrozen, and the next full collection walks it all once and frees those cycles.
"""

from __future__ import annotations

import asyncio
import gc
import time

YOUNG_THRESHOLD = 2_000  # new objects between young collections (Python's default: 700)
LOOK_EVERY = 0.25  # seconds between looks for a finished collection of the older generations
FULL_EVERY = 600.0  # seconds between full collections that walk every object


def settle() -> None:
    """At start-up: freeze what was loaded (Django, the app, the map); set the young pace."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def older_collections() -> int:
    """Collections so far of the middle and oldest generations."""
    stats = gc.get_stats()
    return stats[1]["collections"] + stats[2]["collections"]


async def keep_collections_short(
    look_every: float = LOOK_EVERY, full_every: float = FULL_EVERY
) -> None:
    """Freeze the survivors of each older collection; unfreeze everything every `full_every`."""
    seen = older_collections()
    unfreeze_at = time.monotonic() + full_every
    while True:
        await asyncio.sleep(look_every)
        done = older_collections()
        if done != seen:
            seen = done
            gc.freeze()
        if time.monotonic() >= unfreeze_at:
            unfreeze_at = time.monotonic() + full_every
            gc.unfreeze()
