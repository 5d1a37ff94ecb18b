"""The emulator's Runway side, driven by the official `runwayml` SDK and checked against Runway's
published OpenAPI document."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
import runwayml
import runwayml.lib.polling
from emulator_fixtures import INSTANT, image_bytes, runway_schema


@pytest.fixture
def client(emulator, monkeypatch) -> runwayml.RunwayML:
    # The SDK's waiter sleeps 6 s ± 1.5 s between polls; the same polls, without the sleep.
    monkeypatch.setattr(runwayml.lib.polling, "POLL_TIME", 0)
    monkeypatch.setattr(runwayml.lib.polling, "POLL_JITTER", 0)
    return runwayml.RunwayML(api_key=emulator.api_key, base_url=emulator.runway_url, max_retries=0)


def data_uri(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(width, height)).decode()


def get_task(emulator, task_id: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emulator.api_key}", "X-Runway-Version": "2024-11-06"}
    return httpx.get(f"{emulator.runway_url}/v1/tasks/{task_id}", headers=headers)


def test_the_sdk_makes_text_and_image_videos_and_waits_for_them(client, emulator):
    text = client.text_to_video.create(model="veo3.1", prompt_text=f"a dog {INSTANT}", ratio="1280:720", duration=8)
    done = text.wait_for_task_output()
    assert done.status == "SUCCEEDED"
    runway_schema("/v1/tasks/{id}").validate(get_task(emulator, done.id).json())
    video = httpx.get(done.output[0])  # signed: no key
    assert video.status_code == 200
    assert video.content[4:8] == b"ftyp"
    framed = client.image_to_video.create(
        model="veo3.1",
        prompt_text=f"it moves {INSTANT}",
        ratio="720:1280",
        duration=4,
        prompt_image=[
            {"uri": data_uri(720, 1280), "position": "first"},
            {"uri": data_uri(720, 1280), "position": "last"},
        ],
    )
    assert framed.wait_for_task_output().status == "SUCCEEDED"
    assert emulator.job(framed.id).inputs["frames"] == ["first", "last"]
    client.tasks.delete(framed.id)
    with pytest.raises(runwayml.NotFoundError):
        client.tasks.retrieve(framed.id)


def test_a_failure_a_throttled_task_a_refused_body_and_a_429(client, emulator):
    failed = client.text_to_video.create(
        model="gen4.5", prompt_text=f"x {INSTANT} [emulator:fail=moderation]", ratio="1280:720", duration=5
    )
    with pytest.raises(runwayml.TaskFailedError) as raised:
        failed.wait_for_task_output()
    assert raised.value.task_details.failure_code == "SAFETY.INPUT.TEXT"
    waiting = client.text_to_video.create(
        model="gen4.5", prompt_text="x [emulator:queue=30] [emulator:status=THROTTLED]", ratio="1280:720", duration=5
    )
    assert client.tasks.retrieve(waiting.id).status == "THROTTLED"
    runway_schema("/v1/tasks/{id}").validate(get_task(emulator, waiting.id).json())
    with pytest.raises(runwayml.BadRequestError):
        client.text_to_video.create(model="gen4.5", prompt_text="x", ratio="960:960", duration=5)  # image ratios only
    emulator.add_fault("rate_limit", protocol="runway", operation="create", retry_after=2)
    with pytest.raises(runwayml.RateLimitError):
        client.text_to_video.create(model="veo3.1", prompt_text="x", ratio="1280:720", duration=8)
    assert emulator.jobs_created("runway") == 2


def test_the_version_header_is_required(emulator):
    answer = httpx.post(
        f"{emulator.runway_url}/v1/text_to_video",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        json={"model": "veo3.1", "promptText": "x", "ratio": "1280:720"},
    )
    assert answer.status_code == 400
    assert "X-Runway-Version" in answer.json()["error"]


def test_a_signed_url_expires_and_a_fresh_get_signs_a_new_one(client, emulator, settings):
    settings.EMULATOR_RUNWAY_URL_SECONDS = 1
    task = client.text_to_video.create(model="veo3.1", prompt_text=f"x {INSTANT}", ratio="1280:720", duration=8)
    first = task.wait_for_task_output().output[0]
    time.sleep(2.1)
    assert httpx.get(first).status_code == 403
    settings.EMULATOR_RUNWAY_URL_SECONDS = 60  # the fresh one lasts, however busy the machine is
    fresh = client.tasks.retrieve(task.id).output[0]
    assert fresh != first
    assert httpx.get(fresh).status_code == 200
