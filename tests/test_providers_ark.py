"""The Ark (Seedance) adapter against the built-in emulator over real HTTP, and its CDN guard."""

from __future__ import annotations

import pytest
from emulator_fixtures import INSTANT, image_bytes, wait_until

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.types import VIDEO_TYPES, AssetRef, SpecImage

MODEL = "dreamina-seedance-2-0-260128"


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(kind="ark", name="emulator", base_url=emulator.ark_base_url, api_key=emulator.api_key)
    with build_provider(config) as adapter:
        yield adapter


def spec(prompt: str = f"a cat surfing {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(**{"model": MODEL, "prompt": prompt, "size": "1280x720", "seconds": 5, **extra})


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_a_task_with_every_input_is_made_and_its_cdn_video_fetched_without_credentials(provider, emulator):
    job = provider.create(
        spec(
            size="720x1280",
            seconds=7,
            input_image=image_bytes(720, 1280),
            last_frame=SpecImage(image_bytes(720, 1280, "JPEG"), "image/jpeg"),
            reference_images=(SpecImage(image_bytes(100, 100), "image/png"),),
            audio=False,
            seed=42,
        )
    )
    assert job.job_id.startswith("cgt-")
    inputs = emulator.job(job.job_id).inputs
    assert [image["role"] for image in inputs["images"]] == ["first_frame", "last_frame", "reference_image"]
    assert inputs["images"][1]["type"] == "image/jpeg"
    assert (inputs["ratio"], inputs["resolution"], inputs["duration"]) == ("9:16", "720p", 7)
    assert inputs["generate_audio"] is False
    assert inputs["seed"] == 42
    done = finished(provider, job.job_id)
    assert done.state == "succeeded"
    assert (done.size, done.seconds) == ("720x1280", 7)
    [asset] = done.assets()
    assert asset.public
    # The emulator's CDN refuses a pre-signed URL that also carries credentials, as object stores do.
    with provider.open_asset(asset) as stream:
        data = b"".join(stream.iter_bytes())
    assert data[4:8] == b"ftyp"
    assert emulator.received("ark", "media") == 1


def test_many_tasks_are_polled_in_one_list_call_by_id(provider, emulator):
    ids = [provider.create(spec()).job_id for _ in range(3)]
    other = provider.create(spec()).job_id
    result = provider.poll_many(ids, listed_too=[other])
    assert set(result) == {*ids, other}
    assert result.calls == 1
    assert emulator.received("ark", "list") == 1
    assert emulator.received("ark", "retrieve") == 0


def test_a_moderated_task_fails_as_output_moderation(provider):
    done = finished(provider, provider.create(spec(f"x {INSTANT} [emulator:fail=moderation]")).job_id)
    assert done.state == "failed"
    assert done.error_code == "output_moderation"
    assert done.provider_error_code == "OutputVideoSensitiveContentDetected"
    assert done.assets() == ()


def test_errors_keep_their_meaning(provider, emulator):
    emulator.add_fault("rate_limit", protocol="ark", operation="create", retry_after=4)
    with pytest.raises(ProviderError) as limited:
        provider.create(spec())
    assert not limited.value.permanent
    assert limited.value.retry_after == 4
    assert not limited.value.outcome_unknown
    with pytest.raises(ProviderError) as refused:
        provider.create(spec(size="1792x1024"))
    assert refused.value.permanent
    with pytest.raises(ProviderError) as missing:
        provider.retrieve("cgt-nope")
    assert missing.value.status_code == 404


def test_a_lost_create_is_found_in_the_list(provider, emulator):
    from django.utils import timezone

    since = timezone.now()
    emulator.add_fault("drop", protocol="ark", operation="create")
    with pytest.raises(ProviderError) as lost:
        provider.create(spec("a lighthouse"))
    assert lost.value.outcome_unknown
    [found] = provider.find_created(spec("a lighthouse"), since=since)
    assert found.job_id.startswith("cgt-")


def cdn(url: str) -> AssetRef:
    return AssetRef(0, "video", "", VIDEO_TYPES, source_id="t", url=url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.example.com/x.mp4", "not the provider's host nor in the allow-list"),
        ("http://bucket.tos-ap-southeast-1.volces.com/x.mp4", "https"),
        ("https://user:pw@bucket.volces.com/x.mp4", "credentials"),
        ("ftp://bucket.volces.com/x.mp4", "https"),
        ("https://localhost:1/x.mp4", "non-public address"),
    ],
)
def test_a_cdn_url_that_is_not_allowed_is_never_fetched(emulator, url, reason):
    config = ProviderConfig(
        kind="ark",
        name="guarded",
        base_url=emulator.ark_base_url,
        api_key=emulator.api_key,
        redirect_allow_hosts=("localhost",),
    )
    with build_provider(config) as adapter:
        with pytest.raises(ProviderError) as raised, adapter.open_asset(cdn(url)):
            pass
        assert raised.value.code == "redirect_blocked"
        assert reason in raised.value.message
        assert adapter.http.calls == 0


def test_the_provider_kind_allows_bytedance_object_storage_by_default(emulator):
    config = ProviderConfig(kind="ark", base_url=emulator.ark_base_url, api_key="k")
    assert ".volces.com" in config.redirect_allow_hosts
    assert ".bytepluses.com" in config.redirect_allow_hosts
