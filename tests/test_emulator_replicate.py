"""The emulator's Replicate side, driven by the official `replicate` SDK and checked against
Replicate's published OpenAPI document."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import replicate
from emulator_fixtures import INSTANT, image_bytes, replicate_schema
from replicate.exceptions import ReplicateError

VEO = "google/veo-3.1"


@pytest.fixture
def client(emulator) -> replicate.Client:
    return replicate.Client(api_token=emulator.api_key, base_url=emulator.replicate_url)


def data_uri(width: int = 64, height: int = 36) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(width, height)).decode()


def test_the_sdk_creates_waits_lists_and_downloads_with_its_key(client, emulator):
    prediction = client.predictions.create(
        model=VEO,
        input={"prompt": f"a lighthouse {INSTANT}", "image": data_uri(1280, 720), "duration": 6, "seed": 4},
    )
    assert prediction.status == "starting"
    client.poll_interval = 0.05
    prediction.wait()
    assert prediction.status == "succeeded"
    assert isinstance(prediction.output, str)  # http output: a plain string for this SDK
    answer = httpx.get(
        f"{emulator.replicate_url}/v1/predictions/{prediction.id}",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    )
    replicate_schema("schemas_prediction_response").validate(answer.json())
    file = httpx.get(prediction.output, headers={"Authorization": f"Bearer {emulator.api_key}"})
    assert file.status_code == 200
    assert file.content[4:8] == b"ftyp"
    assert httpx.get(prediction.output).status_code == 401  # the delivery host wants the key
    listed = client.predictions.list()
    assert prediction.id in [item.id for item in listed.results]
    job = emulator.job(prediction.id)
    assert (job.seconds, job.width, job.height) == (6, 1280, 720)


def test_a_failed_a_canceled_and_a_refused_prediction(client, emulator):
    client.poll_interval = 0.05
    failed = client.predictions.create(model=VEO, input={"prompt": f"x {INSTANT} [emulator:fail=internal]"})
    failed.wait()
    assert failed.status == "failed"
    assert failed.error
    slow = client.predictions.create(model=VEO, input={"prompt": "x [emulator:queue=30]"})
    slow.cancel()
    slow.reload()
    assert slow.status == "canceled"
    with pytest.raises(ReplicateError) as refused:
        client.predictions.create(model=VEO, input={"prompt": "x", "duration": 5})
    assert refused.value.status == 422
    assert "duration" in refused.value.detail
    with pytest.raises(ReplicateError) as unknown:
        client.predictions.create(model="kwaivgi/kling-v2.1", input={"prompt": "x", "image": data_uri()})
    assert unknown.value.status == 422
    assert "image" in unknown.value.detail


def test_a_429_says_when_to_come_back(client, emulator):
    emulator.add_fault("rate_limit", protocol="replicate", operation="create", retry_after=5)
    with pytest.raises(ReplicateError) as limited:
        client.predictions.create(model=VEO, input={"prompt": "x"})
    assert limited.value.status == 429
    assert emulator.jobs_created("replicate") == 0


def test_prefer_wait_answers_starting_when_the_prediction_is_not_done(emulator):
    headers = {"Authorization": f"Bearer {emulator.api_key}", "Prefer": "wait=1"}
    answer = httpx.post(
        f"{emulator.replicate_url}/v1/models/{VEO}/predictions",
        headers=headers,
        json={"input": {"prompt": "x [emulator:queue=5]"}},
        timeout=10,
    )
    assert answer.status_code == 201
    assert answer.json()["status"] == "starting"
    replicate_schema("schemas_prediction_response").validate(answer.json())


def test_a_webhook_is_signed_so_the_sdk_validates_it_with_the_accounts_secret(client, emulator):
    from webhook_receiver import start_receiver

    receiver = start_receiver()
    try:
        client.models.predictions.create(
            model="google/veo-3.1",
            input={"prompt": "a fox [emulator:queue=0,generation=0]"},
            webhook=receiver.url,
            webhook_events_filter=["completed"],
        )
        (hit,) = receiver.wait_for(1)
        secret = client.webhooks.default.secret()
        assert secret.key.startswith("whsec_")
        client.webhooks.validate(headers=hit.headers, body=hit.body.decode(), secret=secret)  # raises if not
        assert json.loads(hit.body)["status"] == "succeeded"
    finally:
        receiver.close()
