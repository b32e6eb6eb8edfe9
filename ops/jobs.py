"""Scheduled work that spans apps, wired to the job worker (town/jobs.py runs it).

Each app registers its own periodic tasks on procrastinate's shared app when Django starts
(town/jobs.py, music/jobs.py); what one app asks of another on a schedule is wired here.
"""

from __future__ import annotations

from music.jobs import daily_music
from town.jobs import on_worker_start


@on_worker_start
def todays_music() -> None:
    """A worker that was down at midnight still makes today's track."""
    daily_music.defer(timestamp=0)
