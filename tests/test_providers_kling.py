"""Kling's own API: the adapter against the emulator over real HTTP, and the emulator's documented
shapes (Kling publishes no SDK for Python and no OpenAPI document; PROVIDERS-LIVING.md section 6)."""

from __future__ import annotations

import base64
import time

import httpx
import jwt
import pytest
from django.utils import timezone
from emulator_fixtures import INSTANT, image_bytes, wait_until

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.kling import token
from videos.providers.types import SpecImage


@pytest.fixture
def provider(emulator):
    config = ProviderConfig(
        kind="kling", name="emulator", base_url=f"{emulator.url}/kling", api_key=f"ak:{emulator.api_key}"
    )
    with build_provider(config) as adapter:
        yield adapter


def spec(prompt: str = f"a kite {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(**{"model": "kling-v3", "prompt": prompt, "size": "1920x1080", "seconds": 5, **extra})


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_every_call_is_signed_with_a_short_lived_hs256_jwt(provider, emulator):
    seen = []
    provider.http.client.event_hooks["request"].append(seen.append)
    provider.create(spec())
    [request] = seen
    assert request.headers["Authorization"].startswith("Bearer ")
    claims = jwt.decode(request.headers["Authorization"][7:], emulator.api_key, algorithms=["HS256"])
    assert claims["iss"] == "ak"
    assert 1700 < claims["exp"] - time.time() <= 1800
    assert claims["nbf"] <= time.time()
    assert emulator.api_key not in request.headers["Authorization"]  # the secret never travels


def test_text_and_frames_become_tasks_whose_public_video_is_archived(provider, emulator):
    text = provider.create(spec(audio=True, negative_prompt="blur", client_reference="video_abc"))
    assert text.job_id.startswith("text2video/")
    stored = emulator.job(text.job_id.split("/")[1])
    assert (stored.inputs["sound"], stored.inputs["external_task_id"]) == ("on", "video_abc")
    framed = provider.create(
        spec(input_image=image_bytes(1920, 1080), last_frame=SpecImage(image_bytes(1920, 1080)), seconds=10)
    )
    assert framed.job_id.startswith("image2video/")
    inputs = emulator.job(framed.job_id.split("/")[1]).inputs
    assert inputs["image"]["bytes"] > 0
    assert inputs["image_tail"]["bytes"] > 0
    done = finished(provider, text.job_id)
    assert done.state == "succeeded"
    assert done.client_reference == "video_abc"
    [asset] = done.assets()
    with provider.open_asset(asset) as stream:
        assert b"".join(stream.iter_bytes())[4:8] == b"ftyp"


def test_a_lost_create_is_found_by_its_tag_not_by_its_prompt(provider, emulator):
    since = timezone.now()
    twin = provider.create(spec("the same prompt", client_reference="video_bob"))
    emulator.add_fault("drop", protocol="kling", operation="create")
    with pytest.raises(ProviderError) as lost:
        provider.create(spec("the same prompt", client_reference="video_alice"))
    assert lost.value.outcome_unknown
    [found] = provider.find_created(spec("the same prompt", client_reference="video_alice"), since=since)
    assert found.client_reference == "video_alice"
    assert found.job_id != twin.job_id


def test_the_concurrency_cap_is_1303_a_transient_429(provider, emulator, settings):
    settings.EMULATOR_MAX_CONCURRENT_JOBS = 1
    provider.create(spec("x [emulator:queue=30]"))
    with pytest.raises(ProviderError) as capped:
        provider.create(spec())
    assert capped.value.status_code == 429
    assert capped.value.code == "1303"
    assert not capped.value.permanent
    assert not capped.value.outcome_unknown


def test_the_emulator_answers_in_klings_envelope(emulator):
    signed = {"Authorization": f"Bearer {token('ak', emulator.api_key)}"}
    base = f"{emulator.url}/kling/v1/videos"
    created = httpx.post(
        f"{base}/text2video", headers=signed, json={"prompt": f"x {INSTANT}", "external_task_id": "t1"}
    ).json()
    assert created["code"] == 0
    assert created["message"] == "SUCCEED"
    assert set(created["data"]) >= {"task_id", "task_status", "task_info", "created_at", "updated_at"}
    assert created["data"]["task_status"] == "submitted"
    by_reference = httpx.get(f"{base}/text2video/t1", headers=signed).json()
    assert by_reference["data"]["task_id"] == created["data"]["task_id"]
    listed = httpx.get(f"{base}/text2video", headers=signed, params={"pageNum": 1, "pageSize": 30}).json()
    assert [task["task_id"] for task in listed["data"]] == [created["data"]["task_id"]]
    expired = {"Authorization": f"Bearer {token('ak', emulator.api_key, now=time.time() - 4000)}"}
    refused = httpx.get(f"{base}/text2video", headers=expired)
    assert refused.status_code == 401
    assert refused.json()["code"] == 1004
    wrong = httpx.post(f"{base}/image2video", headers=signed, json={"image": "data:image/png;base64,AAAA"})
    assert wrong.status_code == 400
    assert wrong.json()["code"] == 1201
    raw = base64.b64encode(image_bytes(64, 64)).decode()
    assert httpx.post(f"{base}/image2video", headers=signed, json={"image": raw}).json()["code"] == 0
