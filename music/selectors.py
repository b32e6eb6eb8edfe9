"""Reads: a world's current track and its URL.

Pages learn the URL from the world itself (`World.music_url`, set through
`town.services.publish_music`), so nothing here runs on the engine's loop.
"""

from __future__ import annotations

from music.models import Track
from town.models import World


def current_track(world_id: int) -> Track | None:
    """The world's newest track."""
    return Track.objects.filter(world_id=world_id).order_by("-id").first()


def track_url(track: Track | None) -> str | None:
    return track.file.url if track is not None and track.file else None


def remember(world_id: int, url: str | None) -> None:
    """Nothing to keep per process: the URL lives on the world (see music/apps.py)."""


def store_on_world(track: Track) -> None:
    """Make a newly saved track the world's current one (stored in the same transaction).

    Interim, until music/services.py calls town.services.publish_music where it saves the
    track: that stores the URL and tells the pages in one call.
    """
    World.objects.filter(pk=track.world_id).update(music_url=track_url(track) or "")


def forget_all() -> None:
    """Nothing is kept per process any more (the URL lives on the world row)."""
