"""The emulator's media: real MP4 structure, padding to any size, Range requests, bounded memory."""

from __future__ import annotations

import struct
import tracemalloc

import pytest
from emulator_fixtures import INSTANT, wait_until

from videos.emulator import media


def boxes(data: bytes) -> list[tuple[str, int]]:
    """Top-level MP4 boxes as (type, size), following 32- and 64-bit sizes."""
    found, position = [], 0
    while position < len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        if size == 1:
            size = struct.unpack(">Q", data[position + 8 : position + 16])[0]
        assert size >= 8, f"bad box at {position}"
        found.append((kind.decode(), size))
        position += size
    assert position == len(data)
    return found


@pytest.mark.parametrize("name", ["landscape", "portrait", "square"])
def test_each_sample_is_a_faststart_mp4_with_ftyp_first(name):
    data = media.sample(name)
    kinds = [kind for kind, _ in boxes(data)]
    assert kinds[0] == "ftyp"
    assert kinds.index("moov") < kinds.index("mdat")
    assert b"avc1" in data
    assert len(data) < 200_000


def test_a_padded_video_ends_with_one_free_box_of_the_exact_size():
    body = media.video_body(1280, 720, 1_000_000)
    data = b"".join(body.iter_range(0, body.size, 4096))
    assert body.size == len(data) == 1_000_000
    assert [kind for kind, _ in boxes(data)][-1] == "free"
    assert data[: len(media.sample("landscape"))] == media.sample("landscape")


def test_sizes_below_the_sample_give_the_sample_and_tiny_paddings_round_up_to_a_box():
    natural = len(media.sample("portrait"))
    assert media.video_body(720, 1280, 10).size == natural
    assert media.video_body(720, 1280, natural + 3).size == natural + 8


def test_past_4_gib_the_free_box_uses_the_64_bit_size():
    body = media.video_body(480, 480, 5 * 1024**3)
    natural = len(media.sample("square"))
    header = body.head[natural:]
    assert struct.unpack(">I4sQ", header) == (1, b"free", 5 * 1024**3 - natural)
    tail = b"".join(body.iter_range(body.size - 10, body.size))
    assert tail == bytes(10)
    across = b"".join(body.iter_range(natural - 4, natural + 20, 7))
    assert across[:4] == media.sample("square")[-4:]
    assert across[4:20] == header


def test_the_thumbnail_and_spritesheet_are_real_images():
    assert media.thumbnail(1280, 720, "WEBP")[:4] == b"RIFF"
    assert media.spritesheet(720, 1280)[:3] == b"\xff\xd8\xff"


@pytest.fixture
def video_url(emulator):
    with emulator.openai() as client:
        video_id = client.post("/videos", json={"prompt": f"fox {INSTANT}"}).json()["id"]
        wait_until(lambda: client.get(f"/videos/{video_id}").json()["status"] == "completed")
    return f"/videos/{video_id}/content"


def test_range_requests_follow_rfc_9110(emulator, video_url):
    with emulator.openai() as client:
        whole = client.get(video_url).content
        size = len(whole)
        suffix = client.get(video_url, headers={"Range": "bytes=-100"})
        first = client.get(video_url, headers={"Range": "bytes=0-0"})
        middle = client.get(video_url, headers={"Range": "bytes=10-19"})
        beyond = client.get(video_url, headers={"Range": f"bytes={size}-"})
        stale = client.get(video_url, headers={"Range": "bytes=10-19", "If-Range": '"another-version"'})
        several = client.get(video_url, headers={"Range": "bytes=0-1,5-6"})
        head = client.head(video_url, headers={"Range": "bytes=10-19"})
    assert (suffix.status_code, suffix.content) == (206, whole[-100:])
    assert suffix.headers["content-range"] == f"bytes {size - 100}-{size - 1}/{size}"
    assert (first.status_code, first.content) == (206, whole[:1])
    assert middle.content == whole[10:20]
    assert middle.headers["content-length"] == "10"
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert (stale.status_code, stale.content) == (200, whole)
    assert (several.status_code, several.content) == (200, whole)
    assert head.status_code == 206
    assert head.headers["content-length"] == "10"
    assert head.content == b""


def test_the_video_bytes_setting_and_directive_set_the_size(emulator, settings):
    settings.EMULATOR_VIDEO_BYTES = 250_000
    with emulator.openai() as client:
        plain = client.post("/videos", json={"prompt": f"a {INSTANT}"}).json()["id"]
        sized = client.post("/videos", json={"prompt": f"b {INSTANT} [emulator:bytes=400000]"}).json()["id"]
        wait_until(lambda: client.get(f"/videos/{sized}").json()["status"] == "completed")
        assert len(client.get(f"/videos/{plain}/content").content) == 250_000
        data = client.get(f"/videos/{sized}/content").content
    assert len(data) == 400_000
    assert boxes(data)[-1] == ("free", 400_000 - len(media.sample("portrait")))


def test_a_large_video_streams_with_bounded_memory(emulator):
    size = 300 * 1024 * 1024
    with emulator.openai() as client:
        video_id = client.post("/videos", json={"prompt": f"big {INSTANT} [emulator:bytes={size}]"}).json()["id"]
        wait_until(lambda: client.get(f"/videos/{video_id}").json()["status"] == "completed")
        # The live server runs in this process, so tracemalloc sees the server's allocations too.
        tracemalloc.start()
        try:
            received = 0
            with client.stream("GET", f"/videos/{video_id}/content") as response:
                assert int(response.headers["content-length"]) == size
                for chunk in response.iter_raw(1024 * 1024):
                    received += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert received == size
    assert peak < 32 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while streaming {size / 1e6:.0f} MB"
