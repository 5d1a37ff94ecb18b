"""Ark's content-generation tasks (Seedance; PROVIDERS-LIVING.md section 2), under `/api/v3`.

    POST   /contents/generations/tasks          -> {"id": "cgt-..."}
    GET    /contents/generations/tasks          -> {"total", "items"}: page_num, page_size,
                                                   filter.status, filter.task_ids (repeated), filter.model
    GET    /contents/generations/tasks/{id}     -> the task
    DELETE /contents/generations/tasks/{id}     -> cancels a queued task, deletes a finished one

A succeeded task's `content.video_url` is a pre-signed address on this emulator's "CDN"
(`/emulator/ark/_cdn/...`, no key: the signature is the credential), gone 24 hours after
creation (EMULATOR_ARK_RETENTION_SECONDS). A moderation outcome fails the task with
`OutputVideoSensitiveContentDetected`, an internal one with `InternalServiceError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, callbacks, content, faults, jobs, media
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError
from videos.emulator.lifecycle import Snapshot, snapshot
from videos.emulator.models import Job

PROTOCOL = "ark"
MODELS = ("dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128", "doubao-seedance-2-0-260128")
SIZES = {
    ("16:9", "480p"): (864, 480),
    ("9:16", "480p"): (480, 864),
    ("1:1", "480p"): (640, 640),
    ("16:9", "720p"): (1280, 720),
    ("9:16", "720p"): (720, 1280),
    ("1:1", "720p"): (960, 960),
    ("16:9", "1080p"): (1920, 1080),
    ("9:16", "1080p"): (1080, 1920),
    ("1:1", "1080p"): (1440, 1440),
}
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "adaptive")
ROLES = {"first_frame", "last_frame", "reference_image"}
# Every field the SDK sends (unset ones as explicit nulls).
BODY_FIELDS = {
    "model",
    "content",
    "safety_identifier",
    "callback_url",
    "return_last_frame",
    "service_tier",
    "execution_expires_after",
    "priority",
    "generate_audio",
    "draft",
    "camera_fixed",
    "watermark",
    "seed",
    "resolution",
    "ratio",
    "duration",
    "frames",
    "tools",
    "output_format",
    "omni_reference_task_type",
}
FAILURES = {
    "moderation": ("OutputVideoSensitiveContentDetected", "The output video may contain sensitive information."),
    "internal": ("InternalServiceError", "The service encountered an unexpected internal error."),
}


def invalid(param: str, message: str | None = None) -> ApiError:
    return ApiError(
        400,
        message or f"The parameter `{param}` specified in the request is not valid",
        code="InvalidParameter",
        param=param,
        type="BadRequest",
    )


def _image(item: dict[str, Any], index: int) -> dict[str, str]:
    role = item.get("role") or "first_frame"
    if role not in ROLES:
        raise invalid(f"content[{index}].role")
    image = item.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str) or not url:
        raise invalid(f"content[{index}].image_url")
    if url.startswith("data:"):
        header, _, encoded = url.partition(",")
        if ";base64" not in header or not header[5:].startswith("image/"):
            raise invalid(f"content[{index}].image_url", "The image data URL must be data:image/<type>;base64,...")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(f"content[{index}].image_url", "The image data URL is not valid base64.") from None
        return {"role": role, "type": header[5:].split(";")[0], "sha256": hashlib.sha256(raw).hexdigest()}
    if not url.startswith(("https://", "http://")):
        raise invalid(f"content[{index}].image_url")
    return {"role": role, "url": url}


def _parse(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise invalid("body", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid("body", "The request body must be a JSON object.")
    unknown = set(body) - BODY_FIELDS
    if unknown:
        raise invalid(sorted(unknown)[0], f"The parameter `{sorted(unknown)[0]}` is not supported.")
    model = body.get("model")
    if model not in MODELS:
        raise ApiError(
            404,
            f"The model or endpoint {model} does not exist or you do not have access to it.",
            code="InvalidEndpointOrModel.NotFound",
            param="model",
            type="NotFound",
        )
    items = body.get("content")
    if not isinstance(items, list) or not items:
        raise invalid("content")
    prompt = ""
    images = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"content[{index}]")
        if item.get("type") == "text" and isinstance(item.get("text"), str):
            prompt += item["text"]
        elif item.get("type") == "image_url":
            images.append(_image(item, index))
        else:
            raise invalid(f"content[{index}].type")
    if not prompt.strip() and not images:
        raise invalid("content", "A text prompt or an image is required.")
    roles = [image["role"] for image in images]
    if roles.count("first_frame") > 1 or roles.count("last_frame") > 1 or roles.count("reference_image") > 4:
        raise invalid("content", "Too many images of one role.")
    ratio = body.get("ratio") if body.get("ratio") is not None else "16:9"
    resolution = body.get("resolution") if body.get("resolution") is not None else "720p"
    if ratio not in RATIOS:
        raise invalid("ratio")
    if resolution not in ("480p", "720p", "1080p"):
        raise invalid("resolution")
    if (ratio, resolution) not in SIZES:  # the emulator renders only these shapes
        raise invalid("ratio", f"The emulator makes no {ratio} video at {resolution}.")
    duration = body.get("duration") if body.get("duration") is not None else 5
    if isinstance(duration, bool) or not isinstance(duration, int) or not (4 <= duration <= 15 or duration == -1):
        raise invalid("duration")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not -1 <= seed <= 2**32 - 1):
        raise invalid("seed")
    audio = body.get("generate_audio")
    if audio is not None and not isinstance(audio, bool):
        raise invalid("generate_audio")
    width, height = SIZES[(ratio, resolution)]
    return {
        "model": model,
        "prompt": prompt,
        "width": width,
        "height": height,
        "seconds": 5 if duration == -1 else duration,
        "inputs": {
            "images": images,
            "ratio": ratio,
            "resolution": resolution,
            "duration": duration,
            "generate_audio": True if audio is None else audio,
            "seed": seed if seed not in (None, -1) else secrets.randbelow(2**31),
            "callback_url": body.get("callback_url"),
        },
    }


def _signature(job: Job) -> str:
    key = (settings.EMULATOR_API_KEY or "").encode()
    return hmac.new(key, f"ark-cdn:{job.public_id}".encode(), hashlib.sha256).hexdigest()[:40]


def _status(job: Job, state: Snapshot) -> str:
    if state.phase in ("queued", "preprocessing"):
        return "queued"
    if state.phase == "generating":
        return "running"
    return state.phase


def task_json(request: HttpRequest, job: Job, now=None) -> dict[str, Any]:
    state = snapshot(job, now or timezone.now())
    inputs = job.inputs or {}
    body: dict[str, Any] = {
        "id": job.public_id,
        "model": job.model,
        "status": _status(job, state),
        "seed": inputs.get("seed"),
        "resolution": inputs.get("resolution"),
        "ratio": inputs.get("ratio"),
        "duration": inputs.get("duration"),
        "framespersecond": 24,
        "generate_audio": inputs.get("generate_audio"),
        "draft": False,
        "service_tier": "default",
        "execution_expires_after": 172800,
        "created_at": int(job.created_at.timestamp()),
        "updated_at": int((state.finished_at or job.created_at).timestamp()),
    }
    if state.phase == "succeeded":
        path = reverse("emulator:ark-cdn", kwargs={"task_id": job.public_id})
        expires = job.retention_seconds
        query = f"X-Tos-Algorithm=TOS4-HMAC-SHA256&X-Tos-Expires={expires}&X-Tos-Signature={_signature(job)}"
        body["content"] = {"video_url": request.build_absolute_uri(f"{path}?{query}")}
        body["usage"] = {"completion_tokens": 108900, "total_tokens": 108900}
    elif state.phase == "failed":
        code, message = FAILURES.get(job.outcome, FAILURES["internal"])
        body["error"] = {"code": code, "message": message}
    return body


def _job(task: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=task).first()
    if job is None:
        raise ApiError(
            404,
            f"The specified task {task} is not found.",
            code="ResourceNotFound",
            param="id",
            type="NotFound",
        )
    return job


def create(request: HttpRequest) -> HttpResponse:
    given = _parse(request)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=given["model"],
        prompt=given["prompt"],
        width=given["width"],
        height=given["height"],
        seconds=given["seconds"],
        inputs=given["inputs"],
    )
    callbacks.remember(request, job, given["inputs"].get("callback_url"), task_json)
    return JsonResponse({"id": job.public_id})


def _page_number(request: HttpRequest, name: str, default: int) -> int:
    text = request.GET.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 500:
        raise invalid(name)
    return int(text)


def list_tasks(request: HttpRequest) -> HttpResponse:
    page = _page_number(request, "page_num", 1)
    size = _page_number(request, "page_size", 10)
    rows = Job.objects.filter(protocol=PROTOCOL, created_at__gte=timezone.now() - timedelta(days=7))
    if ids := request.GET.getlist("filter.task_ids"):
        rows = rows.filter(public_id__in=ids)
    if model := request.GET.get("filter.model"):
        rows = rows.filter(model=model)
    now = timezone.now()
    tasks = [task_json(request, job, now) for job in rows.order_by("-created_at", "-id")]
    if status := request.GET.get("filter.status"):
        tasks = [task for task in tasks if task["status"] == status]
    return JsonResponse({"total": len(tasks), "items": tasks[(page - 1) * size : page * size]})


def retrieve(request: HttpRequest, task: str) -> HttpResponse:
    job = _job(task)
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)  # the object storage deletes the video; the task still says succeeded
    return JsonResponse(task_json(request, job))


def delete(request: HttpRequest, task: str) -> HttpResponse:
    job = _job(task)
    phase = snapshot(job, timezone.now()).phase
    if phase == "generating":
        raise ApiError(
            400,
            "A running task cannot be cancelled or deleted.",
            code="InvalidParameter.TaskStatus",
            param="id",
            type="BadRequest",
        )
    job.delete()
    return JsonResponse({})


@csrf_exempt
def cdn(request: HttpRequest, task_id: str) -> HttpResponseBase:
    """The pre-signed object address: no key, the signature is the credential."""
    accounting.bump(PROTOCOL, "media")
    denied = HttpResponse(
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code></Error>",
        status=403,
        content_type="application/xml",
    )
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    if "Authorization" in request.headers:
        # As object stores answer a pre-signed URL sent with credentials as well.
        return HttpResponse(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidArgument</Code>"
            "<Message>Only one auth mechanism allowed</Message></Error>",
            status=400,
            content_type="application/xml",
        )
    job = Job.objects.filter(protocol=PROTOCOL, public_id=task_id).first()
    if job is None or not hmac.compare_digest(request.GET.get("X-Tos-Signature", ""), _signature(job)):
        return denied
    state = snapshot(job, timezone.now())
    if state.phase != "succeeded" or state.expired:
        return HttpResponse(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code></Error>",
            status=404,
            content_type="application/xml",
        )
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type="video/mp4",
        etag=f'"{job.public_id}-{body.size}"',
        modified=job.finished_at,
    )


tasks = endpoint(PROTOCOL, {"POST": ("create", create), "GET": ("list", list_tasks)})
task = endpoint(PROTOCOL, {"GET": ("retrieve", retrieve), "DELETE": ("delete", delete)})
