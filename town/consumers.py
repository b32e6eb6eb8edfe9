"""The world WebSocket (PROTOCOL.md): validates frames and hands them to the engine.

Consumers are thin: they check who may do what, rate-limit, and forward inputs to the
engine that holds the world's lease; the engine answers with ack / error and broadcasts
events to everyone watching.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from autobahn.exception import Disconnected
from autobahn.websocket.protocol import WebSocketProtocol
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from town import agent_sockets, metrics, ratelimit, selectors, services
from town.backpressure import SendBuffer, daphne_protocol
from town.groups import engine_group, human_pid, world_group
from town.hub import hub_for
from town.protocol import PLAYER_TYPES, STAFF_TYPES, ProtocolError, parse_frame
from town.ratelimit import TokenBucket
from town.rejoin import layer_back
from town.text import BadText, clean_name
from town.viewport import FAR_EVERY, Frame, Interest, View, encode, send_now, shares_deflate

log = logging.getLogger(__name__)

SNAPSHOT_WAIT = 1.5  # seconds to wait for the engine before building a snapshot from the database
GARBAGE_LIMIT = 20  # refused frames within GARBAGE_WINDOW before the socket is closed
GARBAGE_WINDOW = 10.0
POLICY_CLOSE = 4008
HEARTBEAT_WRITE_EVERY = 30.0
# Every forwarded input gets exactly one answer: the engine's ack or error, or after this
# many seconds without one, `error unavailable` (and the engine then drops the input).
ANSWER_WITHIN = 5.0
# Per process and world: one heartbeat write stands for every socket watching a running
# world, so a crowd connecting at once does not queue hundreds of identical writes.
_last_world_heartbeat: dict[int, float] = {}
# Broadcasts and replies whose handlers never touch the database (see WorldConsumer.dispatch).
NO_DATABASE_MESSAGES = frozenset({"world.events", "world.reply", "world.snapshot"})


class WorldConsumer(AsyncWebsocketConsumer):
    """One watcher (spectator or player) of one world."""

    world_id: int | None = None
    slots: list[str] = []
    counted = False
    released = False
    hub = None
    direct = None  # daphne's WebSocket protocol, for broadcasts encoded once per process
    agent = None  # accounts.services.AgentIdentity of a bearer-token socket (docs/agents.md)

    async def __call__(self, scope, receive, send) -> None:
        """Run the socket; whatever ends it (a crash included), its slots and hub entry go."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._release()

    # Channels assigns `channel_receive` (the layer's receive for our channel) before the
    # first message; wrapping it here keeps a channel-layer outage (Redis down) from
    # killing the consumer: it waits, rejoins its group and resyncs instead.
    @property
    def channel_receive(self):
        return self._resilient_receive

    @channel_receive.setter
    def channel_receive(self, receive) -> None:
        self._layer_receive = receive

    async def dispatch(self, message: dict) -> None:
        """Deliver broadcasts straight to their handler.

        Channels' dispatch first closes stale database connections through a hop to the
        single sync thread; for the events every watcher gets many times a second (and that
        never touch the database) that hop was the web role's bottleneck: hundreds of
        sockets queued behind one thread. Everything else keeps Channels' path.
        """
        try:
            if message["type"] in NO_DATABASE_MESSAGES:
                await getattr(self, get_handler_name(message))(message)
            else:
                await super().dispatch(message)
        except Exception:
            if message["type"] in ("websocket.connect", "websocket.disconnect"):
                raise
            # One bad message must not kill the socket: log it; the client's own frames
            # are answered in receive(), broadcasts lost here are healed by a resync.
            log.exception("socket on world %s: %s not handled", self.world_id, message["type"])

    async def _resilient_receive(self) -> dict:
        while True:
            try:
                return await self._layer_receive()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("channel layer receive failed (%s); rejoining", exc)
                await self._rejoin()

    async def _rejoin(self) -> None:
        """Wait for the channel layer, then resync (the hub rejoins the world's group)."""
        # Our own channel is in no group, so leaving one is a harmless probe.
        group = world_group(self.world_id) if self.world_id is not None else "town.probe"
        await layer_back(self.channel_layer, group, self.channel_name)
        if self.world_id is not None:  # not yet set up: connect() sends the first snapshot
            await self.request_snapshot()
            log.info("channel layer back; socket on world %s resyncs", self.world_id)

    async def connect(self) -> None:
        try:
            await self._connect()
        except Exception:
            log.exception("handshake refused: the socket could not be set up")
            await self._release()
            await self.close()

    async def _connect(self) -> None:
        world_id = self.scope["url_route"]["kwargs"].get("world_id")
        try:
            self.world = await database_sync_to_async(selectors.world_or_current)(world_id)
        except DatabaseError as exc:
            log.warning("handshake refused, database unavailable: %s", exc)
            await self.close()
            return
        if self.world is None:
            await self.close()  # before accept: the handshake is refused
            return
        self.status = self.world.status
        self.user = self.scope.get("user")
        self.signed_in = bool(self.user and self.user.is_authenticated)
        self.pid = human_pid(self.user.pk) if self.signed_in else None
        self.slots, refusal = await ratelimit.run(
            ratelimit.claim_connection,
            ratelimit.client_ip(self.scope),
            self.user.pk if self.signed_in else None,
            self.channel_name,
        )
        self.agent = self.scope.get("agent_token")
        if self.agent is not None and not refusal:
            slot, refusal = await ratelimit.run(
                agent_sockets.claim_slot, self.agent.token_id, self.channel_name
            )
            if refusal:
                await ratelimit.run(ratelimit.release_connection, self.slots)
                self.slots = []
            elif slot:
                self.slots.append(slot)
        if refusal:
            metrics.count("refused:connections")
            await self.accept()
            await self.send_json({"type": "error", "code": "rate_limited", "message": refusal})
            await self.close(code=POLICY_CLOSE)
            return
        self.present = False
        self.synced = False
        self.snapshot_seq = -1
        self.buffer: list[dict] = []
        self.refusals: list[float] = []
        self.last_heartbeat_write = 0.0
        self.awaiting: dict[str, list[float]] = {}  # client id -> deadlines of forwarded inputs
        self.send_buffer = SendBuffer(
            on_drained=self._caught_up,
            on_stuck=self._stuck,
            stuck_after=settings.TOWN_SLOW_CLIENT_SECONDS,
        )
        self.chores: set[asyncio.Task] = set()  # short tasks started from callbacks
        self.inputs = TokenBucket(rate=8, burst=20)
        self.chat = TokenBucket(rate=0.5, burst=5)
        self.invites = TokenBucket(rate=0.2, burst=3)
        self.views = TokenBucket(rate=4, burst=10)
        self.interest = Interest(self.pid)
        self.held: list[dict] = []  # events waiting while the socket's last frame is unsent
        self.far_due = 0.0  # when far movement may next go out as a summary
        try:
            self.hub = hub_for(self.channel_layer, self.world.pk)
            await self.hub.watch(self)
        except Exception as exc:
            log.warning("handshake refused, channel layer unavailable: %s", exc)
            await ratelimit.run(ratelimit.release_connection, self.slots)
            self.slots = []
            await self.close()
            return
        self.world_id = self.world.pk
        if self.agent is not None:
            agent_sockets.register(self.agent.token_id, self)
        await self.accept()
        self.send_buffer.attach(self.base_send, settings.TOWN_SEND_BUFFER_BYTES)
        self.direct = daphne_protocol(self.base_send)  # None under Channels' test communicator
        metrics.connected(self.world_id, 1)
        self.counted = True
        self.housekeeping = asyncio.ensure_future(self._housekeeping())
        await self.request_snapshot()
        await self.record_heartbeat()

    async def disconnect(self, code: int) -> None:
        await self._release()

    async def _release(self) -> None:
        """Give back everything the socket holds; safe to call on every exit path, twice."""
        if self.released:
            return
        self.released = True
        for name in ("fallback", "housekeeping"):
            task = getattr(self, name, None)
            if task:
                task.cancel()
        for task in getattr(self, "chores", ()):
            task.cancel()
        if getattr(self, "send_buffer", None):
            self.send_buffer.stopProducing()
        if self.hub is not None:
            with contextlib.suppress(Exception):  # the layer may be why we are closing
                await self.hub.unwatch(self)
        if self.agent is not None:
            agent_sockets.unregister(self.agent.token_id, self)
        if self.counted:
            metrics.connected(self.world_id, -1)
            self.counted = False
        if self.slots:
            slots, self.slots = self.slots, []
            await ratelimit.run(ratelimit.release_connection, slots)

    async def _housekeeping(self) -> None:
        """Keep our connection slots alive and this process's metrics published."""
        while True:
            await asyncio.sleep(ratelimit.SLOT_REFRESH)
            await ratelimit.run(ratelimit.refresh_connection, self.slots)
            if metrics.due():
                await ratelimit.run(metrics.publish_now)

    def _chore(self, coro) -> None:
        """Run a short coroutine from a callback, keeping a reference until it is done."""
        if self.released:
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self.chores.add(task)
        task.add_done_callback(self.chores.discard)

    def _check_overdue(self) -> None:
        if self.awaiting and not self.released:
            self._chore(self._answer_overdue())

    async def _answer_overdue(self) -> None:
        """Inputs the engine left unanswered past their deadline get `unavailable`."""
        now = time.monotonic()
        for fid, deadlines in list(self.awaiting.items()):
            while deadlines and deadlines[0] <= now:
                deadlines.pop(0)
                metrics.count("refused:unanswered")
                await self.send_json(
                    {
                        "type": "error",
                        "code": "unavailable",
                        "message": "the world did not answer in time; send it again",
                        "id": fid,
                    }
                )
            if not deadlines:
                del self.awaiting[fid]

    def _caught_up(self) -> None:
        """The client read what was waiting: events it missed meanwhile come as a snapshot."""
        if getattr(self, "missed_events", False):
            self.missed_events = False
            self._chore(self.request_snapshot())

    def _stuck(self) -> None:
        """Backed up for TOWN_SLOW_CLIENT_SECONDS: the client reconnects when it can."""
        log.info("closing a socket on world %s: it stopped reading", self.world_id)
        metrics.count("closed:slow")
        self.send_buffer.abort()

    # -- resync ----------------------------------------------------------------------

    async def request_snapshot(self) -> None:
        self.synced = False
        if getattr(self, "fallback", None):
            self.fallback.cancel()
        self.fallback = asyncio.ensure_future(self._snapshot_from_database_later())
        try:
            await self.channel_layer.group_send(
                engine_group(self.world_id),
                {"type": "engine.snapshot", "reply_to": self.channel_name},
            )
        except Exception as exc:  # no engine reachable: the database snapshot stands in
            log.warning("snapshot request not sent: %s", exc)

    async def _snapshot_from_database_later(self) -> None:
        await asyncio.sleep(SNAPSHOT_WAIT)
        if not self.synced:
            try:
                snap = await database_sync_to_async(selectors.stored_snapshot)(self.world_id)
            except DatabaseError as exc:
                log.warning("no snapshot for the socket, database unavailable: %s", exc)
                return
            if not self.synced:
                await self.send_snapshot(snap, seq=-1)

    async def world_snapshot(self, message: dict) -> None:
        """The engine's answer to our snapshot request."""
        if not self.synced:
            await self.send_snapshot(message["snapshot"], message["seq"])

    async def send_snapshot(self, snap: dict, seq: int) -> None:
        self.synced = True
        self.snapshot_seq = seq
        self.status = snap["world"]["status"]
        self.present = self.pid is not None and any(p["id"] == self.pid for p in snap["players"])
        await self.send_json(
            {
                "type": "hello",
                "world": self.world_id,
                "you": {
                    "user": self.user.get_username() if self.signed_in else None,
                    "player": self.pid if self.present else None,
                    # Only on agents' sockets: a person's `you` is unchanged.
                    **({"agent": True, "label": self.agent.label} if self.agent else {}),
                },
                "server_time": int(time.time() * 1000),
                "mind": snap.get("mind", "offline"),
            }
        )
        await self.send_json({"type": "snapshot", **snap})
        self.held = []
        self.interest.reset()
        buffered, self.buffer = self.buffer, []
        for message in buffered:
            await self.world_events(message)

    # -- from the engine ---------------------------------------------------------------

    async def world_events(self, message: dict) -> None:
        """A batch of events broadcast to everyone watching the world (town/hub.py)."""
        if not self.synced:
            self.buffer.append(message)
            return
        keep = self._unseen(message)
        if keep == ():
            return  # already part of the snapshot this client got
        if message.get("status"):
            self.status = message["status"]
        if self.pid:
            if self.pid in message.get("joined", ()):
                self.present = True
            if self.pid in message.get("left", ()):
                self.present = False
        if self.send_buffer.backed_up:
            self.missed_events = True  # resync once the client has read what it has
            self.held = []
            metrics.count("dropped:slow")
            return
        events = message.get("events")
        if events is None:  # not through a hub (nothing to choose from)
            await self._write(message["text"].encode())
            return
        chosen = self.interest.choose(events, message["moves"], keep)
        if self.interest.far:
            self.hub.later(self)
        if chosen == ():
            return
        if self.held or self.send_buffer.unsent():
            # The last frame has not left yet: what comes meanwhile goes out as one frame
            # at the hub's next round (hub.later), not one frame per broadcast.
            self.held += events if chosen is None else [events[i] for i in chosen]
            self.hub.later(self)
            return
        if chosen is None:
            # Encoded and framed once for every socket of the process.
            await self._write(message["payload"], message["frame"])
            return
        payload = message["encoded"].get(chosen)
        if payload is None:
            payload = message["encoded"][chosen] = encode([events[i] for i in chosen])
        frame = message["framed"].get(chosen)
        if frame is None and self.direct is not None:
            frame = message["framed"][chosen] = Frame(payload)
        await self._write(payload, frame)

    def _unseen(self, message: dict) -> tuple | None:
        """Indices of the broadcast's events this socket's snapshot did not hold (None: all)."""
        parts = message.get("parts")
        if parts is None:
            seq = message.get("seq")
            return () if seq is not None and seq <= self.snapshot_seq else None
        if all(seq is None or seq > self.snapshot_seq for seq, _ in parts):
            return None
        keep: list[int] = []
        start = 0
        for seq, count in parts:
            if seq is None or seq > self.snapshot_seq:
                keep += range(start, start + count)
            start += count
        return tuple(keep)

    def due(self, now: float) -> bool:
        """Whether flush() has anything to do now (the hub asks ten times a second; most
        sockets only hold far movement, due every FAR_EVERY seconds)."""
        return self.released or bool(self.held) or not self.interest.far or now >= self.far_due

    async def flush(self, now: float, shared: dict) -> bool:
        """Send what was held (the hub calls this every 0.1 s); True when nothing is left.

        Held events go out as one frame even if the last one has not left yet: a client
        that stopped reading then fills its buffer, and the slow-client rules take over
        (town/backpressure.py: no events while backed up, a snapshot after, closed if it
        stays stuck).
        """
        if self.released:
            return True
        if self.send_buffer.backed_up:
            if self.held:  # the snapshot after it drains holds all of this
                self.missed_events = True
                self.held = []
            return not self.interest.far
        if self.held:
            held, self.held = self.held, []
            await self._write(encode(held))
            return not self.interest.far
        if self.interest.far and now >= self.far_due:
            # On a common 2 s beat, so sockets holding the same moves share one encoding.
            self.far_due = (now // FAR_EVERY + 1) * FAR_EVERY
            far = self.interest.take_far()
            key = tuple(id(e) for e in far)
            if key not in shared:
                payload = encode(far, summary=True)
                # `far` stays referenced for the round, so no id in a key is reused.
                shared[key] = (payload, Frame(payload), far)
            payload, frame, _ = shared[key]
            await self._write(payload, frame)
        return not self.interest.far

    async def _write(self, payload: bytes, frame: Frame | None = None) -> None:
        """An `events` frame, straight to daphne's WebSocket when we have it.

        `frame`: the same payload framed once per process (town/viewport.Frame). Every
        socket without compression gets the same bytes, and so does every socket with
        permessage-deflate without server context takeover (the compressed frame): they go
        straight to the connection, with no framing, compression, checks or logging per
        socket (autobahn's sendMessage).
        """
        direct = self.direct
        if direct is None:
            await self.send(text_data=payload.decode())
            return
        try:
            compression = direct._perMessageCompress
            if (
                frame is not None
                and direct.state == WebSocketProtocol.STATE_OPEN
                and not direct.send_queue
                and (compression is None or shares_deflate(compression))
            ):
                send_now(direct.transport, frame.plain if compression is None else frame.deflated)
            else:
                # Through autobahn (a frame of this socket's own, or the socket is
                # closing): bytes to the WebSocket itself rather than the ASGI send chain,
                # which re-encoded the text and ran four coroutines per socket and event.
                direct.sendMessage(payload, False)
        except Exception:  # closing: daphne's disconnect follows
            log.debug("broadcast to a closing socket dropped", exc_info=True)

    async def world_reply(self, message: dict) -> None:
        """An ack or error for one of our inputs."""
        frame = message["frame"]
        fid = frame.get("id")
        if fid is not None:
            deadlines = self.awaiting.get(fid)
            if not deadlines:
                # Answered already (the deadline passed and the engine drops such inputs;
                # an answer racing that deadline must not be a second answer).
                log.info("late answer to %r on world %s dropped", fid, self.world_id)
                return
            deadlines.pop(0)
            if not deadlines:
                del self.awaiting[fid]
        # A join's ack can arrive before the broadcast of `player_joined` (broadcasts are
        # coalesced, acks are not): the ack alone proves the character is in the world.
        if frame.get("type") == "ack" and self.pid and frame.get("player") == self.pid:
            self.present = True
        await self.send_json(frame)

    async def world_resync(self, message: dict) -> None:
        """The engine restarted: ask for a fresh snapshot."""
        await self.request_snapshot()

    # -- from the client ---------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = None
        try:
            frame = parse_frame(text_data, bytes_data)
            await self.handle(frame)
        except ProtocolError as refusal:
            await self.refuse(refusal)
        except DatabaseError as exc:  # e.g. freeze while the database restarts
            log.warning("frame not handled, database unavailable: %s", exc)
            await self.refuse(
                ProtocolError(
                    "unavailable",
                    "the town's database is unavailable; try again",
                    getattr(frame, "id", None),
                )
            )
        except Exception:
            # Whatever went wrong, the frame gets its one answer and the socket lives on.
            log.exception("frame not handled on world %s", self.world_id)
            await self.refuse(
                ProtocolError(
                    "unavailable",
                    "the server could not handle this frame; try again",
                    getattr(frame, "id", None),
                )
            )

    async def refuse(self, refusal: ProtocolError) -> None:
        frame = refusal.frame()
        metrics.count(f"refused:{frame.get('code')}")
        await self.send_json(frame)
        now = time.monotonic()
        self.refusals = [t for t in self.refusals if now - t < GARBAGE_WINDOW] + [now]
        if len(self.refusals) > GARBAGE_LIMIT:
            await self.send_json(
                {"type": "error", "code": "rate_limited", "message": "too many bad frames"}
            )
            await self.close(code=POLICY_CLOSE)

    async def handle(self, frame) -> None:
        kind = frame.type
        if kind == "heartbeat":
            await self.record_heartbeat()
            return
        if kind == "view":
            await self.show(frame)
            return
        fid = frame.id
        if not self.signed_in:
            raise ProtocolError("not_signed_in", "sign in to take part", fid)
        if not self.inputs.take():
            raise ProtocolError("rate_limited", "slow down: too many inputs", fid)
        if kind in STAFF_TYPES:
            if self.agent is not None:  # a token grants no staff powers, whoever owns it
                raise ProtocolError("forbidden", "agents cannot freeze or resume the world", fid)
            await self.control(kind, fid)
            return
        if self.status != "running":
            raise ProtocolError("world_frozen", f"the world is {self.status}", fid)
        if kind in PLAYER_TYPES and not self.present:
            raise ProtocolError("not_player", "join the world first", fid)
        if kind == "say" and not self.chat.take():
            raise ProtocolError("rate_limited", "slow down: too many messages", fid)
        if kind == "invite" and not self.invites.take():
            raise ProtocolError("rate_limited", "slow down: too many invitations", fid)
        # The same user's other sockets (and other web processes) share these.
        refusal = await ratelimit.run(ratelimit.check_user_frame, self.user.pk, kind)
        if not refusal and self.agent is not None:
            refusal = await ratelimit.run(agent_sockets.check_frame, self.agent.token_id, kind)
        if refusal:
            raise ProtocolError("rate_limited", refusal, fid)
        payload = frame.model_dump(exclude={"id"}, exclude_none=True)
        if kind == "join":
            payload.update(await self.join_fields(frame))
        deadline = time.monotonic() + ANSWER_WITHIN
        try:
            await self.channel_layer.group_send(
                engine_group(self.world_id),
                {
                    "type": "engine.input",
                    "input": {**payload, "actor": self.pid, "key": f"u{self.user.pk}:{fid}"},
                    "client_id": fid,
                    "user_id": self.user.pk,
                    "reply_to": self.channel_name,
                    # Wall clock (shared by hosts): the engine drops the input after this,
                    # as the client has been told `unavailable` by then.
                    "expires": time.time() + ANSWER_WITHIN,
                },
            )
        except Exception as exc:
            log.warning("input not forwarded, channel layer unavailable: %s", exc)
            raise ProtocolError(
                "unavailable", "the world cannot be reached right now; send it again", fid
            ) from None
        self.awaiting.setdefault(fid, []).append(deadline)
        asyncio.get_running_loop().call_later(ANSWER_WITHIN + 0.05, self._check_overdue)
        metrics.count("inputs")
        if kind == "say":
            metrics.count("chat")
        if metrics.due():
            await ratelimit.run(metrics.publish_now)

    async def show(self, frame) -> None:
        """The page says which tiles it shows: far movement becomes a summary (viewport.py)."""
        if not self.views.take():
            raise ProtocolError("rate_limited", "slow down: too many view frames", frame.id)
        corners = (frame.x0, frame.y0, frame.x1, frame.y1)
        self.interest.show(None if frame.x0 is None else View.around(*corners))
        if self.interest.far and self.hub is not None:
            self.far_due = 0.0  # what the page now shows may be held: send it at once
            self.hub.later(self)
        # Exactly one answer, as for every frame but heartbeat: without an id, an ack without.
        await self.send_json({"type": "ack", **({"id": frame.id} if frame.id else {})})

    async def join_fields(self, frame) -> dict:
        characters = selectors.character_names()
        character = frame.character or characters[self.user.pk % len(characters)]
        if character not in characters:
            raise ProtocolError("invalid", f"unknown character {character!r}", frame.id)
        fields = {"name": frame.name or self.default_name(), "character": character}
        # A guest agent is a person's character to the engine and the minds (kind "human"),
        # marked so pages can show it (docs/agents.md).
        return {**fields, "kind": "human", **({"guest": "agent"} if self.agent else {})}

    def default_name(self) -> str:
        """The in-world name of someone who chose none: their username, if it can be one."""
        try:
            return clean_name(self.user.get_username()[:32])
        except BadText:
            return f"Visitor {self.user.pk}"

    async def control(self, kind: str, fid: str) -> None:
        if not self.user.is_staff:
            raise ProtocolError("forbidden", "only staff can freeze or resume the world", fid)
        action = services.freeze_world if kind == "freeze" else services.resume_world
        try:
            await database_sync_to_async(action)(self.world_id, actor=self.user)
        except services.WrongState as exc:
            raise ProtocolError("conflict", str(exc), fid) from None
        await self.send_json({"type": "ack", "id": fid})

    async def revoked(self) -> None:
        """Its agent token was revoked: say so and close (town/agent_sockets.py)."""
        await self.send_json(
            {"type": "error", "code": "forbidden", "message": "this agent token was revoked"}
        )
        await self.close(code=agent_sockets.REVOKED_CLOSE)

    async def record_heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_heartbeat_write < HEARTBEAT_WRITE_EVERY:
            return
        self.last_heartbeat_write = now
        recent = now - _last_world_heartbeat.get(self.world_id, -1e9) < HEARTBEAT_WRITE_EVERY / 3
        if recent and self.status == "running":
            return
        _last_world_heartbeat[self.world_id] = now
        try:
            await database_sync_to_async(services.record_heartbeat)(self.world_id)
        except DatabaseError as exc:  # the database is away: the next heartbeat tries again
            log.warning("heartbeat not recorded: %s", exc)
            self.last_heartbeat_write = 0.0
            _last_world_heartbeat.pop(self.world_id, None)

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        """Channels' send, except that a frame for a socket the client has just closed is
        dropped quietly: daphne's disconnect message follows, and a closed socket is not an
        error of ours (autobahn raises Disconnected for it)."""
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Disconnected:
            log.debug("frame for a closed socket dropped")
