"""The worker role: answers residents' decision requests and remembers what happened, off the
engine's loop.

Engines put requests and observed events on one shared channel; whichever worker takes a
message thinks about it in a thread (the minds are synchronous Django code) and sends the
decision back to the world's engine as ordinary inputs. Decisions for different residents
run at the same time (up to MIND_WORKER_TASKS); one resident thinks about one thing at a time;
events of a world are handled in order. A slow or failed decision only leaves a resident
idle, or falls back to the routine mind: the engine never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections

from agents import budget
from agents.llm import get_client
from agents.mind import Mind
from agents.residents import load_town, routine_mind
from town.groups import MINDS_CHANNEL, engine_group
from town.residents import residents_version

log = logging.getLogger(__name__)

MIND_REFRESH = 30.0  # seconds before a world's residents are re-read (edits, new residents)
NEWCOMER_RELOAD = 1.0  # at most this often, a request for an unknown resident re-reads
# Seconds between repeats of an unchanged mind status (an engine that just took the world
# over learns it within this long).
STATUS_EVERY = 5.0


def _in_thread(fn, *args):
    """Run Django code in a worker thread with a fresh connection, closed afterwards."""
    close_old_connections()
    try:
        return fn(*args)
    finally:
        close_old_connections()


class MindWorker:
    """Receives decision requests and events from engines and sends decisions back."""

    def __init__(self) -> None:
        self.minds: dict[int, tuple[Mind, float]] = {}
        # Last mind status sent per world, and when (time.monotonic()).
        self.statuses: dict[int, tuple[dict, float]] = {}
        self.versions: dict[int, int | None] = {}  # town/residents.py's version, when read
        self.locks: dict[tuple[int, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self.events: dict[int, asyncio.Queue] = {}
        self.tasks: set[asyncio.Task] = set()
        tasks = max(1, settings.MIND_WORKER_TASKS)
        self.slots = asyncio.Semaphore(tasks)
        self.pool = ThreadPoolExecutor(max_workers=tasks + 1, thread_name_prefix="mind")

    async def run(self, stop: asyncio.Event) -> None:
        layer = get_channel_layer()
        self._spawn(self._probe_loop(layer, stop))
        try:
            while not stop.is_set():
                try:
                    message = await asyncio.wait_for(layer.receive(MINDS_CHANNEL), 1.0)
                except TimeoutError:
                    continue
                self.dispatch(layer, message)
        finally:
            for task in list(self.tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 5)
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def _probe_loop(self, layer, stop: asyncio.Event) -> None:
        """While the provider is marked down, probe it every few seconds (whatever the
        residents happen to be doing), so the model is back soon after the provider is; and
        tell the worlds this worker thinks for which mind their residents use."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            if stop.is_set():
                return
            try:
                await self.thread(_probe_if_due)  # the cache may be Redis: not on this loop
            except Exception:  # a broken probe must not end the worker
                log.exception("probing the model provider failed")
            for world_id in list(self.minds):
                try:
                    await self.send_status(layer, world_id)
                except Exception:  # the channel layer may be away: the next second retries
                    log.exception("could not send the mind status of world %s", world_id)

    def dispatch(self, layer, message: dict) -> None:
        kind = message.get("type")
        if kind == "mind.request":
            self._spawn(self.answer(layer, message))
        elif kind == "mind.reset":  # an operator kicked the world: re-read its residents
            self.minds.pop(message["world"], None)
        elif kind == "mind.events":
            world_id = message["world"]
            if world_id not in self.events:
                self.events[world_id] = asyncio.Queue()
                self._spawn(self._observe_loop(world_id))
            self.events[world_id].put_nowait(message["events"])

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def thread(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, _in_thread, fn, *args)

    async def mind_for(self, world_id: int, agent: str | None = None) -> Mind:
        """The world's minds, re-read when an operator added, edited or retired a resident."""
        cached, now = self.minds.get(world_id), time.monotonic()
        version = await self.thread(residents_version, world_id)  # read first: no gap
        stale = cached is None or now - cached[1] > MIND_REFRESH
        stale = stale or version != self.versions.get(world_id)
        if not stale and agent is not None and agent not in cached[0].town.residents:
            stale = now - cached[1] >= NEWCOMER_RELOAD  # e.g. added where our cache is not
        if stale:
            town = await self.thread(load_town, world_id)
            self.minds[world_id] = cached = (Mind(town), time.monotonic())
            self.versions[world_id] = version
        return cached[0]

    async def answer(self, layer, message: dict) -> None:
        world_id, request = message["world"], message["request"]
        agent = request["agent"]
        async with self.locks[(world_id, agent)], self.slots:
            try:
                mind = await self.mind_for(world_id, agent)
                inputs = await self.thread(mind.decide, request)
            except Exception:  # one bad decision must not stop the resident or the worker
                log.exception("mind failed on %s; the routine mind answers", request.get("id"))
                inputs = await self._routine(world_id, request)
            for n, inp in enumerate(inputs):
                inp["key"] = f"mind:{request['id']}:{n}"
                await layer.group_send(
                    engine_group(world_id), {"type": "engine.input", "input": inp}
                )
            with contextlib.suppress(Exception):
                await self.thread(mind.reflect_if_due, agent, request["t"])
            await self.send_status(layer, world_id)

    async def send_status(self, layer, world_id: int) -> None:
        """Tell the world's engine which mind its residents use (the engine tells the pages
        when it changed): at once when it changed, else every STATUS_EVERY seconds."""
        status = await self.thread(budget.mind_status, world_id)
        sent = self.statuses.get(world_id)
        now = time.monotonic()
        if sent is not None and sent[0] == status and now - sent[1] < STATUS_EVERY:
            return
        self.statuses[world_id] = (status, now)
        await layer.group_send(
            engine_group(world_id), {"type": "mind.status", "world": world_id, "status": status}
        )

    async def _routine(self, world_id: int, request: dict) -> list[dict]:
        try:
            return (await self.thread(routine_mind, world_id)).decide(request, {})
        except Exception:
            log.exception("the routine mind failed too on %s", request.get("id"))
            return []

    async def _observe_loop(self, world_id: int) -> None:
        queue = self.events[world_id]
        while True:
            events = await queue.get()
            try:
                mind = await self.mind_for(world_id)
                await self.thread(mind.observe, events)
                t = max(e["t"] for e in events)
                for pid in _residents_in(events, mind):
                    await self.thread(mind.reflect_if_due, pid, t)
            except Exception:
                log.exception("could not remember events of world %s", world_id)


def _probe_if_due() -> None:
    if budget.configured() and budget.probe_due():
        get_client().probe()


def _residents_in(events: list[dict], mind: Mind) -> set[str]:
    """Residents whose memories these events may have added to (for the reflection check)."""
    out = set()
    for event in events:
        if event["kind"] == "conversation_ended":
            out.update(p for p in event.get("participants", ()) if p in mind.town.residents)
    return out
