"""Fidelity: the official `openai` SDK drives the emulator and parses every answer it gets."""

from __future__ import annotations

import base64

import openai
import pytest
from emulator_fixtures import INSTANT, image_bytes

# The SDK marks the Videos API deprecated ahead of its shutdown; that is not what is tested here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def strictly(model: openai.BaseModel) -> openai.BaseModel:
    """Parse again with validation (responses are built leniently) and refuse unknown fields."""
    assert not model.model_extra, model.model_extra
    return type(model).model_validate(model.to_dict())


@pytest.fixture
def sdk(emulator) -> openai.OpenAI:
    with openai.OpenAI(base_url=emulator.openai_base_url, api_key=emulator.api_key, max_retries=0) as client:
        yield client


def test_the_sdk_creates_polls_remixes_pages_downloads_and_deletes(sdk, emulator):
    plain = strictly(sdk.videos.create(prompt=f"a lighthouse {INSTANT}", seconds="8", size="1280x720"))
    assert plain.status == "queued"
    assert plain.seconds == "8"

    start = ("start.png", image_bytes(720, 1280), "image/png")
    framed = strictly(sdk.videos.create(prompt=f"from a frame {INSTANT}", input_reference=start))
    data_url = "data:image/jpeg;base64," + base64.b64encode(image_bytes(1280, 720, "JPEG")).decode()
    # This SDK's create() insists on a file for input_reference; the documented object form still
    # goes through extra_body, which it serialises as input_reference[image_url] form fields.
    by_url = strictly(
        sdk.videos.create(
            prompt=f"from a url {INSTANT}", size="1280x720", extra_body={"input_reference": {"image_url": data_url}}
        )
    )

    assert emulator.job(framed.id).inputs["input_reference"]["type"] == "image/png"
    assert emulator.job(by_url.id).inputs["input_reference"]["type"] == "image/jpeg"

    done = strictly(
        sdk.videos.create_and_poll(prompt="polled [emulator:queue=0.3,generation=0.6]", poll_interval_ms=100)
    )
    assert done.status == "completed"
    assert done.progress == 100
    assert done.expires_at is not None

    for video in (plain, framed, by_url):
        finished = strictly(sdk.videos.poll(video.id, poll_interval_ms=50))
        assert finished.status == "completed"
    assert strictly(sdk.videos.retrieve(framed.id)).id == framed.id

    remix = strictly(sdk.videos.remix(plain.id, prompt=f"the same at night {INSTANT}"))
    assert remix.remixed_from_video_id == plain.id
    assert remix.size == "1280x720"

    listed = [strictly(video).id for video in sdk.videos.list(limit=2)]
    assert listed == [remix.id, done.id, by_url.id, framed.id, plain.id]
    assert [video.id for video in sdk.videos.list(order="asc", limit=3)] == listed[::-1]

    mp4 = sdk.videos.download_content(remix.id)
    assert mp4.response.headers["content-type"] == "video/mp4"
    assert mp4.content[4:8] == b"ftyp"
    thumbnail = sdk.videos.download_content(remix.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    assert thumbnail.read()[:4] == b"RIFF"
    sheet = sdk.videos.download_content(remix.id, variant="spritesheet")
    assert sheet.content[:3] == b"\xff\xd8\xff"

    deleted = strictly(sdk.videos.delete(plain.id))
    assert deleted.deleted is True
    assert deleted.id == plain.id
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(plain.id)
    assert emulator.jobs_created("openai") == 5


def test_the_sdk_reads_the_error_envelopes(sdk, emulator):
    with pytest.raises(openai.BadRequestError) as invalid:
        sdk.videos.create(prompt="x", seconds="7")  # type: ignore[arg-type]
    assert invalid.value.code == "invalid_value"
    assert invalid.value.param == "seconds"
    with pytest.raises(openai.NotFoundError):
        sdk.videos.download_content("video_" + "0" * 48)
    stranger = openai.OpenAI(base_url=emulator.openai_base_url, api_key="sk-wrong", max_retries=0)
    with stranger, pytest.raises(openai.AuthenticationError) as denied:
        stranger.videos.list()
    assert denied.value.code == "invalid_api_key"
    failed = sdk.videos.create_and_poll(prompt=f"x [emulator:fail=moderation] {INSTANT}", poll_interval_ms=50)
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "moderation_blocked"


def test_the_sdk_honours_retry_after_ms_and_its_retries_reach_the_emulator(emulator):
    emulator.add_fault("rate_limit", protocol="openai", operation="create", remaining=2, retry_after=0.2)
    with openai.OpenAI(base_url=emulator.openai_base_url, api_key=emulator.api_key, max_retries=2) as client:
        video = client.videos.create(prompt=f"after two refusals {INSTANT}")
    assert video.status in {"queued", "in_progress", "completed"}
    assert emulator.received("openai", "create") == 3
    assert emulator.jobs_created("openai") == 1


def test_the_sdk_sees_a_dropped_create_as_a_connection_error(emulator):
    emulator.add_fault("drop", protocol="openai", operation="create")
    with openai.OpenAI(base_url=emulator.openai_base_url, api_key=emulator.api_key, max_retries=0) as client:
        with pytest.raises(openai.APIConnectionError):
            client.videos.create(prompt="did it happen?")
        assert [video.prompt for video in client.videos.list()] == ["did it happen?"]
