"""Malformed and hostile frames at live consumers of one running world: every frame that asks
for something gets exactly one answer, the engine never restarts, and afterwards honest
players in that same world still join, move and talk."""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections import Counter

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wsclient import Socket, make_user
from town.protocol import KNOWN_TYPES

pytestmark = [pytest.mark.django_db(transaction=True)]

ERROR_CODES = {
    "bad_json",
    "too_large",
    "unknown_type",
    "invalid",
    "not_signed_in",
    "not_player",
    "forbidden",
    "rate_limited",
    "world_full",
    "world_frozen",
    "not_found",
    "conflict",
    "unavailable",  # docs/protocol.md: the engine or the database cannot be reached
}
MAX_FRAME_BYTES = 4096  # PROTOCOL.md: "a client frame over 4 KiB"
ANSWER_TIMEOUT = 10.0  # the consumer answers a forwarded input it heard nothing about in 5 s
# A valid frame is one flat object; the server may refuse frames nested past its small
# limit (town/protocol.py) before reading their id.
MAX_VALID_DEPTH = 8
PER_SOCKET = 15  # frames per socket: the garbage limit (20 refusals in 10 s) is not reached

# Text no visible field needs: NUL and other controls, direction overrides, lone surrogates.
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
HOSTILE_STRINGS = [
    "\u0000",
    "a\u0000b",
    "\u202eexe.txt",
    "\ud800",
    "\udc00\ud800",
    "bell\u0007\u001b[2J",
    "\u200b",
    "\u2066x\u2069",
]


def misleading(value: object) -> list[str]:
    """Strings inside `value` that no watcher should be shown: control characters (NUL
    included), direction overrides and isolates, lone surrogates."""
    found, todo = [], [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            todo += item
        elif isinstance(item, str) and any(
            unicodedata.category(c) in ("Cc", "Cs") or c in BIDI for c in item
        ):
            found.append(item)
    return found


def dumps(frame: object) -> str:
    """JSON as a client sends it: non-ASCII escaped, so lone surrogates travel as `\\ud800`."""
    return json.dumps(frame)


def hostile_frames() -> list[str]:
    """The named hostile inputs: control characters, bidi overrides and lone surrogates in
    every string field, deeply nested JSON, raw control characters, odd sizes."""
    frames = []
    for n, bad in enumerate(HOSTILE_STRINGS):
        frames += [
            dumps({"type": "join", "id": f"hn{n}", "name": bad}),
            dumps({"type": "join", "id": f"hc{n}", "character": bad}),
            dumps({"type": "move", "id": bad, "x": 1, "y": 1}),
            dumps({"type": "say", "id": f"ht{n}", "conversation": "c1", "text": bad}),
            dumps({"type": "say", "id": f"hv{n}", "conversation": bad, "text": "hi"}),
            dumps({"type": "accept", "id": f"ha{n}", "conversation": bad}),
            dumps({"type": "typing", "id": f"hy{n}", "conversation": bad}),
            dumps({"type": "leave_conversation", "id": f"hl{n}", "conversation": bad}),
            dumps({"type": "invite", "id": f"hi{n}", "to": bad}),
            dumps({"type": bad, "id": f"hk{n}"}),
            dumps({bad: "heartbeat"}),
        ]
    frames += [
        "[" * 1900 + "]" * 1900,
        '{"a":' * 600 + "1" + "}" * 600,
        '{"type":"say","id":"deep","conversation":"c1","text":' + "[" * 1500 + "]" * 1500 + "}",
        '{"type":"say","id":"deep5","conversation":"c1","text":' + "[" * 500 + "]" * 500 + "}",
        '{"type":"join","id":"deepn","name":' + '{"a":' * 400 + "1" + "}" * 400 + "}",
        '{"type": "say", "id": "raw", "conversation": "c1", "text": "a\u0000b"}',  # raw NUL
        "\u0000",
        "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        '"\\ud800"',
        '{"type": "heartbeat", "id": "\\ud800"}',
        '{"type": "heartbeat"' + ', "type": "heartbeat"' * 300 + "}",
        dumps({"type": "say", "id": "x" * 64, "conversation": "c1", "text": "é" * 1400}),
        dumps({"type": "say", "id": "huge", "conversation": "c1", "text": "é" * 3000}),
        dumps({"type": "move", "id": "i" * 65, "x": 1, "y": 1}),
        dumps({"type": "move", "id": "", "x": 1, "y": 1}),
        dumps({"type": "move", "id": 7, "x": 1, "y": 1}),
        dumps({"type": "move", "id": "big", "x": 2**70, "y": -1}),
        dumps({"type": "move", "id": "flt", "x": 1.5, "y": float("inf")}),
        dumps({"type": "heartbeat"}),
    ]
    return frames


def depth(value: object) -> int:
    """How deeply a JSON value nests arrays and objects (without recursing: frames may nest
    deeper than Python's recursion limit)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level + 1)
            todo += [(v, level + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def expected_answer(text: str) -> tuple[str, str] | None:
    """What the protocol promises for one client frame: None for a valid heartbeat (no
    answer); ("id", id) when the answer must carry the frame's string id; ("anon", "") when
    it cannot (not JSON, too large, not an object, no string id); ("either", id) for a frame
    nested deeper than any valid one, which may be refused before its id is read."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        return ("anon", "")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        return ("anon", "")
    if not isinstance(raw, dict):
        return ("anon", "")
    if raw == {"type": "heartbeat"}:
        return None
    fid = raw.get("id")
    if not isinstance(fid, str) or not fid:
        return ("anon", "")
    return ("either", fid) if depth(raw) > MAX_VALID_DEPTH else ("id", fid)


class Damage:
    """Everything the fuzzing found wrong, reported together at the end."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, problem: str) -> None:
        self.problems.append(problem)


async def answers_to(world_id: int, cookie: bytes | None, frames: list[str], damage: Damage):
    """Send `frames` on one new socket and check each gets exactly one well-formed answer."""
    sock = Socket(world_id, cookie)
    comm = sock.comm
    connected, _ = await comm.connect(timeout=5)
    first = [await comm.receive_output(timeout=5) for _ in range(2)] if connected else []
    if [json.loads(f.get("text", "{}")).get("type") for f in first] != ["hello", "snapshot"]:
        # e.g. sockets that crashed earlier still hold the user's connection slots
        damage.add(f"a new socket was not served: {first or 'handshake refused'}")
        return
    want: dict[str, Counter[str]] = {"id": Counter(), "either": Counter(), "anon": Counter()}
    for text in frames:
        expected = expected_answer(text)
        if expected is not None:
            want[expected[0]][expected[1]] += 1
        await comm.send_to(text_data=text)
    wanted = sum(sum(c.values()) for c in want.values())
    got_ids: Counter[str] = Counter()
    got_anon = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ANSWER_TIMEOUT
    settle = None  # once everything is in, wait a moment more for duplicates

    def where() -> str:
        shown = [f[:60] + ("…" if len(f) > 60 else "") for f in frames]
        return f"in {len(frames)} frames {'signed in' if cookie else 'as a spectator'}: {shown}"

    while True:
        answered = got_anon + sum(got_ids.values())
        if settle is None and answered >= wanted:
            settle = loop.time() + 0.1
        if loop.time() > (settle if settle is not None else deadline):
            break
        try:
            if await comm.receive_nothing(timeout=0.02):
                continue
            out = await comm.receive_output(timeout=1)
        except Exception as exc:  # the app's own exception: the consumer crashed
            damage.add(f"the consumer died ({exc!r:.200}) {where()}")
            return
        if out["type"] == "websocket.close":
            damage.add(f"closed with {out.get('code')} before every answer came {where()}")
            return
        reply = json.loads(out["text"])
        if reply["type"] in ("hello", "snapshot"):
            damage.add(f"a resync ({reply['type']}): the engine restarted {where()}")
        elif reply["type"] in ("ack", "error"):
            if reply["type"] == "error" and (
                reply.get("code") not in ERROR_CODES
                or not isinstance(reply.get("message"), str)
                or not reply["message"]
            ):
                damage.add(f"malformed error {reply} {where()}")
            if "id" in reply:
                got_ids[reply["id"]] += 1
            else:
                got_anon += 1
        elif reply["type"] != "events":
            damage.add(f"unexpected frame {reply} {where()}")
    # Each id is answered once per frame that carried it; answers without an id account for
    # the frames that had none, and for over-nested ones answered without theirs.
    anon_left = got_anon - sum(want["anon"].values())
    for fid in set(want["id"]) | set(want["either"]) | set(got_ids):
        extra = got_ids[fid] - want["id"][fid]
        if not 0 <= extra <= want["either"][fid]:
            expected = want["id"][fid] + want["either"][fid]
            damage.add(f"id {fid!r}: {got_ids[fid]} answers for {expected} frames {where()}")
        anon_left -= want["either"][fid] - max(0, extra)
    if anon_left != 0:
        damage.add(f"{anon_left:+d} answers without an id {where()}")
    await comm.disconnect()


# -- random frames (hypothesis) ---------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=80)
    | st.sampled_from(HOSTILE_STRINGS)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["id", "x", "y", "to", "conversation", "text", "name", "character", "type"]
)
random_frames = st.one_of(
    # protocol-shaped frames with wrong or hostile field values
    st.builds(
        lambda t, fields: dumps({"type": t, **fields}),
        st.sampled_from(sorted(KNOWN_TYPES)) | st.text(max_size=12),
        st.dictionaries(field_names, values, max_size=5),
    ),
    # anything JSON
    values.map(dumps),
    # not JSON at all, huge, deeply nested, or odd encodings
    st.text(min_size=1, max_size=200),
    st.integers(4000, 9000).map(lambda n: dumps({"type": "say", "id": "x", "text": "é" * n})),
    st.integers(900, 2000).map(lambda n: "[" * n + "]" * n),
    st.sampled_from(hostile_frames()),
)


def random_batches(count: int) -> list[tuple[list[str], bool]]:
    """Hypothesis-made batches of frames (and whether a signed-in player sends them).

    Hypothesis only generates here; the frames are sent afterwards, outside its run, because
    it raises the interpreter's recursion limit while an example runs, and that would hide
    the parser's recursion failures from the consumers running alongside.
    """
    batches: list[tuple[list[str], bool]] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(frames=st.lists(random_frames, min_size=1, max_size=PER_SOCKET), signed_in=st.booleans())
    def collect(frames: list[str], signed_in: bool) -> None:
        batches.append((frames, signed_in))

    collect()
    return batches


# -- honest players afterwards ------------------------------------------------------------


async def joined(sock: Socket, name: str) -> str:
    await sock.send(type="join", id="j", name=name)
    reply = await sock.ack("j")
    assert reply["type"] == "ack", reply
    return reply["player"]


def conversations_of(sock: Socket, pid: str) -> list[dict]:
    """Conversations seen on `sock` that `pid` is part of and that have not ended."""
    ended = {e["conversation"]["id"] for e in sock.events if e["kind"] == "conversation_ended"}
    found = {}
    for e in sock.events:
        conv = e.get("conversation")
        if (
            isinstance(conv, dict)
            and conv["id"] not in ended
            and (pid in conv.get("participants", ()) or pid == conv.get("invitee"))
        ):
            found[conv["id"]] = conv
    return list(found.values())


async def start_talking(a: Socket, a_pid: str, b: Socket, b_pid: str) -> str:
    """a invites b, b accepts; residents who invited one of us first are turned down."""
    for n in range(6):
        await a.send(type="invite", id=f"inv{n}", to=b_pid)
        if (await a.ack(f"inv{n}"))["type"] == "ack":
            invited = await b.until(
                lambda e: (
                    e.get("kind") == "conversation_invited"
                    and e["conversation"]["inviter"] == a_pid
                    and e["conversation"]["invitee"] == b_pid
                )
            )
            cid = invited["conversation"]["id"]
            await b.send(type="accept", id=f"acc{n}", conversation=cid)
            assert (await b.ack(f"acc{n}"))["type"] == "ack"
            await a.until(
                lambda e, cid=cid: (
                    e.get("kind") == "conversation_started" and e["conversation"]["id"] == cid
                ),
                timeout=60,
            )
            return cid
        for sock, pid in ((a, a_pid), (b, b_pid)):  # busy: a resident got there first
            for conv in conversations_of(sock, pid):
                fid = f"free{n}-{conv['id']}"
                await sock.send(type="leave_conversation", id=fid, conversation=conv["id"])
                await sock.ack(fid)
        await asyncio.sleep(1)
    raise AssertionError("the two honest players could not start a conversation")


async def drain(sock: Socket) -> None:
    while not await sock.comm.receive_nothing(timeout=0.2):
        await sock.recv()


async def test_fuzzed_world_answers_every_frame_once_and_keeps_working(town):
    watcher = Socket(town.pk)  # a spectator watching the whole time: sees any resync
    _, first = await watcher.open()
    fuzzer = await database_sync_to_async(make_user)("fuzzer")
    damage = Damage()

    async def send_hostile(cookie: bytes | None) -> None:
        fixed = hostile_frames()
        for start in range(0, len(fixed), PER_SOCKET):
            await answers_to(town.pk, cookie, fixed[start : start + PER_SOCKET], damage)

    # The named hostile inputs, by a spectator, then by a user whose hostile joins reach the
    # engine, then by the same user in the world, whose moves, lines and invitations do.
    await send_hostile(None)
    await send_hostile(fuzzer)
    await answers_to(town.pk, fuzzer, [dumps({"type": "join", "id": "fz", "name": "Fuzz"})], damage)
    await send_hostile(fuzzer)
    # Random frames, on the same world and engine.
    for frames, signed_in in random_batches(60):
        await answers_to(town.pk, fuzzer if signed_in else None, frames, damage)

    # Then honest players in the same world join, move and talk.
    try:
        await honest_players_play(town.pk, watcher, damage)
    except AssertionError as exc:
        damage.add(f"honest players could not play after the fuzzing: {exc}")

    # No resync reached the watcher (the engine never restarted); the clock never went back.
    await drain(watcher)
    hellos = [f for f in watcher.frames if f["type"] == "hello"]
    if len(hellos) != 1:
        damage.add(f"{len(hellos)} hellos on the watching socket: the engine restarted")
    shown = misleading(watcher.frames) + misleading(watcher.events)
    if shown:
        damage.add(f"hostile text reached the watchers: {sorted(set(map(repr, shown)))[:10]}")
    latest = max([first["world"]["time"]] + [e["t"] for e in watcher.events if "t" in e])
    late = Socket(town.pk)
    try:
        await opened(late)
    except AssertionError as exc:
        damage.add(f"a spectator could not watch after the fuzzing: {exc}")
    else:
        if late.snapshot["world"]["time"] < latest:
            damage.add(f"the clock went back from {latest} to {late.snapshot['world']['time']}")
        await late.close()
    await watcher.close()
    assert not damage.problems, "\n".join(damage.problems[:20])


async def opened(sock: Socket) -> None:
    """Open `sock`, saying what came instead of hello and snapshot if they did not."""
    connected, _ = await sock.comm.connect(timeout=5)
    assert connected, "handshake refused"
    first = [await sock.comm.receive_output(timeout=5) for _ in range(2)]
    frames = [json.loads(f["text"]) if "text" in f else f for f in first]
    assert [f["type"] for f in frames] == ["hello", "snapshot"], f"socket not served: {frames}"
    sock.frames += frames
    sock.hello, sock.snapshot = frames


async def honest_players_play(world_id: int, watcher: Socket, damage: Damage) -> None:
    """Ann and Bo join, Ann moves, they talk; hostile lines in their real conversation get
    exactly one answer each and do not stop the next honest line."""
    ann_cookie = await database_sync_to_async(make_user)("honest-ann")
    ann = Socket(world_id, ann_cookie)
    bo = Socket(world_id, await database_sync_to_async(make_user)("honest-bo"))
    await opened(ann)
    await opened(bo)
    ann_pid, bo_pid = await joined(ann, "Ann"), await joined(bo, "Bo")
    here = (
        await watcher.until(
            lambda e: e.get("kind") == "player_joined" and e["player"]["id"] == ann_pid
        )
    )["player"]
    for n, (dx, dy) in enumerate([(1, 0), (-1, 0), (0, 1), (0, -1), (2, 0), (0, 2)]):
        await ann.send(type="move", id=f"m{n}", x=here["x"] + dx, y=here["y"] + dy)
        if (await ann.ack(f"m{n}"))["type"] == "ack":
            break
    else:
        raise AssertionError("Ann could not move to any tile next to her")
    cid = await start_talking(ann, ann_pid, bo, bo_pid)
    # On a second socket of Ann's: each socket has its own small chat burst.
    hostile_lines = [
        dumps({"type": "say", "id": f"bad{n}", "conversation": cid, "text": text})
        for n, text in enumerate(HOSTILE_STRINGS[:5])
    ]
    await answers_to(world_id, ann_cookie, hostile_lines, damage)
    await ann.send(type="say", id="hello", conversation=cid, text="Hello, Bo!")
    assert (await ann.ack("hello"))["type"] == "ack"
    await bo.until(lambda e: e.get("kind") == "message" and e["text"] == "Hello, Bo!")
    await bo.send(type="say", id="hi", conversation=cid, text="Hi, Ann.")
    assert (await bo.ack("hi"))["type"] == "ack"
    await ann.close()
    await bo.close()
