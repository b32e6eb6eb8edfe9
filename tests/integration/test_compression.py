"""permessage-deflate on a live `runtown` (issue #19): a page that offers it gets every
frame compressed, broadcasts compressed once per process; the same events as a page
without it, in fewer bytes; a page whose offer the server cannot share gets plain frames."""

from __future__ import annotations

import asyncio

import pytest
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from tests.netclient import NetSocket, make_sessions, run


@pytest.fixture(scope="module")
def town(module_town_process):
    proc = module_town_process().start()
    proc.wait_ready()
    proc.sessions = make_sessions(proc.env, ["wanda"])
    yield proc
    proc.stop()


def extensions(sock: NetSocket) -> str:
    return sock.ws.response.headers.get("Sec-WebSocket-Extensions", "")


def test_pages_that_offer_deflate_get_the_same_events_in_fewer_bytes(town):
    async def scenario() -> None:
        walker = NetSocket(town.url, town.sessions["wanda"])
        await walker.open()
        await walker.send(type="join", id="j", name="Wanda", character="kit")
        me = (await walker.ack("j"))["player"]
        packed = NetSocket(town.url)  # websockets offers deflate, as browsers do
        plain = NetSocket(town.url, compression=None)
        narrow = NetSocket(  # asks for a server window the shared frames do not fit
            town.url,
            compression=None,
            extensions=[ClientPerMessageDeflateFactory(server_max_window_bits=10)],
        )
        watchers = (packed, plain, narrow)
        for sock in watchers:
            await sock.open()
        assert "permessage-deflate" in extensions(packed)
        assert extensions(plain) == "" and extensions(narrow) == ""
        for sock in watchers:
            sock.wire_in = 0
        seen: dict[NetSocket, list[dict]] = {sock: [] for sock in watchers}
        for n, (x, y) in enumerate([(20, 20), (24, 20), (24, 24), (20, 24)]):
            await walker.send(type="move", id=f"m{n}", x=x, y=y)
            await walker.ack(f"m{n}")
            for sock in watchers:
                seen[sock].append(
                    await sock.until(lambda e: e.get("kind") == "move" and e["player"] == me)
                )
        assert seen[packed] == seen[plain] == seen[narrow]
        assert len({tuple(map(tuple, e["path"])) for e in seen[packed]}) == 4
        # The same events, fewer bytes on the wire (WebSocket headers included).
        print("wire bytes", packed.wire_in, plain.wire_in, narrow.wire_in)
        assert packed.wire_in < 0.8 * min(plain.wire_in, narrow.wire_in)
        await asyncio.gather(*(s.close() for s in (walker, *watchers)))

    run(scenario())
