"""Replicate's predictions API (PROVIDERS-LIVING.md section 4) for a few official video models.

    POST /v1/models/{owner}/{name}/predictions   {input}  -> 201 prediction (`starting`)
    GET  /v1/predictions                        -> {next, previous, results}, newest first, 100 a page
    GET  /v1/predictions/{id}                   -> the prediction
    POST /v1/predictions/{id}/cancel            -> the prediction, `canceled` unless already final

Each model's input is checked against its schema below (unknown fields and wrong values are
Replicate's 422 "Input validation failed"). A succeeded prediction's `output` is a file on this
emulator's delivery host (`/emulator/replicate/_delivery/...`), which, as Replicate's document
says of replicate.delivery, wants the API key; inputs and outputs are removed one hour after
creation (`data_removed`, `output` null). `Prefer: wait` holds the answer up to the given seconds
and answers `starting` when the prediction is not done by then, as Replicate does.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone

from videos.emulator import callbacks, content, faults, jobs, media, signing
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job

PROTOCOL = "replicate"
IMAGE = "image"
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
MODELS: dict[str, dict[str, Any]] = {
    "google/veo-3.1": {
        "fields": {
            "prompt": str,
            "image": IMAGE,
            "last_frame": IMAGE,
            "duration": (4, 6, 8),
            "aspect_ratio": ("16:9", "9:16"),
            "resolution": ("720p", "1080p"),
            "negative_prompt": str,
            "seed": int,
            "generate_audio": bool,
        },
        "default_duration": 8,
        "short_side": {"720p": 720, "1080p": 1080},
    },
    "kwaivgi/kling-v2.1": {
        "fields": {
            "prompt": str,
            "start_image": IMAGE,
            "end_image": IMAGE,
            "duration": (5, 10),
            "aspect_ratio": ("16:9", "9:16", "1:1"),
            "negative_prompt": str,
            "mode": ("standard", "pro"),
        },
        "default_duration": 5,
        "short_side": {},
        "default_short": 1080,
    },
    "minimax/hailuo-02": {
        "fields": {
            "prompt": str,
            "first_frame_image": IMAGE,
            "last_frame_image": IMAGE,
            "duration": (6, 10),
            "resolution": ("512P", "768P", "1080p"),
            "prompt_optimizer": bool,
        },
        "default_duration": 6,
        "short_side": {"768P": 768, "1080p": 1080, "512P": 512},
    },
}
RETENTION = 3600


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def invalid(detail: str) -> ApiError:
    return ApiError(422, detail, code="Input validation failed")


def _check(model: str, given: object) -> dict[str, Any]:
    schema = MODELS[model]["fields"]
    if not isinstance(given, dict):
        raise invalid("- input: Invalid type. Expected: object\n")
    problems = []
    for name, value in given.items():
        kind = schema.get(name)
        if kind is None:
            problems.append(f"- input: Additional property {name} is not allowed")
        elif kind is IMAGE:
            if not isinstance(value, str) or not (value.startswith(("http://", "https://")) or _data_uri_ok(value)):
                problems.append(f"- input.{name}: Does not match format 'uri'")
        elif isinstance(kind, tuple):
            if value not in kind or isinstance(value, bool):
                problems.append(f"- input.{name}: {name} must be one of the following: {', '.join(map(str, kind))}")
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"- input.{name}: Invalid type. Expected: integer, given: {type(value).__name__}")
        elif not isinstance(value, kind):
            problems.append(f"- input.{name}: Invalid type. Expected: {kind.__name__}")
    if not str(given.get("prompt") or "").strip():
        problems.append("- input: prompt is required")
    if problems:
        raise invalid("\n".join(problems) + "\n")
    return given


def _data_uri_ok(value: str) -> bool:
    header, _, encoded = value.partition(",")
    if not header.startswith("data:image/") or ";base64" not in header:
        return False
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _shape(model: str, given: dict[str, Any]) -> tuple[int, int]:
    info = MODELS[model]
    short = info["short_side"].get(given.get("resolution"), info.get("default_short", 720))
    w, h = ASPECTS.get(given.get("aspect_ratio", "16:9"), (16, 9))
    return (short * w // min(w, h), short * h // min(w, h))


def prediction_json(request: HttpRequest, job: Job, now: datetime | None = None) -> dict[str, Any]:
    moment = now or timezone.now()
    state = snapshot(job, moment)
    removed = moment >= job.created_at + timedelta(seconds=job.retention_seconds) or job.force_expired
    get_url = request.build_absolute_uri(reverse("emulator:replicate-prediction", kwargs={"prediction": job.public_id}))
    word = {"queued": "starting", "preprocessing": "starting", "generating": "processing"}.get(state.phase, state.phase)
    if job.outcome == "cancelled":
        word = "canceled"
    body: dict[str, Any] = {
        "id": job.public_id,
        "model": job.model,
        "version": "hidden",
        "input": {} if removed else (job.inputs or {}).get("input", {}),
        "logs": "",
        "output": None,
        "data_removed": bool(removed and state.done),
        "error": None,
        "status": word,
        "source": "api",
        "created_at": _iso(job.created_at),
        "urls": {
            "get": get_url,
            "cancel": f"{get_url}/cancel",
            "web": f"https://replicate.com/p/{job.public_id}",
        },
    }
    if state.phase in ("generating", "succeeded", "failed"):
        body["started_at"] = _iso(job.started_at)
    if state.done:
        body["completed_at"] = _iso(job.finished_at)
        body["metrics"] = {"predict_time": round((job.finished_at - job.started_at).total_seconds(), 3)}
    if word == "succeeded" and not removed:
        path = reverse("emulator:replicate-delivery", kwargs={"prediction": job.public_id})
        body["output"] = request.build_absolute_uri(path)
    elif word == "failed":
        body["error"] = (
            "The input or output was flagged as sensitive. Please try again with different inputs."
            if job.outcome == "moderation"
            else "Prediction failed: CUDA error: an illegal memory access was encountered"
        )
    return body


def _job(prediction: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=prediction).first()
    if job is None:
        raise ApiError(404, "The requested resource could not be found.", code="Not found")
    return job


def create(request: HttpRequest, owner: str, name: str) -> HttpResponse:
    model = f"{owner}/{name}"
    if model not in MODELS:
        raise ApiError(404, "The requested resource could not be found.", code="Not found")
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.", code="Bad request") from None
    if not isinstance(body, dict) or set(body) - {"input", "webhook", "webhook_events_filter", "stream"}:
        raise invalid("- (root): Additional property is not allowed\n")
    given = _check(model, body.get("input"))
    width, height = _shape(model, given)
    duration = given.get("duration", MODELS[model]["default_duration"])
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=model,
        prompt=str(given["prompt"]),
        width=width,
        height=height,
        seconds=int(duration),
        inputs={"input": {k: (v[:40] + "…" if isinstance(v, str) and len(v) > 60 else v) for k, v in given.items()}},
    )
    callbacks.remember(request, job, body.get("webhook"), prediction_json)
    wait = request.headers.get("Prefer", "")
    if wait.startswith("wait"):
        seconds = float(wait.partition("=")[2] or 60)
        end = time.monotonic() + min(60.0, seconds)
        while time.monotonic() < end and not snapshot(job, timezone.now()).done:
            time.sleep(0.05)
        answer = prediction_json(request, job)
        if answer["status"] not in ("succeeded", "failed", "canceled"):
            answer["status"] = "starting"
        return JsonResponse(answer, status=201)
    return JsonResponse(prediction_json(request, job, job.created_at), status=201)


def list_predictions(request: HttpRequest) -> HttpResponse:
    rows = Job.objects.filter(protocol=PROTOCOL).order_by("-created_at", "-id")
    cursor = request.GET.get("cursor")
    if cursor:
        try:
            stamp, _, pk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
            before = datetime.fromisoformat(stamp)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Invalid cursor.", code="Bad request") from None
        rows = rows.filter(created_at__lte=before).exclude(created_at=before, id__gte=int(pk or 0))
    page = list(rows[:101])
    now = timezone.now()
    results = [prediction_json(request, job, now) for job in page[:100]]
    following = None
    if len(page) > 100:
        last = page[99]
        token = base64.urlsafe_b64encode(f"{last.created_at.isoformat()}|{last.pk}".encode()).decode().rstrip("=")
        following = request.build_absolute_uri(f"{reverse('emulator:replicate-predictions')}?cursor={token}")
    return JsonResponse({"next": following, "previous": None, "results": results})


def retrieve(request: HttpRequest, prediction: str) -> HttpResponse:
    job = _job(prediction)
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)
    return JsonResponse(prediction_json(request, job))


def cancel(request: HttpRequest, prediction: str) -> HttpResponse:
    job = _job(prediction)
    if not snapshot(job, timezone.now()).done:
        now = timezone.now()
        Job.objects.filter(pk=job.pk).update(outcome="cancelled", finished_at=now, started_at=min(job.started_at, now))
        job.refresh_from_db()
    return JsonResponse(prediction_json(request, job))


def delivery(request: HttpRequest, prediction: str) -> HttpResponseBase:
    """The output file, on the delivery host: the key is wanted, as Replicate's document says."""
    job = _job(prediction)
    state = snapshot(job, timezone.now())
    removed = timezone.now() >= job.created_at + timedelta(seconds=job.retention_seconds) or job.force_expired
    if state.phase != "succeeded" or job.outcome != "succeed" or removed:
        raise ApiError(404, "The requested resource could not be found.", code="Not found")
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type="video/mp4",
        etag=f'"{job.public_id}-{body.size}"',
        modified=job.finished_at,
    )


def webhook_secret(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"key": signing.replicate_secret()})


predictions_create = endpoint(PROTOCOL, {"POST": ("create", create)})
predictions = endpoint(PROTOCOL, {"GET": ("list", list_predictions)})
prediction = endpoint(PROTOCOL, {"GET": ("retrieve", retrieve)})
prediction_cancel = endpoint(PROTOCOL, {"POST": ("delete", cancel)})
webhook_secret_view = endpoint(PROTOCOL, {"GET": ("webhook_secret", webhook_secret)})
delivery_view = endpoint(PROTOCOL, {"GET": ("content", delivery), "HEAD": ("content", delivery)})
