"""The emulator's Vertex AI side (Veo), driven by `google-genai` with `vertexai=True`: express mode
with an API key, and project mode with a service account whose tokens google-auth gets from the
emulator's own token endpoint (the `token_uri` of the key file)."""

from __future__ import annotations

import time

import httpx
import pytest
from emulator_fixtures import INSTANT
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from google.oauth2 import service_account
from vertex_keys import service_account_info

MODEL = "veo-3.1-generate-001"


def source(prompt: str) -> types.GenerateVideosSource:
    return types.GenerateVideosSource(prompt=prompt)


def finished(client: genai.Client, operation):
    for _ in range(200):
        operation = client.operations.get(operation)
        if operation.done:
            return operation
        time.sleep(0.05)
    raise AssertionError("the operation never finished")


@pytest.fixture
def express(emulator) -> genai.Client:
    return genai.Client(
        vertexai=True, api_key=emulator.api_key, http_options=types.HttpOptions(base_url=f"{emulator.url}/vertex")
    )


@pytest.fixture
def project(emulator, settings) -> genai.Client:
    info, public_pem = service_account_info(f"{emulator.url}/vertex/token")
    settings.EMULATOR_VERTEX_PUBLIC_KEYS = [public_pem]
    credentials = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    return genai.Client(
        vertexai=True,
        project="demo-project",
        location="us-central1",
        credentials=credentials,
        http_options=types.HttpOptions(base_url=f"{emulator.url}/vertex"),
    )


def test_express_mode_generates_a_video_returned_inline(express, emulator):
    operation = express.models.generate_videos(
        model=MODEL,
        source=types.GenerateVideosSource(prompt=f"a lighthouse at dawn {INSTANT}"),
        config=types.GenerateVideosConfig(
            duration_seconds=6, aspect_ratio="9:16", seed=7, generate_audio=False, negative_prompt="fog"
        ),
    )
    assert operation.name.startswith(f"publishers/google/models/{MODEL}/operations/")
    done = finished(express, operation)
    [generated] = done.response.generated_videos
    assert generated.video.video_bytes[4:8] == b"ftyp"
    assert generated.video.mime_type == "video/mp4"
    job = emulator.job(operation.name.rsplit("/", 1)[1])
    assert (job.width, job.height, job.seconds) == (720, 1280, 6)
    assert job.inputs["seed"] == 7
    assert job.inputs["generateAudio"] is False


def test_project_mode_gets_its_token_from_the_key_files_token_uri(project, emulator):
    operation = project.models.generate_videos(model=MODEL, source=source(f"a fox {INSTANT}"))
    assert operation.name.startswith(
        f"projects/demo-project/locations/us-central1/publishers/google/models/{MODEL}/operations/"
    )
    done = finished(project, operation)
    assert done.response.generated_videos[0].video.video_bytes[4:8] == b"ftyp"
    assert emulator.received("vertex", "token") == 1


def test_a_key_the_emulator_does_not_trust_gets_no_token(emulator, settings):
    info, _ = service_account_info(f"{emulator.url}/vertex/token")
    settings.EMULATOR_VERTEX_PUBLIC_KEYS = []
    credentials = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    client = genai.Client(
        vertexai=True,
        project="demo-project",
        location="us-central1",
        credentials=credentials,
        http_options=types.HttpOptions(base_url=f"{emulator.url}/vertex"),
    )
    with pytest.raises(Exception, match="invalid_grant"):
        client.models.generate_videos(model=MODEL, source=source("x"))
    assert emulator.jobs_created("vertex") == 0


@pytest.mark.parametrize("mode", ["express", "project"])
def test_safety_filtered_failed_and_throttled_answers(mode, request, emulator):
    express = request.getfixturevalue(mode)  # an API key, or a service account's OAuth tokens
    filtered = finished(
        express, express.models.generate_videos(model=MODEL, source=source(f"x {INSTANT} [emulator:fail=moderation]"))
    )
    assert not filtered.response.generated_videos
    assert filtered.response.rai_media_filtered_count == 1
    failed = finished(
        express, express.models.generate_videos(model=MODEL, source=source(f"x {INSTANT} [emulator:fail=internal]"))
    )
    assert failed.error["code"] == 13
    emulator.add_fault("rate_limit", protocol="vertex", operation="create", retry_after=9)
    with pytest.raises(genai_errors.ClientError) as limited:
        express.models.generate_videos(model=MODEL, source=source("x"))
    assert limited.value.code == 429
    assert limited.value.status == "RESOURCE_EXHAUSTED"


def test_webhooks_are_refused_and_a_wrong_key_is_401(emulator):
    url = f"{emulator.url}/vertex/v1/publishers/google/models/{MODEL}:predictLongRunning"
    refused = httpx.post(
        url,
        headers={"x-goog-api-key": emulator.api_key},
        json={"instances": [{"prompt": "x"}], "webhookConfig": {"uris": ["https://a.example"]}},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "INVALID_ARGUMENT"
    wrong = httpx.post(url, headers={"Authorization": "Bearer ya29.forged"}, json={"instances": [{"prompt": "x"}]})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["status"] == "UNAUTHENTICATED"


def test_project_mode_with_an_output_bucket_answers_gcs_uris(project):
    operation = project.models.generate_videos(
        model=MODEL,
        source=source(f"a fox {INSTANT}"),
        config=types.GenerateVideosConfig(output_gcs_uri="gs://videos-out/veo", number_of_videos=2),
    )
    done = finished(project, operation)
    uris = [generated.video.uri for generated in done.response.generated_videos]
    assert len(uris) == 2
    assert all(uri.startswith("gs://videos-out/veo/") for uri in uris)
