"""Slow clients: notice when a socket's send buffer backs up, so nothing piles up for it.

A page that stops reading (a phone in a tunnel, a stalled tab) used to make the server keep
every frame it was sent: the transport's buffer grew without bound. Daphne writes through
Twisted, whose transports tell a registered *producer* when their buffer passes a size and
when it has drained; the consumer registers one per socket and, while it is paused, drops
broadcast events instead of queueing them, resyncs from a snapshot once the client caught
up, and closes the socket if it stays backed up too long (docs/protocol.md, "Slow clients").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import time
from collections.abc import Callable

from town import metrics

log = logging.getLogger(__name__)


class SendBuffer:
    """The state of one socket's outgoing buffer, as its transport reports it."""

    def __init__(
        self, on_drained: Callable[[], None], on_stuck: Callable[[], None], stuck_after: float
    ) -> None:
        self.backed_up_since: float | None = None
        self.transport = None
        self._on_drained = on_drained
        self._on_stuck = on_stuck
        self._stuck_after = stuck_after
        self._timer: asyncio.TimerHandle | None = None

    @property
    def backed_up(self) -> bool:
        return self.backed_up_since is not None

    def unsent(self) -> int:
        """Bytes written to the socket that the kernel has not taken yet (0 if unwatched).

        Twisted writes a transport's buffer when the loop next finds the socket writable:
        anything still here at the next broadcast is waiting on the client.
        """
        tcp = self.transport
        if tcp is None:
            return 0
        return len(tcp.dataBuffer) - tcp.offset + tcp._tempDataLen

    def backed_up_for(self) -> float:
        """Seconds the buffer has been over its limit (0 when it is not)."""
        if self.backed_up_since is None:
            return 0.0
        return time.monotonic() - self.backed_up_since

    # -- Twisted's IPushProducer: called by the transport -------------------------------

    def pauseProducing(self) -> None:
        if self.backed_up_since is None:
            self.backed_up_since = time.monotonic()
            metrics.hold("backed_up", 1)
            self._timer = asyncio.get_running_loop().call_later(self._stuck_after, self._check)

    def resumeProducing(self) -> None:
        if self.backed_up_since is not None:
            self._stop_timer()
            self.backed_up_since = None
            metrics.hold("backed_up", -1)
            self._on_drained()

    def stopProducing(self) -> None:
        self._stop_timer()
        if self.backed_up_since is not None:
            self.backed_up_since = None
            metrics.hold("backed_up", -1)

    def _check(self) -> None:
        self._timer = None
        if self.backed_up:
            self._on_stuck()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- wiring ------------------------------------------------------------------------

    def attach(self, send: Callable, limit: int) -> bool:
        """Register with the connection behind an ASGI `send` (daphne's); False elsewhere.

        After the upgrade, daphne's WebSocket protocol writes through Twisted's HTTP
        channel, which is the TCP transport's producer and passes pause/resume on to the
        producer registered with it: that is where ours goes.
        """
        protocol = daphne_protocol(send)
        tcp = getattr(protocol, "transport", None)
        channel = getattr(tcp, "producer", None)
        if channel is None or not hasattr(channel, "registerProducer"):
            return False  # e.g. Channels' test communicator: nothing to watch
        try:
            channel.registerProducer(self, True)
        except RuntimeError:  # someone else's producer: leave the connection alone
            log.warning("socket send buffer not watched: the channel has a producer")
            return False
        tcp.bufferSize = limit
        # The kernel's buffer too: autotuned, it grows to megabytes per socket before
        # Twisted's own buffer sees any back-up.
        with contextlib.suppress(OSError, AttributeError):
            tcp.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, limit)
        self.transport = tcp
        return True

    def abort(self) -> None:
        """Drop the connection now: a close frame would wait behind the full buffer."""
        self._stop_timer()
        if self.transport is not None:
            try:
                self.transport.abortConnection()
            except Exception:  # already gone
                log.debug("abort of a slow socket failed", exc_info=True)


def daphne_protocol(send: Callable):
    """The daphne WebSocket protocol behind an ASGI `send`, or None. Daphne hands each application `partial(server.handle_reply, protocol)`; Channels'
    session middleware wraps it (the wrapper keeps it as `real_send`)."""
    for _ in range(6):
        if isinstance(send, functools.partial):
            for arg in send.args:
                if hasattr(arg, "transport"):
                    return arg
            send = send.func
        elif hasattr(getattr(send, "__self__", None), "real_send"):
            send = send.__self__.real_send
        else:
            return None
    return None
