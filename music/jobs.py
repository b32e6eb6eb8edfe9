"""The daily music job (00:00 UTC) and the on-demand one (admin action)."""

from __future__ import annotations

import datetime as dt

from procrastinate import RetryStrategy
from procrastinate.contrib.django import app

from music import services


@app.periodic(cron="0 0 * * *", periodic_id="daily")
@app.task(
    queue="music",
    queueing_lock="daily-music",
    retry=RetryStrategy(max_attempts=4, wait=600),
)
def daily_music(timestamp: int) -> list[int]:
    """Today's track for every world without one (a retry redoes only the missing ones)."""
    day = dt.datetime.fromtimestamp(timestamp, dt.UTC).date() if timestamp else None
    return services.make_daily_tracks(day)


@app.task(queue="music", retry=RetryStrategy(max_attempts=3, wait=300))
def make_music(world_id: int, actor: str = "admin") -> int | None:
    """A new track for one world now, whatever it already has."""
    track = services.make_track(world_id, force=True, actor=actor)
    return track.pk if track else None
