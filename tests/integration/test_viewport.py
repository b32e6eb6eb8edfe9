"""Interest by viewport: a page that says what it shows gets far movement as a summary."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from tests.wsclient import Socket, make_user
from town.viewport import MARGIN

pytestmark = [pytest.mark.django_db(transaction=True)]


def moves_of(frames: list[dict], player: str, summary: bool) -> list[dict]:
    """`move` events for `player` in the `events` frames that are (or are not) summaries."""
    return [
        e
        for f in frames
        if f.get("type") == "events" and bool(f.get("summary")) == summary
        for e in f["events"]
        if e["kind"] == "move" and e["player"] == player
    ]


async def test_a_viewport_gets_its_area_at_once_and_the_far_side_as_a_summary(town):
    ana_cookie = await database_sync_to_async(make_user)("ana")
    ben_cookie = await database_sync_to_async(make_user)("ben")
    ana, ben = Socket(town.pk, ana_cookie), Socket(town.pk, ben_cookie)
    near, far, everything = Socket(town.pk), Socket(town.pk), Socket(town.pk)
    for sock in (ana, ben, near, far, everything):
        await sock.open()
    await ana.send(type="join", id="j1", name="Ana", character="ada")
    joined = await near.until(
        lambda e: e.get("kind") == "player_joined" and e["player"]["name"] == "Ana"
    )
    ana_id, x, y = joined["player"]["id"], joined["player"]["x"], joined["player"]["y"]
    await ben.send(type="join", id="j2", name="Ben", character="kit")
    assert (await ben.ack("j2"))["type"] == "ack"
    ben_id = (
        await near.until(
            lambda e: e.get("kind") == "player_joined" and e["player"]["name"] == "Ben"
        )
    )["player"]["id"]

    # `near` shows Ana's corner of the map; `far` shows the other side, well past the margin.
    await near.send(type="view", id="v1", x0=max(0, x - 5), y0=max(0, y - 5), x1=x + 5, y1=y + 5)
    far_x0 = 50 if x < 32 else 0
    edge = far_x0 - MARGIN if x < 32 else far_x0 + 12 + MARGIN
    assert abs(edge - x) > 4  # Ana's short walk stays outside it
    await far.send(type="view", id="v2", x0=far_x0, y0=0, x1=far_x0 + 12, y1=47)
    assert (await near.ack("v1"))["type"] == "ack"
    assert (await far.ack("v2"))["type"] == "ack"

    for dx, dy in [(2, 0), (-2, 0), (0, 2), (0, -2), (1, 1)]:
        await ana.send(type="move", id=f"m{dx}{dy}", x=x + dx, y=y + dy)
        if (await ana.ack(f"m{dx}{dy}"))["type"] == "ack":
            break
    else:
        raise AssertionError("Ana found nowhere to walk")

    await near.until(lambda e: e.get("kind") == "move" and e["player"] == ana_id)
    await everything.until(lambda e: e.get("kind") == "move" and e["player"] == ana_id)
    assert moves_of(near.frames, ana_id, summary=False)  # her own area: at once
    assert moves_of(everything.frames, ana_id, summary=False)  # no view: everything, as before

    # The far side learns where she went only from a summary.
    await far.until(lambda e: e.get("kind") == "move" and e["player"] == ana_id, timeout=10)
    assert moves_of(far.frames, ana_id, summary=True)
    assert not moves_of(far.frames, ana_id, summary=False)

    # Conversations reach every page, wherever they happen.
    await ana.send(type="invite", id="i1", to=ben_id)
    assert (await ana.ack("i1"))["type"] == "ack"
    await far.until(
        lambda e: e.get("kind") == "conversation_invited" and e["conversation"]["inviter"] == ana_id
    )

    for sock in (ana, ben, near, far, everything):
        await sock.close()


async def test_a_view_must_be_a_rectangle_of_tiles(town):
    spectator = Socket(town.pk)
    await spectator.open()
    await spectator.send(type="view", id="bad1", x0=10, y0=0, x1=5, y1=4)
    refusal = await spectator.ack("bad1")
    assert refusal["code"] == "invalid" and "x0" in refusal["message"]
    await spectator.send(type="view", id="bad2", x0=1, y0=2)
    assert (await spectator.ack("bad2"))["code"] == "invalid"
    await spectator.send(type="view", id="all")  # no corners: everything again
    assert (await spectator.ack("all"))["type"] == "ack"
    # Without an id (as the page sends it) it is answered too: an ack without one.
    await spectator.send(type="view", x0=0, y0=0, x1=10, y1=10)
    answer = await spectator.until(lambda f: f.get("type") in ("ack", "error"))
    assert answer == {"type": "ack"}
    await spectator.close()
