"""The Replicate adapter against the built-in emulator over real HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from emulator_fixtures import INSTANT, image_bytes, replicate_schema, wait_until

from videos import catalogue
from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.types import VIDEO_TYPES, AssetRef, SpecImage


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(
        kind="replicate", name="emulator", base_url=f"{emulator.replicate_url}/v1", api_key=emulator.api_key
    )
    with build_provider(config) as adapter:
        yield adapter


def spec(model: str = "google/veo-3.1", prompt: str = f"a fox {INSTANT}", **extra) -> SubmissionSpec:
    record = catalogue.capabilities("replicate", model)
    values = {
        "model": model,
        "prompt": prompt,
        "size": record.sizes[0],
        "seconds": record.seconds[-1],
        "mapping": record.mapping,
    }
    return SubmissionSpec(**{**values, **extra})


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_each_model_gets_its_own_input_and_the_output_is_archived_with_the_key(provider, emulator):
    veo = provider.create(
        spec(input_image=image_bytes(1280, 720), last_frame=SpecImage(image_bytes(1280, 720)), seed=9, audio=False)
    )
    sent = emulator.job(veo.job_id).inputs["input"]
    assert set(sent) == {
        "prompt",
        "image",
        "last_frame",
        "duration",
        "aspect_ratio",
        "resolution",
        "seed",
        "generate_audio",
    }
    assert (sent["duration"], sent["aspect_ratio"], sent["resolution"]) == (8, "16:9", "720p")
    kling = provider.create(spec("kwaivgi/kling-v2.1", input_image=image_bytes(1920, 1080)))
    assert set(emulator.job(kling.job_id).inputs["input"]) == {"prompt", "start_image", "duration", "aspect_ratio"}
    hailuo = provider.create(spec("minimax/hailuo-02", size="1920x1080", seconds=6))
    assert emulator.job(hailuo.job_id).inputs["input"]["resolution"] == "1080p"
    done = finished(provider, veo.job_id)
    assert done.state == "succeeded"
    [asset] = done.assets()
    with provider.open_asset(asset) as stream:
        assert b"".join(stream.iter_bytes())[4:8] == b"ftyp"


def test_many_predictions_are_polled_from_the_list(provider, emulator):
    ids = [provider.create(spec()).job_id for _ in range(3)]
    result = provider.poll_many(ids, since=timezone.now() - timedelta(minutes=1))
    assert set(result) == set(ids)
    assert result.calls == 1
    assert emulator.received("replicate", "retrieve") == 0


def test_a_lost_create_is_found_by_its_prompt(provider, emulator):
    since = timezone.now()
    emulator.add_fault("drop", protocol="replicate", operation="create")
    with pytest.raises(ProviderError) as lost:
        provider.create(spec(prompt="a lighthouse in fog"))
    assert lost.value.outcome_unknown
    found = provider.find_created(spec(prompt="a lighthouse in fog"), since=since)
    assert len(found) == 1


def test_failures_cancel_and_errors(provider, emulator):
    failed = finished(provider, provider.create(spec(prompt=f"x {INSTANT} [emulator:fail=internal]")).job_id)
    assert failed.state == "failed"
    assert failed.provider_error_message
    slow = provider.create(spec(prompt="x [emulator:queue=30]"))
    assert provider.delete(slow.job_id) is True
    assert finished(provider, slow.job_id).raw_status == "canceled"
    emulator.add_fault("rate_limit", protocol="replicate", operation="retrieve", retry_after=7)
    with pytest.raises(ProviderError) as limited:
        provider.retrieve(slow.job_id)
    assert limited.value.retry_after == 7
    with pytest.raises(ProviderError) as refused:
        provider.create(spec(seconds=5))
    assert refused.value.status_code == 422
    assert refused.value.permanent


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/output.mp4",
        "http://replicate.delivery/x/output.mp4",
        "https://replicate.delivery.evil.example/x.mp4",
    ],
)
def test_the_key_goes_only_to_replicate_delivery_over_https(provider, url):
    with pytest.raises(ProviderError) as refused, provider.open_asset(AssetRef(0, "video", "", VIDEO_TYPES, url=url)):
        pass
    assert refused.value.code == "redirect_blocked"
    assert provider.http.calls == 0


def test_what_the_adapter_sends_validates_against_replicates_document(provider, emulator):
    seen = []
    provider.http.client.event_hooks["request"].append(lambda request: seen.append(request))
    provider.create(spec(input_image=image_bytes(1280, 720), seed=3))
    [request] = seen
    assert request.url.path.endswith("/v1/models/google/veo-3.1/predictions")
    assert "prefer" not in request.headers  # the platform never holds a connection open for the result
    replicate_schema("schemas_prediction_request").validate(json.loads(request.content))
