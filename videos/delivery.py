"""Serving a stored file to its owner, for the API's /content and the dashboard's file pages alike.

Byte ranges for players and resumable downloads, or (CONTENT_DELIVERY=redirect on S3) a
redirect to a short-lived signed URL. The caller has checked that the file is the user's.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase

from project.api_errors import error_response
from videos import storage
from videos.models import Video, VideoAsset

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
EXTENSIONS = {"video/mp4": "mp4", "image/webp": "webp", "image/jpeg": "jpg", "image/png": "png"}


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) for one satisfiable range; None to send it all; "unsatisfiable" for a 416."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        return None  # several ranges or a form we do not serve: the whole file is a valid answer
    first, last = match.groups()
    if not first:
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end


def serve_asset(
    request: HttpRequest, video: Video, asset: VideoAsset, *, allow_redirect: bool = True
) -> HttpResponseBase:
    filename = f"{video.pk}{'' if asset.variant == 0 else f'-{asset.variant}'}-{asset.kind}.{EXTENSIONS.get(asset.content_type, 'bin')}"
    if allow_redirect and settings.CONTENT_DELIVERY == "redirect" and storage.is_s3():
        url = storage.signed_url(asset.storage_key, filename=filename, content_type=asset.content_type)
        if url:
            redirect = HttpResponseRedirect(url)
            redirect["Cache-Control"] = "private, no-store"
            return redirect
    size = asset.size_bytes
    etag = f'"{asset.sha256}"'
    wanted = request.headers.get("Range")
    if wanted and request.headers.get("If-Range") not in (None, etag):
        wanted = None  # the client's copy is of another file: send it all
    selected = parse_range(wanted, size) if wanted else None
    if selected == "unsatisfiable":
        refused = error_response(416, f"The range is outside the file's {size} bytes.", code="range_not_satisfiable")
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    start, end = selected if isinstance(selected, tuple) else (0, size - 1)
    body = [] if request.method == "HEAD" or size == 0 else storage.read_range(asset.storage_key, start, end)
    response = StreamingHttpResponse(body, status=206 if selected else 200, content_type=asset.content_type)
    response["Content-Length"] = str(end - start + 1 if size else 0)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if selected:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
