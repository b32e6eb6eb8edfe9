"""Whether a world's residents may use the model now: key configured, budget left, provider up.

The answer is kept in the Django cache (shared by every process when REDIS_URL is set) so the
page's `mind` field can be read without a database query, even from inside the engine loop.
"""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

REFRESH = 10.0  # seconds an in-process spend figure is trusted before re-reading the database
_spent: dict[tuple[int, str], tuple[int, float]] = {}
_down = [0.0]  # monotonic time until which this process treats the provider as down


def configured() -> bool:
    """A provider is configured (Ollama and friends need a URL but no key)."""
    return bool(settings.LLM_API_KEY or settings.LLM_BASE_URL)


def today() -> str:
    return timezone.now().date().isoformat()


def _spent_key(world_id: int) -> str:
    return f"minds:spent:{world_id}:{today()}"


def tokens_today(world_id: int) -> int:
    """Tokens this world has spent today (UTC), from the call records."""
    from agents.models import ModelCall

    key = (world_id, today())
    cached = _spent.get(key)
    if cached is not None and time.monotonic() - cached[1] < REFRESH:
        return cached[0]
    total = ModelCall.objects.filter(world_id=world_id, created__gte=day_start()).aggregate(
        n=Coalesce(Sum("tokens_in"), 0) + Coalesce(Sum("tokens_out"), 0)
    )["n"]
    _spent[key] = (total, time.monotonic())
    return total


def add_tokens(world_id: int | None, tokens: int) -> None:
    """Count a call's tokens at once, so a burst of calls cannot overshoot by much."""
    if world_id is None:
        return
    key = (world_id, today())
    total = tokens_today(world_id) + tokens
    _spent[key] = (total, _spent[key][1])
    if settings.MIND_DAILY_TOKENS and total >= settings.MIND_DAILY_TOKENS:
        cache.set(_spent_key(world_id), True, 26 * 3600)


def budget_left(world_id: int | None) -> bool:
    if world_id is None or not settings.MIND_DAILY_TOKENS:
        return True
    if cache.get(_spent_key(world_id)):
        return False
    if tokens_today(world_id) >= settings.MIND_DAILY_TOKENS:
        cache.set(_spent_key(world_id), True, 26 * 3600)
        return False
    return True


def mark_down(reason: str) -> None:
    """The provider failed: residents think offline for a cooldown, and the page says so."""
    cache.set("minds:down", reason[:200], settings.MIND_PROVIDER_COOLDOWN)
    _down[0] = time.monotonic() + settings.MIND_PROVIDER_COOLDOWN


def provider_up() -> bool:
    return time.monotonic() >= _down[0] and not cache.get("minds:down")


def mark_up() -> None:
    _down[0] = 0.0
    cache.delete("minds:down")


def model_allowed(world_id: int | None) -> bool:
    """May this world's minds call the model right now?"""
    return configured() and provider_up() and budget_left(world_id)


def mind_mode(world_id: int | None = None) -> str:
    """ "llm" or "offline" for the page, from the cache only (no database query)."""
    if not configured() or cache.get("minds:down"):
        return "offline"
    if world_id is not None and settings.MIND_DAILY_TOKENS and cache.get(_spent_key(world_id)):
        return "offline"
    return "llm"


def reset() -> None:
    """Forget in-process figures (tests, and after an operator raises the budget)."""
    _spent.clear()
    _down[0] = 0.0
    cache.delete("minds:down")


def day_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or timezone.now()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
