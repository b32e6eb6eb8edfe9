"""The one wall clock for jobs and services (idle pauses, music days), movable in tests.

`now()` is `timezone.now()` plus an offset; tests call `move(timedelta(minutes=6))` instead
of sleeping, and `reset()` afterwards. The engine's world time is separate (town/engine).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    """The current time (aware, UTC), as moved by tests."""
    return timezone.now() + _offset


def today() -> dt.date:
    """Today's date in UTC."""
    return now().astimezone(dt.UTC).date()


def move(by: dt.timedelta) -> None:
    """Move the clock forward (or back) for everything in this process."""
    global _offset
    _offset += by


def reset() -> None:
    """Back to the real time."""
    global _offset
    _offset = dt.timedelta(0)
