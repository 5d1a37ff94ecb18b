"""fal's queue API (PROVIDERS-LIVING.md section 3) for a few video endpoints, each with its own schema.

    POST {endpoint id}                              -> queue object with absolute status/response/cancel URLs
    GET  {owner}/{app}/requests/{id}/status         -> 202 IN_QUEUE / IN_PROGRESS, 200 COMPLETED
    GET  {owner}/{app}/requests/{id}                -> the endpoint's output, or its error
    PUT  {owner}/{app}/requests/{id}/cancel         -> 202 CANCELLATION_REQUESTED, 400 ALREADY_COMPLETED

Inputs are checked against each endpoint's schema below (field names, allowed values, types), so
an adapter that maps a field wrongly gets fal's 422 with `detail[]`. Outputs are public files on
this emulator's "CDN" (`/emulator/fal/_cdn/files/...`, no key, as fal.media serves them). A
moderation outcome answers the result with a 422 `content_policy_violation`; an internal one
finishes COMPLETED with `error` and `error_type`. Files are kept 7 days unless the submission's
`X-Fal-Object-Lifecycle-Preference` asked for another time.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from PIL import Image, UnidentifiedImageError

from videos.emulator import accounting, callbacks, content, faults, jobs, media, signing
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job

PROTOCOL = "fal"
IMAGE = "image"  # a field holding an image: a data URI or a URL
TEXT = str
SHAPES = {("16:9", "480p"): (854, 480), ("9:16", "480p"): (480, 854), ("1:1", "480p"): (480, 480)}
for _ratio, (_w, _h) in {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}.items():
    for _res, _short in (("720p", 720), ("1080p", 1080)):
        SHAPES[(_ratio, _res)] = (_short * _w // min(_w, _h), _short * _h // min(_w, _h))


@dataclass(frozen=True)
class Schema:
    """One endpoint's input: each field's type (a Python type, IMAGE, or a tuple of allowed
    values), the required ones, and the output it makes when the input does not say."""

    fields: dict[str, Any]
    required: frozenset[str] = frozenset({"prompt"})
    resolution: str = "720p"
    durations: tuple[str, ...] = ("5", "10")
    default_duration: str = "5"
    extra: dict[str, Any] = field(default_factory=dict)


_KLING = {"prompt": TEXT, "duration": ("5", "10"), "negative_prompt": TEXT, "generate_audio": bool, "cfg_scale": float}
_WAN = {"prompt": TEXT, "duration": ("5", "10"), "resolution": ("480p", "720p", "1080p"), "negative_prompt": TEXT}
_HAILUO = {"prompt": TEXT, "duration": ("6", "10"), "prompt_optimizer": bool}
_VEO = {
    "prompt": TEXT,
    "duration": ("4s", "6s", "8s"),
    "resolution": ("720p", "1080p"),
    "generate_audio": bool,
    "negative_prompt": TEXT,
    "seed": int,
    "enhance_prompt": bool,
}
ENDPOINTS: dict[str, Schema] = {
    "fal-ai/kling-video/v3/pro/text-to-video": Schema(
        {**_KLING, "aspect_ratio": ("16:9", "9:16", "1:1")}, resolution="1080p"
    ),
    "fal-ai/kling-video/v3/pro/image-to-video": Schema(
        {**_KLING, "start_image_url": IMAGE, "end_image_url": IMAGE},
        required=frozenset({"prompt", "start_image_url"}),
        resolution="1080p",
    ),
    "fal-ai/wan-25-preview/text-to-video": Schema({**_WAN, "aspect_ratio": ("16:9", "9:16", "1:1"), "seed": int}),
    "fal-ai/wan-25-preview/image-to-video": Schema(
        {**_WAN, "image_url": IMAGE, "seed": int}, required=frozenset({"prompt", "image_url"})
    ),
    "fal-ai/minimax/hailuo-02/standard/text-to-video": Schema(_HAILUO, durations=("6", "10"), default_duration="6"),
    "fal-ai/minimax/hailuo-02/standard/image-to-video": Schema(
        {**_HAILUO, "image_url": IMAGE, "end_image_url": IMAGE},
        required=frozenset({"prompt", "image_url"}),
        default_duration="6",
    ),
    "fal-ai/veo3.1": Schema({**_VEO, "aspect_ratio": ("16:9", "9:16")}, default_duration="8s"),
    "fal-ai/veo3.1/image-to-video": Schema(
        {**_VEO, "image_url": IMAGE, "aspect_ratio": ("auto", "16:9", "9:16")},
        required=frozenset({"prompt", "image_url"}),
        default_duration="8s",
    ),
    "fal-ai/veo3.1/first-last-frame-to-video": Schema(
        {**_VEO, "first_frame_url": IMAGE, "last_frame_url": IMAGE, "aspect_ratio": ("auto", "16:9", "9:16")},
        required=frozenset({"prompt", "first_frame_url", "last_frame_url"}),
        default_duration="8s",
    ),
}
DEFAULT_RETENTION = 7 * 24 * 3600


def unprocessable(loc: str, message: str, kind: str, given: object = None) -> ApiError:
    detail: dict[str, Any] = {"loc": ["body", loc], "msg": message, "type": kind}
    if given is not None:
        detail["input"] = given if isinstance(given, (str, int, float, bool)) else str(given)[:200]
    return ApiError(422, message, details=(detail,))


def _image_size(value: object, name: str) -> tuple[int, int] | None:
    if not isinstance(value, str) or not value:
        raise unprocessable(name, "Input should be a valid string", "string_type", value)
    if value.startswith(("https://", "http://")):
        return None  # fetched by the app in the real service; not here
    header, _, encoded = value.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        raise unprocessable(name, "Could not download the image", "image_load_error", value[:60])
    try:
        raw = base64.b64decode(encoded, validate=True)
        with Image.open(io.BytesIO(raw)) as picture:
            return picture.size
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        raise unprocessable(name, "Could not load the image", "image_load_error", value[:60]) from None


def _check(schema: Schema, body: dict[str, Any]) -> dict[str, Any]:
    for name in body:
        if name not in schema.fields:
            raise unprocessable(name, "Extra inputs are not permitted", "extra_forbidden", body[name])
    for name in sorted(schema.required):
        if name not in body:
            raise unprocessable(name, "Field required", "missing")
    sizes = {}
    for name, value in body.items():
        kind = schema.fields[name]
        if kind is IMAGE:
            sizes[name] = _image_size(value, name)
        elif isinstance(kind, tuple):
            if value not in kind:
                allowed = ", ".join(f"'{choice}'" for choice in kind)
                raise unprocessable(name, f"Input should be {allowed}", "literal_error", value)
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise unprocessable(name, "Input should be a valid number", "float_type", value)
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise unprocessable(name, "Input should be a valid integer", "int_type", value)
        elif not isinstance(value, kind):
            raise unprocessable(name, f"Input should be a valid {kind.__name__}", f"{kind.__name__}_type", value)
    if not str(body.get("prompt", "")).strip():
        raise unprocessable("prompt", "String should have at least 1 character", "string_too_short", "")
    return sizes


def _retention(request: HttpRequest) -> int:
    raw = request.headers.get("X-Fal-Object-Lifecycle-Preference")
    if not raw:
        return DEFAULT_RETENTION
    try:
        seconds = json.loads(raw).get("expiration_duration_seconds")
    except (ValueError, AttributeError):
        raise ApiError(400, "X-Fal-Object-Lifecycle-Preference must be a JSON object") from None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1:
        raise ApiError(400, "expiration_duration_seconds must be a positive integer")
    return seconds


def _urls(request: HttpRequest, job: Job) -> dict[str, str]:
    owner, app = job.model.split("/")[:2]
    base = reverse("emulator:fal-result", kwargs={"owner": owner, "app": app, "request_id": job.public_id})
    return {
        "response_url": request.build_absolute_uri(base),
        "status_url": request.build_absolute_uri(f"{base}/status"),
        "cancel_url": request.build_absolute_uri(f"{base}/cancel"),
    }


def submit(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    schema = ENDPOINTS.get(endpoint_id)
    if schema is None:
        raise ApiError(404, f"Application '{endpoint_id}' not found")
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise unprocessable("body", "JSON decode error", "json_invalid") from None
    if not isinstance(body, dict):
        raise unprocessable("body", "Input should be a valid dictionary", "dict_type")
    sizes = _check(schema, body)
    duration = str(body.get("duration", schema.default_duration))
    ratio = body.get("aspect_ratio", "16:9")
    resolution = body.get("resolution", schema.resolution)
    first = next((size for size in sizes.values() if size), None)
    width, height = first or SHAPES.get((ratio if ratio != "auto" else "16:9", resolution), (1280, 720))
    retention = _retention(request)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=endpoint_id,
        prompt=str(body["prompt"]),
        width=width,
        height=height,
        seconds=int(duration.rstrip("s")),
        inputs={"body": {k: (v[:40] + "…" if isinstance(v, str) and len(v) > 60 else v) for k, v in body.items()}},
    )
    if job.retention_seconds != retention:
        Job.objects.filter(pk=job.pk).update(retention_seconds=retention)
    callbacks.remember(request, job, request.GET.get("fal_webhook"), webhook_body)
    return JsonResponse({"status": "IN_QUEUE", "request_id": job.public_id, "queue_position": 0, **_urls(request, job)})


def _job(owner: str, app: str, request_id: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=request_id, model__startswith=f"{owner}/{app}").first()
    if job is None:
        raise ApiError(404, f"Request {request_id} not found", code="not_found")
    return job


def status(request: HttpRequest, owner: str, app: str, request_id: str) -> HttpResponse:
    job = _job(owner, app, request_id)
    state = snapshot(job, timezone.now())
    urls = _urls(request, job)
    if state.phase in ("queued", "preprocessing"):
        return JsonResponse({"status": "IN_QUEUE", "request_id": request_id, "queue_position": 0, **urls}, status=202)
    if state.phase == "generating":
        return JsonResponse({"status": "IN_PROGRESS", "request_id": request_id, "logs": None, **urls}, status=202)
    body: dict[str, Any] = {"status": "COMPLETED", "request_id": request_id, "logs": None, **urls}
    body["metrics"] = {"inference_time": round((job.finished_at - job.started_at).total_seconds(), 3)}
    if job.outcome == "internal":
        body.update(error="Internal error", error_type="internal_error")
    elif job.outcome == "cancelled":
        body.update(error="Request was cancelled", error_type="client_cancelled")
    return JsonResponse(body)


def result(request: HttpRequest, owner: str, app: str, request_id: str) -> HttpResponse:
    job = _job(owner, app, request_id)
    if faults.take(PROTOCOL, "result", ["expired"]):
        jobs.mark_expired(job)  # the output file is gone from the CDN; the result still names it
    state = snapshot(job, timezone.now())
    if not state.done:
        raise ApiError(400, "Request is still in progress", code="request_in_progress")
    if job.outcome == "moderation":
        raise unprocessable(
            "prompt",
            "The content could not be processed because it contained material flagged by a content checker.",
            "content_policy_violation",
        )
    if job.outcome != "succeed":
        raise ApiError(500, "Internal error", code="internal_error")
    url = request.build_absolute_uri(reverse("emulator:fal-cdn", kwargs={"request_id": job.public_id}))
    body = media.video_body(job.width, job.height, job.video_bytes)
    video = {"url": url, "content_type": "video/mp4", "file_name": "output.mp4", "file_size": body.size}
    return JsonResponse({"video": video, "seed": 42})


def webhook_body(origin: Any, job: Job, now: object) -> dict[str, Any]:
    """What fal POSTs to `?fal_webhook=` when a request ends: its output, or why it failed."""
    ids = {"request_id": job.public_id, "gateway_request_id": job.public_id}
    if job.outcome == "moderation":
        detail = [
            {"loc": ["body", "prompt"], "msg": "flagged by a content checker", "type": "content_policy_violation"}
        ]
        return {**ids, "status": "ERROR", "error": "Invalid status code: 422", "payload": {"detail": detail}}
    if job.outcome != "succeed":
        return {**ids, "status": "ERROR", "error": "Invalid status code: 500", "payload": {"detail": "Internal error"}}
    url = origin.build_absolute_uri(reverse("emulator:fal-cdn", kwargs={"request_id": job.public_id}))
    return {**ids, "status": "OK", "payload": {"video": {"url": url, "content_type": "video/mp4"}}}


def jwks(request: HttpRequest) -> HttpResponse:
    """The public keys fal's webhooks are signed with (rest.fal.ai/.well-known/jwks.json): no key."""
    accounting.bump(PROTOCOL, "jwks")
    if request.method != "GET":
        return HttpResponse(status=405)
    return JsonResponse(signing.fal_jwks())


def cancel(request: HttpRequest, owner: str, app: str, request_id: str) -> HttpResponse:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=request_id, model__startswith=f"{owner}/{app}").first()
    if job is None:
        return JsonResponse({"status": "NOT_FOUND"}, status=404)
    state = snapshot(job, timezone.now())
    if state.done:
        return JsonResponse({"status": "ALREADY_COMPLETED"}, status=400)
    if state.phase in ("queued", "preprocessing"):
        now = timezone.now()
        Job.objects.filter(pk=job.pk).update(outcome="cancelled", started_at=now, finished_at=now)
    # A running request gets the signal; this app, like many, finishes anyway.
    return JsonResponse({"status": "CANCELLATION_REQUESTED"}, status=202)


@csrf_exempt
def cdn(request: HttpRequest, request_id: str) -> HttpResponseBase:
    """A public output file, as fal.media serves them: no key, no signature."""
    accounting.bump(PROTOCOL, "media")
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    job = Job.objects.filter(protocol=PROTOCOL, public_id=request_id).first()
    state = snapshot(job, timezone.now()) if job else None
    if job is None or state is None or state.phase != "succeeded" or state.expired:
        return HttpResponse("Not Found", status=404, content_type="text/plain")
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type="video/mp4",
        etag=f'"{job.public_id}-{body.size}"',
        modified=job.finished_at,
    )


submit_view = endpoint(PROTOCOL, {"POST": ("create", submit)})
status_view = endpoint(PROTOCOL, {"GET": ("retrieve", status)})
result_view = endpoint(PROTOCOL, {"GET": ("result", result)})
cancel_view = endpoint(PROTOCOL, {"PUT": ("delete", cancel)})
