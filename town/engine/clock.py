"""Game time of day derived from world time: the only clock the engine knows."""

from __future__ import annotations

MINUTES_PER_DAY = 24 * 60


def game_minutes(now: int, time_rate: float, start_minute_of_day: int) -> float:
    """Game minutes elapsed since midnight of day 1 at world time `now` (ms)."""
    return start_minute_of_day + now / 60_000 * time_rate


def daylight(minute_of_day: float) -> float:
    """0 at night, 1 by day; smooth dawn 5-7h and dusk 18-20h."""
    hour = minute_of_day / 60
    return round(_smoothstep(5, 7, hour) * (1 - _smoothstep(18, 20, hour)), 3)


def clock_at(now: int, time_rate: float, start_minute_of_day: int) -> dict:
    """The clock dict clients and minds see: day, hour, minute, daylight, label."""
    total = int(game_minutes(now, time_rate, start_minute_of_day))
    day, minute_of_day = divmod(total, MINUTES_PER_DAY)
    hour, minute = divmod(minute_of_day, 60)
    return {
        "day": day + 1,
        "hour": hour,
        "minute": minute,
        "minute_of_day": minute_of_day,
        "daylight": daylight(minute_of_day),
        "label": f"Day {day + 1}, {hour:02d}:{minute:02d}",
    }


def _smoothstep(edge0: float, edge1: float, x: float) -> float:
    """Hermite ramp from 0 at edge0 to 1 at edge1."""
    t = min(max((x - edge0) / (edge1 - edge0), 0.0), 1.0)
    return t * t * (3 - 2 * t)
