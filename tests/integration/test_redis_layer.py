"""The channel layer over a real Redis, as the settings configure it (town.layers)."""

from __future__ import annotations

import asyncio

import pytest
from channels.exceptions import ChannelFull
from django.utils.module_loading import import_string

from config.settings import redis_channel_layer
from tests.conftest import start_redis
from town import layers


def make_layer(url: str, **config):
    spec = redis_channel_layer(url)
    return import_string(spec["BACKEND"])(**{**spec["CONFIG"], **config})


def test_the_settings_use_the_town_layer_over_redis():
    spec = redis_channel_layer("redis://127.0.0.1:1/0")
    assert import_string(spec["BACKEND"]) is layers.TownRedisChannelLayer


def test_a_quiet_channel_is_not_taken_for_an_outage(redis_url):
    """redis-py 8 reads with a 5 s timeout by default, as long as the layer's blocking pop:
    a receive on a channel that stayed quiet for 5 s raised "Timeout reading", and every
    listener took it for an outage (rejoined, resynced its pages, logged a warning)."""
    layer = make_layer(redis_url)

    async def scenario() -> None:
        channel = await layer.new_channel()
        with pytest.raises(TimeoutError):  # asyncio's: nothing came, nothing failed
            await asyncio.wait_for(layer.receive(channel), 7)
        await layer.send(channel, {"type": "hello"})  # and it still receives
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "hello"
        await layer.flush()

    asyncio.run(scenario())


def test_messages_that_queued_meanwhile_arrive_together_and_in_order(redis_url):
    """A process busy elsewhere finds everything sent to it meanwhile in one read, each
    channel's messages in the order they were sent (what lets the hub merge broadcasts)."""
    web, engine = make_layer(redis_url), make_layer(redis_url)

    async def scenario() -> None:
        hub, socket_ = await web.new_channel(), await web.new_channel()
        await web.group_add("world.1", hub)
        for n in range(30):
            await engine.group_send("world.1", {"type": "world.events", "n": n})
            await engine.send(socket_, {"type": "world.reply", "n": n})
        first = await asyncio.wait_for(web.receive(hub), 5)
        assert first["n"] == 0
        # The rest came with it: already here, nothing more to ask Redis for.
        assert web.receive_buffer[hub].qsize() == 29
        assert web.receive_buffer[socket_].qsize() == 30
        rest = [await web.receive(hub) for _ in range(29)]
        replies = [await web.receive(socket_) for _ in range(30)]
        assert [m["n"] for m in rest] == list(range(1, 30))
        assert [m["n"] for m in replies] == list(range(30))
        assert all("__asgi_channel__" not in m for m in [first, *rest, *replies])
        await web.flush()
        await engine.flush()

    asyncio.run(scenario())


def test_a_full_channel_refuses_a_send_and_a_group_send_skips_it(redis_url):
    layer = make_layer(redis_url, capacity=3)

    async def scenario() -> None:
        full, other = await layer.new_channel(), await layer.new_channel("other")
        for n in range(3):
            await layer.send(full, {"type": "x", "n": n})
        with pytest.raises(ChannelFull):
            await layer.send(full, {"type": "x", "n": 3})
        await layer.group_add("g", full)
        await layer.group_add("g", other)
        await layer.group_send("g", {"type": "x", "n": "all"})  # no error: `full` skipped
        got = [await asyncio.wait_for(layer.receive(full), 5) for _ in range(3)]
        assert [m["n"] for m in got] == [0, 1, 2]
        assert (await asyncio.wait_for(layer.receive(other), 5))["n"] == "all"
        # A named (not process-local) channel keeps channels-redis's own receive.
        await layer.send("minds.requests", {"type": "y"})
        assert (await asyncio.wait_for(layer.receive("minds.requests"), 5))["type"] == "y"
        await layer.flush()

    asyncio.run(scenario())


def test_the_reader_stops_when_nobody_receives_and_loses_nothing(redis_url, monkeypatch):
    monkeypatch.setattr(layers, "IDLE_STOP", 0.2)
    layer = make_layer(redis_url)

    async def scenario() -> None:
        channel = await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.1)
        (reader,) = layer._readers.values()
        waiting.cancel()  # the only receiver's socket closed
        await asyncio.sleep(0.5)
        assert reader.task.done()
        await layer.send(channel, {"type": "later"})  # waits in Redis, not in this process
        assert (await asyncio.wait_for(layer.receive(channel), 5))["type"] == "later"
        await layer.flush()

    asyncio.run(scenario())


def test_a_receive_waiting_when_redis_goes_away_fails_at_once(tmp_path):
    """Every listener must learn of the outage (to rejoin and resync when Redis is back),
    not wait on a reader that died."""
    proc, url = start_redis(tmp_path)
    layer = make_layer(url)

    async def scenario() -> list:
        channels = [await layer.new_channel() for _ in range(3)]
        waiting = [asyncio.ensure_future(layer.receive(c)) for c in channels]
        await asyncio.sleep(0.2)
        proc.kill()
        done, pending = await asyncio.wait(waiting, timeout=5)
        assert not pending
        return [task.exception() for task in done]

    try:
        errors = asyncio.run(scenario())
    finally:
        proc.kill()
        proc.wait()
    assert len(errors) == 3 and all(isinstance(e, Exception) for e in errors)
