"""OpenRouter's videos API (PROVIDERS-LIVING.md section 9) for Veo 3.1 behind it.

    POST /api/v1/videos                    -> 202 {"id", "polling_url", "status": "pending", "generation_id"}
    GET  /api/v1/videos/{id}               -> pending | in_progress | completed | failed | cancelled | expired
    GET  /api/v1/videos/{id}/content?index -> the video bytes, behind the same Bearer key

Bodies are checked as OpenRouter's document describes them (no field it does not name; an
integer `duration`; `resolution` with `aspect_ratio`, or `size`; `frame_images` with their
`frame_type`; `input_references`) and as Veo takes them (4, 6 or 8 s, 1080p only at 8 s, at
most three reference images on the full model, only at 8 s). A completed job's
`unsigned_urls` point at its content on this same host, which needs the key. Once the job's
results are gone (its retention, or the `expired` fault) it says `expired` and its content is
a 404. Errors are `{"error": {"code": <HTTP status>, "message"}}`; a prompt holding
`[emulator:credits=0]` is refused with the 402 of an account out of credits.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone

from videos.emulator import callbacks, content, faults, ids, jobs, media
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job
from videos.providers.safety import https_or_loopback

PROTOCOL = "openrouter"
# Model id -> how many reference images it takes.
MODELS = {"google/veo-3.1": 3, "google/veo-3.1-fast": 0}
FIELDS = {
    "model",
    "prompt",
    "duration",
    "resolution",
    "aspect_ratio",
    "size",
    "frame_images",
    "input_references",
    "generate_audio",
    "seed",
    "provider",
    "callback_url",
    "creativity",
    "upscale_factor",
}
SHORT = {"720p": 720, "1080p": 1080}
SIZES = {
    "1280x720": ("720p", "16:9"),
    "720x1280": ("720p", "9:16"),
    "1920x1080": ("1080p", "16:9"),
    "1080x1920": ("1080p", "9:16"),
}
# The prompt word that makes the account run out of credits for that create (a 402).
NO_CREDITS = "[emulator:credits=0]"


def bad(message: str) -> ApiError:
    return ApiError(400, message)


def _image(part: object, where: str) -> str:
    """An `image_url` content part's URL: an https address or a base64 data URL."""
    if not isinstance(part, dict) or part.get("type") != "image_url":
        raise bad(f"{where}: expected an image_url content part")
    inner = part.get("image_url")
    url = inner.get("url") if isinstance(inner, dict) else None
    if not isinstance(url, str) or not url:
        raise bad(f"{where}.image_url.url is required")
    if url.startswith("https://"):
        return url
    header, _, encoded = url.partition(",")
    if not header.startswith("data:image/") or not header.endswith(";base64"):
        raise bad(f"{where}.image_url.url must be an https URL or a base64 data URL")
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise bad(f"{where}.image_url.url is not valid base64") from None
    return url


def _frames(value: object) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= 2:
        raise bad("frame_images must hold one or two images")
    kinds = []
    for index, part in enumerate(value):
        _image(part, f"frame_images[{index}]")
        frame_type = part.get("frame_type") if isinstance(part, dict) else None
        if frame_type not in ("first_frame", "last_frame") or frame_type in kinds:
            raise bad(f"frame_images[{index}].frame_type must be first_frame or last_frame, each at most once")
        if set(part) - {"type", "image_url", "frame_type"}:
            raise bad(f"frame_images[{index}] has an unknown field")
        kinds.append(frame_type)
    return sorted(kinds)


def create(request: HttpRequest) -> HttpResponse:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise bad("Invalid JSON body") from None
    if not isinstance(body, dict):
        raise bad("The body must be a JSON object")
    if unknown := sorted(set(body) - FIELDS):
        raise bad(f"Unrecognized key: {unknown[0]}")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad("model is required")
    if model not in MODELS:
        raise ApiError(404, f"Model {model} not found or does not support video generation")
    if "creativity" in body or "upscale_factor" in body:
        raise bad("creativity and upscale_factor are for video upscaling models only")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise bad("prompt is required for this model")
    duration = body.get("duration", 8)
    if isinstance(duration, bool) or not isinstance(duration, int) or duration not in (4, 6, 8):
        raise bad("duration must be 4, 6 or 8 seconds for this model")
    if "size" in body:
        if "resolution" in body or "aspect_ratio" in body:
            raise bad("Give size, or resolution and aspect_ratio, not both")
        if body["size"] not in SIZES:
            raise bad(f"size must be one of {', '.join(SIZES)}")
        resolution, ratio = SIZES[body["size"]]
    else:
        resolution, ratio = body.get("resolution", "720p"), body.get("aspect_ratio", "16:9")
        if resolution not in SHORT or ratio not in ("16:9", "9:16"):
            raise bad("resolution must be 720p or 1080p and aspect_ratio 16:9 or 9:16 for this model")
    if resolution == "1080p" and duration != 8:
        raise bad("1080p videos are 8 seconds long")
    frames = _frames(body["frame_images"]) if "frame_images" in body else []
    references = body.get("input_references", [])
    if not isinstance(references, list) or len(references) > MODELS[model]:
        raise bad(f"{model} takes at most {MODELS[model]} reference images")
    for index, part in enumerate(references):
        _image(part, f"input_references[{index}]")
    if references and duration != 8:
        raise bad("reference images need an 8 second video")
    for name, kind in (("generate_audio", bool), ("seed", int)):
        if name in body and (not isinstance(body[name], kind) or (kind is int and isinstance(body[name], bool))):
            raise bad(f"{name} must be a {'boolean' if kind is bool else 'whole number'}")
    callback = body.get("callback_url")
    # HTTPS only, as OpenRouter takes them; plain http only to a loopback address (the
    # platform on the same machine), which the real service could not reach anyway.
    if callback is not None and (not isinstance(callback, str) or not https_or_loopback(callback)):
        raise bad("callback_url must be an HTTPS URL")
    if NO_CREDITS in prompt:
        raise ApiError(402, "Insufficient credits. Add more using https://openrouter.ai/credits")
    short = SHORT[resolution]
    long = short * 16 // 9
    width, height = (long, short) if ratio == "16:9" else (short, long)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=model,
        prompt=prompt,
        width=width,
        height=height,
        seconds=duration,
        inputs={
            "resolution": resolution,
            "aspect_ratio": ratio,
            "frames": frames,
            "references": len(references),
            **{name: body[name] for name in ("generate_audio", "seed") if name in body},
            "generation_id": ids.openrouter_generation_id(),
        },
    )
    callbacks.remember(request, job, callback, webhook_event)
    return JsonResponse(
        {
            "id": job.public_id,
            "polling_url": _polling_url(job),
            "status": "pending",
            "generation_id": job.inputs["generation_id"],
        },
        status=202,
    )


def _polling_url(job: Job) -> str:
    return f"/api/v1/videos/{job.public_id}"


def _job(job_id: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=job_id).first()
    if job is None:
        raise ApiError(404, "Video generation job not found")
    return job


def job_json(request: HttpRequest, job: Job) -> dict[str, Any]:
    state = snapshot(job, timezone.now())
    data: dict[str, Any] = {"id": job.public_id, "polling_url": _polling_url(job)}
    generation = job.inputs.get("generation_id")
    if job.outcome == "cancelled":
        return {**data, "status": "cancelled"}
    if state.phase in ("queued", "preprocessing"):
        return {**data, "status": "pending"}
    if isinstance(generation, str):
        data["generation_id"] = generation
    if state.phase == "generating":
        return {**data, "status": "in_progress"}
    if state.phase == "failed":
        reason = "Request blocked by the provider's content policy" if job.outcome == "moderation" else None
        return {**data, "status": "failed", "error": reason or "Provider returned error"}
    if state.expired:
        return {**data, "status": "expired"}
    path = reverse("emulator:openrouter-content", kwargs={"job_id": job.public_id})
    return {
        **data,
        "status": "completed",
        "unsigned_urls": [request.build_absolute_uri(f"{path}?index=0")],
        "usage": {"cost": round(0.4 * job.seconds, 2), "is_byok": False},
    }


def webhook_event(origin: Any, job: Job, now: object) -> dict[str, Any]:
    """What OpenRouter POSTs to a job's `callback_url` when it ends."""
    data = job_json(origin, job)
    return {"type": f"video.generation.{data['status']}", "data": data}


def retrieve(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job(job_id)
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)
    return JsonResponse(job_json(request, job))


def video_content(request: HttpRequest, job_id: str) -> HttpResponseBase:
    job = _job(job_id)
    index = request.GET.get("index", "0")
    if not index.isdigit():
        raise bad("index must be a whole number of 0 or more")
    if faults.take(PROTOCOL, "content", ["expired"]):
        jobs.mark_expired(job)
    state = snapshot(job, timezone.now())
    if state.phase != "succeeded" or job.outcome == "cancelled":
        raise bad("The video generation job has not completed")
    if state.expired or int(index) != 0:
        raise ApiError(404, "Video content not found")
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type="video/mp4",
        etag=f'"{job.public_id}-0"',
        modified=job.finished_at,
    )


videos_view = endpoint(PROTOCOL, {"POST": ("create", create)})
video_view = endpoint(PROTOCOL, {"GET": ("retrieve", retrieve)})
content_view = endpoint(PROTOCOL, {"GET": ("content", video_content), "HEAD": ("content", video_content)})
