"""The official openai SDK against the platform, changing only base_url and api_key."""

from __future__ import annotations

import io

import openai
import pytest
from conftest import make_user
from emulator_fixtures import INSTANT, image_bytes
from test_pipeline_inprocess import drive

from accounts.services import api_token_create
from videos.models import Video

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sdk(live_server, providers):
    user = make_user("alice")
    client = openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=api_token_create(user=user, name="sdk").raw, max_retries=0
    )
    client.user = user
    return client


def settle(video_id: str) -> None:
    drive(Video.objects.get(pk=video_id))


def test_create_retrieve_poll_and_download_every_variant(sdk):
    video = sdk.videos.create(prompt=f"a lighthouse at dawn {INSTANT}", model="sora-2", seconds="4", size="1280x720")
    assert video.id.startswith("video_")
    assert video.status == "queued"
    assert video.seconds == "4"
    settle(video.id)
    done = sdk.videos.poll(video.id)
    assert done.status == "completed"
    assert done.progress == 100
    assert done.completed_at
    again = sdk.videos.retrieve(video.id)
    assert again.model_dump() == done.model_dump()
    mp4 = sdk.videos.download_content(video.id).read()
    assert mp4[4:8] == b"ftyp"
    thumbnail = sdk.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    assert thumbnail.read()[8:12] == b"WEBP"
    assert sdk.videos.download_content(video.id, variant="spritesheet").read()[:3] == b"\xff\xd8\xff"


def test_create_with_an_input_reference_file(sdk):
    image = ("start.png", io.BytesIO(image_bytes(1280, 720)), "image/png")
    video = sdk.videos.create(prompt=f"it moves {INSTANT}", size="1280x720", seconds="4", input_reference=image)
    settle(video.id)
    assert sdk.videos.retrieve(video.id).status == "completed"
    assert Video.objects.get(pk=video.id).kind == "image"


def test_list_pages_through_every_video(sdk):
    created = [sdk.videos.create(prompt=f"clip {i} [emulator:queue=60]").id for i in range(5)]
    page = sdk.videos.list(limit=2)
    assert len(page.data) == 2
    assert page.has_more
    seen = [video.id for video in sdk.videos.list(limit=2)]
    assert seen == list(reversed(created))
    assert [v.id for v in sdk.videos.list(limit=100, order="asc")] == created


def test_remix_and_delete(sdk):
    source = sdk.videos.create(prompt=f"a fox {INSTANT}", size="1280x720")
    settle(source.id)
    remix = sdk.videos.remix(source.id, prompt=f"the fox at night {INSTANT}")
    assert remix.remixed_from_video_id == source.id
    settle(remix.id)
    assert sdk.videos.retrieve(remix.id).status == "completed"
    deleted = sdk.videos.delete(remix.id)
    assert deleted.id == remix.id
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(remix.id)


def test_typed_errors(sdk, live_server, settings):
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.videos.create(prompt="x", seconds="7")
    assert bad.value.body["param"] == "seconds"
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.videos.retrieve("video_" + "0" * 48)
    assert missing.value.body["code"] == "video_not_found"
    stranger = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key="vp_not-a-real-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.videos.list()
    settings.USER_MAX_ACTIVE_VIDEOS = 1
    sdk.videos.create(prompt="first [emulator:queue=60]")
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.videos.create(prompt="second")
    assert limited.value.body["code"] == "too_many_active_videos"
    assert limited.value.response.headers["retry-after"]


def test_the_sdk_is_told_to_poll_gently(sdk):
    video = sdk.videos.create(prompt="slow [emulator:queue=60]")
    response = sdk.videos.with_raw_response.retrieve(video.id)
    assert int(response.headers["openai-poll-after-ms"]) >= 1000
    assert response.headers["cache-control"] == "private, no-store"
