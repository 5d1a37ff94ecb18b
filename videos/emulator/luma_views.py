"""Luma's Dream Machine API v1 (PROVIDERS-LIVING.md section 8.1) for `ray-2` and `ray-flash-2`.

    POST   /dream-machine/v1/generations/video   GenerationRequest -> 201 Generation (`queued`)
    GET    /dream-machine/v1/generations/{id}    -> queued | dreaming | completed | failed (+ failure_reason)
    GET    /dream-machine/v1/generations         ?limit=&offset= -> {generations, has_more, count, limit, offset}, newest first
    DELETE /dream-machine/v1/generations/{id}    -> 204

Bodies are checked as Luma's document describes them (unknown fields, models, aspect ratios,
resolutions, durations, keyframes); keyframe images may be https URLs or data URLs (the
platform sends data URLs, so it never has to be reachable from the internet). Errors are
`{"detail": "..."}` with the HTTP status. A completed generation's `assets` are public files on
this emulator's "CDN" (`/emulator/luma/_cdn/...`, standing in for storage.cdn-luma.com): the
video and a JPEG thumbnail. Luma documents no retention; here a generation and its files are
gone a day after creation (404).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, callbacks, content, faults, jobs, media
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job

PROTOCOL = "luma"
MODELS = ("ray-2", "ray-flash-2", "ray-1-6")
ASPECTS = {
    "1:1": (1, 1),
    "16:9": (16, 9),
    "9:16": (9, 16),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "21:9": (21, 9),
    "9:21": (9, 21),
}
RESOLUTIONS = {"540p": 540, "720p": 720, "1080p": 1080, "4k": 2160}
DURATIONS = {"5s": 5, "9s": 9}
FIELDS = {
    "generation_type",
    "prompt",
    "aspect_ratio",
    "loop",
    "keyframes",
    "callback_url",
    "model",
    "resolution",
    "duration",
    "concepts",
}
MAX_LIMIT = 100


def invalid(message: str) -> ApiError:
    return ApiError(400, message)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _image_url(value: object, where: str) -> str:
    """An https URL or a base64 data URL of an image; what the request echo keeps of it."""
    if not isinstance(value, str) or not value:
        raise invalid(f"{where}.url is required")
    if value.startswith("https://"):
        return value
    header, _, encoded = value.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        raise invalid(f"{where}.url must be an https URL or a data URL of an image")
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{where}.url is not valid base64") from None
    return header + ",…"  # the echo stays small: the bytes are not repeated in every answer


def _keyframes(value: object) -> dict[str, Any]:
    if not isinstance(value, dict) or not value or set(value) - {"frame0", "frame1"}:
        raise invalid("keyframes takes frame0 and/or frame1")
    echoed: dict[str, Any] = {}
    for name, frame in value.items():
        if not isinstance(frame, dict):
            raise invalid(f"keyframes.{name} must be an object")
        kind = frame.get("type")
        if kind == "image" and set(frame) <= {"type", "url"}:
            echoed[name] = {"type": "image", "url": _image_url(frame.get("url"), f"keyframes.{name}")}
        elif kind == "generation" and set(frame) <= {"type", "id"}:
            source = Job.objects.filter(protocol=PROTOCOL, public_id=str(frame.get("id") or "")).first()
            if source is None or snapshot(source, timezone.now()).phase != "succeeded":
                raise invalid(f"keyframes.{name}: generation {frame.get('id')} is not a completed generation")
            echoed[name] = {"type": "generation", "id": source.public_id}
        else:
            raise invalid(f"keyframes.{name}.type must be 'image' (with url) or 'generation' (with id)")
    return echoed


def _shape(aspect: str, resolution: str) -> tuple[int, int]:
    """The frame for an aspect ratio at a resolution (its short side), in even pixels."""
    short = RESOLUTIONS[resolution]
    w, h = ASPECTS[aspect]
    if w >= h:
        return 2 * round(short * w / h / 2), short
    return short, 2 * round(short * h / w / 2)


def create(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise invalid("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a GenerationRequest object")
    if unknown := sorted(set(body) - FIELDS):
        raise invalid(f"Unknown field: {unknown[0]}")
    model = body.get("model")
    if model not in MODELS:
        raise invalid(f"model must be one of {', '.join(MODELS)}")
    if body.get("generation_type", "video") != "video":
        raise invalid("generation_type must be 'video' here")
    aspect = body.get("aspect_ratio", "16:9")
    resolution = body.get("resolution", "720p")
    duration = body.get("duration", "5s")
    if aspect not in ASPECTS:
        raise invalid(f"aspect_ratio must be one of {', '.join(ASPECTS)}")
    if resolution not in RESOLUTIONS:
        raise invalid(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    if duration not in DURATIONS:
        raise invalid(f"duration must be one of {', '.join(DURATIONS)}")
    if "loop" in body and not isinstance(body["loop"], bool):
        raise invalid("loop must be a boolean")
    prompt = body.get("prompt", "")
    if not isinstance(prompt, str):
        raise invalid("prompt must be a string")
    keyframes = _keyframes(body["keyframes"]) if "keyframes" in body else {}
    if not prompt.strip() and not keyframes:
        raise invalid("A prompt or a keyframe is required")
    callback = body.get("callback_url")
    if callback is not None and (not isinstance(callback, str) or not callback.startswith(("http://", "https://"))):
        raise invalid("callback_url must be a URL")
    concepts = body.get("concepts", [])
    if not isinstance(concepts, list) or any(not isinstance(c, dict) or set(c) != {"key"} for c in concepts):
        raise invalid("concepts must be a list of {key}")
    echo: dict[str, Any] = {
        "generation_type": "video",
        "model": model,
        "prompt": prompt,
        "aspect_ratio": aspect,
        "resolution": resolution,
        "duration": duration,
    }
    for name in ("loop", "callback_url", "concepts"):
        if name in body:
            echo[name] = body[name]
    if keyframes:
        echo["keyframes"] = keyframes
    width, height = _shape(aspect, resolution)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=model,
        prompt=prompt,
        width=width,
        height=height,
        seconds=DURATIONS[duration],
        inputs={"request": echo, "frames": sorted(keyframes)},
    )
    callbacks.remember(request, job, body.get("callback_url"), generation_json)
    return JsonResponse(generation_json(request, job, job.created_at), status=201)


def generation_json(request: HttpRequest, job: Job, now: datetime | None = None) -> dict[str, Any]:
    state = snapshot(job, now or timezone.now())
    word = {"queued": "queued", "preprocessing": "queued", "generating": "dreaming", "succeeded": "completed"}.get(
        state.phase, state.phase
    )
    body: dict[str, Any] = {
        "id": job.public_id,
        "generation_type": "video",
        "state": word,
        "created_at": _iso(job.created_at),
        "model": job.model,
        "request": (job.inputs or {}).get("request", {}),
    }
    if word == "failed":
        body["failure_reason"] = (
            "400: prompt not allowed because advanced moderation failed"
            if job.outcome == "moderation"
            else "Internal server error, please try again"
        )
    elif word == "completed":
        video = reverse("emulator:luma-cdn-video", kwargs={"generation_id": job.public_id})
        image = reverse("emulator:luma-cdn-image", kwargs={"generation_id": job.public_id})
        body["assets"] = {"video": request.build_absolute_uri(video), "image": request.build_absolute_uri(image)}
    return body


def _job(generation_id: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=generation_id).first()
    if job is None or snapshot(job, timezone.now()).expired:
        raise ApiError(404, "Generation not found")
    return job


def _number(request: HttpRequest, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None
    if not minimum <= value <= maximum:
        raise invalid(f"{name} must be between {minimum} and {maximum}")
    return value


def list_generations(request: HttpRequest) -> HttpResponse:
    limit = _number(request, "limit", MAX_LIMIT, 1, MAX_LIMIT)
    offset = _number(request, "offset", 0, 0, 10**9)
    now = timezone.now()
    rows = Job.objects.filter(protocol=PROTOCOL).order_by("-created_at", "-id")
    kept = [job for job in rows if not snapshot(job, now).expired]
    page = kept[offset : offset + limit]
    return JsonResponse(
        {
            "generations": [generation_json(request, job, now) for job in page],
            "has_more": offset + len(page) < len(kept),
            "count": len(page),
            "limit": limit,
            "offset": offset,
        }
    )


def retrieve(request: HttpRequest, generation_id: str) -> HttpResponse:
    job = _job(generation_id)
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)
        if snapshot(job, timezone.now()).expired:
            raise ApiError(404, "Generation not found")
    return JsonResponse(generation_json(request, job))


def delete(request: HttpRequest, generation_id: str) -> HttpResponse:
    _job(generation_id).delete()
    return HttpResponse(status=204)


def _finished(generation_id: str) -> Job | None:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=generation_id).first()
    if job is None:
        return None
    state = snapshot(job, timezone.now())
    return job if state.phase == "succeeded" and not state.expired else None


@csrf_exempt
def cdn_video(request: HttpRequest, generation_id: str) -> HttpResponseBase:
    """The video, public on the CDN (no key)."""
    accounting.bump(PROTOCOL, "media")
    job = _finished(generation_id)
    if job is None:
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


@csrf_exempt
def cdn_image(request: HttpRequest, generation_id: str) -> HttpResponseBase:
    """The generation's thumbnail, a JPEG the size of the video (at most 1280 on the long side)."""
    accounting.bump(PROTOCOL, "media")
    job = _finished(generation_id)
    if job is None:
        return HttpResponse("<Error><Code>NoSuchKey</Code></Error>", status=404, content_type="application/xml")
    scale = min(1.0, 1280 / max(job.width, job.height))
    picture = media.thumbnail(math.ceil(job.width * scale), math.ceil(job.height * scale), "JPEG")
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=picture,
        content_type="image/jpeg",
        etag=f'"{job.public_id}-image"',
        modified=job.finished_at,
    )


create_view = endpoint(PROTOCOL, {"POST": ("create", create)})
generations_view = endpoint(PROTOCOL, {"GET": ("list", list_generations)})
generation_view = endpoint(PROTOCOL, {"GET": ("retrieve", retrieve), "DELETE": ("delete", delete)})
