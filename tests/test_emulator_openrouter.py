"""The emulator's OpenRouter side over plain HTTP (OpenRouter has no Python SDK), every answer
checked against OpenRouter's published OpenAPI document."""

from __future__ import annotations

import base64

import httpx
import pytest
from emulator_fixtures import INSTANT, image_bytes, openrouter_schema, wait_until

from videos.emulator.models import Job


@pytest.fixture
def client(emulator) -> httpx.Client:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    return httpx.Client(base_url=emulator.openrouter_base_url, headers=headers, timeout=30)


def data_url(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(width, height)).decode()


def body(**extra) -> dict:
    return {"model": "google/veo-3.1", "prompt": f"a cat surfing {INSTANT}", "duration": 8, **extra}


def error(response: httpx.Response, status: int, schema: str) -> dict:
    assert response.status_code == status, response.text
    openrouter_schema(schema).validate(response.json())
    assert response.json()["error"]["code"] == status
    return response.json()["error"]


def test_a_job_is_accepted_polled_and_its_content_served_behind_the_key(client, emulator):
    created = client.post(
        "/videos",
        json=body(
            prompt="a cat surfing [emulator:queue=0.3,generation=0.6]",
            resolution="1080p",
            aspect_ratio="9:16",
            generate_audio=True,
            seed=7,
            frame_images=[
                {"type": "image_url", "image_url": {"url": data_url(1080, 1920)}, "frame_type": "first_frame"},
                {"type": "image_url", "image_url": {"url": data_url(1080, 1920)}, "frame_type": "last_frame"},
            ],
            input_references=[{"type": "image_url", "image_url": {"url": data_url(64, 64)}}],
        ),
    )
    assert created.status_code == 202, created.text
    accepted = created.json()
    openrouter_schema("VideoGenerationResponse").validate(accepted)
    assert accepted["status"] == "pending"
    assert accepted["polling_url"] == f"/api/v1/videos/{accepted['id']}"
    job = emulator.job(accepted["id"])
    assert (job.width, job.height, job.seconds) == (1080, 1920, 8)
    assert job.inputs["frames"] == ["first_frame", "last_frame"]
    seen = set()

    def poll() -> dict | None:
        answer = client.get(f"/videos/{accepted['id']}")
        assert answer.status_code == 200
        openrouter_schema("VideoGenerationResponse").validate(answer.json())
        seen.add(answer.json()["status"])
        return answer.json() if answer.json()["status"] == "completed" else None

    done = wait_until(poll)
    assert {"pending", "in_progress", "completed"} <= seen
    assert done["generation_id"] == accepted["generation_id"]
    [url] = done["unsigned_urls"]
    assert url.endswith(f"/openrouter/api/v1/videos/{accepted['id']}/content?index=0")
    assert httpx.get(url).status_code == 401
    video = httpx.get(url, headers={"Authorization": f"Bearer {emulator.api_key}"})
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    part = client.get(f"/videos/{accepted['id']}/content", headers={"Range": "bytes=0-7"})
    assert (part.status_code, part.content[4:8]) == (206, b"ftyp")
    error(client.get(f"/videos/{accepted['id']}/content", params={"index": 1}), 404, "NotFoundResponse")
    error(client.get(f"/videos/{accepted['id']}/content", params={"index": "x"}), 400, "BadRequestResponse")


def test_failed_cancelled_and_expired_jobs(client, emulator):
    failed = client.post("/videos", json=body(prompt=f"x {INSTANT} [emulator:fail=moderation]")).json()
    answer = wait_until(lambda: (got := client.get(f"/videos/{failed['id']}").json())["status"] == "failed" and got)
    openrouter_schema("VideoGenerationResponse").validate(answer)
    assert answer["error"]
    error(client.get(f"/videos/{failed['id']}/content"), 400, "BadRequestResponse")
    waiting = client.post("/videos", json=body(prompt="x [emulator:queue=30]")).json()
    error(client.get(f"/videos/{waiting['id']}/content"), 400, "BadRequestResponse")
    Job.objects.filter(public_id=waiting["id"]).update(outcome="cancelled")
    cancelled = client.get(f"/videos/{waiting['id']}").json()
    openrouter_schema("VideoGenerationResponse").validate(cancelled)
    assert cancelled["status"] == "cancelled"
    old = client.post("/videos", json=body(prompt=f"x {INSTANT} [emulator:retention=1]")).json()
    answer = wait_until(lambda: (got := client.get(f"/videos/{old['id']}").json())["status"] == "expired" and got)
    openrouter_schema("VideoGenerationResponse").validate(answer)
    assert "unsigned_urls" not in answer
    error(client.get(f"/videos/{old['id']}/content"), 404, "NotFoundResponse")


REFERENCE = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
PLAIN_HTTP = {"type": "image_url", "image_url": {"url": "http://example.com/a.png"}, "frame_type": "first_frame"}


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"duration": 5}, "Veo takes 4, 6 or 8 s"),
        ({"duration": "8"}, "an integer"),
        ({"resolution": "1080p", "duration": 4}, "1080p only at 8 s"),
        ({"aspect_ratio": "1:1"}, "16:9 and 9:16 only"),
        ({"size": "1280x720", "resolution": "720p"}, "size or resolution"),
        ({"negative_prompt": "rain"}, "no such field"),
        ({"frame_images": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]}, "frame_type"),
        ({"frame_images": [PLAIN_HTTP]}, "https or a data URL"),
        ({"model": "google/veo-3.1-fast", "input_references": [REFERENCE]}, "no references on Fast"),
        ({"duration": 4, "input_references": [REFERENCE]}, "references at 8 s"),
        ({"callback_url": "http://example.com/hook"}, "https callbacks"),
    ],
)
def test_bodies_outside_the_document_or_veos_limits_are_a_400(client, emulator, fields, why):
    error(client.post("/videos", json=body(**fields)), 400, "BadRequestResponse")
    assert emulator.jobs_created("openrouter") == 0, why


def test_error_answers_match_the_document(client, emulator):
    error(httpx.post(f"{emulator.openrouter_base_url}/videos", json=body()), 401, "UnauthorizedResponse")
    denied = httpx.get(f"{emulator.openrouter_base_url}/videos/job-1", headers={"Authorization": "Bearer wrong"})
    error(denied, 401, "UnauthorizedResponse")
    error(client.post("/videos", json=body(prompt="x [emulator:credits=0]")), 402, "PaymentRequiredResponse")
    error(client.post("/videos", json=body(model="openai/sora-9")), 404, "NotFoundResponse")
    error(client.get("/videos/job-unknown"), 404, "NotFoundResponse")
    emulator.add_fault("rate_limit", protocol="openrouter", operation="create", retry_after=4)
    limited = client.post("/videos", json=body())
    error(limited, 429, "TooManyRequestsResponse")
    assert limited.headers["retry-after"] == "4"
    emulator.add_fault("server_error", protocol="openrouter", operation="retrieve")
    error(client.get("/videos/job-unknown"), 500, "InternalServerResponse")
    emulator.add_fault("server_error", protocol="openrouter", operation="content", status_code=502)
    error(client.get("/videos/job-unknown/content"), 502, "BadGatewayResponse")
    error(client.get("/elsewhere"), 404, "NotFoundResponse")
    assert emulator.jobs_created("openrouter") == 0
