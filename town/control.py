"""The control path: an operator's lever reaches the engine holding a world and every page.

A service changes the database and, inside the same transaction, calls `send`: a PostgreSQL
NOTIFY on `town_control`, which the server delivers to every listener when (and only if) the
transaction commits. Every `runtown` process, whatever its roles, runs one `listen` task
(LISTEN on its own connection) that hands each notice to this process's engine host and to
the sockets this process holds. The database is the one thing every topology shares (one
process with the in-memory channel layer, or many processes with Redis), so one path carries
a lever from a web request, `manage.py town` in another terminal, a scheduled job, the admin
or another host. See docs/operations.md "How levers travel".

Who tells the pages: the engine that changed the world (a runner announces `frozen` /
`archived` as it stops and `running` once it takes inputs); when no engine holds the world,
each process's listener tells its own sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from django.db import connection

from town import hub
from town.groups import MINDS_CHANNEL
from town.lease import engine_holds, lease_connection_params

log = logging.getLogger(__name__)

CHANNEL = "town_control"
MAX_PAYLOAD = 7900  # bytes; PostgreSQL refuses a NOTIFY payload of 8000 bytes or more
RETRY_EVERY = 1.0  # seconds between tries to reconnect the listener
WAIT_EVERY = 1.0  # seconds the listener waits for notices before checking on itself
PING_EVERY = 10.0  # seconds between checks that the listening connection is alive

# Levers that stop a world's engine, and the status its pages learn.
STOPS = {"freeze": "frozen", "archive": "archived"}
QUIET_STOPS = frozenset({"stop", "kick"})  # the engine stops; pages need no new status
WAKES = frozenset({"resume", "thaw", "wake", "init"})  # engines look for worlds to run now

Handler = Callable[[dict], Awaitable[None]]
_handlers: list[Handler] = []


def send(world_id: int | None, action: str, **data: Any) -> None:
    """Tell every town process about a committed change (NOTIFY: delivered on commit)."""
    payload = json.dumps(
        {"world": world_id, "action": action, **data}, separators=(",", ":"), ensure_ascii=False
    )
    if len(payload.encode()) > MAX_PAYLOAD:
        # A programming error, not the operator's: notices carry ids and short texts only.
        raise ValueError(f"control notice {action!r} is {len(payload.encode())} bytes")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])


def subscribe(handler: Handler) -> None:
    """Hand every notice this process hears to `handler` too (the engine host, the minds)."""
    _handlers.append(handler)


def unsubscribe(handler: Handler) -> None:
    """Stop handing notices to `handler`."""
    with contextlib.suppress(ValueError):
        _handlers.remove(handler)


def events_message(events: list[dict], status: str | None = None, seq: int | None = None) -> dict:
    """The `world.events` channel message carrying an `events` frame: the one way it is built
    (the runner's broadcasts, the services' notices, status news). Consumers keep `status`
    and follow who `joined` and `left`; `seq` orders an engine's own broadcasts."""
    text = json.dumps({"type": "events", "events": events}, separators=(",", ":"))
    message: dict[str, Any] = {"type": "world.events", "seq": seq, "text": text}
    joined = [e["player"]["id"] for e in events if e["kind"] == "player_joined"]
    left = [e["player"] for e in events if e["kind"] == "player_left"]
    if joined or left:
        message.update(joined=joined, left=left)
    if status:
        message["status"] = status
    return message


def status_event(status: str, t: int) -> dict:
    """The `world_status` event."""
    return {"kind": "world_status", "t": t, "status": status}


async def listen(layer, roles: list[str], stop: asyncio.Event) -> None:
    """LISTEN for notices until `stop`, reconnecting whenever the database goes away."""
    down = False
    while not stop.is_set():
        try:
            conn = await psycopg.AsyncConnection.connect(
                **{**lease_connection_params(), "application_name": "town-control"}
            )
        except (psycopg.Error, OSError) as exc:
            if not down:
                log.warning("control: cannot listen, database unavailable (%s); retrying", exc)
                down = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY_EVERY)
            continue
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            if down:
                log.info("control: listening again")
                down = False
            # Notices sent while we were not listening are lost: engines look again now
            # (their scan stops and starts worlds by the database's word).
            await _deliver({"world": None, "action": "wake"}, layer, roles, conn)
            await _serve(conn, layer, roles, stop)
        except (psycopg.Error, OSError) as exc:
            log.warning("control: listening connection lost (%s); reconnecting", exc)
            down = True
        finally:
            with contextlib.suppress(Exception):
                await conn.close()


async def _serve(conn, layer, roles: list[str], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    next_ping = loop.time() + PING_EVERY
    while not stop.is_set():
        notices = [n async for n in conn.notifies(timeout=WAIT_EVERY, stop_after=1)]
        for notice in notices:
            try:
                body = json.loads(notice.payload)
            except ValueError:
                log.warning("control: ignored a notice that is not JSON: %.200r", notice.payload)
                continue
            await _deliver(body, layer, roles, conn)
        if loop.time() >= next_ping:
            next_ping = loop.time() + PING_EVERY
            await conn.execute("SELECT 1")  # raises when the server went away unnoticed


async def _deliver(notice: dict, layer, roles: list[str], conn) -> None:
    """One notice: first this process's engine host and other subscribers, then its sockets."""
    for handler in list(_handlers):
        try:
            await handler(notice)
        except Exception:  # one failing subscriber must not silence the others
            log.exception("control: a handler failed on %s", notice.get("action"))
    try:
        await _to_minds(notice, layer, roles)
        await _to_pages(notice, layer, conn)
    except (psycopg.Error, OSError):
        raise
    except Exception:  # the channel layer (Redis) is away: pages resync when it is back
        log.exception("control: notice %s not delivered", notice.get("action"))


async def _to_minds(notice: dict, layer, roles: list[str]) -> None:
    if notice["action"] == "kick" and "worker" in roles:
        # Re-read the world's residents. Each process with a worker sends one: every
        # worker's cache is dropped where the channel layer is per process.
        await layer.send(MINDS_CHANNEL, {"type": "mind.reset", "world": notice["world"]})


async def _to_pages(notice: dict, layer, conn) -> None:
    world_id, action = notice.get("world"), notice["action"]
    hubs = _local_hubs(layer, world_id) if world_id is not None else []
    if not hubs:
        return
    message = None
    if action == "events":
        message = events_message(notice["events"], notice.get("status"))
    elif action in STOPS or (action == "forget" and notice.get("author")):
        # The engine holding the world tells its pages itself (with its own clock).
        if await engine_holds(conn, world_id):
            return
        t = notice.get("t", 0)
        if action in STOPS:
            message = events_message([status_event(STOPS[action], t)], STOPS[action])
        else:
            message = events_message([forgotten_event(notice["author"], t)])
    if message is not None:
        for hub in hubs:
            with contextlib.suppress(Exception):  # that hub's socket may be closing
                await hub.layer.send(hub.channel, message)


def forgotten_event(author: str, t: int) -> dict:
    """The `messages_forgotten` event: pages drop this person's lines (docs/protocol.md)."""
    return {"kind": "messages_forgotten", "t": t, "author": author}


def _local_hubs(layer, world_id: int) -> list:
    """This process's subscriptions to a world's broadcasts (town/hub.py), in this loop.

    Sent to each hub's own channel, never to the world's group: with Redis a group send
    would reach every web process once per listening process.
    """
    return hub.hubs_of(layer, world_id)
