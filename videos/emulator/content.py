"""Serving media: Range requests (206/416, If-Range), HEAD, and the streaming faults."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import http_date

from videos.emulator import faults
from videos.emulator.media import CHUNK, VideoBody

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _requested_range(request: HttpRequest, size: int, etag: str, modified: str) -> tuple[int, int] | str | None:
    """(start, stop) of a satisfiable single range, None for the whole body, "unsatisfiable" for 416."""
    header = request.headers.get("Range", "").replace(" ", "")
    match = _RANGE.match(header)
    if not match or not any(match.groups()):
        return None  # absent, malformed or several ranges: the whole body, as RFC 9110 allows
    if_range = request.headers.get("If-Range")
    if if_range and if_range not in {etag, modified}:
        return None
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, size - length), size
    start = int(first)
    stop = min(size, int(last) + 1) if last else size
    if start >= size or stop <= start:
        return "unsatisfiable"
    return start, stop


def serve(
    request: HttpRequest,
    *,
    protocol: str,
    body: VideoBody | bytes,
    content_type: str,
    etag: str,
    modified: datetime,
) -> HttpResponseBase:
    size = body.size if isinstance(body, VideoBody) else len(body)
    modified_text = http_date(modified.timestamp())
    common = {"Accept-Ranges": "bytes", "ETag": etag, "Last-Modified": modified_text}
    wanted = _requested_range(request, size, etag, modified_text)
    if wanted == "unsatisfiable":
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        for name, value in common.items():
            refused[name] = value
        return refused
    start, stop = wanted if isinstance(wanted, tuple) else (0, size)
    status = 206 if isinstance(wanted, tuple) else 200

    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=content_type)
    else:
        chosen = faults.take(protocol, "content", ["slow_stream", "truncate"])
        slow = chosen.get("slow_stream")
        cut = chosen.get("truncate")
        chunk = slow.chunk_bytes if slow and slow.chunk_bytes else CHUNK
        limit = stop
        if cut is not None:
            sent = cut.truncate_at if cut.truncate_at is not None else (stop - start) // 2
            limit = start + max(0, min(stop - start - 1, sent))
        pieces = _pieces(body, start, limit, chunk)
        stream = _stream(request, pieces, slow.delay if slow else 0.0, cut_short=cut is not None)
        response = StreamingHttpResponse(stream, status=status, content_type=content_type)
    # Set by hand: a HEAD answer and a cut stream must still announce the full length.
    response["Content-Length"] = str(stop - start)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    for name, value in common.items():
        response[name] = value
    return response


def _pieces(body: VideoBody | bytes, start: int, stop: int, chunk: int) -> Iterator[bytes]:
    if isinstance(body, VideoBody):
        yield from body.iter_range(start, stop, chunk)
        return
    for position in range(start, stop, chunk):
        yield body[position : min(stop, position + chunk)]


def _stream(request: HttpRequest, pieces: Iterator[bytes], delay: float, *, cut_short: bool) -> Iterator[bytes]:
    for index, piece in enumerate(pieces):
        if delay and index:
            time.sleep(delay)
        yield piece
    if cut_short:
        # Everything written so far reaches the client, then the connection ends early.
        faults.hang_up(request)
