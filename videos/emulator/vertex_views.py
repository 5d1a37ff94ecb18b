"""Vertex AI's Veo methods (PROVIDERS-LIVING.md section 1.6), under `/v1` and `/v1beta1`.

    POST {v}/[projects/P/locations/L/]publishers/google/models/{m}:predictLongRunning
    POST {v}/[projects/P/locations/L/]publishers/google/models/{m}:fetchPredictOperation  {"operationName"}

Express mode (no project in the path) takes the API key (`x-goog-api-key`); project mode takes
it too, or an OAuth access token from the emulator's token endpoint (videos.emulator.oauth).
A finished operation carries each video inline as base64 (`videos[].bytesBase64Encoded`), or,
when the request named a `storageUri`, a `gcsUri` under it. Moderation finishes as a
safety-filtered response (`raiMediaFilteredCount`, no video), an internal failure as an error.
An instance's `video` (the MP4 inline, or a `gcsUri`) asks for an extension: seven seconds
more, at 720p, one video per request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, content, faults, jobs, media, oauth
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError, render
from videos.emulator.gemini_views import DURATIONS, EXTENSION_SECONDS, SHAPES, _image
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job

PROTOCOL = "vertex"
MODELS = ("veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001")
PARAMETERS = {
    "sampleCount",
    "durationSeconds",
    "aspectRatio",
    "resolution",
    "personGeneration",
    "negativePrompt",
    "enhancePrompt",
    "seed",
    "generateAudio",
    "storageUri",
    "fps",
    "compressionQuality",
    "resizeMode",
    "pubsubTopic",
}


def invalid(message: str) -> ApiError:
    return ApiError(400, message)


def _name(scope: str, model: str, operation: str) -> str:
    return f"{scope}publishers/google/models/{model}/operations/{operation}"


def _parse(body: Any, model: str) -> dict[str, Any]:
    if model not in MODELS:
        raise ApiError(404, f"Publisher Model `publishers/google/models/{model}` is not found.")
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received.")
    if "webhookConfig" in body:
        raise invalid('Invalid JSON payload received. Unknown name "webhookConfig": Cannot find field.')
    unknown = set(body) - {"instances", "parameters", "labels"}
    if unknown:
        raise invalid(f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}": Cannot find field.')
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise invalid("instances must hold exactly one instance.")
    instance = instances[0]
    prompt = instance.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("The prompt is required.")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict) or set(parameters) - PARAMETERS:
        raise invalid(
            f"Unknown parameter: {sorted(set(parameters) - PARAMETERS)[0] if isinstance(parameters, dict) else ''}"
        )
    aspect, resolution = parameters.get("aspectRatio", "16:9"), parameters.get("resolution", "720p")
    if (aspect, resolution) not in SHAPES:
        raise invalid(f"Unsupported aspect ratio {aspect!r} or resolution {resolution!r}.")
    duration = parameters.get("durationSeconds", 8)
    extension = "video" in instance
    if extension:
        if duration != EXTENSION_SECONDS:
            raise invalid(
                f"Video extension adds {EXTENSION_SECONDS} seconds: set durationSeconds to {EXTENSION_SECONDS}."
            )
    elif isinstance(duration, bool) or duration not in DURATIONS:
        raise invalid(f"Unsupported output video duration {duration} seconds, supported durations are [8,6,4].")
    elif resolution in ("1080p", "4k") and duration != 8:
        raise invalid(f"{resolution} videos must be 8 seconds long.")
    samples = parameters.get("sampleCount", 1)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= 4:
        raise invalid("sampleCount must be between 1 and 4.")
    seed = parameters.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**32 - 1):
        raise invalid("seed must be an integer from 0 to 4294967295.")
    inputs: dict[str, Any] = {
        name: parameters[name]
        for name in ("seed", "generateAudio", "negativePrompt", "storageUri")
        if name in parameters
    }
    if extension:
        if resolution != "720p":
            raise invalid("Video extension supports 720p only.")
        if samples != 1:
            raise invalid("Video extension makes one video per request.")
        inputs["video"] = _video(instance["video"])
    for field in ("image", "lastFrame"):
        if field in instance:
            inputs[field] = _image(instance[field], f"instances[0].{field}")
    if "referenceImages" in instance:
        references = instance["referenceImages"]
        if not isinstance(references, list) or not 1 <= len(references) <= 3 or duration != 8:
            raise invalid("referenceImages must hold 1 to 3 images, for an 8 second video.")
        inputs["referenceImages"] = [
            _image(item.get("image") if isinstance(item, dict) else None, f"instances[0].referenceImages[{i}]")
            for i, item in enumerate(references)
        ]
    width, height = SHAPES[(aspect, resolution)]
    return {
        "prompt": prompt,
        "width": width,
        "height": height,
        "seconds": duration,
        "samples": samples,
        "inputs": inputs,
    }


def _video(value: object) -> dict[str, str]:
    """An extension's input: the MP4 itself (`bytesBase64Encoded`) or a `gcsUri`, with its type."""
    where = "instances[0].video"
    if not isinstance(value, dict) or set(value) - {"bytesBase64Encoded", "gcsUri", "mimeType"}:
        raise invalid(f"Invalid value at '{where}': expected a video object.")
    if ("bytesBase64Encoded" in value) == ("gcsUri" in value):
        raise invalid(f"Invalid value at '{where}': give exactly one of bytesBase64Encoded and gcsUri.")
    if value.get("mimeType", "video/mp4") != "video/mp4":
        raise invalid(f"Invalid value at '{where}.mimeType': only video/mp4 can be extended.")
    if "gcsUri" in value:
        uri = value["gcsUri"]
        if not isinstance(uri, str) or not uri.startswith("gs://") or "/" not in uri[5:]:
            raise invalid(f"Invalid value at '{where}.gcsUri': expected gs://bucket/object.")
        return {"gcsUri": uri}
    try:
        raw = base64.b64decode(str(value["bytesBase64Encoded"]), validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"Invalid value at '{where}.bytesBase64Encoded': not valid base64.") from None
    if raw[4:8] != b"ftyp":
        raise invalid("The input video is not an MP4 file.")
    return {"bytes": str(len(raw)), "sha256": hashlib.sha256(raw).hexdigest()}


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        raise invalid("Invalid JSON payload received.") from None


def predict(request: HttpRequest, version: str, scope: str, model: str) -> HttpResponse:
    given = _parse(_body(request), model)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=model,
        prompt=given["prompt"],
        width=given["width"],
        height=given["height"],
        seconds=given["seconds"],
        n_variants=given["samples"],
        inputs={**given["inputs"], "scope": scope},
    )
    return JsonResponse({"name": _name(scope, model, job.public_id)})


def fetch(request: HttpRequest, version: str, scope: str, model: str) -> HttpResponse:
    body = _body(request)
    name = body.get("operationName") if isinstance(body, dict) else None
    if not isinstance(name, str) or "/operations/" not in name:
        raise invalid("operationName is required.")
    job = Job.objects.filter(protocol=PROTOCOL, public_id=name.rsplit("/operations/", 1)[1], model=model).first()
    if (
        job is None
        or _name(job.inputs.get("scope", ""), model, job.public_id) != name
        or job.inputs.get("scope", "") != scope
    ):
        raise ApiError(404, f"Operation {name} is not found.")
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)  # the operation, and the videos in it, are no longer kept
    state = snapshot(job, timezone.now())
    answer: dict[str, Any] = {"name": name}
    if not state.done:
        return JsonResponse(answer)
    answer["done"] = True
    kind = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
    if job.outcome == "internal":
        answer["error"] = {"code": 13, "message": "Internal error encountered."}
    elif job.outcome == "moderation":
        answer["response"] = {
            "@type": kind,
            "raiMediaFilteredCount": job.n_variants,
            "raiMediaFilteredReasons": ["The prompt could not be submitted: it may violate our policies."],
        }
    elif state.expired:
        raise ApiError(404, f"Operation {name} is not found.")
    else:
        prefix = job.inputs.get("storageUri")
        if prefix:
            videos = [
                {"gcsUri": f"{prefix.rstrip('/')}/{job.public_id}/sample_{i}.mp4", "mimeType": "video/mp4"}
                for i in range(job.n_variants)
            ]
        else:
            video = media.video_body(job.width, job.height, job.video_bytes)
            data = b"".join(video.iter_range(0, video.size))
            encoded = base64.b64encode(data).decode("ascii")
            videos = [{"bytesBase64Encoded": encoded, "mimeType": "video/mp4"} for _ in range(job.n_variants)]
        answer["response"] = {"@type": kind, "raiMediaFilteredCount": 0, "videos": videos}
    return JsonResponse(answer)


predict_view = endpoint(PROTOCOL, {"POST": ("create", predict)})
fetch_view = endpoint(PROTOCOL, {"POST": ("retrieve", fetch)})


@csrf_exempt
def storage_object(request: HttpRequest, bucket: str, obj: str) -> HttpResponseBase:
    """Cloud Storage's JSON API download (`GET /storage/v1/b/{bucket}/o/{object}?alt=media`) of a
    video written under a request's `storageUri`. OAuth only: an API key reads no private bucket."""
    accounting.bump(PROTOCOL, "media")
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() != "bearer " or not oauth.valid(authorization[7:].strip()):
        return render(PROTOCOL, ApiError(401, "Anonymous caller does not have storage.objects.get access."))
    if request.GET.get("alt") != "media":
        return render(PROTOCOL, ApiError(400, "Only media downloads are served: add alt=media."))
    prefix, _, sample = obj.rpartition("/")
    job_id = prefix.rpartition("/")[2]
    job = Job.objects.filter(protocol=PROTOCOL, public_id=job_id).first()
    stored = (job.inputs or {}).get("storageUri", "") if job else ""
    expected = f"{stored.rstrip('/')}/{job_id}/" if stored else ""
    if (
        job is None
        or not expected.startswith(f"gs://{bucket}/")
        or f"gs://{bucket}/{prefix}/" != expected
        or not sample.startswith("sample_")
        or not sample.removeprefix("sample_").removesuffix(".mp4").isdigit()
        or int(sample.removeprefix("sample_").removesuffix(".mp4")) >= job.n_variants
        or snapshot(job, timezone.now()).phase != "succeeded"
    ):
        return render(PROTOCOL, ApiError(404, f"No such object: {bucket}/{obj}"))
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type="video/mp4",
        etag=f'"{job_id}-{sample}"',
        modified=job.finished_at,
    )
