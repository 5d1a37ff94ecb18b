"""The emulator's Azure Sora jobs protocol over real HTTP, checked against Microsoft's published spec."""

from __future__ import annotations

import io
import json
import re

import httpx
import pytest
from emulator_fixtures import INSTANT, assert_azure_error, azure_schema, image_bytes, wait_until
from PIL import Image

ULID = r"[0-9a-hjkmnp-tv-z]{26}"


def job_body(**overrides: object) -> dict:
    return {"model": "sora", "prompt": f"a cat playing piano {INSTANT}", "width": 480, "height": 480, **overrides}


def create(client, **overrides: object) -> dict:
    response = client.post("/video/generations/jobs", json=job_body(**overrides))
    assert response.status_code == 200, response.text
    return response.json()


def succeeded(client, job_id: str) -> dict:
    return wait_until(
        lambda: (j := client.get(f"/video/generations/jobs/{job_id}").json())["status"] == "succeeded" and j
    )


def inpaint(file_name: str = "start.jpg") -> str:
    item = {"frame_index": 0, "type": "image", "file_name": file_name}
    item["crop_bounds"] = {"left_fraction": 0.0, "top_fraction": 0.0, "right_fraction": 1.0, "bottom_fraction": 1.0}
    return json.dumps([item])


def test_it_creates_a_job_in_azures_shape(emulator):
    with emulator.azure() as client:
        response = client.post("/video/generations/jobs", json=job_body(prompt="slow [emulator:queue=30]"))
    assert response.status_code == 200
    job = response.json()
    azure_schema("VideoGenerationJob").validate(job)
    assert re.fullmatch(rf"task_{ULID}", job["id"])
    assert job["object"] == "video.generation.job"
    assert job["status"] == "queued"
    assert job["generations"] == []
    assert job["finished_at"] is None
    assert job["expires_at"] is None
    assert job["failure_reason"] is None
    assert (job["n_seconds"], job["n_variants"], job["model"]) == (5, 1, "sora")
    assert response.headers["apim-request-id"]


def test_a_job_goes_through_azures_status_words_and_ends_with_generations(emulator):
    seen = []
    with emulator.azure() as client:
        job = create(client, prompt="cat [emulator:queue=1,generation=2.5]", n_variants=2, n_seconds=10)

        def finished() -> bool:
            current = client.get(f"/video/generations/jobs/{job['id']}").json()
            azure_schema("VideoGenerationJob").validate(current)
            seen.append(current)
            return current["status"] == "succeeded"

        wait_until(finished)
    words = []
    for current in seen:
        if not words or words[-1] != current["status"]:
            words.append(current["status"])
    assert words == ["queued", "preprocessing", "running", "processing", "succeeded"]
    final = seen[-1]
    assert len(final["generations"]) == 2
    assert final["expires_at"] == final["created_at"] + 86400
    for generation in final["generations"]:
        assert re.fullmatch(rf"gen_{ULID}", generation["id"])
        assert generation["job_id"] == job["id"]
        assert generation["n_seconds"] == 10


@pytest.mark.parametrize(("directive", "reason"), [("moderation", "input_moderation"), ("internal", "internal_error")])
def test_a_failed_job_says_why(emulator, directive, reason):
    with emulator.azure() as client:
        job = create(client, prompt=f"x [emulator:fail={directive}] {INSTANT}")
        failed = client.get(f"/video/generations/jobs/{job['id']}").json()
    azure_schema("VideoGenerationJob").validate(failed)
    assert failed["status"] == "failed"
    assert failed["failure_reason"] == reason
    assert failed["generations"] == []


def test_every_call_needs_api_version_preview(emulator):
    with emulator.azure() as client:
        job = create(client)
    url = f"{emulator.azure_base_url}/video/generations/jobs/{job['id']}"
    with httpx.Client(headers={"api-key": emulator.api_key}) as bare:
        assert_azure_error(bare.get(url), 404)
        assert_azure_error(bare.get(url + "?api-version=2024-02-01"), 400)
        assert_azure_error(bare.post(f"{emulator.azure_base_url}/video/generations/jobs", json=job_body()), 404)
        assert bare.get(url + "?api-version=preview").status_code == 200
    assert emulator.jobs_created("azure") == 1


def test_it_wants_the_key(emulator):
    with emulator.azure() as client:
        error = assert_azure_error(client.get("/video/generations/jobs", headers={"api-key": "nope"}), 401)
        bearer = client.get(
            "/video/generations/jobs", headers={"api-key": "", "Authorization": f"Bearer {emulator.api_key}"}
        )
    assert error["code"] == "401"
    assert bearer.status_code == 200


def test_it_lists_jobs_newest_first_with_limit_after_before_and_statuses(emulator):
    with emulator.azure() as client:
        made = [create(client, prompt=f"clip {n} {INSTANT}")["id"] for n in range(4)]
        waiting = create(client, prompt="later [emulator:queue=30]")["id"]
        page = client.get("/video/generations/jobs", params={"limit": 2}).json()
        azure_schema("VideoGenerationJobList").validate(page)
        assert [j["id"] for j in page["data"]] == [waiting, made[3]]
        assert page["has_more"] is True
        assert (page["first_id"], page["last_id"]) == (waiting, made[3])
        after = client.get("/video/generations/jobs", params={"limit": 2, "after": made[3]}).json()
        assert [j["id"] for j in after["data"]] == [made[2], made[1]]
        assert after["has_more"] is True
        before = client.get("/video/generations/jobs", params={"limit": 2, "before": made[1]}).json()
        assert [j["id"] for j in before["data"]] == [made[3], made[2]]
        assert before["has_more"] is True
        done = client.get("/video/generations/jobs", params={"statuses": "succeeded", "limit": 10}).json()
        assert [j["id"] for j in done["data"]] == made[::-1]
        queued = client.get("/video/generations/jobs", params={"statuses": "queued,preprocessing"}).json()
        assert [j["id"] for j in queued["data"]] == [waiting]
        default = client.get("/video/generations/jobs").json()
        assert len(default["data"]) == 5
        assert default["has_more"] is False
        assert_azure_error(client.get("/video/generations/jobs", params={"statuses": "done"}), 400)
        assert_azure_error(client.get("/video/generations/jobs", params={"limit": 0}), 400)
        empty = client.get("/video/generations/jobs", params={"statuses": "cancelled"}).json()
        azure_schema("VideoGenerationJobList").validate(empty)
        assert empty["data"] == []
        assert empty["has_more"] is False


def test_deleting_a_job_answers_204_and_removes_it(emulator):
    with emulator.azure() as client:
        job = succeeded(client, create(client)["id"])
        generation_id = job["generations"][0]["id"]
        response = client.delete(f"/video/generations/jobs/{job['id']}")
        assert response.status_code == 204
        assert response.content == b""
        assert_azure_error(client.get(f"/video/generations/jobs/{job['id']}"), 404)
        assert_azure_error(client.get(f"/video/generations/{generation_id}/content/video"), 404)
        assert_azure_error(client.delete(f"/video/generations/jobs/{job['id']}"), 404)


def test_it_serves_generations_and_their_content_at_content_video(emulator):
    with emulator.azure() as client:
        job = succeeded(client, create(client, width=1280, height=720)["id"])
        generation_id = job["generations"][0]["id"]
        generation = client.get(f"/video/generations/{generation_id}")
        azure_schema("VideoGeneration").validate(generation.json())
        video = client.get(f"/video/generations/{generation_id}/content/video")
        head = client.head(f"/video/generations/{generation_id}/content/video")
        low = client.get(f"/video/generations/{generation_id}/content/video", params={"quality": "low"})
        thumbnail = client.get(f"/video/generations/{generation_id}/content/thumbnail")
        bare_content = client.get(f"/video/generations/{generation_id}/content")
        bad_quality = client.get(f"/video/generations/{generation_id}/content/video", params={"quality": "4k"})
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    for header in ("last-modified", "accept-ranges", "content-length"):
        assert header in video.headers
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(video.content)
    assert low.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpg"
    with Image.open(io.BytesIO(thumbnail.content)) as image:
        assert (image.format, image.size) == ("JPEG", (1280, 720))
    assert_azure_error(bare_content, 404)
    assert_azure_error(bad_quality, 400)


def test_generations_and_content_are_404_until_the_job_succeeds(emulator):
    with emulator.azure() as client:
        job = create(client, prompt="slow [emulator:queue=30]")
        generation_id = emulator.job(job["id"]).generations.first().public_id
        assert_azure_error(client.get(f"/video/generations/{generation_id}"), 404)
        assert_azure_error(client.get(f"/video/generations/{generation_id}/content/video"), 404)
        assert_azure_error(client.get("/video/generations/jobs/task_01jwcet0eje35tc5jy54yjax5q"), 404)


def test_a_job_and_its_content_disappear_when_expires_at_passes(emulator):
    with emulator.azure() as client:
        job = succeeded(client, create(client, prompt=f"brief [emulator:retention=2] {INSTANT}")["id"])
        generation_id = job["generations"][0]["id"]
        assert job["expires_at"] == job["created_at"] + 2
        assert client.get(f"/video/generations/{generation_id}/content/video").status_code == 200
        wait_until(lambda: client.get(f"/video/generations/jobs/{job['id']}").status_code == 404, timeout=5)
        assert_azure_error(client.get(f"/video/generations/{generation_id}/content/video"), 404)
        assert client.get("/video/generations/jobs").json()["data"] == []


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"width": 500, "height": 500}, "resolution"),
        ({"width": "480"}, "width"),
        ({"n_seconds": 0}, "n_seconds"),
        ({"n_seconds": 21}, "n_seconds"),
        ({"width": 1920, "height": 1080, "n_variants": 2}, "n_variants"),
        ({"width": 1280, "height": 720, "n_variants": 3}, "n_variants"),
        ({"width": 854, "height": 480, "n_variants": 5}, "n_variants"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 32001}, "prompt"),
        ({"model": None}, "model"),
        ({"seconds": "4"}, "seconds"),
    ],
)
def test_it_refuses_invalid_jobs(emulator, overrides, fragment):
    body = {key: value for key, value in job_body(**overrides).items() if value is not None}
    with emulator.azure() as client:
        error = assert_azure_error(client.post("/video/generations/jobs", json=body), 400)
    assert fragment in error["message"]
    assert emulator.jobs_created("azure") == 0


@pytest.mark.parametrize(("width", "height", "variants"), [(480, 854, 4), (720, 720, 2), (1080, 1920, 1)])
def test_it_allows_as_many_variants_as_the_resolution_permits(emulator, width, height, variants):
    with emulator.azure() as client:
        job = create(client, width=width, height=height, n_variants=variants)
    assert job["n_variants"] == variants


def test_it_takes_an_image_through_multipart_files_and_inpaint_items(emulator):
    start = image_bytes(640, 480, "JPEG")
    with emulator.azure() as client:

        def send(items: str, name: str = "start.jpg", data: bytes = start):
            fields = {"model": "sora", "prompt": f"from a frame {INSTANT}", "width": "854", "height": "480"}
            form = {key: (None, value) for key, value in {**fields, "inpaint_items": items}.items()}
            return client.post("/video/generations/jobs", files={**form, "files": (name, data, "image/jpeg")})

        ok = send(inpaint())
        assert ok.status_code == 200, ok.text
        job = ok.json()
        azure_schema("VideoGenerationJob").validate(job)
        assert job["inpaint_items"][0]["file_name"] == "start.jpg"
        assert (job["width"], job["height"]) == (854, 480)
        mismatch = assert_azure_error(send(inpaint("other.jpg")), 400)
        assert "file_name" in mismatch["message"]
        assert_azure_error(send(inpaint(), data=b"not an image at all"), 400)
        assert_azure_error(send("{not json"), 400)
        assert_azure_error(send(json.dumps([{"type": "image", "file_name": "start.jpg"}])), 400)
        assert_azure_error(send(json.dumps([{"frame_index": 0, "type": "audio", "file_name": "start.jpg"}])), 400)
    assert emulator.jobs_created("azure") == 1


def test_unknown_paths_get_azures_404(emulator):
    with emulator.azure() as client:
        assert_azure_error(client.get("/video/generations/jobs/x/y"), 404)
        assert_azure_error(client.put("/video/generations/jobs"), 404)
        assert assert_azure_error(client.get("/images/generations"), 404)["message"] == "Resource not found"
