"""Real media for emulated jobs: playable MP4s, WebP/JPEG thumbnails and a JPEG spritesheet.

The videos are small H.264 (constrained baseline) MP4 samples in `samples/`, one per
orientation, with `ftyp` first and `moov` before `mdat` so browsers play them while loading.
They were made once with:

    ffmpeg -f lavfi -i testsrc2=size=320x180:rate=24:duration=4 -c:v libx264 -profile:v baseline \
        -level 3.0 -pix_fmt yuv420p -crf 36 -g 48 -movflags +faststart -map_metadata -1 \
        -fflags +bitexact -flags:v +bitexact landscape.mp4   (180x320 portrait, 240x240 square)

A larger size is reached by appending an MP4 `free` box of zeros, which players skip; the bytes
are produced chunk by chunk for the requested range, never held in memory.
"""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

SAMPLES = Path(__file__).resolve().parent / "samples"
CHUNK = 64 * 1024
_ZEROS = bytes(CHUNK)


def orientation(width: int, height: int) -> str:
    if width > height:
        return "landscape"
    return "portrait" if height > width else "square"


@functools.cache
def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.mp4").read_bytes()


def _free_box_header(padding: int) -> bytes:
    """Header of a `free` box spanning `padding` bytes in all (header included)."""
    if padding <= 0xFFFFFFFF:
        return struct.pack(">I4s", padding, b"free")
    # Past 4 GiB the box needs the 64-bit size form: size field 1, then the real size.
    return struct.pack(">I4sQ", 1, b"free", padding)


@dataclass(frozen=True)
class VideoBody:
    """The sample, optionally followed by one `free` box of zeros up to `size` bytes."""

    head: bytes
    size: int

    def iter_range(self, start: int, stop: int, chunk: int = CHUNK) -> Iterator[bytes]:
        """Bytes [start, stop) in pieces of at most `chunk` bytes."""
        position = start
        while position < stop:
            if position < len(self.head):
                end = min(stop, len(self.head), position + chunk)
                yield self.head[position:end]
            else:
                end = min(stop, position + chunk)
                length = end - position
                # Reusing one zero buffer keeps memory flat whatever the size.
                yield _ZEROS if length == CHUNK else bytes(length)
            position = end


def video_body(width: int, height: int, requested_size: int) -> VideoBody:
    base = sample(orientation(width, height))
    if requested_size <= len(base):
        return VideoBody(base, len(base))
    padding = requested_size - len(base)
    padding = max(padding, 8)  # the smallest box there is
    header = _free_box_header(padding)
    return VideoBody(base + header, len(base) + padding)


def _picture(width: int, height: int, label: str) -> Image.Image:
    """A gradient with a label: cheap to make, clearly synthetic, and the requested size."""
    horizontal = Image.linear_gradient("L").rotate(90).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (horizontal, vertical, Image.new("L", (width, height), 140)))
    draw = ImageDraw.Draw(image)
    draw.text((max(4, width // 20), max(4, height // 20)), label, fill=(255, 255, 255))
    return image


@functools.lru_cache(maxsize=32)
def thumbnail(width: int, height: int, image_format: str) -> bytes:
    buffer = io.BytesIO()
    _picture(width, height, "emulated video").save(buffer, image_format, quality=80)
    return buffer.getvalue()


@functools.lru_cache(maxsize=32)
def spritesheet(width: int, height: int, columns: int = 5, rows: int = 5) -> bytes:
    """A grid of small frames, like the preview sheets players use for scrubbing."""
    frame_width = 128
    frame_height = max(1, round(frame_width * height / width))
    sheet = Image.new("RGB", (frame_width * columns, frame_height * rows))
    for index in range(columns * rows):
        frame = _picture(frame_width, frame_height, f"{index + 1}")
        sheet.paste(frame, ((index % columns) * frame_width, (index // columns) * frame_height))
    buffer = io.BytesIO()
    sheet.save(buffer, "JPEG", quality=75)
    return buffer.getvalue()
