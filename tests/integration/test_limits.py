"""Per-user and per-address limits that reconnecting or opening more sockets cannot dodge."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from tests.wsclient import Socket, make_user
from town import ratelimit
from town.models import Message

pytestmark = [pytest.mark.django_db(transaction=True)]


def at(sock: Socket, ip: str) -> Socket:
    sock.comm.scope["client"] = (ip, 40000)
    return sock


async def refused_at_handshake(sock: Socket) -> dict:
    """The socket is accepted only to be told why, then closed with 4008."""
    connected, _ = await sock.comm.connect(timeout=5)
    assert connected
    frame = await sock.recv()
    assert frame["type"] == "error" and frame["code"] == "rate_limited", frame
    output = await sock.comm.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4008}
    return frame


def test_client_address_trusts_forwarded_for_only_behind_trusted_proxies(settings):
    scope = {"client": ("10.0.0.9", 1), "headers": [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4")]}
    settings.TOWN_TRUSTED_PROXIES = 0
    assert ratelimit.client_ip(scope) == "10.0.0.9"  # a client can write any header
    settings.TOWN_TRUSTED_PROXIES = 1
    assert ratelimit.client_ip(scope) == "1.2.3.4"  # what our proxy saw
    settings.TOWN_TRUSTED_PROXIES = 2
    assert ratelimit.client_ip(scope) == "6.6.6.6"


def test_a_slot_costs_a_few_cache_calls_under_a_large_limit_and_full_is_exact(monkeypatch):
    """An event behind one proxy address: the 2,000th socket under a limit of 100,000 must
    not try the 1,999 places before it (it did: quadratic, and handshakes timed out)."""
    calls = {"n": 0}
    cache = ratelimit._cache()
    add = cache.add

    def counted(*args, **kwargs):
        calls["n"] += 1
        return add(*args, **kwargs)

    monkeypatch.setattr(cache, "add", counted)
    held = [ratelimit.claim_slot("lim:test:big", 100_000, f"o{n}") for n in range(2000)]
    assert None not in held and len(set(held)) == 2000
    assert calls["n"] < 2000 * 1.5  # about one call each, not one per socket already there
    # A small limit fills exactly: every place taken, then a clear None.
    small = [ratelimit.claim_slot("lim:test:small", 6, f"o{n}") for n in range(6)]
    assert sorted(small) == [f"lim:test:small:{n}" for n in range(6)]
    assert ratelimit.claim_slot("lim:test:small", 6, "late") is None
    ratelimit.release_connection([small[3]])
    assert ratelimit.claim_slot("lim:test:small", 6, "next") == small[3]  # the one free place
    ratelimit.release_connection([*held, *small])


def test_the_one_process_cache_keeps_live_slots_when_full():
    """Django's LocMemCache held 300 entries and dropped the newest third when full: a few
    hundred sockets lost their slots and the caps stopped counting."""
    import time

    from town.cache import TownLocMemCache

    assert isinstance(ratelimit._cache(), TownLocMemCache)
    assert ratelimit._cache()._max_entries >= 100_000
    cache = TownLocMemCache("cull-test", {"OPTIONS": {"MAX_ENTRIES": 10}})
    for n in range(6):
        cache.add(f"counter:{n}", 1, 0.01)  # old rate-limit windows, about to expire
    live = [f"slot:{n}" for n in range(4)]
    for key in live:
        cache.add(key, "owner", 120)
    time.sleep(0.02)
    for n in range(4):  # full: the expired counters go, not the live slots
        cache.add(f"new:{n}", 1, 120)
    assert all(cache.get(key) == "owner" for key in live)
    assert all(cache.get(f"new:{n}") == 1 for n in range(4))


async def test_connections_are_capped_per_user_and_per_address(town, settings):
    settings.TOWN_MAX_CONNECTIONS_PER_USER = 2
    settings.TOWN_MAX_CONNECTIONS_PER_IP = 3
    cookie = await database_sync_to_async(make_user)("kim")
    mine = [at(Socket(town.pk, cookie), "10.1.0.1") for _ in range(2)]
    for sock in mine:
        await sock.open()
    # A third socket of the same user, even from another address, is refused.
    frame = await refused_at_handshake(at(Socket(town.pk, cookie), "10.1.0.2"))
    assert "account" in frame["message"]
    # The address has one slot left, for a spectator; then it is full too.
    spectator = at(Socket(town.pk), "10.1.0.1")
    await spectator.open()
    frame = await refused_at_handshake(at(Socket(town.pk), "10.1.0.1"))
    assert "address" in frame["message"]
    # Closing a socket frees its slot at once.
    await mine[0].close()
    again = at(Socket(town.pk, cookie), "10.1.0.1")
    await again.open()
    for sock in (mine[1], spectator, again):
        await sock.close()


async def test_input_limit_is_shared_by_all_sockets_of_a_user(town, settings):
    settings.TOWN_USER_INPUTS = 10
    settings.TOWN_USER_LIMIT_WINDOW = 60
    cookie = await database_sync_to_async(make_user)("lou")
    socks = [at(Socket(town.pk, cookie), "10.2.0.1") for _ in range(3)]
    for sock in socks:
        await sock.open()
    # Each socket alone is far below its own burst of 20.
    for n in range(5):
        for i, sock in enumerate(socks):
            await sock.send(type="join", id=f"j{i}-{n}", name="Lou")
    replies = []
    for i, sock in enumerate(socks):
        for n in range(5):
            replies.append(await sock.ack(f"j{i}-{n}"))
    limited = [r for r in replies if r.get("code") == "rate_limited"]
    assert len(replies) - len(limited) == 10
    assert all("account" in r["message"] for r in limited)
    # Reconnecting does not reset it.
    fresh = at(Socket(town.pk, cookie), "10.2.0.1")
    await socks[0].close()
    await fresh.open()
    await fresh.send(type="join", id="again", name="Lou")
    assert (await fresh.ack("again"))["code"] == "rate_limited"
    for sock in (*socks[1:], fresh):
        await sock.close()


async def start_conversation_with_a_resident(sock: Socket) -> str:
    agents = [p for p in sock.snapshot["players"] if p["kind"] == "agent"]
    if not agents:
        agents = [(await sock.until(lambda e: e.get("kind") == "player_joined"))["player"]]
    for n in range(len(agents) + 3):
        target = agents[n % len(agents)]["id"]
        await sock.send(type="invite", id=f"i{n}", to=target)
        if (await sock.ack(f"i{n}"))["type"] == "ack":
            invited = await sock.until(lambda e: e.get("kind") == "conversation_invited")
            cid = invited["conversation"]["id"]
            await sock.until(
                lambda e, cid=cid: (
                    e.get("kind") == "conversation_started" and e["conversation"]["id"] == cid
                ),
                timeout=60,
            )
            return cid
        await asyncio.sleep(5.1)  # the per-connection invitation bucket
    raise AssertionError("no resident could be invited")


async def test_daily_chat_cap_holds_across_sockets_and_bounds_resident_replies(town, settings):
    """Cost abuse: many sockets of one user cannot make a resident talk past the cap."""
    cap = 3
    settings.TOWN_USER_CHAT_PER_DAY = cap
    cookie = await database_sync_to_async(make_user)("max")
    first = at(Socket(town.pk, cookie), "10.3.0.1")
    await first.open()
    await first.send(type="join", id="j", name="Max")
    assert (await first.ack("j"))["type"] == "ack"
    conversation = await start_conversation_with_a_resident(first)
    me = "h" + str(await database_sync_to_async(lambda: User.objects.get(username="max").pk)())
    others = [at(Socket(town.pk, cookie), "10.3.0.1") for _ in range(3)]
    for sock in others:
        await sock.open()
    socks = [first, *others]
    replies = []
    for n in range(3):  # 12 lines from 4 sockets: each socket stays inside its own buckets
        for i, sock in enumerate(socks):
            await sock.send(type="say", id=f"s{i}-{n}", conversation=conversation, text=f"hi {n}")
            replies.append(await sock.ack(f"s{i}-{n}"))
    accepted = [r for r in replies if r["type"] == "ack"]
    limited = [r for r in replies if r.get("code") == "rate_limited"]
    # Exactly the cap: fewer would mean lines were lost to something else than the cap.
    assert len(accepted) == cap, replies
    assert len(limited) == len(replies) - cap, replies
    assert all("daily" in r["message"] for r in limited)
    # What reached the world is what was allowed, and the resident only answers that.
    await asyncio.sleep(3)
    mine = await database_sync_to_async(
        Message.objects.filter(world=town, conversation__cid=conversation, author=me).count
    )()
    theirs = await database_sync_to_async(
        Message.objects.filter(world=town, conversation__cid=conversation).exclude(author=me).count
    )()
    assert mine == len(accepted) == cap
    assert theirs <= mine + 1  # a reply per line, and perhaps a greeting
    for sock in socks:
        await sock.close()


def test_shared_limits_count_the_same_over_redis_in_one_round_trip(redis_url, settings):
    """The same refusals from the one-process cache and from Redis; over Redis one script per
    frame, and a frame refused on the input limit leaves the chat allowance alone."""
    from django.core.cache.backends.redis import RedisCache

    from town.cache import TownLocMemCache

    settings.TOWN_USER_INPUTS = 4
    settings.TOWN_USER_CHAT = 2
    settings.TOWN_USER_CHAT_PER_DAY = 3
    settings.TOWN_USER_LIMIT_WINDOW = 60
    frames = ["say", "say", "say", "move", "say", "invite"]
    now = 1_800_000_000.0
    redis = RedisCache(redis_url, {})
    answers = {}
    for name, cache in (("local", TownLocMemCache("limits-test", {})), ("redis", redis)):
        original = ratelimit._cache
        ratelimit._cache = lambda cache=cache: cache
        try:
            client = ratelimit._redis_client(cache)
            before = client.info("commandstats") if client else {}
            answers[name] = [ratelimit.check_user_frame(9, kind, now) for kind in frames]
            after = client.info("commandstats") if client else {}
        finally:
            ratelimit._cache = original
        if client:
            calls = {k: after[k]["calls"] - before.get(k, {"calls": 0})["calls"] for k in after}
            assert calls.get("cmdstat_eval") == len(frames)  # one round trip a frame
            assert not calls.get("cmdstat_exists") and not calls.get("cmdstat_set")
            say_key = redis.make_and_validate_key(f"lim:say:9:{int(now // 60)}")
            assert 0 < client.ttl(say_key) <= 61
    assert answers["local"] == answers["redis"]
    assert answers["redis"] == [
        None,
        None,
        "slow down: too many messages from your account",
        None,
        "slow down: too many inputs from your account",
        "slow down: too many inputs from your account",
    ]
    # Counting stops at the first limit passed: the third line (over the chat limit) never
    # reached the daily cap, and the fifth (over the input limit) neither chat counter.
    client = ratelimit._redis_client(redis)
    assert int(client.get(redis.make_and_validate_key("lim:sayday:9:2027-01-15:0"))) == 2
    assert int(client.get(redis.make_and_validate_key(f"lim:say:9:{int(now // 60)}"))) == 3
