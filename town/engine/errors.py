"""Refusals the engine raises when an input breaks a game rule."""

from __future__ import annotations

# The subset of PROTOCOL.md error codes the engine itself can produce.
ERROR_CODES = frozenset(
    {"invalid", "unknown_type", "not_player", "not_found", "conflict", "forbidden", "world_full"}
)


class InputRefused(Exception):
    """An input that breaks a game rule; nothing in the world changed."""

    def __init__(self, code: str, message: str = "") -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message or code

    def to_dict(self) -> dict:
        """The refusal as a protocol `error` payload (without the frame id)."""
        return {"code": self.code, "message": self.message}
