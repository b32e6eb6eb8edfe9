"""Text at the edge: what people type is checked here before anything stores or shows it.

One module for every field that comes from outside (names, chat, client identifiers, URL
parameters): the protocol's validators, the staff views and the account forms call it, so
the engine and the database never receive what they cannot store (PostgreSQL refuses NUL)
or what would mislead a reader (direction overrides, invisible names, look-alike names).
"""

from __future__ import annotations

import re
import unicodedata

from town.engine.config import MAX_NAME, MAX_TEXT
from town.engine.names import RESERVED_KEYS, name_key

# Direction overrides and isolates reorder what follows them on the page ("evil\u202etxt.exe").
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_WHITESPACE_RUN = re.compile(r"\s+")
# Categories no visible text needs: controls, unassigned, private use, lone surrogates.
_NEVER = frozenset({"Cc", "Cn", "Co", "Cs"})


class BadText(ValueError):
    """Text refused at the edge; the message says why, for the person who typed it."""


def _refuse_unstorable(text: str) -> None:
    for char in text:
        category = unicodedata.category(char)
        if category in _NEVER and char not in "\t\n\r":
            raise BadText(f"contains a control or invalid character (U+{ord(char):04X})")


def clean_text(text: str, *, limit: int = MAX_TEXT) -> str:
    """A chat line: runs of whitespace become one space, direction overrides go; NUL and
    other control characters are refused, as is text with nothing visible left."""
    _refuse_unstorable(text)
    text = "".join(c for c in text if c not in BIDI_CONTROLS)
    text = _WHITESPACE_RUN.sub(" ", text).strip()
    if not any(_visible(c) for c in text):
        raise BadText("is empty")
    if len(text) > limit:
        raise BadText(f"is longer than {limit} characters")
    return text


def clean_name(name: str, *, limit: int = MAX_NAME) -> str:
    """An in-world name: NFKC, one line, no invisible or format characters, not a label of
    the town's own ("Town notice"), one script at most besides common punctuation."""
    _refuse_unstorable(name)
    name = unicodedata.normalize("NFKC", name)
    if any(unicodedata.category(c) == "Cf" for c in name):
        raise BadText("contains an invisible or direction-changing character")
    name = _WHITESPACE_RUN.sub(" ", name).strip()
    if not name or not any(_visible(c) for c in name):
        raise BadText("is empty")
    if len(name) > limit:
        raise BadText(f"is longer than {limit} characters")
    if len(scripts(name)) > 1:
        raise BadText("mixes alphabets (" + ", ".join(sorted(scripts(name))) + ")")
    if name_key(name) in RESERVED_KEYS or not name_key(name):
        raise BadText("is reserved for the town")
    return name


def clean_identifier(value: str) -> str:
    """A client-chosen id or a reference to a player or conversation: printable, one line."""
    for char in value:
        if unicodedata.category(char)[0] in "CZ" and char != " ":
            raise BadText("contains a control, invisible or line-breaking character")
    return value


def clean_parameter(value: str) -> str:
    """A URL or form parameter: anything storable and printable on one line."""
    _refuse_unstorable(value)
    if any(c in "\t\n\r" for c in value):
        raise BadText("contains a line break or tab")
    return value


def _visible(char: str) -> bool:
    return unicodedata.category(char)[0] not in "CZ"


def scripts(text: str) -> set[str]:
    """The alphabets the letters of `text` come from (Latin, Cyrillic, Greek, CJK, …)."""
    found = set()
    for char in text:
        if not char.isalpha():
            continue
        try:
            script = unicodedata.name(char).split(" ")[0]
        except ValueError:
            script = "UNKNOWN"
        if script in {"FULLWIDTH", "HALFWIDTH"}:  # NFKC leaves few; they count as what they show
            script = "LATIN"
        if script in {"HIRAGANA", "KATAKANA", "CJK"}:
            script = "CJK"  # Japanese mixes these in one name
        found.add(script)
    return found


def confusable(a: str, b: str) -> bool:
    """Whether two names read the same to a person."""
    return name_key(a) == name_key(b)
