"""The emulator's Veo extensions: the Gemini API continues a file it still holds (`video: {uri}`,
as a finished operation named it), Vertex AI a video sent with the request, which `google-genai`
builds from `GenerateVideosSource(video=...)`."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
from emulator_fixtures import INSTANT, assert_google_error
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from test_emulator_gemini import MODEL, create, png_part, wait_done
from test_emulator_gemini import client as gemini_client  # noqa: F401  (the fixture)
from test_emulator_vertex import express, finished  # noqa: F401  (the fixture)

from videos.emulator import jobs, media


def a_finished_video(client, *, aspect: str = "16:9", resolution: str = "720p", model: str = MODEL) -> str:
    body = {
        "instances": [{"prompt": f"a lighthouse {INSTANT}"}],
        "parameters": {"aspectRatio": aspect, "resolution": resolution, "durationSeconds": 8},
    }
    [generated] = wait_done(client, create(client, body, model)).response.generated_videos
    return generated.video.uri


def extension(uri: str, **parameters) -> dict:
    return {
        "instances": [{"prompt": f"the camera rises {INSTANT}", "video": {"uri": uri}}],
        "parameters": {"aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8, **parameters},
    }


def test_the_gemini_api_extends_a_held_file_by_seven_seconds(gemini_client, emulator):  # noqa: F811
    uri = a_finished_video(gemini_client)
    done = wait_done(gemini_client, create(gemini_client, extension(uri, personGeneration="allow_all")))
    [generated] = done.response.generated_videos
    assert gemini_client.files.download(file=generated.video)[4:8] == b"ftyp"
    job = emulator.job(done.name.rsplit("/", 1)[1])
    assert (job.width, job.height, job.seconds) == (1280, 720, 15)
    # ... and the extension's own file can be extended again.
    again = wait_done(gemini_client, create(gemini_client, extension(generated.video.uri)))
    assert emulator.job(again.name.rsplit("/", 1)[1]).seconds == 22


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"parameters": {"durationSeconds": 6}}, "durationSeconds of 8"),
        ({"parameters": {"personGeneration": "allow_adult"}}, "allow_all"),
        ({"parameters": {"aspectRatio": "9:16"}}, "Aspect ratio of the input video must be 9:16"),
        ({"parameters": {"sampleCount": 2}}, "one video"),
        ({"instance": {"image": png_part()}}, "cannot be combined"),
        ({"uri": "https://elsewhere.example/v1beta/files/nothere1:download?alt=media"}, "not found"),
        ({"uri": "https://elsewhere.example/video.mp4"}, "not a file of this API"),
        ({"model": "veo-3.1-lite-generate-preview"}, "not supported by this model"),
    ],
)
def test_extensions_the_api_refuses_are_400s_and_make_no_job(gemini_client, emulator, change, words):  # noqa: F811
    uri = a_finished_video(gemini_client)
    body = extension(change.get("uri", uri), **change.get("parameters", {}))
    body["instances"][0].update(change.get("instance", {}))
    before = emulator.jobs_created("gemini")
    with emulator.gemini() as http:
        answer = http.post(f"/models/{change.get('model', MODEL)}:predictLongRunning", json=body)
    assert words in assert_google_error(answer, 400, "INVALID_ARGUMENT")["message"]
    assert emulator.jobs_created("gemini") == before


def test_a_1080p_or_expired_file_cannot_be_extended(gemini_client, emulator):  # noqa: F811
    tall = a_finished_video(gemini_client, resolution="1080p")
    with emulator.gemini() as http:
        answer = http.post(f"/models/{MODEL}:predictLongRunning", json=extension(tall, resolution="1080p"))
    assert "720p" in assert_google_error(answer, 400, "INVALID_ARGUMENT")["message"]
    uri = a_finished_video(gemini_client)
    jobs.mark_expired(emulator.job(uri.split("/files/", 1)[1].split(":", 1)[0].rpartition("s")[0]))
    with pytest.raises(genai_errors.ClientError) as refused:
        create(gemini_client, extension(uri))
    assert refused.value.code == 400
    assert "last two days" in refused.value.message


def test_vertex_extends_a_video_the_sdk_sends_inline(express, emulator):  # noqa: F811
    clip = b"".join(media.video_body(1280, 720, 0).iter_range(0, media.video_body(1280, 720, 0).size))
    operation = express.models.generate_videos(
        model="veo-3.1-generate-001",
        source=types.GenerateVideosSource(
            prompt=f"the rain stops {INSTANT}", video=types.Video(video_bytes=clip, mime_type="video/mp4")
        ),
        config=types.GenerateVideosConfig(duration_seconds=7, resolution="720p", aspect_ratio="16:9"),
    )
    done = finished(express, operation)
    assert done.error is None
    [generated] = done.response.generated_videos
    assert generated.video.video_bytes[4:8] == b"ftyp"
    job = emulator.job(operation.name.rsplit("/", 1)[1])
    assert job.inputs["video"] == {"bytes": str(len(clip)), "sha256": hashlib.sha256(clip).hexdigest()}


@pytest.mark.parametrize(
    ("video", "config", "words"),
    [
        ({"bytesBase64Encoded": base64.b64encode(b"not a video").decode()}, {}, "not an MP4"),
        ({"gcsUri": "gs://bucket/clip.mp4", "bytesBase64Encoded": "AAAA"}, {}, "exactly one"),
        ({"gcsUri": "gs://bucket/clip.mp4"}, {"durationSeconds": 8}, "durationSeconds to 7"),
        ({"gcsUri": "gs://bucket/clip.mp4"}, {"resolution": "1080p"}, "720p"),
    ],
)
def test_vertex_refuses_what_it_cannot_extend(emulator, video, config, words):
    answer = httpx.post(
        f"{emulator.url}/vertex/v1/publishers/google/models/veo-3.1-generate-001:predictLongRunning",
        headers={"x-goog-api-key": emulator.api_key},
        json={
            "instances": [{"prompt": "x", "video": video}],
            "parameters": {"durationSeconds": 7, "resolution": "720p", **config},
        },
    )
    assert answer.status_code == 400
    assert words in answer.json()["error"]["message"]


def test_the_sdk_refuses_a_gemini_api_extension_itself_so_adapters_send_the_rest_body(emulator):
    client = genai.Client(api_key=emulator.api_key, http_options=types.HttpOptions(base_url=emulator.gemini_url))
    with pytest.raises(ValueError, match="only supported"):
        client.models.generate_videos(
            model=MODEL,
            source=types.GenerateVideosSource(prompt="x", video=types.Video(uri="https://x/v1beta/files/a:download")),
        )
