"""The Runway adapter against the built-in emulator over real HTTP."""

from __future__ import annotations

import json

import pytest
from emulator_fixtures import INSTANT, image_bytes, runway_schema, wait_until

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.types import SpecImage


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(kind="runway", name="emulator", base_url=emulator.runway_url, api_key=emulator.api_key)
    with build_provider(config) as adapter:
        yield adapter


def spec(model: str = "veo3.1", prompt: str = f"a dog {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(**{"model": model, "prompt": prompt, "size": "1280x720", "seconds": 8, **extra})


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_requests_follow_runways_document_for_each_model(provider, emulator):
    seen = []
    provider.http.client.event_hooks["request"].append(seen.append)
    provider.create(spec(audio=False, negative_prompt="rain"))
    provider.create(spec(input_image=image_bytes(1280, 720), last_frame=SpecImage(image_bytes(1280, 720))))
    provider.create(spec("gen4.5", seconds=5, seed=3))
    provider.create(spec("gen4.5", seconds=5, input_image=image_bytes(1280, 720)))
    paths = [request.url.path.rsplit("/", 1)[1] for request in seen]
    assert paths == ["text_to_video", "image_to_video", "text_to_video", "image_to_video"]
    for request in seen:
        assert request.headers["X-Runway-Version"] == "2024-11-06"
        path = "/v1/" + request.url.path.rsplit("/", 1)[1]
        runway_schema(path, "post", 0).validate(json.loads(request.content))


def test_a_task_goes_from_throttled_to_a_signed_output(provider, emulator):
    waiting = provider.create(spec(prompt="x [emulator:queue=30] [emulator:status=THROTTLED]"))
    status = provider.retrieve(waiting.job_id)
    assert (status.state, status.raw_status) == ("queued", "THROTTLED")
    done = finished(provider, provider.create(spec()).job_id)
    [asset] = done.assets()
    assert asset.public
    with provider.open_asset(asset) as stream:
        assert b"".join(stream.iter_bytes())[4:8] == b"ftyp"


def test_failures_and_cancel(provider, emulator):
    moderated = finished(provider, provider.create(spec(prompt=f"x {INSTANT} [emulator:fail=moderation]")).job_id)
    assert moderated.state == "failed"
    assert moderated.error_code == "input_moderation"
    assert moderated.provider_error_code == "SAFETY.INPUT.TEXT"
    slow = provider.create(spec(prompt="x [emulator:queue=30]"))
    assert provider.delete(slow.job_id) is True
    assert finished(provider, slow.job_id).raw_status == "CANCELLED"
    with pytest.raises(ProviderError) as refused:
        provider.create(spec(size="960x960"))
    assert refused.value.permanent
    assert refused.value.status_code == 400
