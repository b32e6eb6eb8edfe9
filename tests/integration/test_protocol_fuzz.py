"""Thousands of malformed and hostile frames at a live consumer: every refusal is a proper
`error`, nothing crashes, and the world keeps working for honest players."""

from __future__ import annotations

import json

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
}
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=80)
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
hostile_frames = st.one_of(
    # protocol-shaped frames with wrong or hostile field values
    st.builds(
        lambda t, fields: json.dumps({"type": t, **fields}),
        st.sampled_from(sorted(KNOWN_TYPES)) | st.text(max_size=12),
        st.dictionaries(field_names, values, max_size=5),
    ),
    # anything JSON
    values.map(json.dumps),
    # not JSON at all, huge, or odd encodings
    st.text(min_size=1, max_size=200),
    st.integers(4000, 9000).map(lambda n: json.dumps({"type": "say", "id": "x", "text": "é" * n})),
    st.just('{"type": "move", "id": "' + "i" * 65 + '", "x": 1, "y": 1}'),
)


_cookie: list[bytes] = []


def fuzz_user() -> bytes:
    """One signed-in fuzzer for all examples (a new user per example would be slow)."""
    if not _cookie:
        _cookie.append(make_user("fuzzer"))
    return _cookie[0]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=st.lists(hostile_frames, min_size=5, max_size=19), signed_in=st.booleans())
async def test_hostile_frames_get_proper_errors_and_break_nothing(town, frames, signed_in):
    cookie = await database_sync_to_async(fuzz_user)() if signed_in else None
    sock = Socket(town.pk, cookie)
    await sock.open()
    for frame in frames:
        await sock.comm.send_to(text_data=frame)
    await sock.send(type="heartbeat")
    # Every frame was answered (error, ack, or silently accepted heartbeat) — collect
    # whatever came back and check its shape; the consumer task must still be alive.
    closed = False
    while not await sock.comm.receive_nothing(timeout=0.1):  # (a timeout here would kill the app)
        out = await sock.comm.receive_output(timeout=1)
        if out["type"] == "websocket.close":
            closed = True
            assert out["code"] == 4008
            break
        reply = json.loads(out["text"])
        assert reply["type"] in {"error", "ack", "events", "hello", "snapshot"}
        if reply["type"] == "error":
            assert reply["code"] in ERROR_CODES
            assert isinstance(reply["message"], str) and reply["message"]
    if not closed:
        assert not sock.comm.future.done(), "the consumer died"
        await sock.comm.disconnect()


async def test_the_world_still_works_after_the_fuzzing(town):
    honest = Socket(town.pk, await database_sync_to_async(make_user)("honest"))
    await honest.open()
    await honest.send(type="join", id="j", name="Honest")
    assert (await honest.ack("j"))["type"] == "ack"
    await honest.close()
