"""MusicGen on Replicate, through the `replicate` client: create, poll (bounded), download.

Every way it can fail becomes one `ReplicateFailed` with a readable reason, so the caller can
fall back to the procedural generator and record why.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlparse

import httpx
import replicate
from django.conf import settings
from replicate.exceptions import ReplicateError

log = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024
FINISHED = ("succeeded", "failed", "canceled")
EXTENSIONS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg"}


class ReplicateFailed(Exception):
    """Replicate gave no track (after the retries)."""


@dataclass
class Generated:
    """A finished track from Replicate."""

    data: bytes
    extension: str
    detail: dict = field(default_factory=dict)


def client() -> replicate.Client:
    return replicate.Client(
        api_token=settings.REPLICATE_API_TOKEN,
        base_url=settings.MUSIC_REPLICATE_BASE_URL or None,
        timeout=httpx.Timeout(30.0, connect=10.0),
    )


def generate(prompt: str, *, seconds: int) -> Generated:
    """A track for `prompt`, trying MUSIC_REPLICATE_ATTEMPTS times within the bounded wait."""
    errors: list[str] = []
    attempts = max(1, settings.MUSIC_REPLICATE_ATTEMPTS)
    for attempt in range(1, attempts + 1):
        try:
            result = _attempt(client(), prompt, seconds)
        except (ReplicateFailed, ReplicateError, httpx.HTTPError, ValueError) as exc:
            reason = f"attempt {attempt}: {type(exc).__name__}: {exc}"
            log.warning("Replicate music %s", reason)
            errors.append(reason[:300])
            if attempt < attempts:
                time.sleep(settings.MUSIC_REPLICATE_RETRY_WAIT * attempt)
            continue
        result.detail["attempts"] = attempt
        return result
    raise ReplicateFailed("; ".join(errors))


def _attempt(api: replicate.Client, prompt: str, seconds: int) -> Generated:
    model = settings.MUSIC_REPLICATE_MODEL
    inputs = {
        "prompt": prompt,
        "duration": int(seconds),
        "model_version": settings.MUSIC_REPLICATE_MODEL_VERSION,
        "output_format": settings.MUSIC_REPLICATE_FORMAT,
        "normalization_strategy": "loudness",
    }
    if ":" in model:
        prediction = api.predictions.create(version=model.split(":", 1)[1], input=inputs)
    else:
        prediction = api.models.predictions.create(model=model, input=inputs)
    deadline = time.monotonic() + settings.MUSIC_REPLICATE_TIMEOUT
    while prediction.status not in FINISHED:
        if time.monotonic() > deadline:
            with contextlib.suppress(ReplicateError, httpx.HTTPError):
                prediction.cancel()  # it is abandoned either way
            raise ReplicateFailed(
                f"prediction {prediction.id} gave no result within "
                f"{settings.MUSIC_REPLICATE_TIMEOUT} s"
            )
        time.sleep(settings.MUSIC_REPLICATE_POLL)
        prediction.reload()
    if prediction.status != "succeeded":
        raise ReplicateFailed(
            f"prediction {prediction.id} {prediction.status}: {prediction.error or 'no reason given'}"
        )
    url = prediction.output[0] if isinstance(prediction.output, list) else prediction.output
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ReplicateFailed(f"prediction {prediction.id} returned no file URL")
    data, extension = _download(url)
    return Generated(data, extension, {"prediction": prediction.id, "model": model})


def _download(url: str) -> tuple[bytes, str]:
    with httpx.stream("GET", url, timeout=60.0, follow_redirects=True) as resp:
        resp.raise_for_status()
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > MAX_BYTES:
                raise ReplicateFailed(f"the track at {url} is larger than {MAX_BYTES} bytes")
            chunks.append(chunk)
        content_type = resp.headers.get("content-type", "").split(";")[0].strip()
    data = b"".join(chunks)
    if not data:
        raise ReplicateFailed(f"the track at {url} is empty")
    suffix = PurePosixPath(urlparse(url).path).suffix.lstrip(".").lower()
    extension = EXTENSIONS.get(content_type) or (suffix if suffix in {"wav", "mp3", "ogg"} else "")
    # The bytes decide, not the name or the header: an error page served at a ".wav" URL
    # must never become the town's music.
    sniffed = _sniff(data)
    if not extension or sniffed is None:
        raise ReplicateFailed(f"the track at {url} is not audio ({content_type or 'no type'})")
    return data, sniffed


def _sniff(data: bytes) -> str | None:
    """The audio format the bytes are in (wav, mp3, ogg), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None
