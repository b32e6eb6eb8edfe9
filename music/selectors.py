"""Reads: a world's current track and its URL.

Pages learn the URL from the world itself (`World.music_url`, set through
`town.services.publish_music`), so nothing here runs on the engine's loop.
"""

from __future__ import annotations

from music.models import Track


def current_track(world_id: int) -> Track | None:
    """The world's newest track."""
    return Track.objects.filter(world_id=world_id).order_by("-id").first()


def track_url(track: Track | None) -> str | None:
    return track.file.url if track is not None and track.file else None
