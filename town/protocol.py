"""The WebSocket protocol's client frames: parsing and validation (see docs/protocol.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

MAX_FRAME_BYTES = 4 * 1024
MAX_TEXT = 500

ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
Coord = Annotated[int, Field(ge=0, le=4096, strict=True)]


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Heartbeat(Frame):
    type: Literal["heartbeat"]


class Join(Frame):
    type: Literal["join"]
    id: ClientId
    name: Name | None = None
    character: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,40}$")] | None = None


class Leave(Frame):
    type: Literal["leave"]
    id: ClientId


class Move(Frame):
    type: Literal["move"]
    id: ClientId
    x: Coord
    y: Coord


class Invite(Frame):
    type: Literal["invite"]
    id: ClientId
    to: Ref


class Answer(Frame):
    type: Literal["accept", "decline"]
    id: ClientId
    conversation: Ref


class Say(Frame):
    type: Literal["say"]
    id: ClientId
    conversation: Ref
    text: Text


class Typing(Frame):
    type: Literal["typing"]
    id: ClientId
    conversation: Ref


class LeaveConversation(Frame):
    type: Literal["leave_conversation"]
    id: ClientId
    conversation: Ref


class JoinConversation(Frame):
    type: Literal["join_conversation"]
    id: ClientId
    conversation: Ref


class Control(Frame):
    type: Literal["freeze", "resume"]
    id: ClientId


ClientFrame = Annotated[
    Heartbeat
    | Join
    | Leave
    | Move
    | Invite
    | Answer
    | Say
    | Typing
    | LeaveConversation
    | JoinConversation
    | Control,
    Field(discriminator="type"),
]
_frame_adapter: TypeAdapter[Any] = TypeAdapter(ClientFrame)
KNOWN_TYPES = frozenset(
    [
        "heartbeat",
        "join",
        "leave",
        "move",
        "invite",
        "accept",
        "decline",
        "say",
        "typing",
        "leave_conversation",
        "join_conversation",
        "freeze",
        "resume",
    ]
)
PLAYER_TYPES = KNOWN_TYPES - {"heartbeat", "join", "freeze", "resume"}
STAFF_TYPES = frozenset(["freeze", "resume"])


class ProtocolError(Exception):
    """A refused frame: `code` is one of PROTOCOL.md's error codes."""

    def __init__(self, code: str, message: str, frame_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id

    def frame(self) -> dict:
        out = {"type": "error", "code": self.code, "message": self.message}
        if self.frame_id:
            out["id"] = self.frame_id
        return out


def parse_frame(text: str | None, data: bytes | None = None) -> BaseModel:
    """Turn one WebSocket frame into a validated client frame, or raise ProtocolError."""
    if text is None:
        raise ProtocolError("bad_json", "frames must be JSON text, not binary")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise ProtocolError("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        raw = json.loads(text)
    except ValueError:
        raise ProtocolError("bad_json", "the frame is not valid JSON") from None
    if not isinstance(raw, dict):
        raise ProtocolError("bad_json", "a frame must be a JSON object")
    frame_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    frame_type = raw.get("type")
    if not isinstance(frame_type, str) or frame_type not in KNOWN_TYPES:
        raise ProtocolError(
            "unknown_type", f"unknown frame type {str(frame_type)[:40]!r}", frame_id
        )
    try:
        return _frame_adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        raise ProtocolError("invalid", f"{where}: {first['msg']}", frame_id) from None
