"""Thumbnails the platform makes itself, for providers that deliver only the video (Veo, and
most of the living APIs): a frame a little into the video, decoded with PyAV (FFmpeg), as WebP.

Only the beginning of the file is read and decoded, so a large video costs no more than a small
one; a file that cannot be decoded simply gets no thumbnail.
"""

from __future__ import annotations

import io
import logging
from typing import IO, Any

import av
from PIL import Image

logger = logging.getLogger("videos.pipeline")

MAX_SIDE = 640
# The frame shown: one second in (or a tenth of a shorter video), past a fade from black.
AT_SECONDS = 1.0
MAX_FRAMES = 120


def video_thumbnail(handle: IO[bytes] | Any) -> bytes:
    """A WebP of one frame of the MP4 in `handle` (a seekable file); ValueError if there is none."""
    try:
        with av.open(handle, mode="r") as container:
            if not container.streams.video:
                raise ValueError("the file holds no video stream")
            stream = container.streams.video[0]
            duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
            target = min(AT_SECONDS, duration / 10) if duration else AT_SECONDS
            chosen = None
            for index, frame in enumerate(container.decode(stream)):
                chosen = frame
                if (frame.time is not None and frame.time >= target) or index >= MAX_FRAMES:
                    break
            if chosen is None:
                raise ValueError("no frame could be decoded")
            image: Image.Image = chosen.to_image()
    except av.FFmpegError as exc:
        raise ValueError(f"not a decodable video: {exc}") from exc
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=80)
    return buffer.getvalue()
