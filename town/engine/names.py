"""Name keys: two names with the same key read the same to a person (standard library only).

A key folds what a reader cannot tell apart: compatibility forms (full-width letters),
case, accents, spacing and punctuation, invisible characters, and the common Cyrillic and
Greek letters that look like Latin ones (the idea of Unicode's UTS #39 "skeleton", with a
small table instead of the full data file so the engine stays free of dependencies).
"""

from __future__ import annotations

import unicodedata

# Labels the page shows for the town itself: no character may be called that.
RESERVED_NAMES = ("Town notice", "Town", "Notice", "System", "Staff", "Admin", "Moderator")

# Look-alikes of Latin letters and digits (after case folding), as a reader sees them.
_LOOKALIKES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "l", "ї": "l",
    "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ь": "b", "г": "r",
    "п": "n", "ц": "u", "ш": "w", "з": "3", "ч": "4", "б": "6",
    # Greek
    "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "η": "n", "ι": "l", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c",
    "μ": "u", "ς": "c", "σ": "o", "θ": "o", "λ": "a",
    # Latin and digits that pass for each other
    "ı": "l", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ß": "ss", "æ": "ae", "œ": "oe",
    "0": "o", "1": "l", "5": "s", "|": "l", "!": "l",
}  # fmt: skip
_TABLE = str.maketrans(_LOOKALIKES)


def name_key(name: str) -> str:
    """What `name` looks like to a reader: equal keys mean confusable names."""
    text = unicodedata.normalize("NFKC", name)
    text = text.replace("I", "l")  # capital i and small L are one stroke in most fonts
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = text.translate(_TABLE)
    text = "".join(c for c in text if c.isalnum())
    return text.replace("rn", "m").replace("vv", "w").replace("cl", "d")


RESERVED_KEYS = frozenset(name_key(n) for n in RESERVED_NAMES)
