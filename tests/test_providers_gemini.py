"""The Gemini API (Veo) adapter against the built-in emulator, over real HTTP."""

from __future__ import annotations

import pytest
from django.utils import timezone
from emulator_fixtures import INSTANT, image_bytes, wait_until

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.gemini import veo_shape
from videos.providers.types import SpecImage

MODEL = "veo-3.1-generate-preview"


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(
        kind="gemini", name="emulator", base_url=f"{emulator.gemini_url}/v1beta", api_key=emulator.api_key
    )
    with build_provider(config) as adapter:
        yield adapter


def spec(prompt: str = f"a red fox {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(**{"model": MODEL, "prompt": prompt, "size": "1280x720", "seconds": 8, **extra})


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_sizes_map_to_aspect_ratio_and_resolution():
    assert veo_shape("1280x720") == ("16:9", "720p")
    assert veo_shape("1080x1920") == ("9:16", "1080p")
    assert veo_shape("3840x2160") == ("16:9", "4k")
    for size in ("720x720", "1792x1024", "640x360", "big"):
        with pytest.raises(ProviderError) as raised:
            veo_shape(size)
        assert raised.value.permanent


def test_a_job_is_an_operation_polled_by_name_whose_file_is_downloaded_with_the_key(provider, emulator):
    job = provider.create(spec(size="720x1280", seconds=6))
    assert job.job_id.startswith(f"models/{MODEL}/operations/")
    assert job.state == "queued"
    assert provider.config.auth_style == "goog_api_key"
    done = finished(provider, job.job_id)
    assert done.state == "succeeded"
    [asset] = done.assets()
    assert asset.kind == "video"
    assert asset.path.startswith("/files/")
    with provider.open_asset(asset) as stream:
        data = b"".join(stream.iter_bytes())
    assert data[4:8] == b"ftyp"
    stored = emulator.job(job.job_id.rsplit("/", 1)[1])
    assert (stored.width, stored.height, stored.seconds) == (720, 1280, 6)
    assert emulator.received("gemini", "media") == 1


def test_inputs_go_inline_as_base64_with_their_types(provider, emulator):
    first = image_bytes(1280, 720)
    last = image_bytes(1280, 720, "JPEG")
    job = provider.create(
        spec(
            input_image=first,
            last_frame=SpecImage(last, "image/jpeg"),
            reference_images=(SpecImage(image_bytes(300, 200), "image/png"),),
            negative_prompt="people",
        )
    )
    inputs = emulator.job(job.job_id.rsplit("/", 1)[1]).inputs
    assert inputs["image"]["mimeType"] == "image/png"
    assert int(inputs["image"]["bytes"]) == len(first)
    assert inputs["lastFrame"]["mimeType"] == "image/jpeg"
    assert len(inputs["referenceImages"]) == 1
    assert inputs["negativePrompt"] == "people"


def test_a_safety_filtered_result_fails_with_the_reason_and_is_not_retried(provider):
    job = provider.create(spec(f"forbidden {INSTANT} [emulator:fail=moderation]"))
    done = finished(provider, job.job_id)
    assert done.state == "failed"
    assert done.error_code == "moderation_blocked"
    assert "safety filters" in done.error_message
    assert "violate" in done.error_message
    assert done.assets() == ()


def test_a_failed_generation_is_a_failure_and_a_refused_request_says_so(provider):
    done = finished(provider, provider.create(spec(f"x {INSTANT} [emulator:fail=internal]")).job_id)
    assert done.state == "failed"
    assert done.error_code == "generation_failed"
    assert done.provider_error_code == "13"
    with pytest.raises(ProviderError) as raised:
        provider.create(spec(size="1920x1080", seconds=4))  # 1080p only at 8 s
    assert raised.value.permanent
    assert raised.value.status_code == 400
    assert raised.value.code == "INVALID_ARGUMENT"


def test_a_429_is_transient_with_the_retry_delay_from_the_body(provider, emulator):
    emulator.add_fault("rate_limit", protocol="gemini", operation="retrieve", retry_after=12)
    job = provider.create(spec())
    with pytest.raises(ProviderError) as raised:
        provider.retrieve(job.job_id)
    assert not raised.value.permanent
    assert raised.value.status_code == 429
    assert raised.value.retry_after == 12
    assert raised.value.code == "RESOURCE_EXHAUSTED"


def test_polling_many_jobs_is_one_call_each_and_never_a_list(provider, emulator):
    ids = [provider.create(spec()).job_id for _ in range(3)]
    result = provider.poll_many(ids)
    assert set(result) == set(ids)
    assert result.calls == 3
    assert emulator.received("gemini", "list") == 0
    assert provider.find_created(spec(), since=timezone.now()) == []


def test_an_operation_name_is_checked_before_it_becomes_a_path(provider, emulator):
    for hostile in ("../../etc/passwd", "models/x/operations/a?b", "https://elsewhere/x", "models/x/operations/../y"):
        with pytest.raises(ProviderError) as raised:
            provider.retrieve(hostile)
        assert raised.value.code == "invalid_job_id"
    assert emulator.received("gemini", "retrieve") == 0


def test_a_file_uri_on_another_host_is_downloaded_from_the_configured_one(provider, emulator):
    job = provider.create(spec())
    done = finished(provider, job.job_id)
    [asset] = done.assets()
    assert done.raw["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"].startswith("https://")
    # Only the file id is kept: the download is built from the configured base URL.
    assert asset.path == f"/files/{asset.source_id}:download"
    assert asset.params == (("alt", "media"),)
