"""Runs worlds: one asyncio task per world whose lease this engine process holds.

A WorldRunner feeds the pure engine (town/engine) with inputs from the channel layer and
with the fixed step, writes accepted inputs and chat lines before acknowledging them,
broadcasts events, hands decision requests to the minds, and saves snapshots. On start it
rebuilds the world from the latest snapshot plus the inputs logged after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connections

from town import control, metrics, persistence, rejoin, selectors, stepping
from town.engine import InputRefused
from town.groups import ENGINES_GROUP, MINDS_CHANNEL, engine_group, world_group
from town.lease import LeaseHolder
from town.services import FORGOTTEN

log = logging.getLogger(__name__)

SNAPSHOT_EVERY_MS = 5000
# Events are broadcast at most this often (seconds): under load, batches that land within
# one window go out as one frame per watcher instead of one each. A quiet world broadcasts
# at once. Frames per watcher, not bytes, are what a web process pays for.
BROADCAST_EVERY = settings.TOWN_BROADCAST_MS / 1000
SCAN_EVERY = 2.0  # seconds between looks for worlds to run
RECENT_MESSAGES = 50
# Events the minds hear about (to remember conversations, meet newcomers, …).
OBSERVED_KINDS = frozenset(
    {"message", "conversation_started", "conversation_ended", "player_joined", "player_left"}
)


class WorldRunner:
    """Runs one world until told to stop."""

    def __init__(self, world_id: int, layer) -> None:
        self.world_id = world_id
        self.layer = layer
        self.queue: asyncio.Queue = asyncio.Queue()
        self.stopping = asyncio.Event()
        self.seq = 0
        self.pending: list[dict] = []  # accepted inputs awaiting their write
        self.outbox: list[dict] = []  # written events awaiting their broadcast
        self.next_broadcast = 0.0  # time.monotonic() before which broadcasts wait
        # Why it stops: a status its pages learn as it stops (a freeze, an archive), or
        # None (the host shuts down, the lease was lost, a kick): nothing to announce.
        self.stop_status: str | None = None
        self.check_status = False  # stopped by the host's scan: read the status when done
        self.mind: dict | None = None  # the minds' latest `mind.status` (None: none heard yet)
        # The world's own database thread (and connection), so its writes never queue
        # behind the web role's sync work on Django's shared thread.
        self.db_thread = ThreadPoolExecutor(1, thread_name_prefix=f"world-{world_id}-db")

    async def db(self, fn, *args):
        """Run a persistence function on this world's database thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self.db_thread, functools.partial(fn, *args)
        )

    # -- clock -------------------------------------------------------------------------

    def now(self) -> int:
        """World time (ms): advances with the wall clock while this runner runs."""
        return self.base_ms + int((time.monotonic() - self.base_mono) * 1000)

    # -- life --------------------------------------------------------------------------

    def stop(self, status: str | None = None, *, check_status: bool = False) -> None:
        """Stop after this step; a frozen or archived world's pages hear it as it stops."""
        if not self.stopping.is_set():
            self.stop_status, self.check_status = status, check_status
            self.queue.put_nowait({"type": "engine.wakeup"})  # end a step waiting for input
        self.stopping.set()

    async def run(self, host_stop: asyncio.Event) -> None:
        try:
            await self._run(host_stop)
        finally:
            metrics.engine_stopped(self.world_id)
            await self.db(connections.close_all)
            self.db_thread.shutdown(wait=False)

    async def _run(self, host_stop: asyncio.Event) -> None:
        loaded = await self.db(persistence.load_world, self.world_id)
        self.meta, self.world, self.recent = loaded.meta, loaded.world, loaded.recent
        self.last_input = loaded.last_input
        self.base_ms, self.base_mono = self.world.now, time.monotonic()
        self.next_tick = stepping.first_tick(self.world)
        self.last_snapshot = self.world.now
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(engine_group(self.world_id), self.channel)
        receiver = asyncio.ensure_future(self._receive())
        try:
            # Residents defined in the database but not yet in the world walk in now.
            events: list[dict] = []
            for inp in loaded.pending_joins:
                events += self._handle_input({"input": inp}, self.now(), [])
            await self._flush(events, [])
            self.outbox = []  # watchers resync from a snapshot that holds these events
            await self.layer.group_send(world_group(self.world_id), {"type": "world.resync"})
            # Only now, with this engine listening, do pages learn the world runs: a move
            # sent on the news reaches an engine that answers it.
            status = control.status_event("running", self.now())
            await self.layer.group_send(
                world_group(self.world_id), control.events_message([status], "running")
            )
            log.info("world %s running from t=%s ms", self.world_id, self.world.now)
            while not (host_stop.is_set() or self.stopping.is_set()):
                await self._step()
            if self.outbox:
                await self._broadcast()
        finally:
            receiver.cancel()
            await self.layer.group_discard(engine_group(self.world_id), self.channel)
        await self.db(persistence.save_snapshot, self.world_id, self.world, self.last_input)
        log.info("world %s stopped at t=%s ms", self.world_id, self.world.now)
        await self._announce_stop()

    async def _announce_stop(self) -> None:
        """Tell the pages the world's new status, after its last snapshot is saved, and
        answer the inputs that arrived too late for this engine."""
        status = self.stop_status
        if status is None and self.check_status:
            found = await self.db(persistence.world_status, self.world_id)
            status = found if found in ("frozen", "archived") else None
        replies: list[tuple[str, dict]] = []
        while not self.queue.empty():
            message = self.queue.get_nowait()
            if message.get("type") == "engine.input":
                self._refuse_late(message, status, replies)
        for reply_to, frame in replies:
            with contextlib.suppress(Exception):
                await self.layer.send(reply_to, {"type": "world.reply", "frame": frame})
        if status is not None:
            event = control.status_event(status, self.world.now)
            await self.layer.group_send(
                world_group(self.world_id), control.events_message([event], status)
            )

    def _refuse_late(self, message: dict, status: str | None, replies: list) -> None:
        """An input that reached this engine after it was told to stop: one clear answer."""
        if not message.get("reply_to"):
            return  # a resident's decision: the mind asks again when the world runs
        if status is not None:
            frame = {"type": "error", "code": "world_frozen", "message": f"the world is {status}"}
        else:
            frame = {
                "type": "error",
                "code": "unavailable",
                "message": "the world is restarting; send it again",
            }
        if message.get("client_id"):
            frame["id"] = message["client_id"]
        replies.append((message["reply_to"], frame))

    async def _receive(self) -> None:
        group = engine_group(self.world_id)
        while True:
            await self.queue.put(
                await rejoin.receive(self.layer, self.channel, group, self._resync)
            )

    async def _resync(self) -> None:
        """After a channel-layer outage: watchers may have missed events, have them resync."""
        with contextlib.suppress(Exception):
            await self.layer.group_send(world_group(self.world_id), {"type": "world.resync"})

    async def _step(self) -> None:
        wait = max(0.0, (self.next_tick - self.now()) / 1000)
        if self.outbox:
            wait = min(wait, max(0.0, self.next_broadcast - time.monotonic()))
        batch = []
        with contextlib.suppress(TimeoutError):
            batch.append(await asyncio.wait_for(self.queue.get(), wait))
        while not self.queue.empty():
            batch.append(self.queue.get_nowait())
        started = time.perf_counter()
        now = self.now()
        events, self.next_tick = stepping.tick_until(self.world, self.next_tick, now)
        replies: list[tuple[str, dict]] = []
        snapshot_requests: list[str] = []
        forgotten: list[str] = []
        residents_changed = False
        for message in batch:
            kind = message.get("type")
            if kind == "engine.input" and self.stopping.is_set():
                self._refuse_late(message, self.stop_status, replies)
            elif kind == "engine.input":
                events += self._handle_input(message, now, replies)
            elif kind == "engine.snapshot":
                snapshot_requests.append(message["reply_to"])
            elif kind == "engine.stop":
                self.stop(message.get("status"))
            elif kind == "engine.forget":
                forgotten.append(message["author"])
            elif kind == "engine.residents":
                residents_changed = True
            elif kind == "mind.status":
                events += self._mind_status(message["status"], now)
        if residents_changed and not self.stopping.is_set():
            # Added, edited or retired residents: the database says what changed.
            found = await self.db(
                persistence.resident_inputs, self.world_id, self.world, self.last_input
            )
            for inp in found:
                events += self._handle_input({"input": inp}, now, replies)
        for author in forgotten:
            events += self._forget(author, now)
        await self._flush(events, replies)
        if forgotten:
            # The words must not outlive the forget in any snapshot, stored or next.
            self.last_snapshot = self.world.now
            await self.db(persistence.save_snapshot, self.world_id, self.world, self.last_input)
            for author in forgotten:
                await self.db(persistence.redact_snapshots, self.world_id, author)
        if self.outbox and (snapshot_requests or time.monotonic() >= self.next_broadcast):
            await self._broadcast()  # a snapshot must include every event before its seq
        for reply_to in snapshot_requests:
            await self.layer.send(
                reply_to,
                {"type": "world.snapshot", "snapshot": self.public_snapshot(), "seq": self.seq},
            )
        for request in self.world.take_decision_requests():
            await self.layer.send(
                MINDS_CHANNEL,
                {"type": "mind.request", "world": self.world_id, "request": request},
            )
        if self.world.now - self.last_snapshot >= SNAPSHOT_EVERY_MS:
            self.last_snapshot = self.world.now
            await self.db(persistence.save_snapshot, self.world_id, self.world, self.last_input)
        metrics.engine_step(
            self.world_id, (time.perf_counter() - started) * 1000, self.queue.qsize()
        )
        if metrics.due():
            await self.db(metrics.publish_now)

    def _handle_input(self, message: dict, now: int, replies: list) -> list[dict]:
        """Apply one input; accepted ones are queued for the write that precedes their ack."""
        inp = message["input"]
        reply_to = message.get("reply_to")
        client_id = message.get("client_id")
        expires = message.get("expires")
        if expires is not None and time.time() > expires:
            return []  # its socket answered `unavailable` already: the client sends it again
        try:
            self._check_capacity(inp)
            already = self.world.has_applied(inp.get("key"))  # a resend: ack, don't log
            events = self.world.apply(inp, now)
        except InputRefused as refusal:
            if reply_to:
                frame = {"type": "error", "code": refusal.code, "message": refusal.message}
                if client_id:
                    frame["id"] = client_id
                replies.append((reply_to, frame))
            return []
        if not already:
            self.pending.append(
                {
                    "input": inp,
                    "t": now,
                    "user_id": message.get("user_id"),
                    "events": events,
                    "reply_to": reply_to,
                    "client_id": client_id,
                }
            )
        if reply_to and client_id:
            ack = {"type": "ack", "id": client_id}
            if inp.get("type") == "join":
                ack["player"] = inp["actor"]
            replies.append((reply_to, ack))
        return events

    def _forget(self, author: str, now: int) -> list[dict]:
        """Scrub a forgotten person's words from the running world, as forget_user did to
        the database: recent lines dropped (their rows are deleted), conversation lines in
        the engine's state replaced by the FORGOTTEN marker."""
        self.recent = [m for m in self.recent if m.get("author") != author]
        self.outbox = [e for e in self.outbox if not _said_by(e, author)]
        for conv in self.world.conversations.values():
            _redact_lines(conv.messages, author)
        for request in self.world.requests.values():
            _redact_lines(request.get("context", {}).get("messages", []), author)
        return [control.forgotten_event(author, now)]

    def _mind_status(self, status: dict, now: int) -> list[dict]:
        """The minds say which mind the residents think with: a `mind` event when it changed."""
        before = self.mind or selectors.assumed_mind_status()
        self.mind = {"mode": status["mode"], "offline": sorted(status.get("offline", []))}
        if self.mind == {"mode": before["mode"], "offline": sorted(before["offline"])}:
            return []
        return [{"kind": "mind", "t": now, **self.mind}]

    def publish_music(self, url: str | None) -> None:
        """Music published a new track for this world (town.services.publish_music)."""
        if hasattr(self, "meta"):
            self.meta = dataclasses.replace(self.meta, music_url=url)

    def _check_capacity(self, inp: dict) -> None:
        if inp.get("type") == "join" and inp.get("kind") == "human":
            humans = sum(1 for p in self.world.players.values() if p.kind == "human")
            if humans >= self.meta.max_humans and inp.get("actor") not in self.world.players:
                raise InputRefused("world_full", "the town is full right now; try again later")

    async def _flush(self, events: list[dict], replies: list[tuple[str, dict]]) -> None:
        """Persist accepted inputs, messages and history, then broadcast and acknowledge."""
        stepping.name_authors(self.world, events)
        if self.pending or events:
            try:
                self.last_input = await self.db(
                    persistence.record, self.world_id, self.pending, events, self.last_input
                )
            except (DataError, IntegrityError) as exc:
                # Bad data, not the database away: refuse what cannot be written, keep the
                # world running (an OperationalError still stops the runner: see scan).
                log.warning(
                    "world %s: a batch was refused by the database (%s)", self.world_id, exc
                )
                events = await self._record_one_by_one(events, replies)
        self.pending = []
        if events:
            self._remember_messages(events)
            self.outbox += events
            observed = [e for e in events if e["kind"] in OBSERVED_KINDS]
            if observed:
                await self.layer.send(
                    MINDS_CHANNEL,
                    {"type": "mind.events", "world": self.world_id, "events": observed},
                )
        for reply_to, frame in replies:
            await self.layer.send(reply_to, {"type": "world.reply", "frame": frame})

    async def _record_one_by_one(self, events: list[dict], replies: list) -> list[dict]:
        """Write a refused batch input by input; refuse the inputs that still fail (no ack,
        an `invalid` error, their events neither written nor broadcast)."""
        mine = {id(e) for item in self.pending for e in item["events"]}
        written = [e for e in events if id(e) not in mine]  # the step's own events
        if written:
            self.last_input = await self.db(
                persistence.record, self.world_id, [], written, self.last_input
            )
        for item in self.pending:
            try:
                self.last_input = await self.db(
                    persistence.record, self.world_id, [item], item["events"], self.last_input
                )
            except (DataError, IntegrityError) as exc:
                log.warning("world %s: input refused by the database: %s", self.world_id, exc)
                self._refuse_unwritten(item, replies)
                continue
            written += item["events"]
        order = {id(e): n for n, e in enumerate(events)}
        return sorted(written, key=lambda e: order[id(e)])

    def _refuse_unwritten(self, item: dict, replies: list) -> None:
        reply_to, client_id = item.get("reply_to"), item.get("client_id")
        if not (reply_to and client_id):
            return
        frame = {
            "type": "error",
            "code": "invalid",
            "message": "that could not be stored; nothing was changed",
            "id": client_id,
        }
        for n, (to, sent) in enumerate(replies):
            if to == reply_to and sent.get("id") == client_id and sent["type"] == "ack":
                replies[n] = (reply_to, frame)
                return
        replies.append((reply_to, frame))

    async def _broadcast(self) -> None:
        """Send the written events to every watcher as one `events` frame."""
        events, self.outbox = self.outbox, []
        self.seq += 1
        self.next_broadcast = time.monotonic() + BROADCAST_EVERY
        await self.layer.group_send(
            world_group(self.world_id), control.events_message(events, seq=self.seq)
        )

    def _remember_messages(self, events: list[dict]) -> None:
        for event in events:
            if event["kind"] == "message":
                self.recent.append({k: v for k, v in event.items() if k != "kind"})
        del self.recent[:-RECENT_MESSAGES]

    def public_snapshot(self) -> dict:
        """The `snapshot` frame's body for a client joining now."""
        now = self.world.now
        return selectors.snapshot_body(self.meta, self.world, now, self.recent, self.mind)


class EngineHost:
    """Takes the leases of running worlds and runs their engines."""

    def __init__(self) -> None:
        self.runners: dict[int, tuple[WorldRunner, asyncio.Task]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        self.layer = get_channel_layer()
        self.leases = LeaseHolder()
        wake = asyncio.Event()
        self.wake = wake
        channel = await self.layer.new_channel()
        listener = asyncio.ensure_future(self._listen(channel, wake))
        control.subscribe(self.on_control)
        down_since: float | None = None
        try:
            while not stop.is_set():
                wake.clear()  # before the scan: a wake during it calls for another one
                try:
                    await self.scan(stop)
                except (DatabaseError, psycopg.Error, OSError) as exc:
                    # The database is away (restart, network): keep trying; the runners
                    # stopped with their leases.
                    if down_since is None:
                        down_since = time.monotonic()
                        log.warning("engine: database unavailable (%s); retrying", exc)
                else:
                    if down_since is not None:
                        log.info(
                            "engine: database back after %.1f s", time.monotonic() - down_since
                        )
                        down_since = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(stop.wait(), wake.wait()), SCAN_EVERY)
        finally:
            control.unsubscribe(self.on_control)
            listener.cancel()
            with contextlib.suppress(Exception):  # the layer may be down
                await self.layer.group_discard(ENGINES_GROUP, channel)
            for runner, task in self.runners.values():
                runner.stopping.set()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 10)
            await self.leases.close()

    async def on_control(self, notice: dict) -> None:
        """A lever pulled anywhere (town/control.py): act on the worlds this host runs."""
        action, world_id = notice.get("action"), notice.get("world")
        held = self.runners.get(world_id)
        runner = held[0] if held else None
        if action in control.STOPS or action in control.QUIET_STOPS:
            if runner is not None:
                runner.stop(control.STOPS.get(action))  # its lease frees once it is done
        elif action in control.WAKES:
            self.wake.set()
        elif runner is not None and action == "forget":
            runner.queue.put_nowait({"type": "engine.forget", "author": notice["author"]})
        elif runner is not None and action == "residents":
            runner.queue.put_nowait({"type": "engine.residents"})
        elif runner is not None and action == "events":
            for event in notice.get("events", []):
                if event.get("kind") == "music":
                    runner.publish_music(event.get("url"))

    async def _listen(self, channel: str, wake: asyncio.Event) -> None:
        await rejoin.rejoin(self.layer, ENGINES_GROUP, channel, first=True)

        async def look_again() -> None:
            wake.set()

        while True:
            await rejoin.receive(self.layer, channel, ENGINES_GROUP, look_again)
            wake.set()

    async def _lost_leases(self) -> None:
        """The lease connection died, so PostgreSQL freed our leases: stop every runner
        (another engine may take the worlds now), then connect again."""
        if self.runners:
            log.warning(
                "engine: lost the lease connection; stopping %d world(s)", len(self.runners)
            )
        for runner, _task in self.runners.values():
            runner.stopping.set()
        for world_id, (_runner, task) in list(self.runners.items()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), 10)
            if not task.done():
                continue  # still finishing: reaped by a later scan
            if not task.cancelled() and task.exception():
                log.warning("world %s engine stopped: %s", world_id, task.exception())
            del self.runners[world_id]
        with contextlib.suppress(Exception):
            await self.leases.close()
        self.leases = LeaseHolder()
        await self.leases.open()
        log.info("engine: lease connection open")

    async def scan(self, stop: asyncio.Event) -> None:
        """Start runners for running worlds we can lease; reap finished ones."""
        if self.leases.conn is None or not await self.leases.alive():
            await self._lost_leases()
        for world_id, (_runner, task) in list(self.runners.items()):
            if task.done():
                del self.runners[world_id]
                if not task.cancelled() and task.exception():
                    log.error("world %s engine crashed", world_id, exc_info=task.exception())
                await self.leases.release(world_id)
        running = set(await database_sync_to_async(selectors.running_world_ids)())
        for world_id, (runner, _task) in self.runners.items():
            if world_id not in running:
                # Frozen or archived while this host missed the notice (its listener was
                # reconnecting): the database's word stands, and the pages hear it.
                runner.stop(check_status=True)
        for world_id in sorted(running):
            if world_id in self.runners or not await self.leases.take(world_id):
                continue
            runner = WorldRunner(world_id, self.layer)
            task = asyncio.ensure_future(runner.run(stop))
            # Reaped (its lease freed) by a scan at once, not up to SCAN_EVERY later: a kick
            # waits for the lease, and another engine may be waiting to take the world.
            # (A crashed one waits for the next scan: no restart loop while Redis is away.)
            task.add_done_callback(lambda _task, r=runner: r.stopping.is_set() and self.wake.set())
            self.runners[world_id] = (runner, task)


def _said_by(event: dict, author: str) -> bool:
    return event.get("kind") == "message" and event.get("author") == author


def _redact_lines(lines: list[dict], author: str) -> None:
    for line in lines:
        if line.get("author") == author:
            line["text"] = FORGOTTEN


async def _first(*aws) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
