from __future__ import annotations

import base64
import io
import json

import pytest
from api_helpers import MP4, make_video
from conftest import bearer
from django.test import Client
from django.utils import timezone
from emulator_fixtures import image_bytes
from PIL import Image

from accounts.models import ApiToken
from videos.api.representation import download_token
from videos.models import IdempotencyKey, Video

GHOST = "video_" + "0" * 48


@pytest.fixture(autouse=True)
def _setup(media_root, settings):
    from django.core.cache import cache

    settings.API_RATE_LIMIT = "1000/min"
    cache.clear()


def post_json(client, url, body, token, **extra):
    return client.post(url, json.dumps(body), content_type="application/json", **bearer(token), **extra)


def envelope(response, status: int, code: str | None = None, param: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error
    return error


# --- the video object ---------------------------------------------------------------------


def test_create_answers_the_13_key_video_object_and_stores_a_pending_video(client, alice, alice_token):
    response = post_json(
        client,
        "/v1/videos",
        {"prompt": "a red kite", "model": "sora-2", "seconds": "8", "size": "1280x720"},
        alice_token,
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
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
    ]
    assert (body["status"], body["seconds"], body["size"], body["progress"]) == ("queued", "8", "1280x720", 0)
    assert body["completed_at"] is None
    assert body["error"] is None
    assert body["remixed_from_video_id"] is None
    video = Video.objects.get(pk=body["id"])
    assert video.owner == alice
    assert video.state == "pending"
    assert response["Cache-Control"] == "private, no-store"


def test_defaults_follow_the_openai_api(client, alice_token):
    body = post_json(client, "/v1/videos", {"prompt": "x"}, alice_token).json()
    assert (body["model"], body["seconds"], body["size"]) == ("sora-2", "4", "720x1280")


def test_multipart_create_with_a_start_frame(client, alice_token, media_root):
    image = io.BytesIO(image_bytes(1280, 720))
    image.name = "start.png"
    response = client.post(
        "/v1/videos",
        {"prompt": "moving", "size": "1280x720", "seconds": "4", "input_reference": image},
        **bearer(alice_token),
    )
    assert response.status_code == 200, response.content
    video = Video.objects.get(pk=response.json()["id"])
    assert video.kind == "image"
    assert video.input_image_type == "image/png"
    assert (media_root / video.input_image_key).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_create_with_a_data_url_start_frame(client, alice_token):
    data_url = "data:image/png;base64," + base64.b64encode(image_bytes(720, 1280)).decode()
    response = post_json(client, "/v1/videos", {"prompt": "x", "input_reference": {"image_url": data_url}}, alice_token)
    assert response.status_code == 200, response.content
    assert Video.objects.get().kind == "image"


def test_status_words_are_only_the_four(client, alice, alice_token):
    for state in ("pending", "submitted", "generating", "archiving", "ready", "failed", "expired"):
        video = make_video(alice, state)
        status = client.get(f"/v1/videos/{video.pk}", **bearer(alice_token)).json()["status"]
        assert status in ("queued", "in_progress", "completed", "failed")
        assert (status == "completed") == (state == "ready")


def test_a_failed_video_carries_its_error(client, alice, alice_token):
    video = make_video(alice, "expired")
    body = client.get(f"/v1/videos/{video.pk}", **bearer(alice_token)).json()
    assert body["status"] == "failed"
    assert body["error"] == {"code": "video_expired", "message": "gone"}


# --- ownership ----------------------------------------------------------------------------


def other_users_requests(video_id: str):
    return [
        ("get", f"/v1/videos/{video_id}", None),
        ("get", f"/v1/videos/{video_id}/content", None),
        ("get", f"/v1/videos/{video_id}/content?variant=thumbnail", None),
        ("get", f"/v1/videos/query/{video_id}", None),
        ("post", "/v1/videos/query", {"video_id": video_id}),
        ("delete", f"/v1/videos/{video_id}", None),
        ("post", f"/v1/videos/{video_id}/remix", {"prompt": "mine now"}),
    ]


@pytest.mark.parametrize("index", range(7))
def test_another_users_video_is_exactly_like_one_that_does_not_exist(
    client, alice_token, bob, index, django_capture_on_commit_callbacks
):
    theirs = make_video(bob, "ready")
    before = Video.objects.filter(pk=theirs.pk).values().get()
    method, url, body = other_users_requests(theirs.pk)[index]
    ghost_method, ghost_url, ghost_body = other_users_requests(GHOST)[index]
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body else {}
    ghost_kwargs = {"content_type": "application/json", "data": json.dumps(ghost_body)} if ghost_body else {}
    with django_capture_on_commit_callbacks() as enqueued:
        response = getattr(client, method)(url, **kwargs, **bearer(alice_token))
        ghost = getattr(client, ghost_method)(ghost_url, **ghost_kwargs, **bearer(alice_token))
    assert enqueued == []
    envelope(response, 404, "video_not_found")
    assert response.content.replace(theirs.pk.encode(), b"ID") == ghost.content.replace(GHOST.encode(), b"ID")
    assert Video.objects.filter(pk=theirs.pk).values().get() == before
    assert Video.objects.count() == 1


def test_the_list_holds_only_the_callers_videos(client, alice, bob, alice_token):
    mine = make_video(alice, "ready")
    make_video(bob, "ready")
    body = client.get("/v1/videos", **bearer(alice_token)).json()
    assert [v["id"] for v in body["data"]] == [mine.pk]


@pytest.mark.parametrize("index", range(7))
def test_every_endpoint_refuses_a_missing_or_revoked_token(client, alice, alice_token, index):
    video = make_video(alice, "ready")
    method, url, body = other_users_requests(video.pk)[index]
    kwargs = {"content_type": "application/json", "data": json.dumps(body)} if body else {}
    envelope(getattr(client, method)(url, **kwargs), 401, "unauthorized")
    ApiToken.objects.update(revoked_at=timezone.now())
    envelope(getattr(client, method)(url, **kwargs, **bearer(alice_token)), 401, "unauthorized")
    assert Video.objects.filter(pk=video.pk, deleted_at__isnull=True).exists()


def test_list_and_create_refuse_a_missing_token(client, db):
    envelope(client.get("/v1/videos"), 401, "unauthorized")
    envelope(client.post("/v1/videos", {"prompt": "x"}), 401, "unauthorized")
    assert not Video.objects.exists()


def test_session_calls_need_the_csrf_token(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post("/v1/videos", json.dumps({"prompt": "x"}), content_type="application/json")
    envelope(response, 403)
    assert not Video.objects.exists()
    assert browser.get("/v1/videos").status_code == 200


# --- validation ---------------------------------------------------------------------------

BAD_JSON = [
    ({"prompt": ""}, "prompt"),
    ({"prompt": "   "}, "prompt"),
    ({"prompt": "x" * 32001}, "prompt"),
    ({"prompt": "a\x00b"}, "prompt"),
    ({"prompt": 42}, "prompt"),
    ({}, "prompt"),
    ({"prompt": "x", "seconds": "7"}, "seconds"),
    ({"prompt": "x", "seconds": 4}, "seconds"),
    ({"prompt": "x", "size": "1000x1000"}, "size"),
    ({"prompt": "x", "model": "sora-9"}, "model"),
    ({"prompt": "x", "n_variants": 2}, "n_variants"),
    ({"prompt": "x", "model": "sora", "size": "1920x1080", "seconds": "5", "n_variants": 2}, "n_variants"),
    ({"prompt": "x", "owner": 2}, "owner"),
    ({"prompt": "x", "status": "completed"}, "status"),
    ({"prompt": "x", "expires_at": 1}, "expires_at"),
    ({"prompt": "x", "input_reference": {"file_id": "file_1"}}, "input_reference"),
    ({"prompt": "x", "input_reference": {"image_url": "http://169.254.169.254/latest"}}, "input_reference"),
    ({"prompt": "x", "input_reference": {"image_url": "data:image/png;base64,!!!"}}, "input_reference"),
]


@pytest.mark.parametrize(("body", "param"), BAD_JSON)
def test_each_bad_parameter_is_a_400_naming_it_and_nothing_is_stored(
    client, alice_token, media_root, body, param, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as enqueued:
        envelope(post_json(client, "/v1/videos", body, alice_token), 400, param=param)
    assert not Video.objects.exists()
    assert enqueued == []
    assert not list(media_root.rglob("*.*"))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


BAD_IMAGES = [
    ("zeros.png", bytes(2048), "invalid_image"),
    ("doc.png", b"%PDF-1.7\n" + bytes(500), "invalid_image"),
    ("vector.png", b'<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="720"></svg>', "invalid_image"),
    ("anim.png", image_bytes(1280, 720, "GIF"), "unsupported_image"),
    ("bomb.png", png_claiming(5000, 5000), "image_too_large"),
    ("bigger-bomb.png", png_claiming(50000, 50000), "image_too_large"),
]


@pytest.mark.parametrize(("name", "data", "code"), BAD_IMAGES)
def test_a_start_frame_is_judged_by_its_content(client, alice_token, media_root, name, data, code):
    upload = io.BytesIO(data)
    upload.name = name
    response = client.post(
        "/v1/videos", {"prompt": "x", "size": "1280x720", "input_reference": upload}, **bearer(alice_token)
    )
    envelope(response, 400, code, "input_reference")
    assert not Video.objects.exists()
    assert not list(media_root.rglob("*.*"))


def stored_frame(video: Video, media_root) -> Image.Image:
    return Image.open(media_root / video.input_image_key)


def test_a_frame_of_another_shape_is_cropped_by_default_padded_or_refused(client, alice_token, media_root):
    # A tall phone photo, red on top and blue below, for a landscape video.
    photo = Image.new("RGB", (600, 1200), (200, 0, 0))
    photo.paste((0, 0, 200), (0, 600, 600, 1200))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG")

    def send(**fields):
        upload = io.BytesIO(buffer.getvalue())
        upload.name = "phone.jpg"
        return client.post(
            "/v1/videos",
            {"prompt": "x", "size": "1280x720", "input_reference": upload, **fields},
            **bearer(alice_token),
        )

    cropped = Video.objects.get(pk=send().json()["id"])
    with stored_frame(cropped, media_root) as frame:
        assert frame.size == (1280, 720)
        assert frame.format == "JPEG"
        # The centre is kept: the red and blue halves meet in the middle row.
        assert frame.getpixel((640, 10))[0] > 150
        assert frame.getpixel((640, 710))[2] > 150
    assert cropped.options == {"input_fit": "crop"}
    padded = Video.objects.get(pk=send(input_fit="pad").json()["id"])
    with stored_frame(padded, media_root) as frame:
        assert frame.size == (1280, 720)
        assert max(frame.getpixel((20, 360))) < 20  # a black bar beside the picture
        assert frame.getpixel((640, 100))[0] > 150
    envelope(send(input_fit="exact"), 400, "image_size_mismatch", "input_reference")
    envelope(send(input_fit="stretch"), 400, "invalid_value", "input_fit")
    assert Video.objects.count() == 2


def test_a_phone_photo_is_turned_upright_before_it_is_fitted(client, alice_token, media_root):
    # Stored sideways with EXIF orientation 6 (rotate 90° clockwise to view): upright it is tall.
    sideways = Image.new("RGB", (1280, 720), (0, 160, 0))
    sideways.paste((200, 0, 0), (0, 0, 640, 720))  # what is upright the top half
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    sideways.save(buffer, "JPEG", exif=exif)
    upload = io.BytesIO(buffer.getvalue())
    upload.name = "phone.jpg"
    response = client.post(
        "/v1/videos", {"prompt": "x", "size": "720x1280", "input_reference": upload}, **bearer(alice_token)
    )
    video = Video.objects.get(pk=response.json()["id"])
    with stored_frame(video, media_root) as frame:
        assert frame.size == (720, 1280)
        assert frame.getpixel((360, 100))[0] > 150  # red on top once upright
        assert frame.getpixel((360, 1200))[1] > 120


def test_an_oversized_image_is_a_413_envelope(client, alice_token, settings):
    settings.MAX_INPUT_IMAGE_BYTES = 10_000
    upload = io.BytesIO(image_bytes(1280, 720, "PNG") + bytes(20_000))
    upload.name = "big.png"
    response = client.post(
        "/v1/videos", {"prompt": "x", "size": "1280x720", "input_reference": upload}, **bearer(alice_token)
    )
    envelope(response, 413, param="input_reference")
    assert not Video.objects.exists()


def test_a_body_over_the_request_limit_is_refused_before_reading(client, alice_token, settings):
    settings.MAX_REQUEST_BYTES = 2000
    response = post_json(client, "/v1/videos", {"prompt": "x" * 5000}, alice_token)
    envelope(response, 413, "request_too_large", "input_reference")
    assert not Video.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ('{"prompt": "x"', "application/json", 400),
        ('["prompt", "x"]', "application/json", 400),
        ("<video><prompt>x</prompt></video>", "application/xml", 415),
        ("--b\r\nContent-Disposition: form-da", "multipart/form-data; boundary=b", 400),
        ('--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx', "multipart/form-data", 400),
        ("prompt=x", "text/plain", 415),
    ],
)
def test_malformed_bodies_get_an_envelope(client, alice_token, body, content_type, status):
    envelope(client.post("/v1/videos", body, content_type=content_type, **bearer(alice_token)), status)
    assert not Video.objects.exists()


def test_list_parameters_are_checked(client, alice_token):
    for query, param in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("order=up", "order"),
        (f"after={GHOST}", "after"),
        ("page=2", "page"),
    ]:
        envelope(client.get(f"/v1/videos?{query}", **bearer(alice_token)), 400, param=param)


def test_list_pages_with_after(client, alice, alice_token):
    videos = [make_video(alice, "pending") for _ in range(5)]
    newest_first = [v.pk for v in reversed(videos)]
    first = client.get("/v1/videos?limit=2", **bearer(alice_token)).json()
    assert [v["id"] for v in first["data"]] == newest_first[:2]
    assert first["has_more"]
    assert (first["first_id"], first["last_id"]) == (newest_first[0], newest_first[1])
    second = client.get(f"/v1/videos?limit=2&after={first['last_id']}", **bearer(alice_token)).json()
    assert [v["id"] for v in second["data"]] == newest_first[2:4]
    last = client.get(f"/v1/videos?limit=2&after={second['last_id']}", **bearer(alice_token)).json()
    assert [v["id"] for v in last["data"]] == newest_first[4:]
    assert not last["has_more"]


# --- content --------------------------------------------------------------------------------


def test_content_streams_with_length_type_and_ranges(client, alice, alice_token):
    video = make_video(alice, "ready")
    url = f"/v1/videos/{video.pk}/content"
    whole = client.get(url, **bearer(alice_token))
    assert whole.status_code == 200
    assert whole["Content-Type"] == "video/mp4"
    assert whole["Content-Length"] == str(len(MP4))
    assert whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == MP4
    for header, expected in [
        ("bytes=0-99", MP4[:100]),
        ("bytes=100-", MP4[100:]),
        ("bytes=-50", MP4[-50:]),
        ("bytes=10-10", MP4[10:11]),
    ]:
        part = client.get(url, HTTP_RANGE=header, **bearer(alice_token))
        assert part.status_code == 206, header
        assert b"".join(part.streaming_content) == expected
        assert part["Content-Length"] == str(len(expected))
        assert part["Content-Range"].endswith(f"/{len(MP4)}")
    envelope(client.get(url, HTTP_RANGE=f"bytes={len(MP4)}-", **bearer(alice_token)), 416)
    stale = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"other"', **bearer(alice_token))
    assert stale.status_code == 200


def test_content_before_ready_failed_or_expired(client, alice, alice_token):
    for state, code in [
        ("generating", "video_not_ready"),
        ("pending", "video_not_ready"),
        ("failed", "video_not_ready"),
        ("expired", "video_expired"),
    ]:
        video = make_video(alice, state)
        envelope(client.get(f"/v1/videos/{video.pk}/content", **bearer(alice_token)), 404, code)


def test_content_variant_is_checked(client, alice, alice_token):
    video = make_video(alice, "ready")
    envelope(client.get(f"/v1/videos/{video.pk}/content?variant=poster", **bearer(alice_token)), 400, param="variant")
    envelope(client.get(f"/v1/videos/{video.pk}/content?index=3", **bearer(alice_token)), 400, param="index")


# --- query endpoints ------------------------------------------------------------------------


def test_query_while_running_and_when_done(client, alice, alice_token):
    running = make_video(alice, "generating", progress=40)
    body = client.get(f"/v1/videos/query/{running.pk}", **bearer(alice_token)).json()
    assert body == {
        "task_id": running.pk,
        "video_id": "",
        "task_status": "processing",
        "message": "In progress: 40%",
        "duration": "4",
        "video_result": "",
    }
    done = make_video(alice, "ready")
    body = post_json(client, "/v1/videos/query", {"video_id": done.pk}, alice_token).json()
    assert body["task_status"] == "success"
    assert body["video_id"] == done.pk
    download = Client().get(body["video_result"].split("testserver", 1)[1])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == MP4
    failed = make_video(alice, "expired")
    assert client.get(f"/v1/videos/query/{failed.pk}", **bearer(alice_token)).json()["task_status"] == "failed"


def test_signed_links_expire_and_cannot_be_forged(client, alice, settings):
    video = make_video(alice, "ready")
    token = download_token(video)
    settings.SIGNED_DOWNLOAD_TTL = -1
    envelope(Client().get(f"/v1/files/{token}"), 403, "link_expired")
    envelope(Client().get(f"/v1/files/{token[:-2]}xx"), 403, "invalid_link")


def test_query_post_requires_a_video_id(client, alice_token):
    envelope(post_json(client, "/v1/videos/query", {}, alice_token), 400, param="video_id")
    envelope(post_json(client, "/v1/videos/query", {"video_id": "x", "extra": 1}, alice_token), 400, param="extra")


# --- delete and remix -----------------------------------------------------------------------


def test_delete_hides_the_video_and_queues_its_cleanup(client, alice, alice_token, django_capture_on_commit_callbacks):
    from django_q.brokers import get_broker

    video = make_video(alice, "ready")
    broker = get_broker()
    broker.purge_queue()
    with django_capture_on_commit_callbacks(execute=True):
        body = client.delete(f"/v1/videos/{video.pk}", **bearer(alice_token)).json()
    assert body == {"id": video.pk, "object": "video.deleted", "deleted": True}
    envelope(client.get(f"/v1/videos/{video.pk}", **bearer(alice_token)), 404, "video_not_found")
    envelope(client.delete(f"/v1/videos/{video.pk}", **bearer(alice_token)), 404, "video_not_found")
    assert broker.queue_size() == 1


def test_remix_only_from_the_callers_ready_video(client, alice, alice_token):
    running = make_video(alice, "generating")
    envelope(
        post_json(client, f"/v1/videos/{running.pk}/remix", {"prompt": "again"}, alice_token), 409, "video_not_ready"
    )
    ready = make_video(alice, "ready")
    envelope(
        post_json(client, f"/v1/videos/{ready.pk}/remix", {"prompt": "again", "model": "x"}, alice_token),
        400,
        param="model",
    )
    body = post_json(client, f"/v1/videos/{ready.pk}/remix", {"prompt": "again"}, alice_token).json()
    assert body["remixed_from_video_id"] == ready.pk
    assert body["status"] == "queued"


# --- idempotency and limits -------------------------------------------------------------------


def test_the_same_idempotency_key_replays_the_first_answer(client, alice_token):
    first = post_json(client, "/v1/videos", {"prompt": "once"}, alice_token, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post_json(client, "/v1/videos", {"prompt": "once"}, alice_token, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Video.objects.count() == 1
    envelope(
        post_json(client, "/v1/videos", {"prompt": "twice"}, alice_token, HTTP_IDEMPOTENCY_KEY="k-1"),
        422,
        param="Idempotency-Key",
    )
    assert Video.objects.count() == 1


def test_a_twin_request_while_the_first_runs_gets_409(client, alice, alice_token):
    from videos.api.idempotency import fingerprint  # noqa: F401 (the first request's row, as it is mid-flight)

    post_json(client, "/v1/videos", {"prompt": "a"}, alice_token, HTTP_IDEMPOTENCY_KEY="k-2")
    IdempotencyKey.objects.filter(key="k-2").update(status_code=None, response=None)
    envelope(
        post_json(client, "/v1/videos", {"prompt": "a"}, alice_token, HTTP_IDEMPOTENCY_KEY="k-2"),
        409,
        "idempotency_conflict",
    )
    assert Video.objects.count() == 1


def test_an_error_is_not_kept_so_the_client_may_retry(client, alice_token):
    envelope(post_json(client, "/v1/videos", {"prompt": ""}, alice_token, HTTP_IDEMPOTENCY_KEY="k-3"), 400)
    assert (
        post_json(client, "/v1/videos", {"prompt": "fixed"}, alice_token, HTTP_IDEMPOTENCY_KEY="k-3").status_code == 200
    )


def test_the_in_flight_cap_is_a_429_with_retry_after(client, alice, alice_token, settings):
    settings.USER_MAX_ACTIVE_VIDEOS = 2
    make_video(alice, "generating"), make_video(alice, "pending")
    error = envelope(post_json(client, "/v1/videos", {"prompt": "x"}, alice_token), 429, "too_many_active_videos")
    assert "limit is 2" in error["message"]
    assert Video.objects.count() == 2


def test_the_daily_budget_is_a_429_saying_when_it_resets(client, alice, alice_token, settings):
    settings.USER_DAILY_SECONDS = 10
    make_video(alice, "ready", seconds=8)
    response = post_json(client, "/v1/videos", {"prompt": "x", "seconds": "4"}, alice_token)
    error = envelope(response, 429, "daily_budget_exceeded")
    assert "2 of 10 are left" in error["message"]
    assert "resets at 00:00 UTC" in error["message"]
    assert 0 < int(response["Retry-After"]) <= 86400


def test_the_account_rate_limit_says_which_limit(client, alice_token, settings):
    settings.API_RATE_LIMIT = "3/min"
    for _ in range(3):
        assert client.get("/v1/videos", **bearer(alice_token)).status_code == 200
    response = client.get("/v1/videos", **bearer(alice_token))
    error = envelope(response, 429, "rate_limit_exceeded")
    assert "3 requests per minute for this account" in error["message"]
    assert int(response["Retry-After"]) > 0


# --- the published schema -----------------------------------------------------------------------


def test_the_schema_and_docs_are_published(client, db):
    schema = client.get("/v1/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    document = json.loads(schema.content)
    assert {"/v1/videos", "/v1/videos/{video_id}", "/v1/videos/{video_id}/content", "/v1/videos/query"} <= set(
        document["paths"]
    )
    docs = client.get("/v1/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
