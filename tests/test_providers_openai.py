"""The OpenAI Videos adapter against the built-in emulator, over real HTTP."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from emulator_fixtures import INSTANT, image_bytes, wait_until

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(kind="openai", name="emulator", base_url=emulator.openai_base_url, api_key=emulator.api_key)
    with build_provider(config) as adapter:
        yield adapter


def spec(prompt: str = f"a red fox {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(model="sora-2", prompt=prompt, size="1280x720", seconds=4, **extra)


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def download(provider, asset, **options) -> bytes:
    with provider.open_asset(asset, **options) as stream:
        return b"".join(stream.iter_bytes())


def test_it_creates_a_text_to_video_job_as_multipart(provider, emulator):
    job = provider.create(spec("a red fox in the snow"))
    assert job.job_id.startswith("video_")
    assert job.state == "queued"
    assert job.raw_status == "queued"
    assert job.progress == 0
    assert job.created_at is not None
    assert job.created_at.tzinfo is not None
    assert (job.model, job.size, job.seconds, job.prompt) == ("sora-2", "1280x720", 4, "a red fox in the snow")
    assert emulator.jobs_created("openai") == 1


def test_it_creates_with_an_input_image(provider, emulator):
    job = provider.create(
        spec(input_image=image_bytes(1280, 720), input_filename="start.png", input_content_type="image/png")
    )
    assert job.state in ("queued", "generating", "succeeded")
    assert emulator.job(job.job_id).inputs["input_reference"]


def test_it_creates_as_json_when_configured(emulator):
    config = ProviderConfig(
        kind="openai", base_url=emulator.openai_base_url, api_key=emulator.api_key, openai_create_format="json"
    )
    with build_provider(config) as provider:
        job = provider.create(spec(input_image=image_bytes(1280, 720, "JPEG"), input_content_type="image/jpeg"))
    assert emulator.job(job.job_id).inputs["input_reference"]


def test_it_follows_a_job_to_success_and_offers_three_assets(provider):
    job = finished(provider, provider.create(spec()).job_id)
    assert job.state == "succeeded"
    assert job.progress == 100
    assert job.completed_at is not None
    assert job.expires_at is not None
    assert job.expires_at > job.completed_at
    assert [(asset.variant_index, asset.kind) for asset in job.assets()] == [
        (0, "video"),
        (0, "thumbnail"),
        (0, "spritesheet"),
    ]


def test_it_downloads_video_thumbnail_and_spritesheet_with_their_types(provider):
    job = finished(provider, provider.create(spec()).job_id)
    video, thumbnail, spritesheet = job.assets()
    with provider.open_asset(video) as stream:
        assert stream.status_code == 200
        assert stream.content_type == "video/mp4"
        body = b"".join(stream.iter_bytes())
        assert len(body) == stream.content_length == stream.total_size
    assert body[4:8] == b"ftyp"
    assert download(provider, thumbnail)[8:12] == b"WEBP"
    assert download(provider, spritesheet)[:2] == b"\xff\xd8"


def test_it_resumes_a_download_from_an_offset(provider):
    job = finished(provider, provider.create(spec()).job_id)
    video = job.assets()[0]
    with provider.open_asset(video) as stream:
        whole = b"".join(stream.iter_bytes())
        validator = stream.validator
    with provider.open_asset(video, offset=1000, if_range=validator) as stream:
        assert stream.status_code == 206
        assert stream.start == 1000
        assert stream.total_size == len(whole)
        tail = b"".join(stream.iter_bytes())
    assert hashlib.sha256(whole[:1000] + tail).digest() == hashlib.sha256(whole).digest()


def test_it_restarts_from_zero_when_the_validator_no_longer_matches(provider):
    job = finished(provider, provider.create(spec()).job_id)
    with provider.open_asset(job.assets()[0], offset=1000, if_range='"stale"') as stream:
        assert stream.status_code == 200
        assert stream.start == 0


def test_it_polls_many_jobs_with_one_list_call(provider, emulator):
    ids = [provider.create(spec(f"fox {n} [emulator:queue=60]")).job_id for n in range(5)]
    lists, retrieves = emulator.received("openai", "list"), emulator.received("openai", "retrieve")
    result = provider.poll_many(ids)
    assert set(result) == set(ids)
    assert all(job.state == "queued" for job in result.values())
    assert result.calls == 1
    assert emulator.received("openai", "list") == lists + 1
    assert emulator.received("openai", "retrieve") == retrieves


def test_it_pages_the_list_and_falls_back_to_retrieve_for_ids_not_listed(emulator):
    config = ProviderConfig(
        kind="openai", base_url=emulator.openai_base_url, api_key=emulator.api_key, list_page_size=2, list_max_pages=2
    )
    with build_provider(config) as provider:
        ids = [provider.create(spec(f"fox {n} [emulator:queue=60]")).job_id for n in range(7)]
        result = provider.poll_many(ids)
    assert set(result) == set(ids)
    # Two pages of two (newest first), then one retrieve for each of the three oldest.
    assert result.calls == 2 + 3
    assert emulator.received("openai", "retrieve") == 3


def test_poll_many_reports_jobs_the_provider_no_longer_knows(provider):
    live = provider.create(spec()).job_id
    result = provider.poll_many([live, "video_doesnotexist"])
    assert live in result
    assert result.errors["video_doesnotexist"].status_code == 404
    assert result.errors["video_doesnotexist"].permanent


def test_it_deletes_a_job_and_then_knows_it_is_gone(provider):
    job_id = provider.create(spec()).job_id
    assert provider.delete(job_id) is True
    assert provider.delete(job_id) is False
    with pytest.raises(ProviderError) as caught:
        provider.retrieve(job_id)
    assert caught.value.permanent
    assert caught.value.status_code == 404


def test_it_remixes_a_finished_video(provider):
    source = finished(provider, provider.create(spec()).job_id)
    remix = provider.remix(source.job_id, f"the same fox, at night {INSTANT}")
    assert remix.job_id != source.job_id
    assert remix.remixed_from == source.job_id
    assert provider.create(spec(f"again {INSTANT}", remix_of=source.job_id)).remixed_from == source.job_id


def test_it_reports_a_moderation_failure_with_a_clear_code(provider):
    job = finished(provider, provider.create(spec(f"a fox [emulator:fail=moderation] {INSTANT}")).job_id)
    assert job.state == "failed"
    assert job.provider_error_code == "moderation_blocked"
    assert job.error_code == "moderation_blocked"
    assert job.error_message
    assert job.assets() == ()


def test_it_reports_an_internal_failure(provider):
    job = finished(provider, provider.create(spec(f"a fox [emulator:fail=internal] {INSTANT}")).job_id)
    assert (job.state, job.error_code) == ("failed", "provider_internal_error")


def test_an_unknown_status_word_keeps_the_job_open(provider):
    job = provider.create(spec("a fox [emulator:queue=0,generation=60,status=rendering]"))
    job = wait_until(lambda: (seen := provider.retrieve(job.job_id)).raw_status == "rendering" and seen)
    assert job.state == "unknown"
    assert not job.is_terminal


def test_content_before_completion_is_a_404(provider):
    job = provider.create(spec("a fox [emulator:queue=60]"))
    assert job.assets() == ()
    # A queued job offers nothing yet; its asset paths are known all the same.
    with pytest.raises(ProviderError) as caught, provider.open_asset(job.asset_refs[0]):
        pass
    assert caught.value.status_code == 404


def test_content_after_expiry_is_a_permanent_404(provider):
    job = finished(provider, provider.create(spec(f"a fox [emulator:retention=1] {INSTANT}")).job_id)
    # expires_at is in whole seconds, the provider's clock is not: allow the lost fraction.
    wait_until(lambda: datetime.now(UTC) > job.expires_at + timedelta(seconds=1.2))
    with pytest.raises(ProviderError) as caught, provider.open_asset(job.assets()[0]):
        pass
    assert caught.value.permanent
    assert caught.value.status_code == 404
    assert "no longer available" in caught.value.message


def test_a_wrong_key_is_a_permanent_auth_error(emulator):
    config = ProviderConfig(kind="openai", base_url=emulator.openai_base_url, api_key="sk-wrong-key-000")
    with build_provider(config) as provider, pytest.raises(ProviderError) as caught:
        provider.create(spec())
    assert caught.value.permanent
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert emulator.jobs_created("openai") == 0


def test_the_api_key_header_style_works_too(emulator):
    config = ProviderConfig(
        kind="openai", base_url=emulator.openai_base_url, api_key=emulator.api_key, auth_style="api_key"
    )
    with build_provider(config) as provider:
        assert provider.create(spec()).job_id


def test_an_invalid_request_is_permanent_with_the_providers_message(provider):
    with pytest.raises(ProviderError) as caught:
        provider.create(SubmissionSpec(model="sora-2", prompt="a fox", size="333x333"))
    assert caught.value.permanent
    assert caught.value.status_code == 400
    assert "333x333" in caught.value.message
