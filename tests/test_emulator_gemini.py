"""The emulator's Gemini API side (Veo), driven by the official `google-genai` SDK and by plain HTTP.

The SDK (3.x) builds no Veo request for the Gemini API itself (`models.generate_videos` is
Vertex-only), so creates go through its own request method with the documented REST body; the
operation and the download then go through its public `operations.get` and `files.download`,
which parse every answer as the SDK's types.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from emulator_fixtures import INSTANT, assert_google_error, image_bytes
from google import genai
from google.genai import _interactions as interactions
from google.genai import errors as genai_errors
from google.genai import types

MODEL = "veo-3.1-generate-preview"


def png_part(width: int = 64, height: int = 36) -> dict[str, str]:
    return {"bytesBase64Encoded": base64.b64encode(image_bytes(width, height)).decode(), "mimeType": "image/png"}


@pytest.fixture(params=["v1beta", "v1"])
def client(request, emulator) -> genai.Client:
    return genai.Client(
        api_key=emulator.api_key,
        http_options=types.HttpOptions(base_url=emulator.gemini_url, api_version=request.param),
    )


def create(client: genai.Client, body: dict, model: str = MODEL) -> types.GenerateVideosOperation:
    answer = client._api_client.request("post", f"models/{model}:predictLongRunning", body)
    return types.GenerateVideosOperation(name=json.loads(answer.body)["name"])


def wait_done(client: genai.Client, operation: types.GenerateVideosOperation) -> types.GenerateVideosOperation:
    for _ in range(200):
        operation = client.operations.get(operation)
        if operation.done:
            return operation
        time.sleep(0.05)
    raise AssertionError("the operation never finished")


def test_the_sdk_follows_a_job_to_its_file_and_downloads_a_playable_mp4(client, emulator):
    body = {
        "instances": [{"prompt": f"a lighthouse at dawn {INSTANT}", "image": png_part(), "lastFrame": png_part()}],
        "parameters": {"aspectRatio": "9:16", "resolution": "720p", "durationSeconds": 6, "negativePrompt": "blur"},
    }
    operation = create(client, body)
    assert operation.name.startswith(f"models/{MODEL}/operations/")
    done = wait_done(client, operation)
    assert done.error is None
    [generated] = done.response.generated_videos
    assert generated.video.uri.startswith("https://")
    data = client.files.download(file=generated.video)
    assert data[4:8] == b"ftyp"
    job = emulator.job(operation.name.rsplit("/", 1)[1])
    assert (job.width, job.height, job.seconds) == (720, 1280, 6)
    assert job.inputs["negativePrompt"] == "blur"
    assert set(job.inputs) == {"image", "lastFrame", "negativePrompt"}
    assert emulator.jobs_created("gemini") == 1


def test_a_safety_filtered_result_is_done_without_a_sample_and_says_why(client):
    body = {"instances": [{"prompt": f"forbidden {INSTANT} [emulator:fail=moderation]"}]}
    done = wait_done(client, create(client, body))
    assert done.error is None
    assert not done.response.generated_videos
    assert done.response.rai_media_filtered_count == 1
    assert "violate" in done.response.rai_media_filtered_reasons[0]


def test_a_failed_generation_is_an_rpc_status_the_sdk_passes_through(client):
    done = wait_done(client, create(client, {"instances": [{"prompt": f"x {INSTANT} [emulator:fail=internal]"}]}))
    assert done.error["code"] == 13
    assert done.error["message"]


def test_a_429_reaches_the_sdk_as_resource_exhausted_with_its_retry_delay(client, emulator):
    emulator.add_fault("rate_limit", protocol="gemini", operation="create", retry_after=31)
    with pytest.raises(genai_errors.ClientError) as raised:
        create(client, {"instances": [{"prompt": "a fox"}]})
    assert raised.value.code == 429
    assert raised.value.status == "RESOURCE_EXHAUSTED"
    [retry] = [d for d in raised.value.details["error"]["details"] if d["@type"].endswith("RetryInfo")]
    assert retry["retryDelay"] == "31s"
    assert emulator.jobs_created("gemini") == 0


def test_a_wrong_key_and_a_missing_key_are_refused_as_google_does(emulator):
    with emulator.gemini(headers={"x-goog-api-key": "wrong"}) as http:
        error = assert_google_error(
            http.post(f"/models/{MODEL}:predictLongRunning", json={"instances": [{"prompt": "x"}]}),
            400,
            "INVALID_ARGUMENT",
        )
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    with emulator.gemini(headers={"x-goog-api-key": ""}) as http:
        assert_google_error(http.get(f"/models/{MODEL}/operations/abc"), 403, "PERMISSION_DENIED")
    with emulator.gemini(headers={"x-goog-api-key": ""}) as http:
        answer = http.post(
            f"/models/{MODEL}:predictLongRunning?key={emulator.api_key}", json={"instances": [{"prompt": "x"}]}
        )
    assert answer.status_code == 200
    assert emulator.jobs_created("gemini") == 1


@pytest.mark.parametrize(
    ("parameters", "words"),
    [
        ({"durationSeconds": 5}, "supported durations are [8,6,4]"),
        ({"resolution": "1080p", "durationSeconds": 4}, "8 seconds"),
        ({"aspectRatio": "1:1"}, "aspect ratio"),
        ({"seed": 7}, "seed"),
        ({"generateAudio": True}, "generateAudio"),
        ({"sampleCount": 9}, "sampleCount"),
    ],
)
def test_requests_the_api_refuses_are_400_invalid_argument_and_make_no_job(emulator, parameters, words):
    with emulator.gemini() as http:
        answer = http.post(
            f"/models/{MODEL}:predictLongRunning", json={"instances": [{"prompt": "x"}], "parameters": parameters}
        )
    error = assert_google_error(answer, 400, "INVALID_ARGUMENT")
    assert words in error["message"]
    assert emulator.jobs_created("gemini") == 0


def test_reference_images_need_eight_seconds_and_lite_makes_no_4k(emulator):
    reference = {"image": png_part(), "referenceType": "ASSET"}
    with emulator.gemini() as http:
        refused = http.post(
            f"/models/{MODEL}:predictLongRunning",
            json={"instances": [{"prompt": "x", "referenceImages": [reference]}], "parameters": {"durationSeconds": 4}},
        )
        accepted = http.post(
            f"/models/{MODEL}:predictLongRunning",
            json={"instances": [{"prompt": "x", "referenceImages": [reference] * 3}]},
        )
        lite = http.post(
            "/models/veo-3.1-lite-generate-preview:predictLongRunning",
            json={"instances": [{"prompt": "x"}], "parameters": {"resolution": "4k"}},
        )
    assert_google_error(refused, 400, "INVALID_ARGUMENT")
    assert accepted.status_code == 200
    assert_google_error(lite, 400, "INVALID_ARGUMENT")


def test_the_download_redirects_to_a_signed_address_that_needs_no_key(emulator):
    site = emulator.url.rsplit("/emulator", 1)[0]
    with emulator.gemini() as http:
        created = http.post(f"/models/{MODEL}:predictLongRunning", json={"instances": [{"prompt": f"x {INSTANT}"}]})
        name = created.json()["name"]
        for _ in range(100):
            operation = http.get(f"/{name}").json()
            if operation.get("done"):
                break
            time.sleep(0.05)
        uri = operation["response"]["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        file_id = uri.split("/files/")[1].split(":")[0]
        redirect = http.get(f"/files/{file_id}:download", params={"alt": "media"})
        no_media = http.get(f"/files/{file_id}:download")
    assert redirect.status_code == 302
    assert_google_error(no_media, 400, "INVALID_ARGUMENT")
    location = redirect.headers["location"]
    served = httpx.get(site + location)  # no key at all
    assert served.status_code == 200
    assert served.headers["content-type"] == "video/mp4"
    assert served.content[4:8] == b"ftyp"
    forged = httpx.get(site + location.split("?")[0] + "?sig=0")
    assert_google_error(forged, 403, "PERMISSION_DENIED")


def test_an_unknown_operation_and_an_unknown_path_are_google_404s(emulator):
    with emulator.gemini() as http:
        assert_google_error(http.get(f"/models/{MODEL}/operations/nosuchop"), 404, "NOT_FOUND")
        assert_google_error(http.get("/models"), 404, "NOT_FOUND")


def test_the_sdk_registers_lists_reads_and_deletes_a_project_webhook(client):
    hook = client.webhooks.create(subscribed_events=["video.generated"], uri="https://example.com/hooks/x", name="mine")
    assert hook.new_signing_secret.startswith("whsec_")
    assert base64.b64decode(hook.new_signing_secret.removeprefix("whsec_"))  # Standard Webhooks' form
    assert (hook.uri, hook.subscribed_events, hook.state, hook.name) == (
        "https://example.com/hooks/x",
        ["video.generated"],
        "enabled",
        "mine",
    )
    listed = client.webhooks.list()
    assert [h.id for h in listed.webhooks] == [hook.id]
    assert listed.webhooks[0].new_signing_secret is None  # shown at creation only
    assert listed.webhooks[0].signing_secrets[0].truncated_secret == hook.new_signing_secret[-4:]
    assert client.webhooks.get(hook.id).uri == hook.uri
    client.webhooks.delete(hook.id)
    with pytest.raises(interactions.NotFoundError):
        client.webhooks.get(hook.id)
    with pytest.raises(interactions.BadRequestError):
        client.webhooks.create(subscribed_events=["video.nothing"], uri="https://example.com/hooks/x")
