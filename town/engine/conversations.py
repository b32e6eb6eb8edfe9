"""Conversation rules: invite, accept or decline, walk together, talk, join, leave, end.

Two people start a conversation; others may walk up and join an active one (a group, up to
MAX_PARTICIPANTS). Among residents the engine holds "the floor": at most one resident is
asked for a reply at a time, chosen by `floor_holder`; humans may speak whenever they like.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from .errors import InputRefused
from .movement import current_tile, facing_towards

if TYPE_CHECKING:
    from .world import World

Tile = tuple[int, int]

INVITED, WALKING, ACTIVE, ENDED = "invited", "walking", "active", "ended"
MAX_PARTICIPANTS = 6  # a group beyond this is a crowd, not a conversation
JOIN_DISTANCE = 3  # Manhattan tiles from any participant to join (and to stay in a group)


@dataclass
class Conversation:
    """Characters talking (or about to): inviter and invitee first, then those who joined."""

    id: str
    inviter: str
    invitee: str
    status: str
    created: int
    started: int | None = None
    accepted: int | None = None
    message_count: int = 0
    last_author: str | None = None
    last_t: int = 0  # last message or start, for the idle rule
    messages: list[dict] = field(default_factory=list)  # the most recent few, for minds
    # Defaults keep snapshots from before group conversations loadable.
    joined: list[str] = field(default_factory=list)  # participants after the first two
    spoke: dict[str, int] = field(default_factory=dict)  # player -> message_count at their last
    typing_t: int | None = None  # the last_t whose next speaker was shown typing (residents)

    @property
    def participants(self) -> list[str]:
        """Player ids, inviter first, then invitee, then joiners in order."""
        return [self.inviter, self.invitee, *self.joined]

    @property
    def group(self) -> bool:
        """Three or more people: the group rules (floor, leaving one by one) apply."""
        return len(self.joined) > 0

    def other(self, player_id: str) -> str:
        """The participant who is not player_id (two-person conversations)."""
        return self.invitee if player_id == self.inviter else self.inviter

    def drop(self, player_id: str) -> None:
        """Remove one participant of a group; the first two remaining become inviter/invitee."""
        rest = [p for p in self.participants if p != player_id]
        self.inviter, self.invitee, self.joined = rest[0], rest[1], rest[2:]
        self.spoke.pop(player_id, None)

    def public(self) -> dict:
        """The conversation object of the protocol."""
        return {
            "id": self.id,
            "status": self.status,
            "participants": self.participants,
            "inviter": self.inviter,
            "invitee": self.invitee,
            "created": self.created,
            "started": self.started,
            "message_count": self.message_count,
        }

    def to_state(self) -> dict:
        """Full state for snapshots."""
        return asdict(self)


def pair_key(a: str, b: str) -> str:
    """Order-independent key of a pair of players, for cooldowns."""
    return "\n".join(sorted((a, b)))


def find(world: World, conversation_id: object) -> Conversation:
    """The live conversation with that id, or a refusal."""
    if not isinstance(conversation_id, str) or not conversation_id:
        raise InputRefused("invalid", "conversation must be a conversation id")
    conv = world.conversations.get(conversation_id)
    if conv is None:
        if conversation_id in world.ended_ids:
            raise InputRefused("conflict", "that conversation has ended")
        raise InputRefused("not_found", "no such conversation")
    return conv


def _participant(conv: Conversation, actor: str) -> None:
    """Refuse anyone who is not in the conversation."""
    if actor not in conv.participants:
        raise InputRefused("forbidden", "you are not part of this conversation")


def invite(world: World, actor: str, to: object, now: int) -> list[dict]:
    """Ask `to` for a conversation."""
    if not isinstance(to, str) or not to:
        raise InputRefused("invalid", "to must be a player id")
    if to == actor:
        raise InputRefused("conflict", "you cannot talk to yourself")
    target = world.players.get(to)
    if target is None:
        raise InputRefused("not_found", "no such player")
    if world.players[actor].conversation is not None:
        raise InputRefused("conflict", "you are already in a conversation")
    if target.conversation is not None:
        raise InputRefused("conflict", f"{target.name} is busy")
    if world.cooldowns.get(pair_key(actor, to), 0) > now:
        raise InputRefused("conflict", "you talked a moment ago; give it some time")
    conv = Conversation(world.next_id("c"), actor, to, INVITED, created=now)
    world.conversations[conv.id] = conv
    world.players[actor].conversation = target.conversation = conv.id
    return [{"kind": "conversation_invited", "t": now, "conversation": conv.public()}]


def accept(world: World, actor: str, conversation_id: object, now: int) -> list[dict]:
    """The invitee says yes: both walk towards each other."""
    conv = find(world, conversation_id)
    _participant(conv, actor)
    if actor != conv.invitee:
        raise InputRefused("forbidden", "only the invited player can accept")
    if conv.status != INVITED:
        raise InputRefused("conflict", "this invitation was already answered")
    conv.status, conv.accepted = WALKING, now
    events = [{"kind": "conversation_accepted", "t": now, "conversation": conv.public()}]
    return events + walk_together(world, conv, now)


def decline(world: World, actor: str, conversation_id: object, now: int) -> list[dict]:
    """The invitee says no."""
    conv = find(world, conversation_id)
    _participant(conv, actor)
    if actor != conv.invitee:
        raise InputRefused("forbidden", "only the invited player can decline")
    if conv.status != INVITED:
        raise InputRefused("conflict", "this invitation was already answered")
    return end(world, conv, "declined", now)


def say(world: World, actor: str, conversation_id: object, text: object, now: int) -> list[dict]:
    """A chat message; ends the conversation when it reaches the message cap."""
    conv = find(world, conversation_id)
    _participant(conv, actor)
    if conv.status != ACTIVE:
        raise InputRefused("conflict", "the conversation has not started")
    if not isinstance(text, str):
        raise InputRefused("invalid", "text must be a string")
    text = text.strip()
    if not 1 <= len(text) <= world.config.max_message_chars:
        raise InputRefused("invalid", f"text must be 1-{world.config.max_message_chars} characters")
    message_id = world.next_id("m")
    conv.message_count += 1
    conv.last_author, conv.last_t = actor, now
    conv.spoke[actor] = conv.message_count
    name = world.players[actor].name
    conv.messages.append({"id": message_id, "author": actor, "name": name, "text": text, "t": now})
    del conv.messages[: -world.config.recent_messages]
    events = [
        {
            "kind": "message",
            "t": now,
            "conversation": conv.id,
            "author": actor,
            "text": text,
            "id": message_id,
        }
    ]
    if conv.message_count >= world.config.max_messages_per_conversation:
        events += end(world, conv, "message_cap", now)
    return events


def typing(world: World, actor: str, conversation_id: object, now: int) -> list[dict]:
    """A passing "is typing" signal; changes nothing."""
    conv = find(world, conversation_id)
    _participant(conv, actor)
    if conv.status != ACTIVE:
        raise InputRefused("conflict", "the conversation has not started")
    return [{"kind": "typing", "t": now, "conversation": conv.id, "player": actor}]


def join(world: World, actor: str, conversation_id: object, now: int) -> list[dict]:
    """Walk up to an active conversation and join it."""
    conv = find(world, conversation_id)
    player = world.players[actor]
    if actor in conv.participants:
        raise InputRefused("conflict", "you are already in this conversation")
    if player.conversation is not None:
        raise InputRefused("conflict", "you are already in a conversation")
    if conv.status != ACTIVE:
        raise InputRefused("conflict", "you can only join a conversation that is under way")
    if len(conv.participants) >= MAX_PARTICIPANTS:
        raise InputRefused("conflict", f"the conversation is full ({MAX_PARTICIPANTS} people)")
    here = current_tile(player, now)
    if not _near_any(world, conv.participants, here, JOIN_DISTANCE, now):
        raise InputRefused("conflict", "walk closer to join that conversation")
    events = world.halt(player, now)
    player.pending_move = None  # a queued errand must not walk them out of the talk
    nearest = min(
        (current_tile(world.players[p], now) for p in conv.participants),
        key=lambda t: abs(t[0] - here[0]) + abs(t[1] - here[1]),
    )
    player.facing = facing_towards(here, nearest, player.facing)
    conv.joined.append(actor)
    conv.last_t = now  # a newcomer gets a full idle period to say hello
    player.conversation = conv.id
    events.append(
        {"kind": "conversation_joined", "t": now, "conversation": conv.public(), "player": actor}
    )
    return events


def leave(world: World, actor: str, conversation_id: object, now: int) -> list[dict]:
    """A participant walks out: a group goes on without them, a pair ends."""
    conv = find(world, conversation_id)
    _participant(conv, actor)
    if len(conv.participants) <= 2:
        return end(world, conv, "left", now, leaver=actor)
    conv.drop(actor)
    player = world.players.get(actor)
    if player is not None:
        player.conversation = None
        player.idle_since = now
    return [_left_event(conv, actor, now)]


def _left_event(conv: Conversation, leaver: str, now: int) -> dict:
    return {
        "kind": "conversation_left",
        "t": now,
        "conversation": conv.id,
        "player": leaver,
        "participants": [p for p in conv.participants if p != leaver],
    }


def end(
    world: World, conv: Conversation, reason: str, now: int, leaver: str | None = None
) -> list[dict]:
    """Close the conversation, free everyone in it and start the cooldown of every pair."""
    events = []
    if leaver is not None:
        events.append(_left_event(conv, leaver, now))
    events.append(
        {
            "kind": "conversation_ended",
            "t": now,
            "conversation": conv.id,
            "reason": reason,
            "participants": list(conv.participants),
        }
    )
    conv.status = ENDED
    del world.conversations[conv.id]
    world.remember_ended(conv.id)
    for pid in conv.participants:
        player = world.players.get(pid)
        if player is not None and player.conversation == conv.id:
            player.conversation = None
            player.idle_since = now
    people = conv.participants
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            world.cooldowns[pair_key(a, b)] = now + world.config.conversation_cooldown_ms
    return events


def walk_together(world: World, conv: Conversation, now: int) -> list[dict]:
    """Start the talk if the pair is close, else send both to meet half-way."""
    a, b = world.players[conv.inviter], world.players[conv.invitee]
    ta, tb = current_tile(a, now), current_tile(b, now)
    if abs(ta[0] - tb[0]) + abs(ta[1] - tb[1]) <= world.config.conversation_distance:
        return _start(world, conv, now)
    if not world.search_budget_left():
        return []  # engine searches share the per-tick cap; try again next tick
    path = world.search_path(ta, tb, now, counted=True)
    if path is None:
        return end(world, conv, "unreachable", now)
    # Meet in the middle: one plan instead of two pursuers re-pathing every step.
    middle = (len(path) - 1) // 2
    return world.walk(a, path[: middle + 1], now) + world.walk(b, path[middle + 1 :][::-1], now)


def _start(world: World, conv: Conversation, now: int) -> list[dict]:
    """Both stop, face each other and the conversation becomes active."""
    events = []
    a, b = world.players[conv.inviter], world.players[conv.invitee]
    for p in (a, b):
        p.pending_move = None  # a queued errand must not walk them out of the talk
        if p.path:
            events += world.halt(p, now)
    a.facing = facing_towards((a.x, a.y), (b.x, b.y), a.facing)
    b.facing = facing_towards((b.x, b.y), (a.x, a.y), b.facing)
    conv.status, conv.started, conv.last_t = ACTIVE, now, now
    events.append({"kind": "conversation_started", "t": now, "conversation": conv.public()})
    return events


def step(world: World, now: int) -> list[dict]:
    """The per-tick conversation rules: timeouts, walking together, idle and length limits."""
    cfg = world.config
    events: list[dict] = []
    for conv in list(world.conversations.values()):
        if conv.status == INVITED and now - conv.created >= cfg.invite_timeout_ms:
            events += end(world, conv, "timeout", now)
        elif conv.status == WALKING:
            if now - (conv.accepted or now) >= cfg.walk_timeout_ms:
                events += end(world, conv, "timeout", now)
                continue
            a, b = world.players[conv.inviter], world.players[conv.invitee]
            ta, tb = current_tile(a, now), current_tile(b, now)
            close = abs(ta[0] - tb[0]) + abs(ta[1] - tb[1]) <= cfg.conversation_distance
            # Re-plan only when both stopped short: the meeting plan holds while anyone walks.
            if close or not (world.walking(a, now) or world.walking(b, now)):
                events += walk_together(world, conv, now)
        elif conv.status == ACTIVE:
            if cfg.conversation_idle_ms and now - conv.last_t >= cfg.conversation_idle_ms:
                events += end(world, conv, "idle", now)
            elif cfg.max_conversation_ms and now - (conv.started or now) >= cfg.max_conversation_ms:
                events += end(world, conv, "duration", now)
            else:
                events += _typing_before_a_line(world, conv, now)
    for key in [k for k, until in world.cooldowns.items() if until <= now]:
        del world.cooldowns[key]
    return events


def is_turn(conv: Conversation, player_id: str) -> bool:
    """Whether player_id should speak next in a pair: after the other, or first as the inviter."""
    if conv.status != ACTIVE:
        return False
    if conv.last_author is None:
        return player_id == conv.inviter
    return conv.last_author != player_id


def should_reply(world: World, conv: Conversation, agent_id: str, now: int | None = None) -> bool:
    """Whether the engine should ask this resident for its next line now (among residents
    only, not before the last line could be read: `line_due`)."""
    if now is not None and now < line_due(world, conv):
        return False
    if not conv.group:
        return is_turn(conv, agent_id)
    return conv.status == ACTIVE and floor_holder(world, conv) == agent_id


def residents_only(world: World, conv: Conversation) -> bool:
    return all(
        (p := world.players.get(pid)) is not None and p.kind == "agent" for pid in conv.participants
    )


def line_due(world: World, conv: Conversation) -> int:
    """When the next line of a conversation among residents may be asked for: its last line's
    reading time after it was said (the start counts as an empty line). Conversations with a
    person are answered at once: the person sets the pace."""
    cfg = world.config
    if not cfg.resident_line_max_ms or not residents_only(world, conv):
        return conv.last_t
    last = conv.messages[-1]["text"] if conv.last_author and conv.messages else ""
    pause = len(last) * cfg.resident_line_ms_per_char
    return conv.last_t + min(cfg.resident_line_max_ms, max(cfg.resident_line_min_ms, pause))


def _typing_before_a_line(world: World, conv: Conversation, now: int) -> list[dict]:
    """Among residents, the next speaker shows as typing before its line is asked for."""
    if conv.typing_t == conv.last_t or not world.config.resident_line_max_ms:
        return []
    if now < line_due(world, conv) - world.config.resident_typing_ms:
        return []
    if not residents_only(world, conv):
        return []
    speaker = next_speaker(world, conv) if conv.group else _pair_speaker(conv)
    if speaker is None:
        return []
    conv.typing_t = conv.last_t
    return [{"kind": "typing", "t": now, "conversation": conv.id, "player": speaker}]


def _pair_speaker(conv: Conversation) -> str:
    return conv.inviter if conv.last_author is None else conv.other(conv.last_author)


def floor_holder(world: World, conv: Conversation) -> str | None:
    """The one resident of a group who may be asked to speak: whoever is already being asked
    (the floor is kept until they answer or the request lapses), else `next_speaker`."""
    for pid in conv.participants:
        req = world.requests.get(pid)
        if req is not None and req["kind"] == "reply" and req.get("conversation") == conv.id:
            return pid
    return next_speaker(world, conv)


def next_speaker(world: World, conv: Conversation) -> str | None:
    """The resident to ask after the last message: one addressed by name, else the one who
    spoke least recently; never the last author. None when the last message addresses only
    humans (they answer), or nobody has spoken and the inviter is human (they start)."""
    residents = [
        p for p in conv.participants if p != conv.last_author and world.players[p].kind == "agent"
    ]
    if conv.last_author is None:
        return conv.inviter if conv.inviter in residents else None
    if not residents:
        return None
    last = conv.messages[-1]["text"] if conv.messages else ""
    others = [p for p in conv.participants if p != conv.last_author]
    named = addressed(last, {p: world.players[p].name for p in others})
    if named:
        return named[0] if named[0] in residents else None
    order = {p: n for n, p in enumerate(conv.participants)}
    return min(residents, key=lambda p: (conv.spoke.get(p, 0), order[p]))


def addressed(text: str, names: dict[str, str]) -> list[str]:
    """Ids whose name (full or first) appears as a word in text, in order of appearance."""
    found = []
    for pid, name in names.items():
        forms = {name, name.split(" ")[0]} - {""}
        where = [m.start() for f in forms for m in re.finditer(_word(f), text, re.IGNORECASE)]
        if where:
            found.append((min(where), pid))
    return [pid for _, pid in sorted(found)]


def _word(name: str) -> str:
    return rf"(?<!\w){re.escape(name)}(?!\w)"


def within_reach(world: World, conv: Conversation, player_id: str, tile: Tile, now: int) -> bool:
    """Whether standing on `tile` keeps player_id in the conversation (close to someone in it)."""
    reach = world.config.conversation_distance
    if conv.group:
        reach = max(reach, JOIN_DISTANCE)
    return _near_any(world, [p for p in conv.participants if p != player_id], tile, reach, now)


def _near_any(world: World, among: list[str], tile: Tile, reach: int, now: int) -> bool:
    for pid in among:
        ox, oy = current_tile(world.players[pid], now)
        if abs(tile[0] - ox) + abs(tile[1] - oy) <= reach:
            return True
    return False
