"""Serving stored media (music) from the town itself, with byte ranges so players can seek.

Used when TOWN_SERVE_MEDIA is on (the default in development); in production a CDN, the
storage backend's own URLs or a web server usually serve MEDIA_URL instead.
"""

from __future__ import annotations

import mimetypes
import re

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponse:
    """One stored file; honours a single `Range: bytes=a-b`."""
    if ".." in path.split("/") or path.startswith("/") or not default_storage.exists(path):
        raise Http404(path)
    size = default_storage.size(path)
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    match = RANGE.match(request.headers.get("Range", "").strip())
    if not match or not any(match.groups()):
        response = FileResponse(default_storage.open(path, "rb"), content_type=content_type)
        response["Accept-Ranges"] = "bytes"
        response["Content-Length"] = str(size)
        return response
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
    response = HttpResponse(body, status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response
