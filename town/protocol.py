"""The WebSocket protocol's client frames: parsing and validation (see docs/protocol.md)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from town.text import MAX_NAME, MAX_TEXT, BadText, clean_identifier, clean_name, clean_text

MAX_FRAME_BYTES = 4 * 1024
# Client frames are flat objects; nesting deeper than this is refused before it is parsed
# (the standard parser recurses once per level: ~1,900 levels of "[" raised RecursionError).
MAX_DEPTH = 8


def _edge(clean):
    """A pydantic validator from a town.text cleaner (BadText becomes a field error)."""

    def validate(value: str) -> str:
        try:
            return clean(value)
        except BadText as exc:
            raise ValueError(str(exc)) from None

    return AfterValidator(validate)


ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64), _edge(clean_identifier)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64), _edge(clean_identifier)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=4 * MAX_NAME), _edge(clean_name)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4 * MAX_TEXT), _edge(clean_text)]
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


class ViewFrame(Frame):
    """The tiles a page shows (all four corners, or none to show everything again)."""

    type: Literal["view"]
    id: ClientId | None = None
    x0: Coord | None = None
    y0: Coord | None = None
    x1: Coord | None = None
    y1: Coord | None = None

    @model_validator(mode="after")
    def _corners(self) -> ViewFrame:
        corners = (self.x0, self.y0, self.x1, self.y1)
        if any(c is None for c in corners) and any(c is not None for c in corners):
            raise ValueError("give all of x0, y0, x1, y1, or none of them")
        if self.x0 is not None and (self.x0 > self.x1 or self.y0 > self.y1):
            raise ValueError("x0 must not exceed x1, nor y0 y1")
        return self


ClientFrame = Annotated[
    Heartbeat
    | ViewFrame
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
        "view",
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
PLAYER_TYPES = KNOWN_TYPES - {"heartbeat", "view", "join", "freeze", "resume"}
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


def nesting_depth(text: str) -> int:
    """How deep JSON brackets nest in `text` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # cannot be deeper than that: the usual frame costs two counts
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_frame(text: str | None, data: bytes | None = None) -> BaseModel:
    """Turn one WebSocket frame into a validated client frame, or raise ProtocolError."""
    if text is None:
        raise ProtocolError("bad_json", "frames must be JSON text, not binary")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise ProtocolError("too_large", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    if nesting_depth(text) > MAX_DEPTH:
        raise ProtocolError("invalid", f"frames nest at most {MAX_DEPTH} levels deep")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
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
        reason = first["msg"].removeprefix("Value error, ")
        raise ProtocolError("invalid", f"{where}: {reason}", frame_id) from None
