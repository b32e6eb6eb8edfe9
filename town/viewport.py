"""Interest by viewport: a page that says what it shows gets far movement as a summary.

A page sends `view` (the tiles on its screen, docs/protocol.md). Movement within MARGIN
tiles of that view arrives event by event, as before; a `move` far outside it is held,
only the latest per character, and sent every FAR_EVERY seconds in one `events` frame
marked `"summary": true` (a `move` holds the whole path with its start time, so the page
still places a far character where it really is). `arrived` is not sent to such a page
except for its own character: the `move` it has says where and when each walk ends.
Everything else (conversations, chat,
joins, status, announcements) always arrives. A page that never sends `view` gets
everything, as before.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

MARGIN = 6  # tiles around the view where movement still arrives at once
FAR_EVERY = 2.0  # seconds between summaries of far movement

# (index in the batch, player id, tile box x0, y0, x1, y1) of an event that only moves someone
Placed = tuple[int, str, int, int, int, int]


@dataclass(frozen=True)
class View:
    """The tiles a page shows, widened by MARGIN on every side."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around(cls, x0: int, y0: int, x1: int, y1: int) -> View:
        return cls(x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN)

    def meets(self, x0: int, y0: int, x1: int, y1: int) -> bool:
        return x0 <= self.x1 and x1 >= self.x0 and y0 <= self.y1 and y1 >= self.y0


def placed(events: list[dict]) -> list[Placed]:
    """The movement events of a batch and the tiles each touches (once per batch)."""
    out: list[Placed] = []
    for i, event in enumerate(events):
        kind = event.get("kind")
        if kind == "move" and event.get("path"):
            xs = [p[0] for p in event["path"]]
            ys = [p[1] for p in event["path"]]
            out.append((i, event["player"], min(xs), min(ys), max(xs), max(ys)))
        elif kind == "arrived":
            x, y = event["x"], event["y"]
            out.append((i, event["player"], x, y, x, y))
    return out


def text_frame(payload: bytes, first_byte: int = 0x81) -> bytes:
    """`payload` as one server-to-client WebSocket text frame (RFC 6455: final, unmasked).

    Unmasked frames are the same bytes for every socket, so a broadcast is framed once per
    process too (town/consumers.py writes them straight to each connection).
    """
    n = len(payload)
    if n < 126:
        head = bytes((first_byte, n))
    elif n < 1 << 16:
        head = bytes((first_byte, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first_byte, 127)) + n.to_bytes(8, "big")
    return head + payload


def deflated_frame(payload: bytes) -> bytes:
    """`payload` as one permessage-deflate text frame (RFC 7692) that needs no context.

    Compressed by a fresh compressor, the message refers to nothing sent before it, so
    every socket whose server side runs without context takeover (accept_deflate) can take
    the same bytes: one compression per broadcast per process, not one per socket.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return text_frame(data[:-4], 0xC1)  # the 00 00 ff ff tail is implied; RSV1: compressed


class Frame:
    """An `events` payload, framed once per process: plain, and compressed when asked."""

    __slots__ = ("_deflated", "_plain", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self._plain: bytes | None = None
        self._deflated: bytes | None = None

    @property
    def plain(self) -> bytes:
        if self._plain is None:
            self._plain = text_frame(self.payload)
        return self._plain

    @property
    def deflated(self) -> bytes:
        if self._deflated is None:
            self._deflated = deflated_frame(self.payload)
        return self._deflated


def accept_deflate(offers: list):
    """autobahn's `perMessageCompressionAccept`: permessage-deflate, the server side
    without context takeover (shared frames, above), or nothing.

    Per socket, autobahn keeps a compressor for what is not shared (acks, snapshots, held
    frames) and a decompressor for what the page sends: both small (9 window bits, memory
    level 1 for the compressor), as a page's own frames are a few hundred bytes.
    A page that asks the server for a window under 15 bits gets plain frames.
    """
    from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept

    for offer in offers:
        if not isinstance(offer, PerMessageDeflateOffer):
            continue
        if offer.request_max_window_bits not in (0, zlib.MAX_WBITS):
            continue
        return PerMessageDeflateOfferAccept(
            offer,
            request_no_context_takeover=offer.accept_no_context_takeover,
            request_max_window_bits=9 if offer.accept_max_window_bits else 0,
            no_context_takeover=True,
            window_bits=9,
            mem_level=1,
        )
    return None


def shares_deflate(compression) -> bool:
    """Whether a socket's negotiated compression takes the shared deflated frames."""
    return getattr(compression, "EXTENSION_NAME", "") == "permessage-deflate" and bool(
        getattr(compression, "server_no_context_takeover", False)
    )


def send_now(transport, data: bytes) -> None:
    """Write to a Twisted TCP transport, sending at once when nothing is queued ahead.

    Twisted's own `write` queues the bytes, registers the socket for writability, sends on
    the next turn of the loop and unregisters it: two epoll calls and a loop turn per write,
    per socket, per broadcast (py-spy at 1,000 sockets: about a fifth of the event loop).
    When the transport holds nothing unsent, the kernel takes the frame now; whatever it
    does not take, and every write behind queued bytes, goes through Twisted as before, so
    order, back-pressure and the closing of a broken connection stay Twisted's.
    """
    sock = getattr(transport, "socket", None)
    if (
        sock is None
        or getattr(transport, "TLS", True)
        or getattr(transport, "dataBuffer", b"")
        or getattr(transport, "_tempDataBuffer", None)
        or getattr(transport, "disconnecting", True)
        or not getattr(transport, "connected", False)
    ):
        transport.write(data)
        return
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:  # reset or broken: Twisted finds out on its write and closes as usual
        sent = 0
    if sent < len(data):
        transport.write(data[sent:])


def encode(events: list[dict], summary: bool = False) -> bytes:
    """An `events` frame, as the engine writes it."""
    frame: dict = {"type": "events", "events": events}
    if summary:
        frame["summary"] = True
    return json.dumps(frame, separators=(",", ":")).encode()


class Interest:
    """What one socket is shown of a world's movement."""

    def __init__(self, own: str | None = None) -> None:
        self.view: View | None = None
        self.own = own  # the socket's own character: always shown
        self.far: dict[str, dict] = {}  # player -> latest far `move`, not yet sent

    def show(self, view: View | None) -> None:
        self.view = view

    def reset(self) -> None:
        """A snapshot was sent: it holds where everyone is."""
        self.far.clear()

    def choose(self, events: list[dict], moves: list[Placed], keep: tuple | None) -> tuple | None:
        """Indices of `events` to send now (None: all of them); far moves are kept.

        `keep`: the indices this socket still needs (None: all), e.g. after a snapshot
        that already held the first ones.
        """
        if self.view is None or not moves:
            if self.far:
                self._forget_left(events)
            return keep
        far: set[int] = set()
        view = self.view
        wanted = None if keep is None else set(keep)
        for i, player, x0, y0, x1, y1 in moves:
            if wanted is not None and i not in wanted:
                continue
            if player == self.own:
                continue
            if events[i]["kind"] == "arrived":
                far.add(i)  # the walk's `move` already ends there
            elif view.meets(x0, y0, x1, y1):
                self.far.pop(player, None)  # what arrives now is newer
            else:
                far.add(i)
                self.far[player] = events[i]
        if self.far:
            self._forget_left(events)
        if not far:
            return keep
        return tuple(i for i in (range(len(events)) if keep is None else keep) if i not in far)

    def _forget_left(self, events: list[dict]) -> None:
        for event in events:
            if event.get("kind") == "player_left":
                self.far.pop(event["player"], None)

    def take_far(self) -> list[dict]:
        """The held far moves, oldest first, and forget them."""
        held = sorted(self.far.values(), key=lambda e: e.get("t", 0))
        self.far.clear()
        return held
