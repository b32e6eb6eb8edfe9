"""Fan-out inside one process: the in-memory channel layer and the per-world hub."""

from __future__ import annotations

import asyncio
import json
import zlib

from tests.inbox import wait_for
from town import hub as hub_module
from town.groups import world_group
from town.hub import coalesce, hub_for
from town.layers import TownInMemoryChannelLayer
from town.viewport import (
    Interest,
    View,
    accept_deflate,
    deflated_frame,
    placed,
    shares_deflate,
    text_frame,
)


def test_group_send_reaches_every_member_with_its_own_copy():
    async def scenario() -> None:
        layer = TownInMemoryChannelLayer()
        channels = [await layer.new_channel() for _ in range(3)]
        for channel in channels:
            await layer.group_add("world.1", channel)
        await layer.group_send("world.1", {"type": "world.events", "text": "hi"})
        got = [await layer.receive(channel) for channel in channels]
        assert [m["text"] for m in got] == ["hi"] * 3
        got[0]["text"] = "changed"  # one receiver's change is not another's
        assert got[1]["text"] == "hi"

    asyncio.run(scenario())


def test_a_full_channel_drops_the_broadcast_and_others_still_get_it():
    async def scenario() -> None:
        layer = TownInMemoryChannelLayer(capacity=1)
        slow, fast = await layer.new_channel(), await layer.new_channel()
        for channel in (slow, fast):
            await layer.group_add("world.1", channel)
        await layer.group_send("world.1", {"type": "world.events", "n": 1})
        assert (await layer.receive(fast))["n"] == 1
        await layer.group_send("world.1", {"type": "world.events", "n": 2})  # slow is full
        assert (await layer.receive(fast))["n"] == 2
        assert (await layer.receive(slow))["n"] == 1
        assert layer.channels.get(slow) is None or layer.channels[slow].empty()

    asyncio.run(scenario())


def test_expired_messages_are_still_swept():
    async def scenario() -> None:
        layer = TownInMemoryChannelLayer(expiry=0)
        channel = await layer.new_channel()
        await layer.group_add("world.1", channel)
        await layer.group_send("world.1", {"type": "world.events"})
        layer._next_sweep = 0.0  # the next call sweeps
        layer._clean_expired()
        assert channel not in layer.channels
        assert channel not in layer.groups.get("world.1", {})  # expired members leave groups

    asyncio.run(scenario())


class Watcher:
    def __init__(self, broken: bool = False) -> None:
        self.got: list[dict] = []
        self.broken = broken

    async def dispatch(self, message: dict) -> None:
        if self.broken:
            raise RuntimeError("socket gone")
        self.got.append(message)

    async def request_snapshot(self) -> None:
        pass


def test_hub_joins_the_group_once_and_delivers_to_every_watcher():
    async def scenario() -> None:
        layer = TownInMemoryChannelLayer()
        hub = hub_for(layer, 7)
        watchers = [Watcher(), Watcher(broken=True), Watcher()]
        for w in watchers:
            await hub.watch(w)
        assert hub_for(layer, 7) is hub
        assert len(layer.groups[world_group(7)]) == 1  # one membership for three sockets
        await layer.group_send(world_group(7), {"type": "world.events", "seq": 1})
        # A broken socket does not keep the others from their events.
        await wait_for(lambda: watchers[0].got and watchers[2].got, 2, "deliveries")
        assert watchers[0].got == watchers[2].got == [{"type": "world.events", "seq": 1}]
        for w in watchers:
            await hub.unwatch(w)
        assert not layer.groups.get(world_group(7))  # the last one out left the group
        assert hub_for(layer, 7) is not hub  # and a new subscription starts afresh

    asyncio.run(scenario())


def test_a_delivery_to_many_sockets_lets_the_process_do_other_work_between_them():
    """Handing one broadcast to a thousand sockets takes tens of milliseconds; an input
    arriving meanwhile must not wait for the last socket (town/hub.YIELD_EVERY)."""
    order: list[str] = []

    class Recording(Watcher):
        async def dispatch(self, message: dict) -> None:
            if not order:  # something else becomes ready as the delivery starts (an input)
                asyncio.get_running_loop().call_soon(order.append, "other")
            order.append("socket")

    async def scenario() -> None:
        layer = TownInMemoryChannelLayer()
        hub = hub_for(layer, 8)
        for _ in range(300):
            await hub.watch(Recording())
        await layer.group_send(world_group(8), {"type": "world.events", "seq": 1})
        await wait_for(lambda: order.count("socket") == 300, 2, "every socket")
        await asyncio.sleep(0)
        for w in list(hub.watchers):
            await hub.unwatch(w)

    asyncio.run(scenario())
    # It ran at the delivery's first pause, not after the last socket.
    assert order.index("other") == hub_module.YIELD_EVERY
    assert order.count("socket") == 300


def test_each_event_loop_gets_its_own_hub():
    layer = TownInMemoryChannelLayer()
    seen = []

    async def subscribe() -> None:
        hub = hub_for(layer, 1)
        await hub.watch(Watcher())
        seen.append(hub)

    asyncio.run(subscribe())
    asyncio.run(subscribe())  # the first loop is closed: its hub cannot deliver any more
    assert seen[0] is not seen[1]


def _broadcast(seq: int, *events: dict) -> dict:
    text = json.dumps({"type": "events", "events": list(events)})
    return {"type": "world.events", "seq": seq, "text": text, "joined": [], "left": []}


def test_broadcasts_waiting_together_go_out_as_one_frame():
    walk = {"kind": "move", "t": 1, "player": "ada", "path": [[1, 1], [2, 1]], "t0": 1, "speed": 4}
    said = {"kind": "message", "t": 2, "author": "bo", "text": "hi"}
    resync = {"type": "world.resync"}
    out = coalesce([_broadcast(1, walk), _broadcast(2, said), resync, _broadcast(3, said)])
    assert [m["type"] for m in out] == ["world.events", "world.resync", "world.events"]
    first = out[0]
    assert json.loads(first["payload"]) == {"type": "events", "events": [walk, said]}
    assert first["parts"] == [(1, 1), (2, 1)]
    assert first["seq"] == 2
    assert first["moves"] == [(0, "ada", 1, 1, 2, 1)]


def test_interest_holds_far_moves_and_keeps_the_latest_per_character():
    near = {"kind": "move", "t": 1, "player": "ada", "path": [[3, 3], [4, 3]], "t0": 1, "speed": 4}
    far1 = {
        "kind": "move",
        "t": 1,
        "player": "bo",
        "path": [[60, 40], [61, 40]],
        "t0": 1,
        "speed": 4,
    }
    far2 = {**far1, "t": 2, "path": [[61, 40], [62, 40]]}
    there = {"kind": "arrived", "t": 3, "player": "bo", "x": 62, "y": 40}
    said = {"kind": "message", "t": 3, "author": "bo", "text": "hi"}
    interest = Interest()
    interest.show(View.around(0, 0, 10, 10))
    batch = [near, far1, far2, there, said]
    assert interest.choose(batch, placed(batch), None) == (0, 4)  # `arrived`: never
    assert interest.take_far() == [far2]
    assert interest.take_far() == []
    # Someone far who walks into view is sent at once, and nothing of theirs stays held.
    interest.choose([far1], placed([far1]), None)
    back = {**far1, "t": 5, "path": [[61, 40], [9, 9]]}
    assert interest.choose([back], placed([back]), None) is None
    assert interest.far == {}
    # `arrived` reaches a page with a view only for its own character.
    stop = {"kind": "arrived", "t": 4, "player": "ada", "x": 4, "y": 3}
    assert interest.choose([stop], placed([stop]), None) == ()
    mine = Interest(own="ada")
    mine.show(View.around(40, 40, 50, 47))
    assert mine.choose([stop, near], placed([stop, near]), None) is None
    # A page without a view gets everything.
    assert Interest().choose(batch, placed(batch), None) is None


def test_a_broadcast_frame_is_the_websocket_frame_every_socket_would_get():
    from websockets.frames import Frame, Opcode

    for size in (0, 125, 126, 65535, 65536):
        payload = b"x" * size
        expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=())
        assert text_frame(payload) == expected


def _unframe(frame: bytes) -> tuple[int, bytes]:
    """First byte and payload of one unmasked server frame."""
    n, at = frame[1] & 0x7F, 2
    if n == 126:
        n, at = int.from_bytes(frame[2:4], "big"), 4
    elif n == 127:
        n, at = int.from_bytes(frame[2:10], "big"), 10
    assert len(frame) == at + n
    return frame[0], frame[at:]


def test_one_compressed_frame_serves_every_socket_and_mixes_with_each_sockets_own():
    from autobahn.websocket.compress import PerMessageDeflate, PerMessageDeflateOffer

    # What browsers offer: permessage-deflate; client_max_window_bits.
    accept = accept_deflate([PerMessageDeflateOffer(accept_max_window_bits=True)])
    server = PerMessageDeflate.create_from_offer_accept(True, accept)
    assert shares_deflate(server)
    assert "client_max_window_bits=9" in accept.get_extension_string()
    # The page keeps its context (nothing told it otherwise): shared frames, made by a fresh
    # compressor, and autobahn's own messages for this socket decode in any order.
    page = zlib.decompressobj(-zlib.MAX_WBITS)
    payloads = [
        json.dumps(
            {"type": "events", "events": [{"kind": "move", "t": n, "path": [[n, 1]] * 40}]}
        ).encode()
        for n in range(4)
    ]
    for n, payload in enumerate(payloads):
        if n % 2 == 0:
            first, body = _unframe(deflated_frame(payload))
            assert first == 0xC1  # final, RSV1 (compressed), text
        else:
            server.start_compress_message()
            body = server.compress_message_data(payload) + server.end_compress_message()
        assert len(body) < len(payload) / 3
        assert page.decompress(body + b"\x00\x00\xff\xff") == payload
    # A page that asks for a smaller server window, or another extension, gets plain frames.
    small = PerMessageDeflateOffer(request_max_window_bits=10)
    assert accept_deflate([small]) is None
    assert accept_deflate([]) is None
    assert not shares_deflate(None)


class Transport:
    """What `send_now` reads of a Twisted TCP transport, over a real socket pair."""

    TLS = False

    def __init__(self, sock) -> None:
        self.socket, self.connected, self.disconnecting = sock, 1, False
        self.dataBuffer, self._tempDataBuffer = b"", []
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:  # Twisted queues it for the next writable turn
        self.written.append(data)
        self._tempDataBuffer.append(data)


def test_a_frame_goes_to_the_kernel_at_once_unless_bytes_wait_ahead_of_it():
    import socket

    from town.viewport import send_now

    ours, peer = socket.socketpair()
    ours.setblocking(False)
    transport = Transport(ours)
    send_now(transport, b"first")
    assert peer.recv(100) == b"first" and transport.written == []  # no queue, no loop turn
    transport._tempDataBuffer = [b"queued"]  # something unsent: keep the order, queue it
    send_now(transport, b"second")
    assert transport.written == [b"second"]
    transport._tempDataBuffer, transport.written = [], []
    # The kernel's buffer full: what it does not take is queued, whole and in order.
    try:
        while True:
            ours.send(b"x" * 65536)
    except BlockingIOError:
        pass
    send_now(transport, b"third")
    assert transport.written == [b"third"]
    # A closed peer: Twisted gets the bytes and finds the broken connection itself.
    fresh, gone = socket.socketpair()
    fresh.setblocking(False)
    gone.close()
    broken = Transport(fresh)
    for _ in range(3):
        send_now(broken, b"late")
    assert broken.written  # handed to Twisted at the latest once the reset is seen
    ours.close(), peer.close(), fresh.close()
