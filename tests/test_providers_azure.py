"""The Azure Sora jobs adapter against the built-in emulator, over real HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from emulator_fixtures import INSTANT, image_bytes, wait_until

from videos.providers import CropBounds, ProviderConfig, ProviderError, SubmissionSpec, build_provider


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(
        kind="azure_sora", name="emulator", base_url=emulator.azure_base_url, api_key=emulator.api_key
    )
    with build_provider(config) as adapter:
        yield adapter


def spec(prompt: str = f"a red fox {INSTANT}", **extra) -> SubmissionSpec:
    values = {"model": "sora", "prompt": prompt, "size": "854x480", "seconds": 5, **extra}
    return SubmissionSpec(**values)


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_it_creates_a_job_as_json_with_the_api_key_header(provider, emulator):
    job = provider.create(spec("a red fox in the snow"))
    assert job.job_id.startswith("task_")
    assert job.state == "queued"
    assert (job.size, job.seconds, job.model) == ("854x480", 5, "sora")
    assert provider.config.auth_style == "api_key"
    assert provider.config.api_version == "preview"
    assert emulator.jobs_created("azure") == 1


def test_it_creates_an_image_to_video_job_with_inpaint_items(provider, emulator):
    bounds = CropBounds(left_fraction=0.1, top_fraction=0.0, right_fraction=0.9, bottom_fraction=1.0)
    job = provider.create(
        spec(
            input_image=image_bytes(854, 480, "JPEG"),
            input_filename="start.jpg",
            input_content_type="image/jpeg",
            crop_bounds=bounds,
        )
    )
    items = emulator.job(job.job_id).inputs["inpaint_items"]
    assert items == [
        {
            "frame_index": 0,
            "type": "image",
            "file_name": "start.jpg",
            "crop_bounds": {"left_fraction": 0.1, "top_fraction": 0.0, "right_fraction": 0.9, "bottom_fraction": 1.0},
        }
    ]
    assert json.loads(json.dumps(job.raw))["id"] == job.job_id


def test_it_makes_two_variants_with_two_assets_each(provider):
    job = finished(provider, provider.create(spec(n_variants=2)).job_id)
    assert job.state == "succeeded"
    assert len(job.generation_ids) == 2
    assert all(gen.startswith("gen_") for gen in job.generation_ids)
    assets = job.assets()
    assert [(asset.variant_index, asset.kind) for asset in assets] == [
        (0, "video"),
        (0, "thumbnail"),
        (1, "video"),
        (1, "thumbnail"),
    ]
    assert assets[0].path == f"/video/generations/{job.generation_ids[0]}/content/video"
    for asset in assets:
        with provider.open_asset(asset) as stream:
            body = b"".join(stream.iter_bytes())
        if asset.kind == "video":
            assert stream.content_type == "video/mp4"
            assert body[4:8] == b"ftyp"
        else:
            assert stream.content_type == "image/jpg"
            assert body[:2] == b"\xff\xd8"


def test_it_polls_in_flight_jobs_through_the_status_filtered_list(provider, emulator):
    waiting = [provider.create(spec(f"fox {n} [emulator:queue=60]")).job_id for n in range(4)]
    done = provider.create(spec()).job_id
    finished(provider, done)
    before = emulator.received("azure", "retrieve")
    result = provider.poll_many([*waiting, done])
    assert set(result) == {*waiting, done}
    assert result[done].state == "succeeded"
    # One list page for the four in flight, one retrieve for the job that left the filter.
    assert result.calls == 2
    assert emulator.received("azure", "retrieve") == before + 1


def test_it_deletes_a_job(provider):
    job_id = provider.create(spec()).job_id
    assert provider.delete(job_id) is True
    assert provider.delete(job_id) is False


def test_it_cannot_remix(provider):
    with pytest.raises(ProviderError) as caught:
        provider.remix("task_1", "again")
    assert caught.value.permanent
    with pytest.raises(ProviderError):
        provider.create(spec(remix_of="task_1"))


@pytest.mark.parametrize(
    ("directive", "code"), [("moderation", "input_moderation"), ("internal", "provider_internal_error")]
)
def test_it_reports_failure_reasons_with_clear_codes(provider, directive, code):
    job = finished(provider, provider.create(spec(f"a fox [emulator:fail={directive}] {INSTANT}")).job_id)
    assert job.state == "failed"
    assert job.error_code == code
    assert job.assets() == ()


def test_an_unknown_status_word_keeps_the_job_open(provider):
    job = provider.create(spec("a fox [emulator:queue=0,generation=60,status=rendering]"))
    job = wait_until(lambda: (seen := provider.retrieve(job.job_id)).raw_status == "rendering" and seen)
    assert job.state == "unknown"


def test_a_wrong_key_is_a_permanent_auth_error(emulator):
    config = ProviderConfig(kind="azure_sora", base_url=emulator.azure_base_url, api_key="wrong")
    with build_provider(config) as provider, pytest.raises(ProviderError) as caught:
        provider.retrieve("task_1")
    assert caught.value.permanent
    assert caught.value.status_code == 401


def test_the_bare_content_path_is_not_used(provider):
    job = finished(provider, provider.create(spec()).job_id)
    assert all(asset.path.endswith(("/content/video", "/content/thumbnail")) for asset in job.assets())


def test_too_many_variants_is_a_permanent_error(provider):
    with pytest.raises(ProviderError) as caught:
        provider.create(spec(size="1920x1080", n_variants=2))
    assert caught.value.permanent
    assert caught.value.status_code == 400


def test_content_and_job_are_gone_after_expiry(provider):
    job = finished(provider, provider.create(spec(f"a fox [emulator:retention=2] {INSTANT}")).job_id)
    assert job.expires_at is not None
    # expires_at is in whole seconds, the provider's clock is not: allow the lost fraction.
    wait_until(lambda: datetime.now(UTC) > job.expires_at + timedelta(seconds=1.2), timeout=10)
    with pytest.raises(ProviderError) as caught, provider.open_asset(job.assets()[0]):
        pass
    assert caught.value.permanent
    assert caught.value.status_code == 404
    with pytest.raises(ProviderError) as caught:
        provider.retrieve(job.job_id)
    assert caught.value.status_code == 404
