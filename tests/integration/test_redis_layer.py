"""The channel layer over a real Redis, as the settings configure it."""

from __future__ import annotations

import asyncio

import pytest
from channels_redis.core import RedisChannelLayer

from config.settings import redis_channel_layer


def test_a_quiet_channel_is_not_taken_for_an_outage(redis_url):
    """redis-py 8 reads with a 5 s timeout by default, as long as the layer's blocking pop:
    a receive on a channel that stayed quiet for 5 s raised "Timeout reading", and every
    listener took it for an outage (rejoined, resynced its pages, logged a warning)."""
    layer = RedisChannelLayer(**redis_channel_layer(redis_url)["CONFIG"])

    async def scenario() -> None:
        channel = await layer.new_channel()
        with pytest.raises(TimeoutError):  # asyncio's: nothing came, nothing failed
            await asyncio.wait_for(layer.receive(channel), 7)
        await layer.send(channel, {"type": "hello"})  # and it still receives
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "hello"
        await layer.flush()

    asyncio.run(scenario())
