"""Tunable rules of the world, with defaults that make a lively town."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

# Limits every layer reads (the protocol, text cleaning, the models, the minds): one place.
MAX_NAME = 32  # characters in an in-world name
MAX_CHARACTER = 40  # characters in a sprite sheet's name
MAX_TEXT = 500  # characters in a chat line, a notice or a question to a resident
MAX_ID = 64  # characters in an id: a player's, a conversation's, a message's, a client's

STEP_MS = 1000  # the fixed world step (ms): runner, replay and headless runs step by it


@dataclass(frozen=True)
class EngineConfig:
    """Every knob of the engine; times are world milliseconds, distances tiles."""

    walk_speed: float = 3.0  # tiles per second
    time_rate: float = 60.0  # game seconds per world second: a game hour per real minute
    start_minute_of_day: int = 7 * 60
    max_players: int = 1000
    # Pathfinding
    max_path_nodes: int = 6000  # node expansions per search before giving up
    max_path_searches_per_tick: int = 20  # agent and engine searches; human moves are exempt
    soft_blocker_cost: int = 4  # extra cost for stepping onto a standing character's tile
    soft_blocker_radius: int = 10  # only characters this close to the start count (0 = all)
    snap_radius: int = 3  # a blocked target snaps to a walkable tile this close
    # Conversations
    invite_timeout_ms: int = 30_000
    walk_timeout_ms: int = 60_000  # accepted but never met: give up
    conversation_distance: int = 2  # Manhattan distance at which a walk-together becomes a talk
    max_messages_per_conversation: int = 40
    max_conversation_ms: int = 0  # 0 = no limit
    conversation_idle_ms: int = 120_000  # nobody spoke for this long: end it (0 = never)
    conversation_cooldown_ms: int = 60_000  # same pair cannot talk again before this
    max_message_chars: int = MAX_TEXT
    max_activity_chars: int = 120
    recent_messages: int = 10  # kept per conversation for reply requests
    # Residents among themselves talk at reading speed: the next line is asked for once the
    # last one could be read (ms per character, within min..max; 0, 0: at once), and the
    # next speaker shows as typing for the last resident_typing_ms of that pause.
    resident_line_ms_per_char: int = 40  # ~25 characters a second, an easy read
    resident_line_min_ms: int = 1500
    resident_line_max_ms: int = 6000
    resident_typing_ms: int = 1000
    # Agent decisions
    agent_idle_ms: int = 3000
    decision_timeout_ms: int = 20_000
    perception_radius: int = 6
    # Idempotency
    remembered_input_keys: int = 10_000

    def to_dict(self) -> dict:
        """The config as a plain dict (for logs and snapshots)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EngineConfig:
        """Build a config from a dict, ignoring unknown keys (forward compatible)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
