"""Provider answers are read up to a byte cap: an endless body costs a retry, never the worker's memory."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from conftest import make_user
from emulator_fixtures import INSTANT
from vertex_keys import service_account_info

from videos import archive, pipeline, services
from videos.emulator.models import Fault
from videos.models import Video, VideoState
from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider

PROTOCOLS = {
    "openai": ("openai", "sora-2", "1280x720", 4),
    "azure": ("azure_sora", "sora", "854x480", 5),
}
CAP = 4 * 1024 * 1024
# What the emulator would send: 32 times the cap. Reading it whole takes hundreds of MiB.
HUGE = 128 * 1024 * 1024
# Loose on purpose: the cap, a copy of it and the interpreter's noise fit well below this.
MEMORY_BUDGET = 64 * 1024 * 1024


@pytest.fixture(params=sorted(PROTOCOLS))
def protocol(request) -> str:
    return request.param


@pytest.fixture
def provider(emulator, protocol):
    kind = PROTOCOLS[protocol][0]
    base_url = emulator.openai_base_url if protocol == "openai" else emulator.azure_base_url
    config = ProviderConfig(kind=kind, name="emulator", base_url=base_url, api_key=emulator.api_key)
    assert config.max_response_bytes == CAP
    with build_provider(config) as adapter:
        yield adapter


def spec(protocol: str, prompt: str = f"a red fox {INSTANT}") -> SubmissionSpec:
    _, model, size, seconds = PROTOCOLS[protocol]
    return SubmissionSpec(model=model, prompt=prompt, size=size, seconds=seconds)


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Peak bytes Python allocated while the block ran (the emulator's side included: it serves
    from this process)."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def test_an_endless_answer_to_a_create_is_a_transient_error_with_an_unknown_outcome(provider, emulator, protocol):
    since = datetime.now(UTC)
    submission = spec(protocol, f"a fox billed once {INSTANT}")
    emulator.add_fault("endless_body", protocol=protocol, operation="create", truncate_at=HUGE)
    with peak_memory() as peak, pytest.raises(ProviderError) as caught:
        provider.create(submission)
    error = caught.value
    assert (error.code, error.permanent, error.outcome_unknown) == ("response_too_large", False, True)
    assert peak[0] < MEMORY_BUDGET
    # The provider did accept it: reconciliation finds the one job, nothing was sent twice.
    assert emulator.jobs_created(protocol) == 1
    assert emulator.received(protocol, "create") == 1
    assert [job.prompt for job in provider.find_created(submission, since=since)] == [submission.prompt]


def test_an_endless_answer_to_a_retrieve_is_a_transient_error(provider, emulator, protocol):
    job = provider.create(spec(protocol))
    emulator.add_fault("endless_body", protocol=protocol, operation="retrieve", truncate_at=HUGE)
    with peak_memory() as peak, pytest.raises(ProviderError) as caught:
        provider.retrieve(job.job_id)
    error = caught.value
    assert (error.code, error.permanent, error.outcome_unknown) == ("response_too_large", False, False)
    assert peak[0] < MEMORY_BUDGET
    assert provider.retrieve(job.job_id).job_id == job.job_id  # the next poll reads it as usual


def test_an_endless_answer_to_a_list_page_is_a_transient_error(provider, emulator, protocol):
    provider.create(spec(protocol, "fox [emulator:queue=60]"))
    emulator.add_fault("endless_body", protocol=protocol, operation="list", truncate_at=HUGE)
    with peak_memory() as peak, pytest.raises(ProviderError) as caught:
        provider.list_page(after=None, active_only=True)
    assert (caught.value.code, caught.value.permanent) == ("response_too_large", False)
    assert peak[0] < MEMORY_BUDGET
    assert len(provider.list_page(after=None, active_only=True).jobs) == 1


@pytest.mark.parametrize(("operation", "status"), [("retrieve", 503), ("create", 502)])
def test_an_error_status_with_an_endless_body_is_a_transient_error(provider, emulator, protocol, operation, status):
    job = provider.create(spec(protocol)) if operation == "retrieve" else None
    emulator.add_fault("endless_body", protocol=protocol, operation=operation, status_code=status, truncate_at=HUGE)
    with peak_memory() as peak, pytest.raises(ProviderError) as caught:
        provider.retrieve(job.job_id) if job else provider.create(spec(protocol))
    error = caught.value
    assert (error.status_code, error.permanent, error.outcome_unknown) == (status, False, operation == "create")
    # Only the first bytes of an error answer are read, far less than the cap.
    assert peak[0] < CAP


def test_a_smaller_cap_from_the_config_is_honoured(emulator):
    config = ProviderConfig(
        kind="openai", base_url=emulator.openai_base_url, api_key=emulator.api_key, max_response_bytes=100
    )
    with build_provider(config) as provider, pytest.raises(ProviderError) as caught:
        provider.create(spec("openai"))  # a video object is a few hundred bytes
    assert (caught.value.code, caught.value.outcome_unknown) == ("response_too_large", True)


# --- Answers no emulator fault gives: a raw server says exactly what we need -------------------


@pytest.fixture
def answering_server() -> Iterator[Callable[[bytes], tuple[str, list[bytes]]]]:
    """start(answer) serves one connection: records the request head, writes `answer` verbatim,
    then holds the connection open until the client leaves."""
    listeners: list[socket.socket] = []

    def start(answer: bytes) -> tuple[str, list[bytes]]:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)
        received: list[bytes] = []

        def run() -> None:
            connection, _ = listener.accept()
            connection.settimeout(30)
            with connection:
                try:
                    received.append(connection.recv(65536))
                    connection.sendall(answer)
                    connection.recv(1)
                except OSError:
                    pass

        threading.Thread(target=run, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/v1", received

    yield start
    for listener in listeners:
        listener.close()


def test_an_answer_announcing_more_than_the_cap_is_refused_before_its_body_is_read(answering_server):
    # Headers only: a client that waited for the announced body would wait for the read timeout.
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n"
    base_url, _ = answering_server(head)
    config = ProviderConfig(kind="openai", base_url=base_url, api_key="k", read_timeout=5)
    started = time.monotonic()
    with build_provider(config) as provider, pytest.raises(ProviderError) as caught:
        provider.create(spec("openai"))
    assert time.monotonic() - started < 2
    error = caught.value
    assert (error.code, error.permanent, error.outcome_unknown) == ("response_too_large", False, True)
    assert "10737418240" in error.message


def test_a_compressed_answer_is_refused_since_only_identity_is_asked_for(answering_server):
    # A small gzip body can inflate to gigabytes in one step, before any cap could count it.
    body = gzip.compress(b'{"id": "video_1", "object": "video", "status": "queued"}')
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    base_url, received = answering_server(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    with (
        build_provider(ProviderConfig(kind="openai", base_url=base_url, api_key="k")) as provider,
        pytest.raises(ProviderError) as caught,
    ):
        provider.retrieve("video_1")
    assert (caught.value.code, caught.value.permanent) == ("unexpected_content_encoding", False)
    assert b"\r\naccept-encoding: identity\r\n" in received[0].lower()


# --- The pipeline: the video is retried, not lost ---------------------------------------------


def drive(video: Video, *, timeout: float = 20) -> Video:
    """Run poll-loop cycles and archives, as the cluster does, until the video settles."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pipeline.poll_loop(seconds=0)  # one cycle
        for archiving in Video.objects.filter(state=VideoState.ARCHIVING):
            archive.archive_video(archiving.pk)
        video.refresh_from_db()
        if video.state in (VideoState.READY, VideoState.FAILED, VideoState.EXPIRED):
            return video
        time.sleep(0.1)
    raise AssertionError(f"video stayed {video.state}: {video.error_code} {video.error_message}")


def new_video(provider, prompt: str = f"a lighthouse {INSTANT}") -> Video:
    return services.video_create(
        owner=make_user("alice"),
        provider=provider,
        prompt=prompt,
        model=provider.model_names[0],
        size="1280x720",
        seconds=4,
    )


def too_large_warnings(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if "response_too_large" in record.getMessage()]


def test_the_cap_comes_from_the_setting(offline_providers, settings):
    settings.PROVIDER_MAX_RESPONSE_BYTES = 256 * 1024
    assert offline_providers["emulator-openai"].as_config().max_response_bytes == 256 * 1024


@pytest.mark.django_db(transaction=True)
def test_a_poll_meeting_an_endless_answer_is_retried_and_the_video_ends_ready(providers, emulator, caplog):
    caplog.set_level(logging.WARNING, logger="videos.providers")
    video = new_video(providers["emulator-openai"])
    emulator.add_fault("endless_body", protocol="openai", operation="list", truncate_at=HUGE)
    with peak_memory() as peak:
        video = drive(video)
    assert video.state == VideoState.READY
    assert video.assets.filter(kind="video").exists()
    assert Fault.objects.get(kind="endless_body").hits == 1  # the poll did meet it
    assert len(too_large_warnings(caplog)) == 1  # met once, logged, and the poll was simply tried again
    assert peak[0] < MEMORY_BUDGET
    assert emulator.jobs_created("openai") == 1


@pytest.mark.django_db(transaction=True)
def test_a_create_meeting_an_endless_answer_is_reconciled_not_sent_again(providers, emulator):
    provider = providers["emulator-openai"]
    video = new_video(provider)
    emulator.add_fault("endless_body", protocol="openai", operation="create", truncate_at=HUGE)
    with peak_memory() as peak:
        pipeline.submit_pending(provider)
    assert peak[0] < MEMORY_BUDGET
    video.refresh_from_db()
    assert video.state == VideoState.PENDING
    assert video.submit_outcome_unknown
    Video.objects.filter(pk=video.pk).update(next_step_at=None)  # reconcile now, not after the usual wait
    video = drive(video)
    assert video.state == VideoState.READY
    assert emulator.jobs_created("openai") == 1
    assert emulator.received("openai", "create") == 1


def test_an_endless_answer_from_vertex_ais_token_endpoint_is_a_transient_error(answering_server):
    # The service account's token request goes through the same cap as every provider answer.
    endless = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + b" " * (256 * 1024)
    token_uri, received = answering_server(endless)
    info, _ = service_account_info(token_uri + "/token")
    config = ProviderConfig(
        kind="vertex", base_url=token_uri, api_key=json.dumps(info), max_response_bytes=64 * 1024, read_timeout=5
    )
    started = time.monotonic()
    with build_provider(config) as provider, pytest.raises(ProviderError) as caught:
        provider.create(SubmissionSpec(model="veo-3.1-generate-001", prompt="a red fox", size="1280x720", seconds=8))
    assert time.monotonic() - started < 5
    assert (caught.value.code, caught.value.permanent, caught.value.outcome_unknown) == (
        "response_too_large",
        False,
        False,
    )
    assert received[0].startswith(b"POST /v1/token ")  # the token request, and nothing was created
