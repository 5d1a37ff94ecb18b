"""MiniMax Hailuo: the adapter against the emulator over real HTTP, and the emulator's documented
shapes (no Python SDK; PROVIDERS-LIVING.md section 7)."""

from __future__ import annotations

import httpx
import pytest
from emulator_fixtures import INSTANT, image_bytes, wait_until

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.types import SpecImage


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(
        kind="minimax", name="emulator", base_url=f"{emulator.url}/minimax", api_key=emulator.api_key
    )
    with build_provider(config) as adapter:
        yield adapter


def spec(prompt: str = f"a book on a pedestal {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(
        **{"model": "MiniMax-Hailuo-02", "prompt": prompt, "size": "1366x768", "seconds": 10, **extra}
    )


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_a_task_becomes_a_file_whose_download_url_needs_no_key(provider, emulator):
    job = provider.create(spec(input_image=image_bytes(1366, 768), last_frame=SpecImage(image_bytes(1366, 768))))
    stored = emulator.job(job.job_id)
    assert stored.inputs == {"resolution": "768P", "frames": ["first_frame_image", "last_frame_image"]}
    done = finished(provider, job.job_id)
    assert done.state == "succeeded"
    assert emulator.received("minimax", "result") == 1  # the poll turned the file id into its URL
    [asset] = done.assets()
    assert asset.public
    with provider.open_asset(asset) as stream:
        assert b"".join(stream.iter_bytes())[4:8] == b"ftyp"


def test_application_errors_come_as_200_and_keep_their_meaning(provider, emulator):
    with pytest.raises(ProviderError) as refused:
        provider.create(spec(size="1920x1080"))  # 10 s only at 768P
    assert refused.value.permanent
    assert refused.value.code == "2013"
    emulator.add_fault("rate_limit", protocol="minimax", operation="create", retry_after=3)
    with pytest.raises(ProviderError) as limited:
        provider.create(spec())
    assert not limited.value.permanent
    assert limited.value.status_code == 429
    assert not limited.value.outcome_unknown
    wrong = ProviderConfig(kind="minimax", base_url=f"{emulator.url}/minimax", api_key="wrong")
    with build_provider(wrong) as adapter, pytest.raises(ProviderError) as denied:
        adapter.create(spec())
    assert denied.value.permanent
    assert denied.value.status_code == 401
    answer = httpx.post(
        f"{emulator.url}/minimax/v1/video_generation", headers={"Authorization": "Bearer wrong"}, json={}
    )
    assert answer.status_code == 200
    assert answer.json()["base_resp"]["status_code"] == 1004
    assert emulator.jobs_created("minimax") == 0


def test_sensitive_output_fails_as_output_moderation(provider):
    done = finished(provider, provider.create(spec(f"x {INSTANT} [emulator:fail=moderation]")).job_id)
    assert done.state == "failed"
    assert done.error_code == "output_moderation"
    assert done.provider_error_code == "1027"


def test_an_expired_download_url_is_refused_and_a_fresh_query_gives_a_new_one(provider, emulator):
    job = provider.create(spec())
    done = finished(provider, job.job_id)
    url = done.assets()[0].url
    forged = url.split("Signature=")[0] + "Signature=0"
    assert httpx.get(forged).status_code == 403
    assert provider.retrieve(job.job_id).assets()[0].url.startswith(url.split("?")[0])
