"""The emulator's OpenAI Videos protocol over real HTTP, checked against OpenAI's published spec."""

from __future__ import annotations

import io
import re
import time

import pytest
from emulator_fixtures import INSTANT, assert_openai_error, openai_schema, wait_until
from PIL import Image

VIDEO_KEYS = {
    "id",
    "object",
    "model",
    "status",
    "progress",
    "created_at",
    "completed_at",
    "expires_at",
    "prompt",
    "size",
    "seconds",
    "remixed_from_video_id",
    "error",
}


def multipart(**fields: str) -> dict:
    """Form fields sent as multipart parts, the way current SDKs send every create."""
    return {name: (None, value) for name, value in fields.items()}


def create(client, prompt: str = f"a fox {INSTANT}", **fields: str) -> dict:
    response = client.post("/videos", files=multipart(prompt=prompt, **fields))
    assert response.status_code == 200, response.text
    return response.json()


def completed(client, video_id: str) -> dict:
    return wait_until(lambda: (v := client.get(f"/videos/{video_id}").json())["status"] == "completed" and v)


def test_it_creates_a_video_from_multipart_with_every_key_of_the_video_object(emulator):
    with emulator.openai() as client:
        response = client.post("/videos", files=multipart(prompt="aurora", seconds="8", size="1280x720"))
    assert response.status_code == 200
    video = response.json()
    openai_schema("VideoResource").validate(video)
    assert set(video) == VIDEO_KEYS
    assert re.fullmatch(r"video_[0-9a-f]{48}", video["id"])
    assert video["object"] == "video"
    assert video["status"] == "queued"
    assert video["progress"] == 0
    assert (video["model"], video["seconds"], video["size"], video["prompt"]) == ("sora-2", "8", "1280x720", "aurora")
    assert video["completed_at"] is None
    assert video["expires_at"] is None
    assert video["error"] is None
    assert abs(video["created_at"] - time.time()) < 5
    assert response.headers["x-request-id"]


def test_it_creates_from_json_with_the_documented_defaults(emulator):
    with emulator.openai() as client:
        response = client.post("/videos", json={"prompt": "aurora", "model": "sora-2-pro"})
    video = response.json()
    openai_schema("VideoResource").validate(video)
    assert (video["model"], video["seconds"], video["size"]) == ("sora-2-pro", "4", "720x1280")


def test_it_accepts_any_model_name_a_gateway_might_use(emulator):
    with emulator.openai() as client:
        assert create(client, model="veo-3-fast")["model"] == "veo-3-fast"


def test_a_video_goes_from_queued_through_in_progress_to_completed(emulator, settings):
    settings.EMULATOR_PROGRESS_STEPS = 4
    seen = []
    with emulator.openai() as client:
        video = create(client, prompt="fox [emulator:queue=0.5,generation=1.5]")

        def finished() -> bool:
            current = client.get(f"/videos/{video['id']}").json()
            openai_schema("VideoResource").validate(current)
            seen.append(current)
            return current["status"] == "completed"

        wait_until(finished, interval=0.05)
    statuses = [v["status"] for v in seen]
    assert statuses[0] == "queued"
    assert "in_progress" in statuses
    assert statuses[-1] == "completed"
    order = {"queued": 0, "in_progress": 1, "completed": 2}
    assert [order[s] for s in statuses] == sorted(order[s] for s in statuses)
    progress = [v["progress"] for v in seen]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert {p for v, p in zip(statuses, progress, strict=True) if v == "in_progress"} <= {0, 25, 50, 75}
    final = seen[-1]
    assert final["completed_at"] >= final["created_at"]
    assert final["expires_at"] == final["completed_at"] + 3600


@pytest.mark.parametrize(("directive", "code"), [("moderation", "moderation_blocked"), ("internal", "internal_error")])
def test_a_failed_generation_is_a_failed_video_not_an_http_error(emulator, directive, code):
    with emulator.openai() as client:
        video = create(client, prompt=f"x [emulator:fail={directive}] {INSTANT}")
        response = client.get(f"/videos/{video['id']}")
    assert response.status_code == 200
    failed = response.json()
    openai_schema("VideoResource").validate(failed)
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == code
    assert failed["error"]["message"]
    assert failed["expires_at"] is None


def test_the_failure_rate_setting_fails_jobs_half_on_moderation_half_internally(emulator, settings):
    settings.EMULATOR_FAILURE_RATE = 1
    with emulator.openai() as client:
        ids = [create(client)["id"] for _ in range(12)]
        codes = {client.get(f"/videos/{video_id}").json()["error"]["code"] for video_id in ids}
    assert codes == {"moderation_blocked", "internal_error"}


def test_it_lists_videos_with_after_limit_and_order(emulator):
    with emulator.openai() as client:
        made = [create(client, prompt=f"clip {n} {INSTANT}")["id"] for n in range(5)]
        first = client.get("/videos", params={"limit": 2}).json()
        openai_schema("VideoListResource").validate(first)
        assert first["object"] == "list"
        assert first["has_more"] is True
        assert [v["id"] for v in first["data"]] == made[::-1][:2]
        assert (first["first_id"], first["last_id"]) == (made[4], made[3])
        collected, page = [], first
        while True:
            collected += [v["id"] for v in page["data"]]
            if not page["has_more"]:
                break
            page = client.get("/videos", params={"limit": 2, "after": page["last_id"]}).json()
        assert collected == made[::-1]
        ascending = client.get("/videos", params={"order": "asc", "limit": 100}).json()
        assert [v["id"] for v in ascending["data"]] == made
        assert ascending["has_more"] is False
        empty = client.get("/videos", params={"limit": 0}).json()
        openai_schema("VideoListResource").validate(empty)
        assert empty["data"] == []
        assert empty["first_id"] is None
        assert empty["last_id"] is None
        assert assert_openai_error(client.get("/videos", params={"limit": 101}), 400)["param"] == "limit"
        assert assert_openai_error(client.get("/videos", params={"order": "sideways"}), 400)["param"] == "order"


def test_paging_survives_the_cursor_video_being_deleted(emulator):
    with emulator.openai() as client:
        made = [create(client, prompt=f"clip {n} {INSTANT}")["id"] for n in range(3)]
        client.delete(f"/videos/{made[2]}")
        page = client.get("/videos", params={"after": made[2]})
    assert page.status_code == 200


def test_it_deletes_a_video_and_then_knows_it_no_more(emulator):
    with emulator.openai() as client:
        video = create(client)
        response = client.delete(f"/videos/{video['id']}")
        assert response.status_code == 200
        openai_schema("DeletedVideoResource").validate(response.json())
        assert response.json() == {"id": video["id"], "object": "video.deleted", "deleted": True}
        assert_openai_error(client.get(f"/videos/{video['id']}"), 404)
        assert_openai_error(client.delete(f"/videos/{video['id']}"), 404)
        assert client.get("/videos").json()["data"] == []


def test_it_remixes_a_completed_video_into_a_new_one(emulator):
    with emulator.openai() as client:
        source = create(client, seconds="12", size="1792x1024", model="sora-2-pro")
        completed(client, source["id"])
        response = client.post(f"/videos/{source['id']}/remix", json={"prompt": f"now at night {INSTANT}"})
        assert response.status_code == 200
        remix = response.json()
        openai_schema("VideoResource").validate(remix)
        assert remix["id"] != source["id"]
        assert remix["remixed_from_video_id"] == source["id"]
        assert (remix["seconds"], remix["size"], remix["model"]) == ("12", "1792x1024", "sora-2-pro")
        running = create(client, prompt="slow [emulator:queue=30]")
        assert_openai_error(client.post(f"/videos/{running['id']}/remix", json={"prompt": "x"}), 400)
        assert_openai_error(client.post("/videos/video_missing/remix", json={"prompt": "x"}), 404)
        assert assert_openai_error(client.post(f"/videos/{source['id']}/remix", json={}), 400)["param"] == "prompt"
    assert emulator.jobs_created("openai") == 3


def test_it_serves_the_video_thumbnail_and_spritesheet(emulator):
    with emulator.openai() as client:
        video = completed(client, create(client, size="1280x720")["id"])
        mp4 = client.get(f"/videos/{video['id']}/content", headers={"Accept": "application/binary"})
        thumbnail = client.get(f"/videos/{video['id']}/content", params={"variant": "thumbnail"})
        sheet = client.get(f"/videos/{video['id']}/content", params={"variant": "spritesheet"})
    assert mp4.status_code == 200
    assert mp4.headers["content-type"] == "video/mp4"
    assert mp4.content[4:8] == b"ftyp"
    assert int(mp4.headers["content-length"]) == len(mp4.content)
    assert mp4.headers["accept-ranges"] == "bytes"
    assert thumbnail.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumbnail.content)) as image:
        assert (image.format, image.size) == ("WEBP", (1280, 720))
    assert sheet.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(sheet.content)) as image:
        assert image.format == "JPEG"


def test_content_is_404_before_completion_and_for_failed_videos(emulator):
    with emulator.openai() as client:
        waiting = create(client, prompt="slow [emulator:queue=30]")
        failed = create(client, prompt=f"bad [emulator:fail=moderation] {INSTANT}")
        for video in (waiting, failed):
            for variant in ("video", "thumbnail", "spritesheet"):
                assert_openai_error(client.get(f"/videos/{video['id']}/content", params={"variant": variant}), 404)
        assert_openai_error(client.get("/videos/video_nope/content"), 404)
        assert_openai_error(client.get(f"/videos/{failed['id']}/content", params={"variant": "poster"}), 400)


def test_content_after_expiry_is_404_with_openais_message(emulator):
    with emulator.openai() as client:
        video = completed(client, create(client)["id"])
        emulator.add_fault("expired", protocol="openai", operation="retrieve")
        expired = client.get(f"/videos/{video['id']}").json()
        assert expired["expires_at"] <= time.time()
        error = assert_openai_error(client.get(f"/videos/{video['id']}/content"), 404)
    assert error == {
        "message": "The video is no longer available. Downloads expire after 1 hours.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_the_retention_directive_sets_when_downloads_expire(emulator):
    with emulator.openai() as client:
        video = completed(client, create(client, prompt=f"short-lived [emulator:retention=1] {INSTANT}")["id"])
        assert video["expires_at"] == video["completed_at"] + 1
        wait_until(lambda: client.get(f"/videos/{video['id']}/content").status_code == 404, timeout=5)


def test_it_wants_the_api_key_as_bearer_or_api_key_header(emulator):
    with emulator.openai() as client:
        missing = assert_openai_error(client.get("/videos", headers={"Authorization": ""}), 401)
        wrong = assert_openai_error(client.get("/videos", headers={"Authorization": "Bearer sk-wrong-key-123"}), 401)
        other_header = client.get("/videos", headers={"Authorization": "", "api-key": emulator.api_key})
    assert missing["code"] is None
    assert wrong["code"] == "invalid_api_key"
    assert "sk-wrong-key-123" not in wrong["message"]
    assert other_header.status_code == 200


def test_unknown_paths_and_methods_get_openais_404_envelope(emulator):
    with emulator.openai() as client:
        error = assert_openai_error(client.get("/videos/video_1/frames"), 404)
        assert error["message"] == "Invalid URL (GET /v1/videos/video_1/frames)"
        assert_openai_error(client.put("/videos"), 404)
        assert_openai_error(client.post("/videos/video_1/content"), 404)
