"""The OpenRouter adapter against the built-in emulator over real HTTP; its requests checked
against OpenRouter's published OpenAPI document (no Python SDK; PROVIDERS-LIVING.md section 9)."""

from __future__ import annotations

import json

import httpx
import pytest
from emulator_fixtures import INSTANT, image_bytes, openrouter_schema, wait_until

from videos import catalogue
from videos.emulator.models import Job
from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.types import SpecImage


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(
        kind="openrouter", name="emulator", base_url=emulator.openrouter_base_url, api_key=emulator.api_key
    )
    with build_provider(config) as adapter:
        yield adapter


def spec(prompt: str = f"a cat surfing at dusk {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(**{"model": "google/veo-3.1", "prompt": prompt, "size": "1280x720", "seconds": 8, **extra})


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_requests_follow_openrouters_document(provider, emulator):
    seen = []
    provider.http.client.event_hooks["request"].append(seen.append)
    frame = image_bytes(1280, 720)
    provider.create(spec(audio=False, seed=7))
    provider.create(spec(size="1080x1920", input_image=frame, last_frame=SpecImage(image_bytes(1080, 1920))))
    provider.create(spec(reference_images=(SpecImage(frame), SpecImage(frame, "image/png"))))
    provider.create(spec(model="google/veo-3.1-fast", seconds=4, input_image=frame))
    bodies = [json.loads(request.content) for request in seen]
    for request, body in zip(seen, bodies, strict=True):
        assert request.method == "POST"
        assert request.url.path.endswith("/openrouter/api/v1/videos")
        assert request.headers["Authorization"] == f"Bearer {emulator.api_key}"
        openrouter_schema("VideoGenerationRequest").validate(body)
    assert bodies[0] == {
        "model": "google/veo-3.1",
        "prompt": f"a cat surfing at dusk {INSTANT}",
        "duration": 8,
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "generate_audio": False,
        "seed": 7,
    }
    assert (bodies[1]["resolution"], bodies[1]["aspect_ratio"]) == ("1080p", "9:16")
    assert [part["frame_type"] for part in bodies[1]["frame_images"]] == ["first_frame", "last_frame"]
    assert bodies[1]["frame_images"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert len(bodies[2]["input_references"]) == 2
    assert bodies[3]["duration"] == 4
    assert [emulator.job(job_id).inputs["frames"] for job_id in jobs_by_time("openrouter")] == [
        [],
        ["first_frame", "last_frame"],
        [],
        ["first_frame"],
    ]


def jobs_by_time(protocol: str) -> list[str]:
    return list(Job.objects.filter(protocol=protocol).order_by("created_at").values_list("public_id", flat=True))


def test_a_job_goes_from_pending_through_in_progress_to_content_fetched_with_the_key(provider, emulator):
    job = provider.create(spec("a lighthouse [emulator:queue=0.5,generation=1.5]"))
    assert (job.state, job.raw_status) == ("queued", "pending")
    [generation] = job.generation_ids
    assert generation.startswith("gen-")
    assert provider.retrieve(job.job_id).raw_status == "pending"
    wait_until(lambda: provider.retrieve(job.job_id).raw_status == "in_progress")
    generating = provider.retrieve(job.job_id)
    assert generating.state == "generating"
    done = finished(provider, job.job_id)
    assert (done.state, done.raw_status, done.progress) == ("succeeded", "completed", 100)
    [asset] = done.assets()
    assert not asset.public  # on OpenRouter's own host, behind the key
    assert (asset.path, asset.params) == (f"/videos/{job.job_id}/content", (("index", "0"),))
    with provider.open_asset(asset) as stream:
        assert b"".join(stream.iter_bytes())[4:8] == b"ftyp"
    assert emulator.received("openrouter", "content") == 1
    assert httpx.get(done.raw["unsigned_urls"][0]).status_code == 401  # the URL needs the key


def test_a_failed_job_and_a_cancelled_one(provider, emulator):
    failed = finished(provider, provider.create(spec(f"x {INSTANT} [emulator:fail=internal]")).job_id)
    assert failed.state == "failed"
    assert failed.error_code == "generation_failed"
    assert failed.provider_error_message == "Provider returned error"
    slow = provider.create(spec("x [emulator:queue=30]"))
    assert provider.delete(slow.job_id) is False  # the API has no cancel
    Job.objects.filter(public_id=slow.job_id).update(outcome="cancelled")  # cancelled at OpenRouter's end
    cancelled = provider.retrieve(slow.job_id)
    assert (cancelled.state, cancelled.raw_status, cancelled.error_code) == (
        "failed",
        "cancelled",
        "provider_cancelled",
    )


def test_an_expired_job_is_finished_with_no_files_past_its_deadline(provider, emulator):
    job = provider.create(spec())
    done = finished(provider, job.job_id)
    [asset] = done.assets()
    emulator.add_fault("expired", protocol="openrouter", operation="retrieve")
    gone = provider.retrieve(job.job_id)
    assert (gone.state, gone.raw_status) == ("succeeded", "expired")
    assert gone.assets() == ()
    assert gone.expires_at is not None
    with pytest.raises(ProviderError) as refused, provider.open_asset(asset):
        pass
    assert refused.value.status_code == 404


def test_out_of_credits_is_permanent_and_a_429_waits_as_told(provider, emulator):
    with pytest.raises(ProviderError) as broke:
        provider.create(spec(f"x {INSTANT} [emulator:credits=0]"))
    assert broke.value.permanent
    assert (broke.value.status_code, broke.value.code) == (402, "insufficient_credits")
    assert not broke.value.outcome_unknown
    emulator.add_fault("rate_limit", protocol="openrouter", operation="create", retry_after=3)
    with pytest.raises(ProviderError) as limited:
        provider.create(spec())
    assert not limited.value.permanent
    assert (limited.value.status_code, limited.value.retry_after) == (429, 3)
    assert not limited.value.outcome_unknown
    assert emulator.jobs_created("openrouter") == 0


def test_refusals_keep_their_meaning(provider, emulator):
    with pytest.raises(ProviderError) as refused:
        provider.create(spec(size="1920x1080", seconds=4))  # 1080p only at 8 s
    assert refused.value.permanent
    assert (refused.value.status_code, refused.value.code) == (400, "invalid_request")
    with pytest.raises(ProviderError) as unsupported:
        provider.create(spec(negative_prompt="rain"))
    assert unsupported.value.code == "unsupported"
    wrong = ProviderConfig(kind="openrouter", base_url=emulator.openrouter_base_url, api_key="wrong")
    with build_provider(wrong) as adapter, pytest.raises(ProviderError) as denied:
        adapter.create(spec())
    assert denied.value.permanent
    assert (denied.value.status_code, denied.value.code) == (401, "unauthorized")
    with pytest.raises(ProviderError) as unknown:
        provider.retrieve("job-0000")
    assert unknown.value.status_code == 404
    emulator.add_fault("server_error", protocol="openrouter", operation="retrieve", status_code=502)
    with pytest.raises(ProviderError) as upstream:
        provider.retrieve("job-0000")
    assert not upstream.value.permanent
    assert upstream.value.status_code == 502
    assert emulator.jobs_created("openrouter") == 0


def test_the_catalogue_describes_veo_on_openrouter():
    full = catalogue.capabilities("openrouter", "google/veo-3.1")
    fast = catalogue.capabilities("openrouter", "google/veo-3.1-fast")
    assert catalogue.builtin_models("openrouter") == ["google/veo-3.1", "google/veo-3.1-fast"]
    assert full.sizes == ("1280x720", "720x1280", "1920x1080", "1080x1920")
    assert full.seconds_for("1920x1080") == (8,)
    assert full.seconds_for("1280x720") == (4, 6, 8)
    assert (full.first_frame, full.last_frame, full.reference_images, full.audio, full.seed) == (
        True,
        True,
        3,
        "optional",
        True,
    )
    assert fast.reference_images == 0
    assert fast.last_frame
