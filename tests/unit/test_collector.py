"""The garbage collector's pauses in a process holding many sockets (town/collector.py)."""

from __future__ import annotations

import asyncio
import gc

from tests.inbox import wait_for
from town import collector


def test_survivors_of_an_older_collection_are_frozen_and_thawed_on_schedule():
    async def scenario() -> tuple[int, int, int]:
        keeper = asyncio.ensure_future(
            collector.keep_collections_short(look_every=0.01, full_every=0.5)
        )
        try:
            before = gc.get_freeze_count()
            await asyncio.sleep(0.05)
            still = gc.get_freeze_count()  # no collection, nothing frozen
            sockets = [{"socket": n} for n in range(5000)]  # state that has come to stay
            gc.collect(1)
            await wait_for(lambda: gc.get_freeze_count() >= 5000, 2, "the survivors frozen")
            frozen = gc.get_freeze_count()
            await wait_for(lambda: gc.get_freeze_count() == 0, 2, "everything thawed")
            assert len(sockets) == 5000
            return before, still, frozen
        finally:
            keeper.cancel()

    gc.disable()  # only the collections this test makes
    try:
        gc.unfreeze()
        before, still, frozen = asyncio.run(scenario())
    finally:
        gc.unfreeze()
        gc.enable()
    assert before == still == 0
    assert frozen >= 5000
