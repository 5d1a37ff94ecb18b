"""The emulator's Ark side (Seedance), driven by the official `volcengine-ark-runtime` SDK and plain HTTP."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
from emulator_fixtures import INSTANT, image_bytes
from volcenginesdkarkruntime import Ark
from volcenginesdkarkruntime._exceptions import ArkBadRequestError, ArkNotFoundError, ArkRateLimitError

MODEL = "dreamina-seedance-2-0-260128"


@pytest.fixture
def ark(emulator) -> Ark:
    return Ark(base_url=emulator.ark_base_url, api_key=emulator.api_key, max_retries=0)


def data_url(width: int = 64, height: int = 36) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(width, height)).decode()


def finished(ark: Ark, task_id: str):
    for _ in range(200):
        task = ark.content_generation.tasks.get(task_id=task_id)
        if task.status in ("succeeded", "failed", "cancelled"):
            return task
        time.sleep(0.05)
    raise AssertionError("the task never finished")


def test_the_sdk_creates_gets_lists_by_id_downloads_and_deletes(ark, emulator):
    created = ark.content_generation.tasks.create(
        model=MODEL,
        content=[
            {"type": "text", "text": f"a cat surfing at dusk {INSTANT}"},
            {"type": "image_url", "image_url": {"url": data_url()}, "role": "first_frame"},
            {"type": "image_url", "image_url": {"url": data_url()}, "role": "last_frame"},
        ],
        ratio="9:16",
        resolution="720p",
        duration=6,
        generate_audio=False,
        seed=10,
    )
    assert created.id.startswith("cgt-")
    other = ark.content_generation.tasks.create(model=MODEL, content=[{"type": "text", "text": f"x {INSTANT}"}])
    task = finished(ark, created.id)
    assert task.status == "succeeded"
    assert (task.ratio, task.resolution, task.duration, task.seed) == ("9:16", "720p", 6, 10)
    assert task.generate_audio is False
    assert task.content.video_url.startswith("http")
    video = httpx.get(task.content.video_url)  # pre-signed: no key
    assert video.status_code == 200
    assert video.content[4:8] == b"ftyp"
    assert emulator.job(created.id).width == 720

    listed = ark.content_generation.tasks.list(page_size=10, task_ids=[created.id, other.id])
    assert {item.id for item in listed.items} == {created.id, other.id}
    assert listed.total == 2
    only = ark.content_generation.tasks.list(task_ids=[other.id])
    assert [item.id for item in only.items] == [other.id]

    finished(ark, other.id)
    ark.content_generation.tasks.delete(task_id=other.id)
    with pytest.raises(ArkNotFoundError):
        ark.content_generation.tasks.get(task_id=other.id)
    assert emulator.jobs_created("ark") == 2


def test_a_moderated_task_fails_with_its_code(ark):
    created = ark.content_generation.tasks.create(
        model=MODEL, content=[{"type": "text", "text": f"x {INSTANT} [emulator:fail=moderation]"}]
    )
    task = finished(ark, created.id)
    assert task.status == "failed"
    assert task.error.code == "OutputVideoSensitiveContentDetected"
    assert task.content is None


def test_a_429_and_a_bad_parameter_reach_the_sdk_as_its_own_errors(ark, emulator):
    emulator.add_fault("rate_limit", protocol="ark", operation="create", retry_after=3)
    with pytest.raises(ArkRateLimitError) as limited:
        ark.content_generation.tasks.create(model=MODEL, content=[{"type": "text", "text": "x"}])
    assert limited.value.code == "RateLimitExceeded.EndpointRPMExceeded"
    with pytest.raises(ArkBadRequestError) as refused:
        ark.content_generation.tasks.create(model=MODEL, content=[{"type": "text", "text": "x"}], duration=3)
    assert refused.value.code == "InvalidParameter"
    assert refused.value.param == "duration"
    assert emulator.jobs_created("ark") == 0


def test_a_wrong_key_is_401_and_an_unknown_model_404(emulator):
    with emulator.ark(headers={"Authorization": "Bearer wrong"}) as http:
        answer = http.post("/contents/generations/tasks", json={"model": MODEL, "content": []})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "AuthenticationError"
    assert set(answer.json()["error"]) == {"code", "message", "param", "type"}
    with emulator.ark() as http:
        answer = http.post(
            "/contents/generations/tasks", json={"model": "nope", "content": [{"type": "text", "text": "x"}]}
        )
    assert answer.status_code == 404
    assert answer.json()["error"]["param"] == "model"


def test_the_cdn_refuses_a_forged_signature_and_a_running_task_cannot_be_deleted(emulator):
    with emulator.ark() as http:
        slow = http.post(
            "/contents/generations/tasks",
            json={"model": MODEL, "content": [{"type": "text", "text": "x [emulator:queue=0,generation=30]"}]},
        ).json()["id"]
        time.sleep(0.05)
        refused = http.request("DELETE", f"/contents/generations/tasks/{slow}", content=b"{}")
    assert refused.status_code == 400
    forged = httpx.get(f"{emulator.url}/ark/_cdn/{slow}/video.mp4?X-Tos-Signature=0")
    assert forged.status_code == 403
