"""Archiving downloads from the emulator: resumption, types, size caps, memory, redirects."""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from emulator_fixtures import INSTANT, wait_until

from videos.providers import AssetRef, ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.types import VIDEO_TYPES


def openai_provider(emulator, **options):
    config = ProviderConfig(
        kind="openai", name="emulator", base_url=emulator.openai_base_url, api_key=emulator.api_key, **options
    )
    return build_provider(config)


@pytest.fixture
def provider(emulator):
    with openai_provider(emulator) as adapter:
        yield adapter


def finished_video(provider, prompt: str = f"a red fox {INSTANT}") -> AssetRef:
    job_id = provider.create(SubmissionSpec(model="sora-2", prompt=prompt, size="1280x720")).job_id
    job = wait_until(lambda: (seen := provider.retrieve(job_id)).state == "succeeded" and seen)
    return job.assets()[0]


def sha256_of(provider, asset: AssetRef) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with provider.open_asset(asset) as stream:
        for chunk in stream.iter_bytes():
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def consume(chunks: Iterator[bytes], use: Callable[[bytes], object]) -> None:
    """Hand every chunk of a stream to `use`, up to its end or its failure."""
    for chunk in chunks:
        use(chunk)


def test_a_truncated_body_is_an_error_and_resumes_with_range(provider, emulator):
    video = finished_video(provider, f"a fox [emulator:bytes=300000] {INSTANT}")
    expected, size = sha256_of(provider, video)
    emulator.add_fault("truncate", protocol="openai", operation="content")
    digest = hashlib.sha256()
    with provider.open_asset(video) as stream, pytest.raises(ProviderError) as caught:
        consume(stream.iter_bytes(), digest.update)
    assert caught.value.code == "truncated_download"
    assert not caught.value.permanent
    received, validator = stream.bytes_received, stream.validator
    assert 0 < received < size
    with provider.open_asset(video, offset=received, if_range=validator) as rest:
        assert (rest.status_code, rest.start, rest.total_size) == (206, received, size)
        for chunk in rest.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == expected


def test_an_html_page_with_200_is_refused_before_reading(provider, emulator):
    video = finished_video(provider)
    emulator.add_fault("html", protocol="openai", operation="content")
    with pytest.raises(ProviderError) as caught, provider.open_asset(video):
        pass
    assert caught.value.code == "unexpected_content_type"
    assert "text/html" in caught.value.message


def test_an_asset_over_the_size_cap_is_refused_from_its_content_length(emulator):
    with openai_provider(emulator, max_download_bytes=100_000) as provider:
        video = finished_video(provider, f"a fox [emulator:bytes=300000] {INSTANT}")
        with pytest.raises(ProviderError) as caught, provider.open_asset(video):
            pass
    assert caught.value.code == "asset_too_large"
    assert caught.value.permanent


def test_a_large_download_streams_in_bounded_memory(provider):
    size = 128 * 1024 * 1024
    video = finished_video(provider, f"a long fox [emulator:bytes={size}] {INSTANT}")
    tracemalloc.start()
    try:
        received = 0
        with provider.open_asset(video) as stream:
            for chunk in stream.iter_bytes(chunk_size=1024 * 1024):
                received += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < 16 * 1024 * 1024, f"peak Python allocations {peak} bytes"


def test_a_stalled_stream_is_a_retryable_error(emulator):
    with openai_provider(emulator, read_timeout=0.3) as provider:
        video = finished_video(provider, f"a fox [emulator:bytes=300000] {INSTANT}")
        emulator.add_fault("slow_stream", protocol="openai", operation="content", delay=1.0, chunk_bytes=65536)
        with pytest.raises(ProviderError) as caught, provider.open_asset(video) as stream:
            b"".join(stream.iter_bytes())
    assert caught.value.code == "download_stalled"
    assert not caught.value.permanent


def test_content_expired_at_the_provider_is_a_permanent_404(provider, emulator):
    video = finished_video(provider)
    emulator.add_fault("expired", protocol="openai", operation="content")
    with pytest.raises(ProviderError) as caught, provider.open_asset(video):
        pass
    assert caught.value.status_code == 404
    assert caught.value.permanent


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://127.0.0.1:5432/",
        "file:///etc/passwd",
        "https://downloads.example.net/video.mp4",
    ],
)
def test_a_redirect_off_the_allow_list_is_not_followed(provider, emulator, caplog, target):
    video = finished_video(provider)
    emulator.add_fault("redirect", protocol="openai", operation="content", redirect_url=target)
    with (
        caplog.at_level(logging.WARNING, logger="videos.providers.security"),
        pytest.raises(ProviderError) as caught,
        provider.open_asset(video),
    ):
        pass
    assert caught.value.code == "redirect_blocked"
    assert caught.value.permanent
    assert "refused redirect" in caplog.text
    assert emulator.received("openai", "content") == 1


def other_loopback_name(live_server) -> tuple[str, int]:
    """A second name for the live server's loopback host, and its port."""
    host, port = live_server.url.removeprefix("http://").rsplit(":", 1)
    return ("127.0.0.1" if host == "localhost" else "localhost"), int(port)


def test_a_redirect_to_another_port_of_loopback_is_not_followed(emulator, live_server):
    name, port = other_loopback_name(live_server)
    with openai_provider(emulator, redirect_allow_hosts=(name,)) as provider:
        video = finished_video(provider)
        emulator.add_fault(
            "redirect", protocol="openai", operation="content", redirect_url=f"http://{name}:{port + 1}/x"
        )
        with pytest.raises(ProviderError) as caught, provider.open_asset(video):
            pass
    assert caught.value.code == "redirect_blocked"
    assert "non-public address" in caught.value.message


def test_an_allowed_redirect_is_followed_without_credentials(emulator, live_server):
    # The emulator's own content URL under another name of the same host:port: allowed, and
    # fetched without the key, so the emulator refuses it for lack of credentials.
    name, port = other_loopback_name(live_server)
    with openai_provider(emulator, redirect_allow_hosts=(name,)) as provider:
        video = finished_video(provider)
        target = f"http://{name}:{port}/emulator/openai/v1/videos/{video.source_id}/content?emulator_redirected=1"
        emulator.add_fault("redirect", protocol="openai", operation="content", redirect_url=target)
        with pytest.raises(ProviderError) as caught, provider.open_asset(video):
            pass
    assert caught.value.status_code == 401
    assert emulator.received("openai", "content") == 2


def test_a_redirect_to_an_unlisted_name_of_the_same_server_is_not_followed(provider, emulator, live_server):
    name, port = other_loopback_name(live_server)
    video = finished_video(provider)
    emulator.add_fault("redirect", protocol="openai", operation="content", redirect_url=f"http://{name}:{port}/x")
    with pytest.raises(ProviderError) as caught, provider.open_asset(video):
        pass
    assert caught.value.code == "redirect_blocked"
    assert emulator.received("openai", "content") == 1


def test_a_redirect_on_the_providers_own_host_is_followed(provider, emulator):
    video = finished_video(provider)
    emulator.add_fault("redirect", protocol="openai", operation="content")  # same URL, marked
    with pytest.raises(ProviderError) as caught, provider.open_asset(video):
        pass
    assert caught.value.status_code == 401  # reached, and no key went with it
    assert emulator.received("openai", "content") == 2


# --- A body that never says how long it is ----------------------------------------------------


@pytest.fixture
def endless_chunked_server() -> Iterator[str]:
    """Serves video/mp4 with chunked encoding and no Content-Length, 64 KiB at a time, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"%x\r\n" % 65536 + bytes(65536) + b"\r\n"
        try:
            connection.sendall(head)
            for _ in range(10_000):
                connection.sendall(chunk)
        except OSError:
            pass
        finally:
            connection.close()

    threading.Thread(target=run, daemon=True).start()
    yield f"http://127.0.0.1:{port}/v1"
    listener.close()


def test_a_chunked_stream_past_the_cap_is_cut_off(endless_chunked_server):
    config = ProviderConfig(kind="openai", base_url=endless_chunked_server, api_key="k", max_download_bytes=1_000_000)
    asset = AssetRef(0, "video", "/videos/video_1/content", VIDEO_TYPES, source_id="video_1")
    sizes: list[int] = []
    with build_provider(config) as provider, provider.open_asset(asset) as stream:
        assert stream.content_length is None
        with pytest.raises(ProviderError) as caught:
            consume(stream.iter_bytes(), lambda chunk: sizes.append(len(chunk)))
    received = sum(sizes)
    assert caught.value.code == "asset_too_large"
    assert caught.value.permanent
    assert received <= 1_000_000
