"""The emulator's Luma side, driven by the official `lumaai` SDK and checked against Luma's
published OpenAPI document (Dream Machine API 1.1.0)."""

from __future__ import annotations

import base64

import httpx
import lumaai
import pytest
from emulator_fixtures import INSTANT, image_bytes, luma_schema, wait_until


@pytest.fixture
def client(emulator) -> lumaai.LumaAI:
    return lumaai.LumaAI(auth_token=emulator.api_key, base_url=emulator.luma_url, max_retries=0)


def data_url(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(width, height)).decode()


def raw(emulator, path: str) -> httpx.Response:
    return httpx.get(f"{emulator.luma_url}{path}", headers={"Authorization": f"Bearer {emulator.api_key}"})


def settled(client: lumaai.LumaAI, generation_id: str):
    """The SDK has no waiter: poll `generations.get` until the state is final."""
    return wait_until(lambda: (g := client.generations.get(generation_id)).state in ("completed", "failed") and g)


def test_the_sdk_makes_text_and_keyframed_videos_and_downloads_them(client, emulator):
    text = client.generations.create(
        model="ray-2", prompt=f"a cat {INSTANT}", aspect_ratio="16:9", resolution="720p", duration="5s", loop=False
    )
    assert text.state == "queued"
    luma_schema("Generation").validate(raw(emulator, f"/generations/{text.id}").json())
    done = settled(client, text.id)
    assert done.state == "completed"
    assert done.request.model == "ray-2"
    luma_schema("Generation").validate(raw(emulator, f"/generations/{done.id}").json())
    video = httpx.get(done.assets.video)  # on the CDN: no key
    assert video.status_code == 200
    assert video.content[4:8] == b"ftyp"
    thumbnail = httpx.get(done.assets.image)
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content[:3] == b"\xff\xd8\xff"

    framed = client.generations.video.create(
        model="ray-flash-2",
        prompt=f"it moves {INSTANT}",
        aspect_ratio="9:16",
        resolution="1080p",
        duration="9s",
        keyframes={
            "frame0": {"type": "image", "url": data_url(1080, 1920)},
            "frame1": {"type": "image", "url": data_url(1080, 1920)},
        },
    )
    assert settled(client, framed.id).state == "completed"
    stored = emulator.job(framed.id)
    assert (stored.width, stored.height, stored.seconds) == (1080, 1920, 9)
    assert stored.inputs["frames"] == ["frame0", "frame1"]
    listed = client.generations.list(limit=1)
    assert [g.id for g in listed.generations] == [framed.id]  # newest first
    assert listed.has_more is True
    assert [g.id for g in client.generations.list(limit=1, offset=1).generations] == [text.id]
    page = raw(emulator, "/generations?limit=10&offset=0").json()
    luma_schema("ListGenerationResponse").validate(page)
    assert (page["count"], page["has_more"]) == (2, False)

    client.generations.delete(framed.id)
    with pytest.raises(lumaai.NotFoundError):
        client.generations.get(framed.id)


def test_a_failure_a_refused_body_a_wrong_key_and_a_429(client, emulator):
    failed = settled(
        client, client.generations.create(model="ray-2", prompt=f"x {INSTANT} [emulator:fail=moderation]").id
    )
    assert failed.state == "failed"
    assert "moderation" in failed.failure_reason
    luma_schema("Generation").validate(raw(emulator, f"/generations/{failed.id}").json())
    with pytest.raises(lumaai.BadRequestError) as refused:
        client.generations.create(model="ray-2", prompt="x", resolution="480p")
    luma_schema("Error").validate(refused.value.body)
    with pytest.raises(lumaai.BadRequestError):
        client.generations.create(
            model="ray-2", prompt="x", keyframes={"frame0": {"type": "image", "url": "http://example.com/a.png"}}
        )
    wrong = lumaai.LumaAI(auth_token="wrong", base_url=emulator.luma_url, max_retries=0)
    with pytest.raises(lumaai.AuthenticationError) as denied:
        wrong.generations.list()
    assert denied.value.body == {"detail": "Invalid API key is provided"}
    emulator.add_fault("rate_limit", protocol="luma", operation="create", retry_after=2)
    with pytest.raises(lumaai.RateLimitError) as limited:
        client.generations.create(model="ray-2", prompt="x")
    assert limited.value.response.headers["retry-after"] == "2"
    luma_schema("Error").validate(limited.value.body)
    assert emulator.jobs_created("luma") == 1


def test_requests_the_document_describes_are_accepted(client, emulator):
    """Each example of the document's GenerationRequest, with its image URLs as data URLs."""
    document = luma_schema("GenerationRequest")
    first = client.generations.create(model="ray-2", prompt=f"a lake {INSTANT}")
    settled(client, first.id)
    examples = [
        {"prompt": "a lake", "aspect_ratio": "16:9", "loop": True},
        {"prompt": "a lake", "keyframes": {"frame1": {"type": "image", "url": data_url(1280, 720)}}},
        {"prompt": "a lake", "keyframes": {"frame0": {"type": "generation", "id": first.id}}},
    ]
    for example in examples:
        body = {"model": "ray-2", **example}
        document.validate(body)
        answer = httpx.post(
            f"{emulator.luma_url}/generations/video", headers={"Authorization": f"Bearer {emulator.api_key}"}, json=body
        )
        assert answer.status_code == 201, answer.text
        luma_schema("Generation").validate(answer.json())
