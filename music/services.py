"""Writes for music: make a world's track (Replicate or procedural), keep a few, and publish
the newest to its world (`town.services.publish_music`: stored on the world, told to pages)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction

from music import procedural, prompts, replicate_music, selectors
from music.models import Track
from town import clock
from town.models import World
from town.services import IDLE, WrongState, audit, publish_music

log = logging.getLogger(__name__)


def make_track(
    world_id: int, *, day: dt.date | None = None, force: bool = False, actor: Any = None
) -> Track | None:
    """Make the world's track for `day` (today) unless it has one; `force` makes another."""
    world = World.objects.get(pk=world_id)
    if world.status == World.Status.ARCHIVED:
        raise WrongState(f"{world.name} is archived: its music stays as it was")
    day = day or clock.today()
    made = Track.objects.filter(world=world, day=day).count()
    if made and not force:
        return None
    spec = prompts.describe(world, day, prompts.world_mood(world), variant=made)
    seconds = settings.MUSIC_DURATION
    detail: dict[str, Any] = {"season": spec.season}
    source = Track.Source.PROCEDURAL
    data = b""
    extension = "ogg"
    if settings.REPLICATE_API_TOKEN:
        try:
            generated = replicate_music.generate(spec.prompt, seconds=seconds)
        except replicate_music.ReplicateFailed as exc:
            detail["replicate_error"] = str(exc)[:2000]
            audit(world, "music_fallback", actor, error=str(exc)[:500])
            log.warning("world %s: Replicate made no track (%s); composing one", world.pk, exc)
        else:
            source, data, extension = Track.Source.REPLICATE, generated.data, generated.extension
            detail.update(generated.detail)
    if source == Track.Source.PROCEDURAL:
        samples = procedural.render(spec.seed, spec.mood, spec.season, float(seconds))
        data = procedural.ogg_bytes(samples)
        detail["seed"] = spec.seed
    name = f"world-{world.pk}/{day.isoformat()}-{source}-{uuid.uuid4().hex[:8]}.{extension}"
    with transaction.atomic():
        # Two workers may have composed at once: the first to commit wins, per world row lock.
        World.objects.select_for_update().filter(pk=world.pk).first()
        if not force and Track.objects.filter(world=world, day=day).count() > made:
            return None
        track = Track(
            world=world,
            day=day,
            source=source,
            prompt=spec.prompt,
            mood=spec.mood,
            duration=float(seconds),
            detail=detail,
        )
        track.file.save(name, ContentFile(data), save=False)
        track.save()
        audit(world, "music", actor, track=track.pk, source=source, day=day.isoformat())
        prune_tracks(world)
        # Stored with the track; the pages hear the `music` event when this commits.
        publish_music(world.pk, selectors.track_url(track))
    return track


def prune_tracks(world: World, keep: int | None = None) -> int:
    """Delete all but the newest MUSIC_TRACKS_KEPT tracks of a world, files included."""
    keep = settings.MUSIC_TRACKS_KEPT if keep is None else keep
    old = list(Track.objects.filter(world=world).order_by("-id")[max(1, keep) :])
    for track in old:
        _delete_file(track)
        track.delete()
    return len(old)


def delete_all_tracks() -> int:
    """Delete every track and its file (for `wipe`)."""
    count = 0
    for track in Track.objects.all().iterator():
        _delete_file(track)
        count += 1
    Track.objects.all().delete()
    return count


def track_deleted(sender, instance: Track, **kwargs) -> None:
    """A deleted track that was its world's current one (the admin, a prune, a wipe): the
    world gets its newest remaining track instead, or none, so no page asks for a gone file."""
    url = selectors.track_url(instance)
    if url is None or not World.objects.filter(pk=instance.world_id, music_url=url).exists():
        return
    publish_music(
        instance.world_id, selectors.track_url(selectors.current_track(instance.world_id))
    )


def _delete_file(track: Track) -> None:
    if track.file:
        try:
            track.file.storage.delete(track.file.name)
        except OSError:
            log.warning("could not delete %s", track.file.name)


def worlds_wanting_music() -> list[int]:
    """Worlds that get a daily track: running, or frozen only for lack of visitors."""
    return list(
        World.objects.filter(status=World.Status.RUNNING).values_list("id", flat=True)
    ) + list(
        World.objects.filter(status=World.Status.FROZEN, frozen_reason=IDLE).values_list(
            "id", flat=True
        )
    )


def make_daily_tracks(day: dt.date | None = None, *, actor: Any = "music-job") -> list[int]:
    """Today's track for every world that lacks one; raises after trying them all if any failed."""
    made, failed = [], []
    for world_id in worlds_wanting_music():
        try:
            if make_track(world_id, day=day, actor=actor) is not None:
                made.append(world_id)
        except Exception as exc:  # one world's trouble must not cost the others their music
            log.exception("world %s: no track today", world_id)
            failed.append(f"world {world_id}: {exc}")
    if failed:
        raise RuntimeError("; ".join(failed))
    return made
