"""The Luma Dream Machine adapter against the built-in emulator over real HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from emulator_fixtures import INSTANT, image_bytes, luma_schema, wait_until

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.types import SpecImage


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(kind="luma", name="emulator", base_url=emulator.luma_url, api_key=emulator.api_key)
    with build_provider(config) as adapter:
        yield adapter


def spec(model: str = "ray-2", prompt: str = f"a cat {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(**{"model": model, "prompt": prompt, "size": "1280x720", "seconds": 5, **extra})


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_requests_follow_lumas_document(provider, emulator):
    seen = []
    provider.http.client.event_hooks["request"].append(seen.append)
    provider.create(spec())
    provider.create(spec("ray-flash-2", size="1080x1920", seconds=9, input_image=image_bytes(1080, 1920)))
    provider.create(
        spec(size="540x540", input_image=image_bytes(540, 540), last_frame=SpecImage(image_bytes(540, 540)))
    )
    bodies = [json.loads(request.content) for request in seen]
    for request, body in zip(seen, bodies, strict=True):
        assert request.url.path.endswith("/dream-machine/v1/generations/video")
        assert request.headers["Authorization"] == f"Bearer {emulator.api_key}"
        luma_schema("GenerationRequest").validate(body)
    assert [(b["aspect_ratio"], b["resolution"], b["duration"]) for b in bodies] == [
        ("16:9", "720p", "5s"),
        ("9:16", "1080p", "9s"),
        ("1:1", "540p", "5s"),
    ]
    assert "keyframes" not in bodies[0]
    assert set(bodies[2]["keyframes"]) == {"frame0", "frame1"}
    assert bodies[2]["keyframes"]["frame1"]["url"].startswith("data:image/png;base64,")
    with pytest.raises(ProviderError) as refused:
        provider.create(spec(size="1366x768"))
    assert refused.value.code == "invalid_size"
    assert len(seen) == 3  # refused before anything was sent


def test_many_generations_are_polled_with_one_list_call(provider, emulator):
    made = [provider.create(spec(prompt=f"cat {n} {INSTANT}")) for n in range(3)]
    ids = [job.job_id for job in made]
    wait_until(lambda: all(provider.retrieve(job_id).is_terminal for job_id in ids))
    lists, retrieves = emulator.received("luma", "list"), emulator.received("luma", "retrieve")
    states = provider.poll_many(ids, since=timezone.now() - timedelta(minutes=1))
    assert {job_id: status.state for job_id, status in states.items()} == dict.fromkeys(ids, "succeeded")
    assert states.calls == 1
    assert emulator.received("luma", "list") == lists + 1
    assert emulator.received("luma", "retrieve") == retrieves
    status = states[ids[0]]
    assert (status.model, status.prompt, status.size, status.seconds) == ("ray-2", f"cat 0 {INSTANT}", "1280x720", 5)
    # Small pages: the offset is the cursor, read until every id is found.
    small = ProviderConfig(
        kind="luma", base_url=emulator.luma_url, api_key=emulator.api_key, list_page_size=1, list_max_pages=5
    )
    with build_provider(small) as adapter:
        paged = adapter.poll_many(ids)
    assert set(paged) == set(ids)


def test_a_completed_generation_gives_its_video_and_thumbnail_from_the_cdn(provider, emulator):
    done = finished(provider, provider.create(spec()).job_id)
    assert done.state == "succeeded"
    video, thumbnail = done.assets()
    assert (video.kind, thumbnail.kind) == ("video", "thumbnail")
    assert video.public
    assert thumbnail.public
    with provider.open_asset(video) as stream:
        assert b"".join(stream.iter_bytes())[4:8] == b"ftyp"
    with provider.open_asset(thumbnail) as stream:
        assert b"".join(stream.iter_bytes())[:3] == b"\xff\xd8\xff"
    assert emulator.received("luma", "media") == 2


def test_failed_cancelled_and_refused(provider, emulator):
    moderated = finished(provider, provider.create(spec(prompt=f"x {INSTANT} [emulator:fail=moderation]")).job_id)
    assert moderated.state == "failed"
    assert moderated.error_code == "input_moderation"
    assert "moderation" in moderated.provider_error_message
    broken = finished(provider, provider.create(spec(prompt=f"x {INSTANT} [emulator:fail=internal]")).job_id)
    assert (broken.state, broken.error_code) == ("failed", "generation_failed")
    slow = provider.create(spec(prompt="x [emulator:queue=30]"))
    assert provider.retrieve(slow.job_id).state == "queued"
    assert provider.delete(slow.job_id) is True
    assert provider.delete(slow.job_id) is False  # gone
    with pytest.raises(ProviderError) as gone:
        provider.retrieve(slow.job_id)
    assert gone.value.status_code == 404
    emulator.add_fault("rate_limit", protocol="luma", operation="create", retry_after=3)
    with pytest.raises(ProviderError) as limited:
        provider.create(spec())
    assert not limited.value.permanent
    assert limited.value.status_code == 429
    assert limited.value.retry_after == 3
    assert not limited.value.outcome_unknown


def test_an_unknown_key_is_refused_with_lumas_detail(emulator):
    wrong = ProviderConfig(kind="luma", base_url=emulator.luma_url, api_key="wrong")
    with build_provider(wrong) as adapter, pytest.raises(ProviderError) as denied:
        adapter.create(spec())
    assert denied.value.permanent
    assert denied.value.status_code == 401
    assert "Invalid API key is provided" in denied.value.message
    assert emulator.jobs_created("luma") == 0
