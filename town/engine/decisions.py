"""The agent-mind interface: the engine never thinks, it asks and waits for inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .conversations import ACTIVE, INVITED, JOIN_DISTANCE, MAX_PARTICIPANTS, pair_key, should_reply
from .movement import Player, current_tile

if TYPE_CHECKING:
    from .world import World


def wanted(world: World, agent: Player, now: int) -> tuple[str, str | None] | None:
    """What the agent should be asked now, as (kind, conversation id), or None."""
    if agent.conversation is not None:
        conv = world.conversations.get(agent.conversation)
        if conv is None:
            return None
        if conv.status == INVITED and conv.invitee == agent.id:
            return ("invite", conv.id)
        if should_reply(world, conv, agent.id, now):
            return ("reply", conv.id)
        return None
    if agent.path or agent.pending_move or now < agent.quiet_until:
        return None
    if now - agent.idle_since >= world.config.agent_idle_ms:
        return ("next", None)
    return None


def step(world: World, now: int) -> None:
    """Expire, withdraw and issue requests so each agent has at most one outstanding."""
    cfg = world.config
    cells: dict[tuple[int, int], list] = {}  # everyone's tile by map cell, once per step if needed
    for agent in world.players.values():
        if agent.kind != "agent":
            continue
        req = world.requests.get(agent.id)
        if req is not None and now - req["t"] >= cfg.decision_timeout_ms:
            # Expired silently; the world did not wait. Ask again after a breather.
            close(world, agent.id)
            agent.idle_since = now
            agent.ask_after = now + cfg.agent_idle_ms
            req = None
        want = wanted(world, agent, now)
        if req is not None:
            if want == (req["kind"], req.get("conversation")):
                continue
            close(world, agent.id)  # the situation changed (e.g. invited while deciding)
        if want is not None and now >= agent.ask_after:
            if want[0] == "next" and not cells:
                cells.update(_cells(world, now))
            _issue(world, agent, want[0], want[1], now, cells)


def ask_now(world: World, conversation: str | None, now: int) -> None:
    """Ask the residents of a conversation a person just spoke in (or invited them to) at
    once, not at the next step: a reply then follows a person's line at conversation speed.
    Residents talking among themselves keep the step's pace."""
    conv = world.conversations.get(conversation or "")
    if conv is None:
        return
    for pid in conv.participants:
        agent = world.players.get(pid)
        if agent is None or agent.kind != "agent" or agent.conversation != conv.id:
            continue
        want = wanted(world, agent, now)
        if want is None or want[1] != conv.id:
            continue
        req = world.requests.get(pid)
        if req is not None:
            if (req["kind"], req.get("conversation")) == want:
                continue
            close(world, pid)
        _issue(world, agent, want[0], want[1], now, {})


def close(world: World, agent_id: str) -> None:
    """Drop the agent's outstanding request, if any."""
    req = world.requests.pop(agent_id, None)
    if req is not None and req["id"] in world.unsent:
        world.unsent.remove(req["id"])


def take(world: World) -> list[dict]:
    """New requests since the last call, oldest first; they stay outstanding until answered."""
    by_id = {r["id"]: r for r in world.requests.values()}
    out = [by_id[rid] for rid in world.unsent if rid in by_id]
    world.unsent.clear()
    return out


def _issue(
    world: World,
    agent: Player,
    kind: str,
    conversation: str | None,
    now: int,
    cells: dict[tuple[int, int], list],
) -> None:
    """Create a request with the context a mind needs to answer it."""
    x, y = current_tile(agent, now)
    context: dict = {
        "clock": world.clock(now),
        "name": agent.name,
        "x": x,
        "y": y,
        "activity": agent.activity,
    }
    area = world.map.area_at(x, y)
    context["area"] = area.name if area else None
    if kind == "next":
        context["nearby"] = _nearby(world, agent, x, y, now, cells)
    else:
        conv = world.conversations[conversation]
        context["conversation"] = conv.id
        if kind == "invite":
            other = world.players[conv.inviter]
            context["inviter"] = other.id
            context["inviter_name"] = other.name
        else:
            # The last speaker first: the one a reply most likely answers (and names).
            ids = [p for p in conv.participants if p != agent.id]
            ids.sort(key=lambda p: p != conv.last_author)
            others = [world.players[p] for p in ids]
            # `guest`: a person's outside AI agent (docs/agents.md), still a person to talk to.
            context["others"] = [
                {
                    "id": o.id,
                    "name": o.name,
                    "kind": o.kind,
                    **({"guest": o.guest} if o.guest else {}),
                }
                for o in others
            ]
            context["messages"] = [
                {"author": m["author"], "name": m["name"], "text": m["text"]} for m in conv.messages
            ]
            context["message_count"] = conv.message_count
    req = {"id": world.next_id("r"), "agent": agent.id, "kind": kind, "t": now, "context": context}
    if conversation is not None:
        req["conversation"] = conversation
    world.requests[agent.id] = req
    world.unsent.append(req["id"])


def _cells(world: World, now: int) -> dict[tuple[int, int], list]:
    """Players bucketed by square cells one perception radius wide, for cheap neighbour queries."""
    size = world.config.perception_radius + 1
    cells: dict[tuple[int, int], list] = {}
    for p in world.players.values():
        x, y = current_tile(p, now)
        cells.setdefault((x // size, y // size), []).append((p.id, x, y))
    return cells


def _nearby(
    world: World, agent: Player, x: int, y: int, now: int, cells: dict[tuple[int, int], list]
) -> list[dict]:
    """Players within the perception radius (Manhattan), nearest first."""
    radius = world.config.perception_radius
    size = radius + 1
    cx, cy = x // size, y // size
    found = []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for pid, ox, oy in cells.get((cx + dx, cy + dy), ()):
                d = abs(ox - x) + abs(oy - y)
                if d <= radius and pid != agent.id:
                    found.append(_seen(world, agent, pid, d, ox, oy, now))
    found.sort(key=lambda o: (o["distance"], o["id"]))
    return found


def _seen(world: World, agent: Player, pid: str, d: int, ox: int, oy: int, now: int) -> dict:
    """What an agent perceives of another player."""
    other = world.players[pid]
    seen = {
        "id": other.id,
        "name": other.name,
        "kind": other.kind,
        "distance": d,
        "x": ox,
        "y": oy,
        "in_conversation": other.conversation is not None,
        "cooldown": world.cooldowns.get(pair_key(agent.id, other.id), 0) > now,
    }
    if other.guest:
        seen["guest"] = other.guest
    conv = world.conversations.get(other.conversation or "")
    if conv is not None:
        seen["conversation"] = conv.id
        seen["joinable"] = (
            conv.status == ACTIVE
            and len(conv.participants) < MAX_PARTICIPANTS
            and d <= JOIN_DISTANCE
            and agent.conversation is None
        )
    return seen
