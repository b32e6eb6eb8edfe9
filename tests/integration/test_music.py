"""Daily music: Replicate MusicGen through a fake Replicate, the procedural composer (Ogg
Vorbis), storage, the world's published URL, the `music` event, and serving the file to
browsers (type, caching, ranges)."""

from __future__ import annotations

import io
import wave
from datetime import timedelta

import numpy as np
import pytest
import soundfile
from channels.db import database_sync_to_async
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from music import procedural, services
from music.models import Track
from tests.fakes.replicate_server import TOKEN, FakeReplicate
from tests.wsclient import Socket
from town import clock, selectors
from town import services as town_services
from town.models import AuditEntry, World


@pytest.fixture(autouse=True)
def music_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.REPLICATE_API_TOKEN = ""
    settings.MUSIC_DURATION = 8
    settings.MUSIC_REPLICATE_POLL = 0.01
    settings.MUSIC_REPLICATE_RETRY_WAIT = 0
    yield settings
    clock.reset()


@pytest.fixture
def replicate(music_settings):
    def start(mode: str = "ok") -> FakeReplicate:
        fake = FakeReplicate(mode).__enter__()
        music_settings.REPLICATE_API_TOKEN = TOKEN
        music_settings.MUSIC_REPLICATE_BASE_URL = fake.url
        servers.append(fake)
        return fake

    servers: list[FakeReplicate] = []
    yield start
    for fake in servers:
        fake.__exit__()


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """A stored track's samples: Ogg Vorbis (the composer's) or 16-bit WAV (older, Replicate)."""
    if data.startswith(b"OggS"):
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32")
        assert audio.ndim == 1  # mono
        return audio, rate
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return frames.astype(np.float32) / 32768, w.getframerate()


def stored(track: Track) -> bytes:
    with default_storage.open(track.file.name, "rb") as f:
        return f.read()


def test_the_composer_makes_a_pleasant_seamless_loop():
    samples = procedural.render("1:2026-06-21:0", "cheerful", "summer", seconds=12.0)
    audio, rate = decode(procedural.wav_bytes(samples))
    assert rate == procedural.RATE
    assert len(audio) == 12 * rate
    assert 0.05 < float(np.sqrt(np.mean(audio**2))) < 0.6  # audible, not a wall of noise
    assert float(np.max(np.abs(audio))) <= 0.81
    # No click where the loop wraps: the jump there is like any other step in the music.
    steps = np.abs(np.diff(audio))
    assert abs(float(audio[0] - audio[-1])) < 10 * float(np.percentile(steps, 99.9))
    other = procedural.render("1:2026-06-22:0", "cheerful", "summer", seconds=12.0)
    assert not np.allclose(samples, other)  # another day, another tune
    again = procedural.render("1:2026-06-21:0", "cheerful", "summer", seconds=12.0)
    assert np.array_equal(samples, again)  # the same day can be made again


@pytest.mark.parametrize("mood", sorted(procedural.MOODS))
def test_thirty_seconds_of_music_are_a_small_ogg_that_still_loops(mood):
    samples = procedural.render(f"7:2026-01-05:{mood}", mood, "winter", seconds=30.0)
    data = procedural.ogg_bytes(samples)
    assert data.startswith(b"OggS")
    assert len(data) <= 300_000  # the WAV of the same loop is 1.3 MB
    assert len(procedural.wav_bytes(samples)) > 4 * len(data)
    audio, rate = decode(data)
    assert rate == procedural.RATE
    assert len(audio) == len(samples)  # not a sample more or less: the loop stays a loop
    # What the ear gets is the composer's music, not a rough likeness of it.
    error = float(np.sqrt(np.mean((audio - samples) ** 2)))
    assert error < 0.1 * float(np.sqrt(np.mean(samples**2)))
    steps = np.abs(np.diff(audio))
    assert abs(float(audio[0] - audio[-1])) < 10 * float(np.percentile(steps, 99.9))


@pytest.mark.django_db
def test_daily_music_without_a_token_is_composed_and_made_once_a_day():
    world = town_services.create_world("Tuneville")
    assert services.make_daily_tracks() == [world.pk]
    track = Track.objects.get(world=world)
    assert track.source == "procedural"
    assert track.file.name.endswith(".ogg")
    assert stored(track).startswith(b"OggS")
    audio, rate = decode(stored(track))
    assert len(audio) == 8 * rate
    assert float(np.sqrt(np.mean(audio**2))) > 0.05
    assert track.file.url.startswith("/media/music/")
    world.refresh_from_db()
    assert world.music_url == track.file.url  # published to the world
    assert selectors.stored_snapshot(world.pk)["music"] == track.file.url
    assert AuditEntry.objects.filter(world=world, action="music").count() == 1

    assert services.make_daily_tracks() == []  # today's is made: a retry makes nothing
    clock.move(timedelta(days=1))
    assert services.make_daily_tracks() == [world.pk]
    assert world.tracks.count() == 2


@pytest.mark.django_db
def test_only_the_newest_tracks_are_kept(music_settings):
    music_settings.MUSIC_TRACKS_KEPT = 2
    world = town_services.create_world("Keepton")
    made = [services.make_track(world.pk, force=True) for _ in range(3)]
    assert list(world.tracks.order_by("id")) == made[1:]
    assert not default_storage.exists(made[0].file.name)
    assert default_storage.exists(made[2].file.name)


@pytest.mark.django_db
def test_deleting_the_current_track_gives_the_world_the_one_before_or_none(music_settings):
    world = town_services.create_world("Tuneford")
    first, second = (services.make_track(world.pk, force=True) for _ in range(2))
    world.refresh_from_db()
    assert world.music_url == second.file.url
    first.delete()  # not the current one: the world keeps its track
    world.refresh_from_db()
    assert world.music_url == second.file.url
    third = services.make_track(world.pk, force=True)
    third.delete()  # the admin's delete of the current track
    world.refresh_from_db()
    assert world.music_url == second.file.url
    second.delete()
    world.refresh_from_db()
    assert world.music_url == ""


@pytest.mark.django_db
def test_music_skips_operator_frozen_and_archived_worlds():
    running = town_services.create_world("Running", make_current=False)
    held = town_services.create_world("Held", make_current=False)
    gone = town_services.create_world("Gone", make_current=False)
    town_services.freeze_world(held.pk)
    town_services.archive_world(gone.pk)
    assert services.make_daily_tracks() == [running.pk]
    with pytest.raises(town_services.WrongState):
        services.make_track(gone.pk, force=True)


@pytest.mark.django_db
def test_replicate_makes_the_track_when_a_token_is_set(replicate):
    fake = replicate("ok")
    world = town_services.create_world("Replicton")
    track = services.make_track(world.pk)
    assert track.source == "replicate"
    assert stored(track) == fake.audio
    assert track.file.name.endswith(".wav")
    assert track.detail["prediction"] == "p1"
    [body] = fake.created()
    assert body["version"] == "671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb"
    assert body["input"]["duration"] == 8
    assert "Replicton" in body["input"]["prompt"]
    assert track.prompt == body["input"]["prompt"]
    assert all(
        auth == f"Bearer {TOKEN}"
        for method, path, _, auth in fake.requests
        if path.startswith("/v1")
    )


@pytest.mark.django_db
def test_a_failing_replicate_is_retried_then_the_composer_takes_over(replicate):
    fake = replicate("fail")
    world = town_services.create_world("Fallback")
    track = services.make_track(world.pk)
    assert track.source == "procedural"
    assert len(fake.created()) == 2  # MUSIC_REPLICATE_ATTEMPTS
    assert "CUDA out of memory" in track.detail["replicate_error"]
    fallback = AuditEntry.objects.get(world=world, action="music_fallback")
    assert "failed" in fallback.detail["error"]
    audio, _ = decode(stored(track))
    assert float(np.sqrt(np.mean(audio**2))) > 0.05


@pytest.mark.django_db
def test_replicate_outage_and_endless_predictions_fall_back(replicate, music_settings):
    replicate("error")
    world = town_services.create_world("Outage")
    track = services.make_track(world.pk)
    assert track.source == "procedural"
    assert "500" in track.detail["replicate_error"] or "outage" in track.detail["replicate_error"]

    music_settings.MUSIC_REPLICATE_TIMEOUT = 0
    music_settings.MUSIC_REPLICATE_ATTEMPTS = 1
    hanging = replicate("hang")
    track = services.make_track(world.pk, force=True)
    assert track.source == "procedural"
    assert "no result within 0 s" in track.detail["replicate_error"]
    assert any(path.endswith("/cancel") for _, path, _, _ in hanging.requests)


@pytest.mark.django_db
def test_a_track_that_is_not_audio_is_refused_and_the_composer_stands_in(replicate):
    fake = replicate("not_audio")  # the prediction "succeeds"; its .wav URL serves a web page
    world = town_services.create_world("Notsound")
    track = services.make_track(world.pk)
    assert track.source == "procedural"
    assert "is not audio" in track.detail["replicate_error"]
    assert len(fake.created()) == 2  # retried like any other failure, then given up
    downloads = [path for method, path, _, _ in fake.requests if path.startswith("/files/")]
    assert downloads and all(path.endswith(".wav") for path in downloads)
    data = stored(track)
    assert b"<html" not in data
    audio, _ = decode(data)  # a real WAV from the composer
    assert float(np.sqrt(np.mean(audio**2))) > 0.05
    assert AuditEntry.objects.filter(world=world, action="music_fallback").exists()


@pytest.mark.django_db(transaction=True)
async def test_clients_hear_the_new_track_and_can_load_it(town):
    watcher = Socket(town.pk)
    await watcher.open()
    track = await database_sync_to_async(services.make_track)(town.pk, force=True)
    url = track.file.url
    event = await watcher.until(lambda e: e.get("kind") == "music" and e.get("url") == url)
    assert event["t"] >= 0
    await watcher.close()

    late = Socket(town.pk)
    _, snapshot = await late.open()
    assert snapshot["music"] == url  # from the engine's snapshot
    await late.close()

    def fetch(headers: dict) -> tuple[int, str, bytes]:
        response = Client().get(url, headers=headers)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, response["Content-Type"], body

    status, kind, body = await database_sync_to_async(fetch)({})
    assert (status, kind) == (200, "audio/ogg")
    assert body == await database_sync_to_async(stored)(track)
    status, _, part = await database_sync_to_async(fetch)({"Range": "bytes=0-43"})
    assert status == 206
    assert part == body[:44]


def get(url: str, **headers):
    response = Client().get(url, headers=headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


@pytest.mark.django_db
def test_a_track_is_served_once_and_then_kept_by_the_browser():
    world = town_services.create_world("Cacheton")
    track = services.make_track(world.pk)
    response, body = get(track.file.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/ogg"
    assert int(response["Content-Length"]) == len(body) == track.file.size
    # The name is unique to this track and its file is never rewritten: cache it for good.
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    etag, modified = response["ETag"], response["Last-Modified"]
    again, again_body = get(track.file.url, if_none_match=etag)
    assert (again.status_code, again_body) == (304, b"")
    assert again["ETag"] == etag
    assert get(track.file.url, if_modified_since=modified)[0].status_code == 304
    assert get(track.file.url, if_none_match='"something-else"')[0].status_code == 200
    part, part_body = get(track.file.url, range=f"bytes={len(body) - 100}-")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes {len(body) - 100}-{len(body) - 1}/{len(body)}"
    assert part_body == body[-100:]
    assert part["Cache-Control"] == "public, max-age=31536000, immutable"
    assert get(track.file.url, range=f"bytes={len(body)}-")[0].status_code == 416


@pytest.mark.django_db
def test_a_wav_track_made_before_ogg_still_plays():
    world = town_services.create_world("Oldtown")
    samples = procedural.render("old", "calm", "spring", seconds=2.0)
    wav = procedural.wav_bytes(samples)
    track = Track(world=world, day=clock.today(), source="procedural", duration=2.0)
    track.file.save("world-old/2026-01-01-procedural.wav", ContentFile(wav), save=False)
    track.save()
    response, body = get(track.file.url)
    assert (response.status_code, response["Content-Type"], body) == (200, "audio/x-wav", wav)
    # An old name with no unique part may be reused: browsers ask again after a while.
    assert response["Cache-Control"] == "public, max-age=300"
    assert get(track.file.url, if_none_match=response["ETag"])[0].status_code == 304
    part, part_body = get(track.file.url, range="bytes=0-43")
    assert (part.status_code, part_body) == (206, wav[:44])
    audio, rate = decode(body)
    assert (len(audio), rate) == (2 * procedural.RATE, procedural.RATE)


@pytest.mark.django_db
def test_a_replicate_track_is_published_and_served_as_it_came(replicate):
    fake = replicate("ok")
    world = town_services.create_world("Replayton")
    track = services.make_track(world.pk)
    assert track.source == "replicate"
    assert World.objects.get(pk=world.pk).music_url == track.file.url
    response, body = get(track.file.url)
    assert (response.status_code, response["Content-Type"], body) == (
        200,
        "audio/x-wav",
        fake.audio,
    )
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
