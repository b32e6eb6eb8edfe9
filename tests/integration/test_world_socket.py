"""The shared world over real WebSockets, a real engine runner and real PostgreSQL."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User

from config.asgi import application
from tests.wsclient import ORIGIN, Socket, make_user
from town.models import Input, Message, Player

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_spectator_sees_residents_and_cannot_act(town):
    spectator = Socket(town.pk)
    hello, snapshot = await spectator.open()
    assert hello["you"] == {"user": None, "player": None}
    assert hello["mind"] == "offline"
    residents = await database_sync_to_async(Player.objects.filter(world=town).count)()
    assert residents >= 8
    # the engine has brought the residents in (a first snapshot may predate that: they then
    # arrive as joins, or in a resync snapshot when the first one came from the database)
    if len(snapshot["players"]) < residents:
        await spectator.until(
            lambda f: (
                f.get("kind") == "player_joined"
                or (f.get("type") == "snapshot" and len(f["players"]) >= residents)
            )
        )
    await spectator.send(type="move", id="m1", x=3, y=3)
    refusal = await spectator.until(lambda f: f.get("type") == "error")
    assert refusal["code"] == "not_signed_in"
    await spectator.send(type="heartbeat")
    await spectator.close()


async def test_two_people_join_and_see_each_other_move(town):
    ana_cookie = await database_sync_to_async(make_user)("ana")
    ben_cookie = await database_sync_to_async(make_user)("ben")
    ana, ben = Socket(town.pk, ana_cookie), Socket(town.pk, ben_cookie)
    await ana.open()
    await ben.open()
    await ana.send(type="join", id="j1", name="Ana", character="ada")
    assert (await ana.ack("j1"))["type"] == "ack"
    joined = await ben.until(
        lambda e: e.get("kind") == "player_joined" and e["player"]["name"] == "Ana"
    )
    ana_id = joined["player"]["id"]
    start = (joined["player"]["x"], joined["player"]["y"])
    target = None
    for dx, dy in [(2, 0), (-2, 0), (0, 2), (0, -2), (3, 1)]:
        target = (start[0] + dx, start[1] + dy)
        await ana.send(type="move", id=f"mv{dx}{dy}", x=target[0], y=target[1])
        if (await ana.ack(f"mv{dx}{dy}"))["type"] == "ack":
            break
    move = await ben.until(lambda e: e.get("kind") == "move" and e["player"] == ana_id)
    assert move["path"][0] == list(start)
    assert move["speed"] > 0
    # Ben cannot move Ana: his moves only ever move his own character, and he has none yet.
    await ben.send(type="move", id="b1", x=start[0], y=start[1])
    assert (await ben.ack("b1"))["code"] == "not_player"
    await ana.close()
    await ben.close()


async def test_resending_an_input_id_applies_it_once(town):
    cookie = await database_sync_to_async(make_user)("cai")
    cai = Socket(town.pk, cookie)
    await cai.open()
    for _ in range(2):
        await cai.send(type="join", id="same-id", name="Cai")
        assert (await cai.ack("same-id"))["type"] == "ack"
    joins = await database_sync_to_async(
        Input.objects.filter(world=town, payload__type="join", payload__kind="human").count
    )()
    assert joins == 1
    await cai.close()


async def test_human_chats_with_a_resident_and_messages_are_stored(town):
    cookie = await database_sync_to_async(make_user)("dee")
    dee = Socket(town.pk, cookie)
    _, snapshot = await dee.open()
    await dee.send(type="join", id="j", name="Dee")
    await dee.ack("j")
    me = dee.hello["you"]["player"] or "h" + str(
        await database_sync_to_async(lambda: User.objects.get(username="dee").pk)()
    )
    agents = [p for p in snapshot["players"] if p["kind"] == "agent"]
    if not agents:
        agents = [(await dee.until(lambda e: e.get("kind") == "player_joined"))["player"]]
    target = agents[0]["id"]
    conversation = None
    for n in range(len(agents) + 3):
        await dee.send(type="invite", id=f"i{n}", to=target)
        reply = await dee.ack(f"i{n}")
        if reply["type"] == "ack":
            invited = await dee.until(lambda e: e.get("kind") == "conversation_invited")
            conversation = invited["conversation"]["id"]
            break
        target = agents[(n + 1) % len(agents)]["id"]  # busy: try someone else
    assert conversation, "no resident could be invited"
    await dee.until(
        lambda e: (
            e.get("kind") == "conversation_started" and e["conversation"]["id"] == conversation
        ),
        timeout=60,
    )
    await dee.send(type="say", id="s1", conversation=conversation, text="Hello! <b>bold</b>")
    assert (await dee.ack("s1"))["type"] == "ack"
    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(world=town).values_list("text", "author"))
    )()
    assert ("Hello! <b>bold</b>", me) in stored
    reply = await dee.until(lambda e: e.get("kind") == "message" and e["author"] != me, timeout=40)
    assert reply["text"]
    await dee.send(type="leave_conversation", id="l1", conversation=conversation)
    assert (await dee.ack("l1"))["type"] == "ack"
    await dee.close()


async def test_bad_frames_get_errors_and_the_socket_stays_usable(town):
    cookie = await database_sync_to_async(make_user)("eve")
    eve = Socket(town.pk, cookie)
    await eve.open()
    await eve.comm.send_to(text_data="not json")
    assert (await eve.until(lambda f: f.get("type") == "error"))["code"] == "bad_json"
    await eve.comm.send_to(text_data=json.dumps({"type": "say", "id": "x", "text": "a" * 5000}))
    assert (await eve.until(lambda f: f.get("type") == "error"))["code"] == "too_large"
    await eve.send(type="fly", id="f")
    assert (await eve.until(lambda f: f.get("type") == "error"))["code"] == "unknown_type"
    await eve.send(type="move", id="bad", x="far", y=1)
    assert (await eve.until(lambda f: f.get("type") == "error"))["code"] == "invalid"
    await eve.send(type="say", id="s", conversation="c1", text="hi")
    assert (await eve.until(lambda f: f.get("type") == "error"))["code"] == "not_player"
    await eve.send(type="freeze", id="fz")
    assert (await eve.until(lambda f: f.get("type") == "error"))["code"] == "forbidden"
    await eve.send(type="join", id="j", name="Eve")
    assert (await eve.ack("j"))["type"] == "ack"
    await eve.send(type="join", id="j2", name="Eve again")
    assert (await eve.ack("j2"))["code"] == "conflict"
    await eve.send(type="invite", id="nobody", to="no-such-player")
    assert (await eve.ack("nobody"))["code"] == "not_found"
    await eve.send(type="join", id="jc", character="../../etc")
    assert (await eve.ack("jc"))["code"] == "invalid"
    await eve.close()


async def test_flooding_garbage_closes_with_policy_code(town):
    mal = Socket(town.pk)
    await mal.open()
    for _ in range(25):
        await mal.comm.send_to(text_data="{")
    while True:
        output = await mal.comm.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            assert output["code"] == 4008
            break


async def test_input_flood_is_rate_limited_without_closing(town):
    cookie = await database_sync_to_async(make_user)("fay")
    fay = Socket(town.pk, cookie)
    await fay.open()
    await fay.send(type="join", id="j")
    await fay.ack("j")
    for n in range(30):
        await fay.send(type="move", id=f"m{n}", x=1, y=1)
    replies: dict[str, dict] = {}
    while len(replies) < 30:
        frame = await fay.until(lambda f: f.get("type") in ("ack", "error") and "id" in f)
        replies[frame["id"]] = frame
    codes = [r.get("code") for r in replies.values()]
    assert "rate_limited" in codes
    assert None in codes  # the first ones within the burst went through
    # Still open: a new input gets its answer and the server never sent a close (sending to a
    # closed test socket does not fail, so the heartbeat this test used to send proved nothing).
    await fay.send(type="move", id="after", x=1, y=1)
    await fay.ack("after")
    while not await fay.comm.receive_nothing(timeout=0.2):
        assert (await fay.comm.receive_output())["type"] == "websocket.send"
    await fay.close()


async def test_world_full_refuses_more_humans(town):
    await database_sync_to_async(
        lambda: type(town).objects.filter(pk=town.pk).update(settings={"max_humans": 1})
    )()
    first = Socket(town.pk, await database_sync_to_async(make_user)("gus"))
    second = Socket(town.pk, await database_sync_to_async(make_user)("hal"))
    await first.open()
    await second.open()
    await first.send(type="join", id="a")
    assert (await first.ack("a"))["type"] == "ack"
    await second.send(type="join", id="b")
    assert (await second.ack("b"))["code"] == "world_full"
    await first.close()
    await second.close()


async def test_staff_freeze_stops_the_world_for_everyone(town):
    staff = Socket(town.pk, await database_sync_to_async(make_user)("ida", staff=True))
    player = Socket(town.pk, await database_sync_to_async(make_user)("jon"))
    await staff.open()
    await player.open()
    await player.send(type="join", id="j")
    await player.ack("j")
    await staff.send(type="freeze", id="f")
    assert (await staff.ack("f"))["type"] == "ack"
    status = await player.until(lambda e: e.get("kind") == "world_status")
    assert status["status"] == "frozen"
    await player.send(type="move", id="m", x=5, y=5)
    assert (await player.ack("m"))["code"] == "world_frozen"
    await staff.send(type="freeze", id="f2")
    assert (await staff.ack("f2"))["code"] == "conflict"
    await staff.send(type="resume", id="r")
    assert (await staff.ack("r"))["type"] == "ack"
    await player.until(lambda e: e.get("kind") == "world_status" and e["status"] == "running")
    await staff.close()
    await player.close()


async def test_unknown_world_refuses_the_handshake(town):
    comm = WebsocketCommunicator(application, "/ws/world/999999/", [ORIGIN])
    connected, _ = await comm.connect(timeout=5)
    assert not connected


async def test_foreign_origin_refuses_the_handshake(town):
    comm = WebsocketCommunicator(
        application, f"/ws/world/{town.pk}/", [(b"origin", b"http://evil.example")]
    )
    connected, _ = await comm.connect(timeout=5)
    assert not connected
