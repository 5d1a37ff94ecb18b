"""MiniMax's Hailuo v1 API (PROVIDERS-LIVING.md section 7).

    POST /v1/video_generation                    -> {"task_id", "base_resp"}
    GET  /v1/query/video_generation?task_id=     -> {"task_id", "status", "file_id", "video_width", ...}
    GET  /v1/files/retrieve?file_id=             -> {"file": {..., "download_url"}, "base_resp"}

Application errors are HTTP 200 with a non-zero `base_resp.status_code` (1004 auth, 1002 rate
limit, 2013 invalid params, 1026/1027 sensitive content), as MiniMax answers them; only
infrastructure failures (the 5xx fault switches) keep their HTTP status. Download URLs need
no key (a signature and an expiry in the query string).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, callbacks, content, jobs, media
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job

PROTOCOL = "minimax"
MODELS = ("MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast", "MiniMax-Hailuo-02")
SHORT = {"512P": 512, "720P": 720, "768P": 768, "1080P": 1080}
FIELDS = {
    "model",
    "prompt",
    "first_frame_image",
    "last_frame_image",
    "duration",
    "resolution",
    "prompt_optimizer",
    "fast_pretreatment",
    "callback_url",
}


def app_error(code: int, message: str) -> ApiError:
    return ApiError(400, message, code=str(code))


def ok(data: dict[str, Any]) -> JsonResponse:
    return JsonResponse({**data, "base_resp": {"status_code": 0, "status_msg": "success"}})


def _image(value: object, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise app_error(2013, f"invalid params, {name} is empty")
    if value.startswith(("http://", "https://")):
        return
    header, _, encoded = value.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        raise app_error(2013, f"invalid params, {name} must be a URL or a data URL")
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise app_error(2013, f"invalid params, {name} is not valid base64") from None


def create(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise app_error(2013, "invalid params, the body is not JSON") from None
    if not isinstance(body, dict) or set(body) - FIELDS:
        raise app_error(2013, "invalid params, unknown field")
    model = body.get("model")
    if model not in MODELS:
        raise app_error(2013, f"invalid params, model {model} is not supported")
    resolution = body.get("resolution", "768P")
    duration = body.get("duration", 6)
    if resolution not in SHORT or duration not in (6, 10) or isinstance(duration, bool):
        raise app_error(2013, "invalid params, resolution or duration")
    if duration == 10 and resolution != "768P":
        raise app_error(2013, "invalid params, 10 second videos are made at 768P only")
    if model.endswith("-Fast") and "first_frame_image" not in body:
        raise app_error(2013, "invalid params, this model needs first_frame_image")
    if "last_frame_image" in body and model != "MiniMax-Hailuo-02":
        raise app_error(2013, "invalid params, last_frame_image is not supported by this model")
    for name in ("first_frame_image", "last_frame_image"):
        if name in body:
            _image(body[name], name)
    if not str(body.get("prompt") or "").strip() and "first_frame_image" not in body:
        raise app_error(2013, "invalid params, prompt is empty")
    short = SHORT[resolution]
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=model,
        prompt=str(body.get("prompt") or ""),
        width=short * 16 // 9 + (1 if short == 768 else 0),
        height=short,
        seconds=int(duration),
        inputs={
            "resolution": resolution,
            "frames": [name for name in ("first_frame_image", "last_frame_image") if name in body],
        },
    )
    callbacks.remember(request, job, body.get("callback_url"), lambda _origin, job, now: query_json(job, now))
    return ok({"task_id": job.public_id})


def _file_id(job: Job) -> str:
    return str(int(job.public_id) + 1)


def query(request: HttpRequest) -> HttpResponse:
    task_id = request.GET.get("task_id", "")
    job = Job.objects.filter(protocol=PROTOCOL, public_id=task_id).first() if task_id.isdigit() else None
    if job is None:
        raise app_error(2013, "invalid params, task_id not found")
    return JsonResponse(query_json(job, timezone.now()))


def query_json(job: Job, now: datetime) -> dict[str, Any]:
    """The query answer (also the body of a callback)."""
    state = snapshot(job, now)
    word = {"queued": "Queueing", "preprocessing": "Preparing", "generating": "Processing", "succeeded": "Success"}
    if state.phase == "failed":
        code = 1027 if job.outcome == "moderation" else 1013
        message = "output new_sensitive" if job.outcome == "moderation" else "internal error"
        return {
            "task_id": job.public_id,
            "status": "Fail",
            "file_id": "",
            "base_resp": {"status_code": code, "status_msg": message},
        }
    data: dict[str, Any] = {"task_id": job.public_id, "status": word[state.phase], "file_id": ""}
    if state.phase == "succeeded":
        data.update(file_id=_file_id(job), video_width=job.width, video_height=job.height)
    return {**data, "base_resp": {"status_code": 0, "status_msg": "success"}}


def _signature(file_id: str, expires: int) -> str:
    key = (settings.EMULATOR_API_KEY or "").encode()
    return hmac.new(key, f"minimax:{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def retrieve_file(request: HttpRequest) -> HttpResponse:
    file_id = request.GET.get("file_id", "")
    job = Job.objects.filter(protocol=PROTOCOL, public_id=str(int(file_id) - 1)).first() if file_id.isdigit() else None
    if job is None or snapshot(job, timezone.now()).phase != "succeeded":
        raise app_error(2013, "invalid params, file_id not found")
    expires = int(time.time()) + 9 * 3600
    path = reverse("emulator:minimax-cdn", kwargs={"file_id": file_id})
    url = request.build_absolute_uri(f"{path}?Expires={expires}&Signature={_signature(file_id, expires)}")
    body = media.video_body(job.width, job.height, job.video_bytes)
    record = {
        "file_id": int(file_id),
        "bytes": body.size,
        "created_at": int(job.finished_at.timestamp()),
        "filename": "output_aigc.mp4",
        "purpose": "video_generation",
        "download_url": url,
    }
    return ok({"file": record})


@csrf_exempt
def cdn(request: HttpRequest, file_id: str) -> HttpResponseBase:
    accounting.bump(PROTOCOL, "media")
    expires = request.GET.get("Expires", "")
    valid = (
        expires.isdigit()
        and int(expires) > time.time()
        and hmac.compare_digest(request.GET.get("Signature", ""), _signature(file_id, int(expires)))
    )
    job = Job.objects.filter(protocol=PROTOCOL, public_id=str(int(file_id) - 1)).first() if file_id.isdigit() else None
    if not valid or job is None:
        return HttpResponse("<Error><Code>AccessDenied</Code></Error>", status=403, content_type="application/xml")
    state = snapshot(job, timezone.now())
    if state.phase != "succeeded" or state.expired:
        return HttpResponse("<Error><Code>NoSuchKey</Code></Error>", status=404, content_type="application/xml")
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request, protocol=PROTOCOL, body=body, content_type="video/mp4", etag=f'"{file_id}"', modified=job.finished_at
    )


create_view = endpoint(PROTOCOL, {"POST": ("create", create)})
query_view = endpoint(PROTOCOL, {"GET": ("retrieve", query)})
file_view = endpoint(PROTOCOL, {"GET": ("result", retrieve_file)})
