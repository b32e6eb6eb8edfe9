"""A world's language: the one the residents think and speak in (stored in World.settings).

The page's own language is separate: it follows each visitor (Django i18n, see
docs/client.md). The minds read the world's language every time they build a prompt or a
line, so a change reaches them without a restart.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from town.models import Player, World

# Languages a model can be told to speak: code → English name (used in the prompts).
# The offline mind's templates exist for SHIPPED; other languages fall back to English there.
KNOWN = {
    "ar": "Arabic",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "ga": "Irish",
    "gl": "Galician",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "id": "Indonesian",
    "is": "Icelandic",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "ms": "Malay",
    "nb": "Norwegian Bokmål",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "pt-br": "Brazilian Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sr": "Serbian",
    "sv": "Swedish",
    "sw": "Swahili",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh-hans": "Simplified Chinese",
    "zh-hant": "Traditional Chinese",
}
SHIPPED = ("en", "es")  # offline templates and page translations exist for these


class UnknownLanguage(ValueError):
    """A language code the town does not know."""


def normalise(code: str) -> str:
    """`ES`, `es_ES` or ` es ` → `es`; a known regional code (`pt-BR`) keeps its region."""
    code = (code or "").strip().lower().replace("_", "-")
    if code in KNOWN:
        return code
    base = code.split("-")[0]
    if base in KNOWN:
        return base
    raise UnknownLanguage(
        f"unknown language code {code or '(empty)'!r}: use one of {', '.join(sorted(KNOWN))}"
    )


def name_of(code: str) -> str:
    """The English name of a language (`es` → `Spanish`)."""
    return KNOWN.get(code, code)


def default_language() -> str:
    """TOWN_LANGUAGE, checked: the language of worlds that never chose one."""
    try:
        return normalise(settings.TOWN_LANGUAGE)
    except UnknownLanguage as exc:
        raise ImproperlyConfigured(f"TOWN_LANGUAGE: {exc}") from None


def world_language(world: World | int) -> str:
    """The language a world's residents speak (read fresh from the database)."""
    if isinstance(world, World):
        chosen = (world.settings or {}).get("language")
    else:
        row = World.objects.filter(pk=world).values_list("settings", flat=True).first()
        chosen = (row or {}).get("language")
    return chosen or default_language()


def resident_language(resident: dict) -> str:
    """The language of the world a resident (a mind's resident dict) lives in."""
    if resident.get("language"):
        return resident["language"]
    if resident.get("pk") is None:
        return default_language()
    row = Player.objects.filter(pk=resident["pk"]).values_list("world__settings", flat=True)
    chosen = (row.first() or {}).get("language")
    return chosen or default_language()


def set_world_language(world: World | int, code: str, actor: Any = None) -> str:
    """Make a world's residents think and speak in `code`; returns the normalised code."""
    from town.services import audit

    language = normalise(code)
    world_id = world.pk if isinstance(world, World) else world
    with transaction.atomic():
        row = World.objects.select_for_update().get(pk=world_id)
        was = (row.settings or {}).get("language") or default_language()
        row.settings = {**(row.settings or {}), "language": language}
        row.save(update_fields=["settings"])
        audit(row, "language", actor, language=language, was=was)
    if isinstance(world, World):
        world.settings = row.settings
    return language
