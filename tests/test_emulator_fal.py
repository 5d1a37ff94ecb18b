"""The emulator's fal queue side, driven by the official `fal-client` SDK and plain HTTP.

fal-client builds its submit URL from a module constant (`QUEUE_URL_FORMAT`, https on fal's
host); pointing it at the emulator is the documented way (PROVIDERS-LIVING.md 0.1). Status,
result and cancel then follow the absolute URLs the submission answered with.
"""

from __future__ import annotations

import base64
import time

import fal_client
import fal_client.client
import httpx
import pytest
from emulator_fixtures import INSTANT, image_bytes

KLING_I2V = "fal-ai/kling-video/v3/pro/image-to-video"
VEO = "fal-ai/veo3.1"


@pytest.fixture
def fal(emulator, monkeypatch) -> fal_client.SyncClient:
    monkeypatch.setattr(fal_client.client, "QUEUE_URL_FORMAT", emulator.fal_url + "/")
    # The SDK retries 429s ten times with waits up to 30 s; the same retries, quicker.
    monkeypatch.setattr(fal_client.client, "BASE_DELAY", 0.01)
    monkeypatch.setattr(fal_client.client, "MAX_DELAY", 0.02)
    return fal_client.SyncClient(key=emulator.api_key)


def data_uri(width: int = 64, height: int = 36) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(width, height)).decode()


def test_the_sdk_submits_follows_the_status_and_gets_a_public_video(fal, emulator):
    handle = fal.submit(
        KLING_I2V,
        arguments={"prompt": f"a cat surfing {INSTANT}", "start_image_url": data_uri(1080, 1920), "duration": "10"},
    )
    assert handle.request_id
    assert handle.status_url.startswith(emulator.fal_url + "/fal-ai/kling-video/requests/")
    output = handle.get()  # polls the status until COMPLETED, then fetches the result
    assert output["video"]["content_type"] == "video/mp4"
    assert isinstance(handle.status(), fal_client.Completed)
    video = httpx.get(output["video"]["url"])  # a public file: no key
    assert video.status_code == 200
    assert video.content[4:8] == b"ftyp"
    job = emulator.job(handle.request_id)
    assert (job.width, job.height, job.seconds) == (1080, 1920, 10)


def test_status_words_are_the_sdks_own(fal):
    handle = fal.submit(VEO, arguments={"prompt": "x [emulator:queue=5,generation=5]"})
    assert isinstance(handle.status(), fal_client.Queued)
    running = fal.submit(VEO, arguments={"prompt": "x [emulator:queue=0,generation=30]"})
    time.sleep(0.05)
    assert isinstance(running.status(with_logs=True), fal_client.InProgress)
    handle.cancel()  # still queued: cancelled
    done = handle.status()
    assert isinstance(done, fal_client.Completed)
    assert done.error_type == "client_cancelled"


def test_a_schema_mismatch_is_a_422_the_sdk_raises(fal, emulator):
    with pytest.raises(fal_client.client.FalClientHTTPError) as wrong_type:
        fal.submit(VEO, arguments={"prompt": "x", "duration": "8"})  # Veo on fal says "8s"
    assert wrong_type.value.status_code == 422
    with pytest.raises(fal_client.client.FalClientHTTPError) as unknown:
        fal.submit(KLING_I2V, arguments={"prompt": "x", "image_url": data_uri()})  # Kling's field is start_image_url
    assert unknown.value.status_code == 422
    assert emulator.jobs_created("fal") == 0


def test_a_moderated_request_fails_on_the_result_and_a_429_is_raised(fal, emulator):
    handle = fal.submit(VEO, arguments={"prompt": f"x {INSTANT} [emulator:fail=moderation]"})
    with pytest.raises(fal_client.client.FalClientHTTPError) as refused:
        handle.get()
    assert refused.value.status_code == 422
    emulator.add_fault("rate_limit", protocol="fal", operation="create", remaining=None, retry_after=0)
    with pytest.raises(fal_client.client.FalClientHTTPError) as limited:
        fal.submit(VEO, arguments={"prompt": "x"})
    assert limited.value.status_code == 429
    assert emulator.received("fal", "create") == 1 + fal_client.client.MAX_ATTEMPTS  # the moderated one, then each try


def test_the_key_header_and_unknown_endpoints(emulator):
    with emulator.fal(headers={"Authorization": "Key wrong"}) as http:
        assert http.post(f"/{VEO}", json={"prompt": "x"}).status_code == 401
    with emulator.fal() as http:
        missing = http.post("/fal-ai/no-such-model", json={"prompt": "x"})
        assert missing.status_code == 404
        assert "detail" in missing.json()
        kept = http.post(
            f"/{VEO}",
            json={"prompt": "x"},
            headers={"X-Fal-Object-Lifecycle-Preference": '{"expiration_duration_seconds": 900}'},
        )
    assert emulator.job(kept.json()["request_id"]).retention_seconds == 900
