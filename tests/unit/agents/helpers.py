"""Building engine-shaped requests and recorded conversations for the minds' tests."""

from __future__ import annotations

from django.contrib.auth.models import User

from town import persistence
from town.engine.clock import clock_at
from town.models import Player

HOUR = 60_000  # world ms per game hour at the default time rate


def clock(t: int) -> dict:
    return clock_at(t, 60, 420)


def human(world, username: str, name: str) -> tuple[Player, User]:
    user = User.objects.create_user(username, f"{username}@example.com", "pw-for-tests-1")
    player = Player.objects.create(
        world=world, pid=f"h{user.pk}", kind="human", name=name, character="ada", user=user
    )
    return player, user


def talk(world, cid: str, lines: list[tuple[Player, str]], t0: int = 0, users=None) -> int:
    """Record a whole conversation as the engine runner would; return the end time."""
    pids = list(dict.fromkeys(p.pid for p, _ in lines))
    conv = {"id": cid, "participants": pids, "status": "active"}
    events = [
        {"kind": "conversation_invited", "t": t0, "conversation": conv},
        {"kind": "conversation_started", "t": t0, "conversation": conv},
    ]
    accepted = []
    for n, (player, text) in enumerate(lines):
        t = t0 + (n + 1) * 1000
        events.append(
            {
                "kind": "message",
                "t": t,
                "conversation": cid,
                "author": player.pid,
                "author_name": player.name,
                "text": text,
                "id": f"{cid}m{n}",
            }
        )
        accepted.append(
            {"input": {"type": "say", "actor": player.pid}, "t": t, "user_id": player.user_id}
        )
    end = t0 + (len(lines) + 1) * 1000
    events.append({"kind": "conversation_ended", "t": end, "conversation": cid, "reason": "left"})
    persistence.record(world.pk, accepted, events, 0)
    return end


def reply_request(agent: Player, other: Player, cid: str, messages, t: int, rid="r1") -> dict:
    return {
        "id": rid,
        "agent": agent.pid,
        "kind": "reply",
        "t": t,
        "conversation": cid,
        "context": {
            "clock": clock(t),
            "name": agent.name,
            "x": 10,
            "y": 10,
            "activity": "",
            "area": "cafe",
            "conversation": cid,
            "others": [{"id": other.pid, "name": other.name, "kind": other.kind}],
            "messages": [{"author": p.pid, "name": p.name, "text": text} for p, text in messages],
            "message_count": len(messages),
        },
    }


def next_request(agent: Player, t: int, x: int, y: int, nearby=(), area=None, rid="n1") -> dict:
    return {
        "id": rid,
        "agent": agent.pid,
        "kind": "next",
        "t": t,
        "context": {
            "clock": clock(t),
            "name": agent.name,
            "x": x,
            "y": y,
            "activity": "",
            "area": area,
            "nearby": list(nearby),
        },
    }


def seen(player: Player, distance: int = 1, busy: bool = False) -> dict:
    return {
        "id": player.pid,
        "name": player.name,
        "kind": player.kind,
        "distance": distance,
        "x": 0,
        "y": 0,
        "in_conversation": busy,
        "cooldown": False,
    }
