"""Reads: a world's current track, and its URL for snapshots (cheap enough for the engine loop).

The engine builds snapshots inside its event loop, where the ORM may not run. The URL is
kept per process for a few seconds; a miss there is read in a helper thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connection

from music.models import Track

FRESH_FOR = 5.0  # seconds a remembered URL is used without asking the database
_urls: dict[int, tuple[str | None, float]] = {}
_lock = threading.Lock()
_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="music-url")


def current_track(world_id: int) -> Track | None:
    """The world's newest track."""
    return Track.objects.filter(world_id=world_id).order_by("-id").first()


def track_url(track: Track | None) -> str | None:
    return track.file.url if track is not None and track.file else None


def remember(world_id: int, url: str | None) -> None:
    """Note a world's current URL (after a change in this process)."""
    with _lock:
        _urls[world_id] = (url, time.monotonic())


def forget_all() -> None:
    with _lock:
        _urls.clear()


def current_track_url(world_id: int) -> str | None:
    """The URL browsers play for a world, or None; safe to call from the engine's loop."""
    with _lock:
        cached = _urls.get(world_id)
    if cached is not None and time.monotonic() - cached[1] < FRESH_FOR:
        return cached[0]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        url = track_url(current_track(world_id))
    else:
        if cached is not None:
            _reader.submit(_read_into_cache, world_id)  # refresh in the background
            return cached[0]
        try:
            url = _reader.submit(_read_into_cache, world_id).result(timeout=2.0)
        except TimeoutError:
            return None
    remember(world_id, url)
    return url


def _read_into_cache(world_id: int) -> str | None:
    try:
        url = track_url(current_track(world_id))
        remember(world_id, url)
        return url
    finally:
        # This thread outlives any request: never keep a connection open in it.
        close_old_connections()
        connection.close()
