"""Runway's API (PROVIDERS-LIVING.md section 5) for `gen4.5` and `veo3.1`.

    POST   /v1/text_to_video, /v1/image_to_video   -> {"id", "estimatedCost"}
    GET    /v1/tasks/{id}                          -> PENDING | THROTTLED | RUNNING | SUCCEEDED | FAILED | CANCELLED
    DELETE /v1/tasks/{id}                          -> 204: cancels a task at work, deletes a finished one

Every call needs `X-Runway-Version: 2024-11-06`. Bodies are checked as Runway's document
describes each model's (ratios, durations, which fields). A succeeded task's `output` is a
signed URL on this emulator's "CDN" that expires after EMULATOR_RUNWAY_URL_SECONDS (403
afterwards); a fresh GET of the task signs a new one, as Runway's does. The `status` directive
(`[emulator:status=THROTTLED]`) shows that word while the task waits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, content, faults, jobs, media
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job

PROTOCOL = "runway"
VERSION = "2024-11-06"
MODELS: dict[str, dict[str, Any]] = {
    "gen4.5": {
        "text_ratios": ("1280:720", "720:1280"),
        "image_ratios": ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"),
        "durations": tuple(range(2, 11)),
        "fields": {"model", "promptText", "promptImage", "ratio", "duration", "seed", "contentModeration"},
        "required": {"promptText", "ratio", "duration", "model"},
        "last_frame": False,
    },
    "veo3.1": {
        "text_ratios": ("1280:720", "720:1280", "1080:1920", "1920:1080"),
        "image_ratios": ("1280:720", "720:1280", "1080:1920", "1920:1080"),
        "durations": (4, 6, 8),
        "fields": {"model", "promptText", "promptImage", "ratio", "duration", "audio", "negativePrompt"},
        "required": {"promptText", "ratio", "model"},
        "last_frame": True,
    },
}


def invalid(path: str, message: str, code: str = "invalid_type") -> ApiError:
    return ApiError(400, "Validation of body failed", details=({"code": code, "path": [path], "message": message},))


def _check_version(request: HttpRequest) -> None:
    if request.headers.get("X-Runway-Version") != VERSION:
        raise ApiError(400, f"The X-Runway-Version header is required and must be {VERSION}.")


def _image(value: object, path: str) -> None:
    if not isinstance(value, str) or not value.startswith(("https://", "data:image/", "runway://")):
        raise invalid(path, "Expected an HTTPS URL, a Runway URI or a data URI.")


def _parse(request: HttpRequest, *, image: bool) -> dict[str, Any]:
    _check_version(request)
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise ApiError(400, "Body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid("", "Expected object")
    model = body.get("model")
    if model not in MODELS:
        raise invalid("model", "Invalid discriminator value.", "invalid_union_discriminator")
    info = MODELS[model]
    unknown = sorted(set(body) - info["fields"] - ({"promptImage"} if image else set()))
    if unknown or (not image and "promptImage" in body):
        raise invalid(unknown[0] if unknown else "promptImage", "Unrecognized key(s) in object", "unrecognized_keys")
    required = info["required"] | ({"promptImage"} if image else set())
    if missing := sorted(required - set(body)):
        raise invalid(missing[0], "Required", "invalid_type")
    ratios = info["image_ratios"] if image else info["text_ratios"]
    if body["ratio"] not in ratios:
        raise invalid("ratio", "Invalid enum value.", "invalid_enum_value")
    duration = body.get("duration", 8)
    if isinstance(duration, bool) or duration not in info["durations"]:
        raise invalid("duration", "Invalid duration.", "invalid_enum_value")
    if not isinstance(body.get("promptText", ""), str) or not body.get("promptText", "x").strip():
        raise invalid("promptText", "String must contain at least 1 character(s)", "too_small")
    frames = body.get("promptImage")
    if image:
        if isinstance(frames, list):
            if not info["last_frame"] or not 1 <= len(frames) <= 2:
                raise invalid("promptImage", "Invalid input", "invalid_union")
            for index, item in enumerate(frames):
                if not isinstance(item, dict) or item.get("position") not in ("first", "last"):
                    raise invalid(f"promptImage.{index}.position", "Invalid enum value.", "invalid_enum_value")
                _image(item.get("uri"), f"promptImage.{index}.uri")
            if frames[0]["position"] != "first":
                raise invalid("promptImage", "A first frame is required.", "custom")
        else:
            _image(frames, "promptImage")
    width, _, height = body["ratio"].partition(":")
    return {
        "model": model,
        "prompt": body.get("promptText", ""),
        "width": int(width),
        "height": int(height),
        "seconds": int(duration),
        "inputs": {
            **{key: value for key, value in body.items() if key not in ("promptText", "promptImage")},
            "frames": [item["position"] for item in frames]
            if isinstance(frames, list)
            else (["first"] if frames else []),
        },
    }


def _create(request: HttpRequest, *, image: bool) -> HttpResponse:
    given = _parse(request, image=image)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=given["model"],
        prompt=given["prompt"],
        width=given["width"],
        height=given["height"],
        seconds=given["seconds"],
        inputs=given["inputs"],
    )
    return JsonResponse({"id": job.public_id, "estimatedCost": {"credits": 10 * job.seconds}})


def text_to_video(request: HttpRequest) -> HttpResponse:
    return _create(request, image=False)


def image_to_video(request: HttpRequest) -> HttpResponse:
    return _create(request, image=True)


def _signature(job: Job, expires: int) -> str:
    key = (settings.EMULATOR_API_KEY or "").encode()
    return hmac.new(key, f"runway:{job.public_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def _job(task_id: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=task_id).first()
    if job is None:
        raise ApiError(404, "Task not found.")
    return job


def task_json(request: HttpRequest, job: Job) -> dict[str, Any]:
    state = snapshot(job, timezone.now())
    created = job.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    cost = {"credits": 10 * job.seconds}
    if job.outcome == "cancelled":
        return {"id": job.public_id, "status": "CANCELLED", "createdAt": created, "cost": {"credits": 0}}
    if state.phase in ("queued", "preprocessing"):
        word = "THROTTLED" if job.status_word == "THROTTLED" else "PENDING"
        return {"id": job.public_id, "status": word, "createdAt": created, "estimatedCost": cost}
    if state.phase == "generating":
        return {
            "id": job.public_id,
            "status": "RUNNING",
            "createdAt": created,
            "progress": round(state.progress / 100, 2),
            "estimatedCost": cost,
        }
    if state.phase == "failed":
        code, reason = (
            ("SAFETY.INPUT.TEXT", "The prompt was flagged by content moderation.")
            if job.outcome == "moderation"
            else ("INTERNAL", "An unexpected error occurred.")
        )
        return {
            "id": job.public_id,
            "status": "FAILED",
            "createdAt": created,
            "cost": {"credits": 0},
            "failure": reason,
            "failureCode": code,
        }
    expires = int(time.time()) + int(getattr(settings, "EMULATOR_RUNWAY_URL_SECONDS", 86400))
    path = reverse("emulator:runway-cdn", kwargs={"task_id": job.public_id})
    url = request.build_absolute_uri(f"{path}?_jwt={expires}.{_signature(job, expires)}")
    return {"id": job.public_id, "status": "SUCCEEDED", "createdAt": created, "cost": cost, "output": [url]}


def task(request: HttpRequest, task_id: str) -> HttpResponse:
    _check_version(request)
    job = _job(task_id)
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)
    if snapshot(job, timezone.now()).expired:
        raise ApiError(404, "Task not found.")
    return JsonResponse(task_json(request, job))


def delete(request: HttpRequest, task_id: str) -> HttpResponse:
    _check_version(request)
    job = _job(task_id)
    if not snapshot(job, timezone.now()).done:
        now = timezone.now()
        Job.objects.filter(pk=job.pk).update(outcome="cancelled", finished_at=now, started_at=min(now, job.started_at))
    else:
        job.delete()
    return HttpResponse(status=204)


@csrf_exempt
def cdn(request: HttpRequest, task_id: str) -> HttpResponseBase:
    """A signed output URL: no key; past its expiry, 403 until the task is asked for again."""
    accounting.bump(PROTOCOL, "media")
    token = request.GET.get("_jwt", "")
    expires_text, _, signature = token.partition(".")
    job = Job.objects.filter(protocol=PROTOCOL, public_id=task_id).first()
    if (
        job is None
        or not expires_text.isdigit()
        or not hmac.compare_digest(signature, _signature(job, int(expires_text)))
        or int(expires_text) < time.time()
    ):
        return HttpResponse("<Error><Code>AccessDenied</Code></Error>", status=403, content_type="application/xml")
    state = snapshot(job, timezone.now())
    if state.phase != "succeeded" or state.expired:
        return HttpResponse("<Error><Code>NoSuchKey</Code></Error>", status=404, content_type="application/xml")
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type="video/mp4",
        etag=f'"{job.public_id}"',
        modified=job.finished_at,
    )


text_view = endpoint(PROTOCOL, {"POST": ("create", text_to_video)})
image_view = endpoint(PROTOCOL, {"POST": ("create", image_to_video)})
task_view = endpoint(PROTOCOL, {"GET": ("retrieve", task), "DELETE": ("delete", delete)})
