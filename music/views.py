"""Serving stored media (music) from the town itself, with byte ranges so players can seek.

Used when TOWN_SERVE_MEDIA is on (the default in development); in production a CDN, the
storage backend's own URLs or a web server usually serve MEDIA_URL instead.

A track's file name ends in a random part (`…-1a2b3c4d.ogg`, see music/services.py) and a
stored file is never rewritten, so such a file is cached for a year as immutable: a page
downloads the day's track once. Other files are revalidated (ETag, Last-Modified).
"""

from __future__ import annotations

import mimetypes
import re

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024
# Names made unique when stored: our tracks' "-<8 hex>" and Django storage's "_<7 chars>".
UNIQUE_NAME = re.compile(r"(-[0-9a-f]{8}|_[A-Za-z0-9]{7})\.[A-Za-z0-9]+$")
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=300"
# Python's table lacks some audio types on some systems, and calls WAV "audio/x-wav".
AUDIO_TYPES = {".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg"}


def content_type(path: str) -> str:
    """The type browsers need to play a stored file."""
    suffix = path[path.rfind(".") :].lower() if "." in path else ""
    return AUDIO_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponse:
    """One stored file; honours a single `Range: bytes=a-b` and conditional requests."""
    if ".." in path.split("/") or path.startswith("/") or not default_storage.exists(path):
        raise Http404(path)
    size = default_storage.size(path)
    modified = default_storage.get_modified_time(path).timestamp()
    etag = f'"{size:x}-{int(modified * 1000):x}"'
    not_modified = get_conditional_response(request, etag=etag, last_modified=int(modified))
    if not_modified is not None:
        return _cacheable(not_modified, path, etag, modified)
    kind = content_type(path)
    match = RANGE.match(request.headers.get("Range", "").strip())
    if not match or not any(match.groups()):
        response = FileResponse(default_storage.open(path, "rb"), content_type=kind)
        response["Accept-Ranges"] = "bytes"
        response["Content-Length"] = str(size)
        return _cacheable(response, path, etag, modified)
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:
        start, end = max(0, size - int(last)), size - 1
    if start > end or start >= size:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    with default_storage.open(path, "rb") as f:
        f.seek(start)
        body = f.read(end - start + 1)
    response = HttpResponse(body, status=206, content_type=kind)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return _cacheable(response, path, etag, modified)


def _cacheable(response: HttpResponse, path: str, etag: str, modified: float) -> HttpResponse:
    response["Cache-Control"] = FOREVER if UNIQUE_NAME.search(path) else REVALIDATE
    response["ETag"] = etag
    response["Last-Modified"] = http_date(modified)
    return response
