"""Whether a world's residents may use the model now: key configured, budget left, provider up.

The page's answer (`mind_mode`) is kept in the Django cache (shared by every process when
REDIS_URL is set) so it can be read without a database query, even from inside the engine
loop. Everything that decides it is re-read from the database every few seconds, so an
operator's change made in another process (`town budget set|reset`) reaches a running town
even when each process has its own cache.

Provider health is a small circuit breaker: a few failures in a row (timeouts, connection
errors, 5xx) mark the provider down; while it is down one probe call may go through every
few seconds, and the first success brings the model back. A 429 only backs off for the time
the provider asks for; it never marks the provider down.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

REFRESH = 3.0  # seconds a spend figure or a world's limit is trusted before re-reading
SPENT_FLAG_TTL = 30  # seconds the page's "spent" flag lives unless re-confirmed
DOWN_KEY, PROBE_KEY = "minds:down", "minds:probe"

_lock = threading.Lock()
_spent: dict[tuple[int, str], tuple[int, float]] = {}  # (world, since) -> (tokens, read at)
_limits: dict[int, tuple[int, str, float]] = {}  # world -> (limit, counted since, read at)
_failures = [0]  # consecutive provider failures seen by this process
_backoff = [0.0]  # monotonic time until which this process leaves a rate-limited provider be


def configured() -> bool:
    """A provider is configured (Ollama and friends need a URL but no key)."""
    return bool(settings.LLM_API_KEY or settings.LLM_BASE_URL)


def today() -> str:
    return timezone.now().date().isoformat()


def _spent_key(world_id: int) -> str:
    return f"minds:spent:{world_id}:{today()}"


# -- the budget ----------------------------------------------------------------------------


def world_budget(world_id: int) -> tuple[int, dt.datetime]:
    """(daily token limit, start of today's count) for a world, re-read every few seconds.

    The limit is the world's own (`World.settings["daily_tokens"]`, set by `town budget set`)
    or MIND_DAILY_TOKENS; 0 means no limit. Today's count starts at midnight UTC or at the
    operator's last `town budget reset`, whichever is later.
    """
    from town.models import World

    now = time.monotonic()
    cached = _limits.get(world_id)
    if cached is None or now - cached[2] >= REFRESH:
        row = World.objects.filter(pk=world_id).values_list("settings", flat=True).first() or {}
        limit = row.get("daily_tokens")
        reset_at = row.get("budget_reset_at") or ""
        cached = _limits[world_id] = (
            -1 if limit is None else int(limit),
            reset_at,
            now,
        )
    limit = settings.MIND_DAILY_TOKENS if cached[0] < 0 else cached[0]
    since = day_start()
    if cached[1]:
        since = max(since, dt.datetime.fromisoformat(cached[1]))
    return limit, since


def daily_limit(world_id: int | None) -> int:
    """The world's daily token limit (0: none)."""
    if world_id is None:
        return 0
    return world_budget(world_id)[0]


def tokens_today(world_id: int) -> int:
    """Tokens this world has spent today (UTC, since the last reset), from the call records."""
    from agents.models import ModelCall

    since = world_budget(world_id)[1]
    key = (world_id, since.isoformat())
    cached = _spent.get(key)
    if cached is not None and time.monotonic() - cached[1] < REFRESH:
        return cached[0]
    total = ModelCall.objects.filter(world_id=world_id, created__gte=since).aggregate(
        n=Coalesce(Sum("tokens_in"), 0) + Coalesce(Sum("tokens_out"), 0)
    )["n"]
    _spent[key] = (total, time.monotonic())
    _flag(world_id, total)  # a fresh figure: the page's flag follows it
    return total


def _flag(world_id: int, total: int) -> None:
    limit = daily_limit(world_id)
    if limit and total >= limit:
        cache.set(_spent_key(world_id), True, SPENT_FLAG_TTL)
    else:
        cache.delete(_spent_key(world_id))


def add_tokens(world_id: int | None, tokens: int) -> None:
    """Count a call's tokens at once, so a burst of calls cannot overshoot by much."""
    if world_id is None:
        return
    total = tokens_today(world_id) + tokens
    key = (world_id, world_budget(world_id)[1].isoformat())
    with _lock:
        _spent[key] = (total, _spent.get(key, (0, time.monotonic()))[1])
    limit = daily_limit(world_id)
    if limit and total >= limit:
        cache.set(_spent_key(world_id), True, SPENT_FLAG_TTL)


def budget_left(world_id: int | None) -> bool:
    """The world has not spent today's tokens (always true without a world or a limit)."""
    if world_id is None:
        return True
    limit = daily_limit(world_id)
    if not limit:
        return True
    return tokens_today(world_id) < limit


# -- provider health -----------------------------------------------------------------------


def _failures_to_down() -> int:
    return max(1, int(getattr(settings, "MIND_PROVIDER_FAILURES", 3)))


def _probe_every() -> float:
    return float(getattr(settings, "MIND_PROVIDER_PROBE", 5.0))


def mark_down(reason: str) -> None:
    """The provider keeps failing: residents think offline (one probe now and then)."""
    cache.set(DOWN_KEY, reason[:200], settings.MIND_PROVIDER_COOLDOWN)
    # The next probe waits its turn: the call that just failed was the last try.
    cache.set(PROBE_KEY, 1, _probe_every())


def provider_up() -> bool:
    """The provider is not marked down (a probe may still be let through when it is)."""
    return not cache.get(DOWN_KEY)


def mark_up() -> None:
    """The provider answered: everyone may call it again."""
    _failures[0] = 0
    cache.delete(DOWN_KEY)
    cache.delete(PROBE_KEY)


def call_succeeded() -> None:
    """A call came back: the failure streak ends, and a probe's success ends the outage."""
    _failures[0] = 0
    if cache.get(DOWN_KEY):
        mark_up()


def call_failed(reason: str) -> bool:
    """A timeout, connection error or server error; returns whether the provider is now down."""
    with _lock:
        _failures[0] += 1
        streak = _failures[0]
    if streak >= _failures_to_down() or cache.get(DOWN_KEY):  # a failed probe: still down
        mark_down(reason)
        return True
    return False


def back_off(seconds: float) -> None:
    """The provider said "too many requests": leave it be for `seconds` (in this process)."""
    with _lock:
        _backoff[0] = max(_backoff[0], time.monotonic() + seconds)


def backing_off() -> bool:
    return time.monotonic() < _backoff[0]


def probe_due() -> bool:
    """The provider is down and no probe has gone out for a while."""
    return not provider_up() and not cache.get(PROBE_KEY)


def admit() -> str | None:
    """May a call go to the provider now? None if so, else why not.

    While the provider is down, the first caller after each probe interval is let through
    (it claims the probe atomically); everyone else thinks offline.
    """
    if backing_off():
        return "the provider asked us to slow down"
    if provider_up() or cache.add(PROBE_KEY, 1, _probe_every()):
        return None
    return "the provider is down"


def model_allowed(world_id: int | None) -> bool:
    """May this world's minds call the model right now?"""
    if not configured() or backing_off():
        return False
    return (provider_up() or probe_due()) and budget_left(world_id)


def mind_mode(world_id: int | None = None) -> str:
    """ "llm" or "offline" for the page, from the cache only (no database query)."""
    if not configured() or cache.get(DOWN_KEY):
        return "offline"
    if world_id is not None and cache.get(_spent_key(world_id)):
        return "offline"
    return "llm"


# -- levers --------------------------------------------------------------------------------


def forget(world_id: int | None = None) -> None:
    """Drop this process's remembered figures (for one world, or all) and the spent flags."""
    with _lock:
        for key in [k for k in _spent if world_id is None or k[0] == world_id]:
            del _spent[key]
        for key in [k for k in _limits if world_id is None or k == world_id]:
            del _limits[key]
    if world_id is not None:
        cache.delete(_spent_key(world_id))


def reset() -> None:
    """Forget everything this process knows: spend, limits, spent flags, provider health."""
    spent_worlds = {k[0] for k in _spent} | set(_limits)
    forget()
    for world_id in spent_worlds:
        cache.delete(_spent_key(world_id))
    _failures[0] = 0
    _backoff[0] = 0.0
    cache.delete(DOWN_KEY)
    cache.delete(PROBE_KEY)


def status(world_id: int) -> dict[str, Any]:
    """Today's spend and limit for a world, read fresh (for the operator)."""
    forget(world_id)
    limit, since = world_budget(world_id)
    spent = tokens_today(world_id)
    return {
        "world": world_id,
        "spent": spent,
        "limit": limit,
        "since": since,
        "left": max(0, limit - spent) if limit else None,
        "own_limit": _limits[world_id][0] >= 0,
    }


def day_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or timezone.now()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def people_share() -> float:
    """The share of the day's budget residents among themselves may use; the rest is for people."""
    return float(getattr(settings, "MIND_BUDGET_PEOPLE_SHARE", 0.7))


PACE_LEAD = dt.timedelta(hours=1)  # residents may spend this far ahead of an even pace


def day_fraction(world_id: int, now: dt.datetime | None = None) -> float:
    """How much of today's count has gone by (0..1), one PACE_LEAD ahead: from its start
    (midnight UTC or the operator's last reset) to the next midnight UTC."""
    now = now or timezone.now()
    since = world_budget(world_id)[1]
    length = (day_start(now) + dt.timedelta(days=1) - since).total_seconds()
    gone = (now - since + PACE_LEAD).total_seconds()
    return 1.0 if length <= 0 else min(1.0, max(0.0, gone / length))


def residents_allowance(world_id: int) -> int:
    """Tokens residents among themselves may have used by now (0: no limit).

    MIND_BUDGET_PEOPLE_SHARE of the day's budget, spread evenly over the day when
    MIND_BUDGET_PACED (the default): by noon half of it, so residents talk with the model all
    day long (some of their conversations offline) instead of spending their share by the
    afternoon, and people's conversations never meet the offline fall-back unless people
    alone spend the whole budget.
    """
    limit = daily_limit(world_id)
    if not limit:
        return 0
    share = people_share() * limit
    if getattr(settings, "MIND_BUDGET_PACED", True):
        share *= day_fraction(world_id)
    return int(share)


SMALL_TALK_SHARE = 0.9  # of the allowance; the last tenth is kept for plans and reflections


def for_people_only(world_id: int | None, small_talk: bool = False) -> bool:
    """Residents among themselves are ahead of their allowance: the model is kept for people.

    `small_talk`: for a conversation among residents, which stops at SMALL_TALK_SHARE of the
    allowance, so that day plans and reflections (cheap, and what the day is built on) still
    find some of it when conversations keep the spend at the pace line.
    """
    if world_id is None or not daily_limit(world_id):
        return False
    allowance = residents_allowance(world_id)
    if small_talk:
        allowance = int(allowance * SMALL_TALK_SHARE)
    return tokens_today(world_id) >= allowance


def conversation_mode(world_id: int | None, with_people: bool) -> str:
    """The mind mode a conversation starting now gets ("llm" | "offline"), kept until it ends.

    Offline when the model may not be called; offline for residents among themselves while
    today's spend is past their allowance (`residents_allowance`), so the rest goes to people.
    """
    if not model_allowed(world_id):
        return "offline"
    if not with_people and for_people_only(world_id, small_talk=True):
        return "offline"
    return "llm"


ACTIVE_CONVERSATION_SECONDS = 600  # a conversation row not touched for this long is over


def mind_status(world_id: int) -> dict[str, Any]:
    """Which mind the world's residents think with now: {"mode", "offline": [pid, ...]}.

    "offline" lists the residents thinking offline right now: every resident when the mode
    is offline; otherwise those in conversations running offline (e.g. residents among
    themselves past MIND_BUDGET_PEOPLE_SHARE of the budget). The budget and its spent flag are
    re-read here (every few seconds at most), so a raised budget shows at once.
    """
    from agents.models import ConversationMind
    from town.models import Player

    if configured():
        budget_left(world_id)  # refreshes the page's spent flag when the figures are stale
    mode = mind_mode(world_id)
    if mode == "offline":
        pids = Player.objects.filter(world_id=world_id, kind=Player.Kind.AGENT)
        return {"mode": mode, "offline": sorted(pids.values_list("pid", flat=True))}
    since = timezone.now() - dt.timedelta(seconds=ACTIVE_CONVERSATION_SECONDS)
    rows = ConversationMind.objects.filter(world_id=world_id, mode="offline", updated__gte=since)
    offline = sorted(
        {pid for residents in rows.values_list("residents", flat=True) for pid in residents}
    )
    return {"mode": mode, "offline": offline}
