"""Sockets opened with an agent token: this process's registry, per-token caps and limits.

Revoking a token (accounts/services.py) sends `token_revoked` on the control path; every
process's listener hands it to `on_control`, which closes the sockets of those tokens this
process holds. Per-token limits are shared by every socket of the token (and, through the
cache, every web process), on top of its owner's own per-user limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from django.conf import settings

from town import control, metrics, ratelimit

log = logging.getLogger(__name__)

REVOKED_CLOSE = 4003  # the token was revoked: do not reconnect with it

REMEMBER_REVOKED = 60.0  # seconds a revocation is kept for sockets still opening

_open: dict[int, set[Any]] = {}  # token id -> this process's consumers holding it
# Token id -> when this process heard it revoked: a socket whose handshake looked the token
# up just before the revocation committed registers after the notice, and is closed then.
_revoked: dict[int, float] = {}
_closing: set[asyncio.Task] = set()


def register(token_id: int, consumer: Any) -> None:
    """Remember an open socket of a token (so revocation can close it)."""
    _open.setdefault(token_id, set()).add(consumer)
    if token_id in _revoked:
        task = asyncio.ensure_future(_close(token_id, consumer))
        _closing.add(task)  # a reference until it is done
        task.add_done_callback(_closing.discard)


def unregister(token_id: int, consumer: Any) -> None:
    """Forget a closed socket."""
    sockets = _open.get(token_id)
    if sockets is not None:
        sockets.discard(consumer)
        if not sockets:
            del _open[token_id]


def open_count(token_id: int) -> int:
    """How many sockets of a token this process holds."""
    return len(_open.get(token_id, ()))


async def _close(token_id: int, consumer: Any) -> None:
    with contextlib.suppress(Exception):  # it may be closing already
        await consumer.revoked()
    unregister(token_id, consumer)


async def on_control(notice: dict) -> None:
    """Close this process's sockets of revoked tokens."""
    if notice.get("action") != "token_revoked":
        return
    now = time.monotonic()
    for token_id, heard in list(_revoked.items()):
        if now - heard > REMEMBER_REVOKED:
            del _revoked[token_id]
    for token_id in notice.get("tokens", ()):
        _revoked[token_id] = now
        for consumer in list(_open.get(token_id, ())):
            await _close(token_id, consumer)


control.subscribe(on_control)


def claim_slot(token_id: int, owner: str) -> tuple[str | None, str | None]:
    """A connection slot of the token: (slot key, None) or (None, refusal message)."""
    limit = settings.TOWN_AGENT_CONNECTIONS_PER_TOKEN
    try:
        key = ratelimit.claim_slot(f"lim:conn:agent:{token_id}", limit, owner)
        if key is not None:
            # Released with the socket's other slots (ratelimit.release_connection).
            metrics.hold("slots", 1)
            return key, None
    except Exception as exc:  # the cache is away: the per-user cap still applies
        log.warning("agent connection cap not enforced: %s", exc)
        return None, None
    return None, f"too many connections with this agent token (at most {limit})"


def check_frame(token_id: int, kind: str, now: float | None = None) -> str | None:
    """Count one frame against the token's shared limits; the refusal message, or None."""
    now = time.time() if now is None else now
    window = settings.TOWN_USER_LIMIT_WINDOW
    counters = [
        ratelimit.Counter(
            f"lim:agent:in:{token_id}",
            window,
            settings.TOWN_AGENT_INPUTS,
            "slow down: too many inputs with this agent token",
        )
    ]
    if kind == "say":
        counters.append(
            ratelimit.Counter(
                f"lim:agent:say:{token_id}",
                window,
                settings.TOWN_AGENT_CHAT,
                "slow down: too many messages with this agent token",
            )
        )
    try:
        return ratelimit.first_over(counters, now)
    except Exception as exc:  # as ratelimit.check_user_frame: the buckets still apply
        log.warning("agent token limits not enforced: %s", exc)
    return None
