"""Kling's own API (PROVIDERS-LIVING.md section 6): text2video and image2video tasks.

    POST /v1/videos/{family}          -> {"code": 0, "data": {"task_id", "task_status": "submitted", ...}}
    GET  /v1/videos/{family}/{id}     -> the task (`id` may also be the external_task_id)
    GET  /v1/videos/{family}          -> {"data": [tasks]}: pageNum 1-1000, pageSize 1-500, newest first

Every call carries a Bearer JWT (HS256, `iss` = access key, `exp`, `nbf`) signed with the secret
key; here the secret is EMULATOR_API_KEY (checked in videos.emulator.kling_auth). Answers share one envelope; errors are the HTTP status
with a non-zero `code` (1004 expired token, 1201 bad parameter, 1303 concurrency over the
resource pack: what EMULATOR_MAX_CONCURRENT_JOBS answers here). Images are raw base64 or URLs.
Results are public CDN URLs (`/emulator/kling/_cdn/...`).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, callbacks, content, jobs, media
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError
from videos.emulator.kling_auth import kling_error
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job

PROTOCOL = "kling"
MODELS = ("kling-v3", "kling-v2-5-turbo", "kling-v2-1")
FAMILIES = ("text2video", "image2video")
RATIOS = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)}
FIELDS = {
    "model_name",
    "prompt",
    "negative_prompt",
    "cfg_scale",
    "mode",
    "duration",
    "sound",
    "aspect_ratio",
    "callback_url",
    "external_task_id",
    "camera_control",
}


def envelope(data: Any) -> JsonResponse:
    return JsonResponse({"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data})


def _image(value: object, name: str) -> dict[str, Any]:
    if not isinstance(value, str) or not value:
        raise kling_error(400, 1201, f"{name} is invalid")
    if value.startswith(("http://", "https://")):
        return {"url": value}
    if value.startswith("data:"):
        raise kling_error(400, 1201, f"{name}: base64 must not carry a data: prefix")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise kling_error(400, 1201, f"{name} is not valid base64") from None
    return {"bytes": len(raw)}


def create(request: HttpRequest, family: str) -> HttpResponse:
    if family not in FAMILIES:
        raise kling_error(404, 1202, "Invalid request method or path")
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise kling_error(400, 1200, "Invalid request: body is not JSON") from None
    if not isinstance(body, dict):
        raise kling_error(400, 1200, "Invalid request")
    allowed = FIELDS | ({"image", "image_tail"} if family == "image2video" else set())
    if unknown := sorted(set(body) - allowed):
        raise kling_error(400, 1201, f"Invalid parameter: {unknown[0]}")
    if body.get("model_name", "kling-v2-1") not in MODELS:
        raise kling_error(404, 1203, "The requested model is not found")
    if body.get("duration", "5") not in ("5", "10"):
        raise kling_error(400, 1201, 'duration must be "5" or "10"')
    if body.get("mode", "std") not in ("std", "pro") or body.get("sound", "off") not in ("on", "off"):
        raise kling_error(400, 1201, "mode or sound is invalid")
    inputs: dict[str, Any] = {k: body[k] for k in ("model_name", "mode", "sound", "negative_prompt") if k in body}
    if family == "image2video":
        if "image" not in body and "image_tail" not in body:
            raise kling_error(400, 1201, "image or image_tail is required")
        for name in ("image", "image_tail"):
            if name in body:
                inputs[name] = _image(body[name], name)
        width, height = RATIOS["16:9"]
    else:
        if not str(body.get("prompt") or "").strip():
            raise kling_error(400, 1201, "prompt is required")
        ratio = body.get("aspect_ratio", "16:9")
        if ratio not in RATIOS:
            raise kling_error(400, 1201, "aspect_ratio is invalid")
        width, height = RATIOS[ratio]
    reference = body.get("external_task_id")
    if reference and Job.objects.filter(protocol=PROTOCOL, inputs__external_task_id=reference).exists():
        raise kling_error(400, 1201, "external_task_id must be unique")
    try:
        job = jobs.create_job(
            protocol=PROTOCOL,
            model=str(body.get("model_name", "kling-v2-1")),
            prompt=str(body.get("prompt") or ""),
            width=width,
            height=height,
            seconds=int(body.get("duration", "5")),
            inputs={**inputs, "family": family, "external_task_id": reference or ""},
        )
    except ApiError as error:
        if error.status == 429:  # the concurrency limit: Kling's 1303
            raise ApiError(429, "parallel task over resource pack limit", code="1303", headers=error.headers) from None
        raise
    callbacks.remember(request, job, body.get("callback_url"), task_json)
    return envelope(task_json(request, job, job.created_at))


def task_json(request: HttpRequest, job: Job, now=None) -> dict[str, Any]:
    state = snapshot(job, now or timezone.now())
    word = {
        "queued": "submitted",
        "preprocessing": "submitted",
        "generating": "processing",
        "succeeded": "succeed",
    }.get(state.phase, state.phase)
    data: dict[str, Any] = {
        "task_id": job.public_id,
        "task_status": word,
        "task_status_msg": "",
        "task_info": {"external_task_id": job.inputs.get("external_task_id") or None},
        "created_at": int(job.created_at.timestamp() * 1000),
        "updated_at": int((state.finished_at or job.created_at).timestamp() * 1000),
    }
    if word == "succeed":
        data["final_unit_deduction"] = "1"
        url = request.build_absolute_uri(reverse("emulator:kling-cdn", kwargs={"task_id": job.public_id}))
        data["task_result"] = {"videos": [{"id": secrets.token_hex(4), "url": url, "duration": f"{job.seconds}.0"}]}
    elif word == "failed":
        data["task_status_msg"] = (
            "Failure to pass the risk control system"
            if job.outcome == "moderation"
            else "Internal error, please try again"
        )
    return data


def retrieve(request: HttpRequest, family: str, task_id: str) -> HttpResponse:
    job = (
        Job.objects.filter(protocol=PROTOCOL, inputs__family=family, public_id=task_id).first()
        or Job.objects.filter(protocol=PROTOCOL, inputs__family=family, inputs__external_task_id=task_id).first()
    )
    if job is None:
        raise kling_error(404, 1203, "The requested task is not found")
    return envelope(task_json(request, job))


def list_tasks(request: HttpRequest, family: str) -> HttpResponse:
    try:
        page = int(request.GET.get("pageNum", "1"))
        size = int(request.GET.get("pageSize", "30"))
    except ValueError:
        raise kling_error(400, 1201, "pageNum and pageSize must be numbers") from None
    if not (1 <= page <= 1000 and 1 <= size <= 500):
        raise kling_error(400, 1201, "pageNum 1-1000, pageSize 1-500")
    rows = Job.objects.filter(protocol=PROTOCOL, inputs__family=family).order_by("-created_at", "-id")
    now = timezone.now()
    return envelope([task_json(request, job, now) for job in rows[(page - 1) * size : page * size]])


@csrf_exempt
def cdn(request: HttpRequest, task_id: str) -> HttpResponseBase:
    accounting.bump(PROTOCOL, "media")
    job = Job.objects.filter(protocol=PROTOCOL, public_id=task_id).first()
    if job is None or snapshot(job, timezone.now()).phase != "succeeded" or snapshot(job, timezone.now()).expired:
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type="video/mp4",
        etag=f'"{job.public_id}"',
        modified=job.finished_at,
    )


tasks_view = endpoint(PROTOCOL, {"POST": ("create", create), "GET": ("list", list_tasks)})
task_view = endpoint(PROTOCOL, {"GET": ("retrieve", retrieve)})
