"""The fal queue adapter against the built-in emulator over real HTTP: per-endpoint mapping as data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from emulator_fixtures import INSTANT, image_bytes, wait_until

from videos import catalogue
from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.mapping import aspect_ratio
from videos.providers.types import SpecImage


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(kind="fal", name="emulator", base_url=emulator.fal_url, api_key=emulator.api_key)
    with build_provider(config) as adapter:
        yield adapter


def spec(model: str, prompt: str = f"a cat surfing {INSTANT}", **extra) -> SubmissionSpec:
    record = catalogue.capabilities("fal", model)
    values = {
        "model": model,
        "prompt": prompt,
        "size": record.default_size(),
        "seconds": record.seconds[0],
        "mapping": record.mapping,
        "keep_seconds": record.retention_seconds,
        **extra,
    }
    return SubmissionSpec(**values)


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def sent(emulator, job_id: str) -> dict:
    return emulator.job(job_id.rsplit("/", 1)[1]).inputs["body"]


def test_sizes_become_aspect_ratios():
    assert aspect_ratio("1920x1080") == "16:9"
    assert aspect_ratio("1080x1920") == "9:16"
    assert aspect_ratio("1080x1080") == "1:1"
    assert aspect_ratio("1366x768") == "16:9"


def test_each_built_in_model_is_sent_in_its_endpoints_own_fields(provider, emulator):
    veo = provider.create(spec("fal-ai/veo3.1", size="720x1280", seconds=6, audio=False, seed=3, negative_prompt="fog"))
    assert sent(emulator, veo.job_id) == {
        "prompt": f"a cat surfing {INSTANT}",
        "duration": "6s",
        "aspect_ratio": "9:16",
        "resolution": "720p",
        "negative_prompt": "fog",
        "seed": 3,
        "generate_audio": False,
    }
    kling = provider.create(spec("fal-ai/kling-video/v3/pro", size="1920x1080", seconds=10))
    assert sent(emulator, kling.job_id) == {
        "prompt": f"a cat surfing {INSTANT}",
        "duration": "10",
        "aspect_ratio": "16:9",
    }
    assert emulator.job(kling.job_id.rsplit("/", 1)[1]).model == "fal-ai/kling-video/v3/pro/text-to-video"
    frame = image_bytes(1080, 1920)
    moving = provider.create(
        spec(
            "fal-ai/kling-video/v3/pro",
            size="1080x1920",
            input_image=frame,
            last_frame=SpecImage(image_bytes(1080, 1920, "JPEG"), "image/jpeg"),
        )
    )
    body = sent(emulator, moving.job_id)
    assert body["start_image_url"].startswith("data:image/png;base64,")
    assert body["end_image_url"].startswith("data:image/jpeg;base64,")
    assert "aspect_ratio" not in body  # image to video follows the frame
    wan = provider.create(spec("fal-ai/wan-25-preview", size="1920x1080", seed=9))
    assert sent(emulator, wan.job_id)["resolution"] == "1080p"
    hailuo = provider.create(spec("fal-ai/minimax/hailuo-02/standard", seconds=10))
    assert sent(emulator, hailuo.job_id) == {"prompt": f"a cat surfing {INSTANT}", "duration": "10"}
    both = provider.create(
        spec("fal-ai/veo3.1", input_image=image_bytes(1280, 720), last_frame=SpecImage(image_bytes(1280, 720)))
    )
    assert emulator.job(both.job_id.rsplit("/", 1)[1]).model == "fal-ai/veo3.1/first-last-frame-to-video"
    assert emulator.jobs_created("fal") == 6


def test_a_job_is_its_queue_path_and_ends_as_a_public_cdn_file(provider, emulator):
    job = provider.create(spec("fal-ai/veo3.1"))
    assert job.job_id.startswith("fal-ai/veo3.1/requests/")
    done = finished(provider, job.job_id)
    assert done.state == "succeeded"
    [asset] = done.assets()
    assert asset.public
    with provider.open_asset(asset) as stream:
        assert b"".join(stream.iter_bytes())[4:8] == b"ftyp"
    # Kept as long as the platform needs it, which the submission asked for.
    assert emulator.job(job.job_id.rsplit("/", 1)[1]).retention_seconds == 7 * 24 * 3600


def test_a_mapping_is_data_an_operator_can_change(provider, emulator):
    record = catalogue.capabilities(
        "fal",
        "fal-ai/veo3.1",
        per_model={
            "mapping": {
                "duration_format": "{seconds}s",
                "endpoints": {"text": {"id": "fal-ai/veo3.1", "fields": {"prompt": "prompt"}}},
            }
        },
    )
    job = provider.create(spec("fal-ai/veo3.1", mapping=record.mapping))
    assert sent(emulator, job.job_id) == {"prompt": f"a cat surfing {INSTANT}"}
    with pytest.raises(ProviderError) as refused:
        provider.create(spec("fal-ai/veo3.1", mapping=record.mapping, seed=4))
    assert refused.value.permanent
    assert "no seed" in refused.value.message
    with pytest.raises(ProviderError) as unmapped:
        provider.create(spec("fal-ai/veo3.1", mapping={}))
    assert unmapped.value.code == "unsupported"


def test_failures_say_what_fal_said(provider, emulator):
    moderated = finished(
        provider, provider.create(spec("fal-ai/veo3.1", f"x {INSTANT} [emulator:fail=moderation]")).job_id
    )
    assert moderated.state == "failed"
    assert moderated.error_code == "moderation_blocked"
    assert moderated.provider_error_code == "content_policy_violation"
    broken = finished(provider, provider.create(spec("fal-ai/veo3.1", f"x {INSTANT} [emulator:fail=internal]")).job_id)
    assert broken.state == "failed"
    assert broken.error_code == "provider_internal_error"
    emulator.add_fault("rate_limit", protocol="fal", operation="retrieve", retry_after=5)
    job = provider.create(spec("fal-ai/veo3.1"))
    with pytest.raises(ProviderError) as limited:
        provider.retrieve(job.job_id)
    assert not limited.value.permanent
    assert limited.value.retry_after == 5


def test_cancel_and_hostile_ids(provider, emulator):
    job = provider.create(spec("fal-ai/veo3.1", "x [emulator:queue=30]"))
    assert provider.delete(job.job_id) is True
    assert finished(provider, job.job_id).state == "failed"
    for hostile in ("../../x", "fal-ai/veo3.1/requests/../../y", "https://elsewhere/a/requests/b"):
        with pytest.raises(ProviderError) as raised:
            provider.retrieve(hostile)
        assert raised.value.code == "invalid_job_id"


def test_polling_is_one_call_per_job_and_never_a_list(provider, emulator):
    ids = [provider.create(spec("fal-ai/veo3.1", "x [emulator:queue=30]")).job_id for _ in range(3)]
    result = provider.poll_many(ids)
    assert set(result) == set(ids)
    assert result.calls == 3
    assert provider.find_created(spec("fal-ai/veo3.1"), since=datetime.now(UTC)) == []
    assert json.dumps(result[ids[0]].raw)  # the status answer is kept, as sent
