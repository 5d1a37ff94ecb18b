"""The Gemini API's Veo methods (PROVIDERS-LIVING.md section 1), under `/v1beta` and `/v1` alike.

    POST {v}/models/{model}:predictLongRunning     -> {"name": "models/{model}/operations/{id}"}
    GET  {v}/models/{model}/operations/{id}        -> the operation, `done` once finished
    GET  {v}/files/{file}:download?alt=media       -> 302 to the bytes (a signed address)

A finished operation lists one sample per requested video, each a `files/{file}` uri on the API
host behind the key; the download redirects to a signed address that needs no key, as the
real service's does. A moderation outcome finishes as a safety-filtered operation (done, no
sample, `raiMediaFilteredReasons`), an internal one as a `google.rpc.Status` error. Files are
kept two days after creation (EMULATOR_GEMINI_RETENTION_SECONDS). An instance's `video`
(`{uri}` of a file it still holds) asks for an extension: the result is that video followed by
seven new seconds, at 720p, one per request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, callbacks, content, faults, jobs, media
from videos.emulator.endpoint import endpoint
from videos.emulator.errors import ApiError, render
from videos.emulator.lifecycle import snapshot
from videos.emulator.models import Job, Webhook

PROTOCOL = "gemini"
MODELS = ("veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-lite-generate-preview")
SHAPES = {
    ("16:9", "720p"): (1280, 720),
    ("9:16", "720p"): (720, 1280),
    ("16:9", "1080p"): (1920, 1080),
    ("9:16", "1080p"): (1080, 1920),
    ("16:9", "4k"): (3840, 2160),
    ("9:16", "4k"): (2160, 3840),
}
DURATIONS = (4, 6, 8)
PARAMETERS = {
    "sampleCount",
    "durationSeconds",
    "aspectRatio",
    "resolution",
    "personGeneration",
    "negativePrompt",
    "enhancePrompt",
}
# Parameters the Gemini API refuses although Vertex AI takes them.
VERTEX_ONLY = {"seed", "generateAudio", "storageUri", "fps", "pubsubTopic", "compressionQuality", "resizeMode"}
INSTANCE_FIELDS = {"prompt", "image", "lastFrame", "referenceImages", "video"}
MAX_SAMPLES = 4
# Video extension (PROVIDERS-LIVING.md section 1.1, `video`): seven seconds more each time.
EXTENSION_SECONDS = 7
MAX_EXTENSION_INPUT_SECONDS = 141
FILE_URI = re.compile(r"/files/([a-z0-9]+):download")
EVENTS = {"video.generated", "batch.succeeded", "batch.failed", "batch.cancelled", "batch.expired"}


def invalid(message: str) -> ApiError:
    return ApiError(400, message)


def operation_name(job: Job) -> str:
    return f"models/{job.model}/operations/{job.public_id}"


def _file_id(job: Job, index: int) -> str:
    return f"{job.public_id}s{index}"


def _job(model: str, operation: str) -> Job:
    job = Job.objects.filter(protocol=PROTOCOL, public_id=operation, model=model).first()
    if job is None:
        raise ApiError(404, "Requested entity was not found.")
    return job


def _image(value: object, where: str) -> dict[str, str]:
    """Either spelling the service accepts: `{bytesBase64Encoded, mimeType}` (what the SDK
    sends) or `{inlineData: {mimeType, data}}` (the REST guide's)."""
    if not isinstance(value, dict):
        raise invalid(f"Invalid value at '{where}': expected an image object.")
    inline = value.get("inlineData")
    data = inline.get("data") if isinstance(inline, dict) else value.get("bytesBase64Encoded")
    mime = inline.get("mimeType") if isinstance(inline, dict) else value.get("mimeType")
    if not isinstance(data, str) or not data:
        raise invalid(f"Invalid value at '{where}': the image has no bytes.")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"Invalid value at '{where}' (bytesBase64Encoded): not valid base64.") from None
    if mime not in ("image/png", "image/jpeg", "image/webp"):
        raise invalid(f"Invalid value at '{where}.mimeType': {mime!r} is not a supported image type.")
    return {"mimeType": mime, "bytes": str(len(raw)), "sha256": hashlib.sha256(raw).hexdigest()}


def _parse(request: HttpRequest, model: str) -> dict[str, Any]:
    if model not in MODELS:
        raise ApiError(
            404, f"models/{model} is not found for API version v1beta, or is not supported for predictLongRunning."
        )
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise invalid("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    unknown = set(body) - {"instances", "parameters", "webhookConfig"}
    if unknown:
        raise invalid(f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}": Cannot find field.')
    instances = body.get("instances")
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        raise invalid("instances must hold exactly one instance.")
    instance = instances[0]
    if set(instance) - INSTANCE_FIELDS:
        raise invalid(f'Invalid JSON payload received. Unknown name "{sorted(set(instance) - INSTANCE_FIELDS)[0]}".')
    prompt = instance.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("The prompt is required.")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise invalid("parameters must be an object.")
    for name in parameters:
        if name in VERTEX_ONLY:
            raise invalid(f"`{name}` isn't supported by this model.")
        if name not in PARAMETERS:
            raise invalid(f"Invalid JSON payload received. Unknown name \"{name}\" at 'parameters'.")
    aspect = parameters.get("aspectRatio", "16:9")
    resolution = parameters.get("resolution", "720p")
    if (aspect, resolution) not in SHAPES:
        raise invalid(f"Unsupported aspect ratio {aspect!r} or resolution {resolution!r}.")
    if resolution == "4k" and model == "veo-3.1-lite-generate-preview":
        raise invalid("Unsupported resolution 4k for this model.")
    duration = parameters.get("durationSeconds", 8)
    if isinstance(duration, bool) or duration not in DURATIONS:
        raise invalid(f"Unsupported output video duration {duration} seconds, supported durations are [8,6,4].")
    if resolution in ("1080p", "4k") and duration != 8:
        raise invalid(f"{resolution} videos must be 8 seconds long.")
    samples = parameters.get("sampleCount", 1)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise invalid(f"sampleCount must be between 1 and {MAX_SAMPLES}.")
    inputs: dict[str, Any] = {}
    seconds = duration
    if "video" in instance:
        source = _extension_source(instance, parameters, model, resolution)
        if (aspect, resolution) != _shape_of(source):
            raise invalid(
                f"Aspect ratio of the input video must be {aspect}, but got: {_shape_of(source)[0]}."
                if resolution == "720p"
                else "Video extension supports 720p only."
            )
        if duration != 8:
            raise invalid("Video extension requires durationSeconds of 8.")
        if samples != 1:
            raise invalid("Video extension makes one video per request.")
        inputs["video"] = {"file": source["file"], "seconds": source["seconds"]}
        # One video: the input followed by seven new seconds.
        seconds = source["seconds"] + EXTENSION_SECONDS
    if "image" in instance:
        inputs["image"] = _image(instance["image"], "instances[0].image")
    if "lastFrame" in instance:
        inputs["lastFrame"] = _image(instance["lastFrame"], "instances[0].lastFrame")
    references = instance.get("referenceImages")
    if references is not None:
        if not isinstance(references, list) or not 1 <= len(references) <= 3:
            raise invalid("referenceImages must hold 1 to 3 images.")
        if duration != 8:
            raise invalid("Reference images require an 8 second video.")
        inputs["referenceImages"] = [
            _image(item.get("image") if isinstance(item, dict) else None, f"instances[0].referenceImages[{index}]")
            for index, item in enumerate(references)
        ]
    if negative := parameters.get("negativePrompt"):
        inputs["negativePrompt"] = str(negative)
    width, height = SHAPES[(aspect, resolution)]
    return {
        "prompt": prompt,
        "width": width,
        "height": height,
        "seconds": seconds,
        "samples": samples,
        "inputs": inputs,
    }


def _extension_source(instance: dict[str, Any], parameters: dict[str, Any], model: str, resolution: str) -> dict:
    """The held file an extension continues (`video: {uri}` as a finished operation named it):
    made by Veo here, finished, not expired, 720p, at most 141 s; no frames beside it."""
    if model == "veo-3.1-lite-generate-preview":
        raise invalid("Video extension is not supported by this model.")
    for name in ("image", "lastFrame", "referenceImages"):
        if name in instance:
            raise invalid(f"`{name}` cannot be combined with an input video.")
    if resolution != "720p":
        raise invalid("Video extension supports 720p only.")
    person = parameters.get("personGeneration", "allow_all")
    if person != "allow_all":
        raise invalid(f"personGeneration {person!r} is not supported for video extension; use allow_all.")
    video = instance["video"]
    uri = video.get("uri") if isinstance(video, dict) else None
    if not isinstance(video, dict) or set(video) - {"uri", "encoding"} or not isinstance(uri, str):
        raise invalid("Invalid value at 'instances[0].video': give the uri of a video from a previous generation.")
    match = FILE_URI.search(uri)
    if match is None or not uri.startswith(("https://", "http://")):
        raise invalid("Invalid value at 'instances[0].video.uri': not a file of this API.")
    try:
        job, _index = _file_job(match.group(1))
    except ApiError:
        raise invalid(
            "The input video was not found: only videos generated or referenced in the last two days can be extended."
        ) from None
    total = job.seconds
    if total > MAX_EXTENSION_INPUT_SECONDS:
        raise invalid(
            f"The input video is {total} seconds long; at most {MAX_EXTENSION_INPUT_SECONDS} can be extended."
        )
    return {"file": match.group(1), "seconds": total, "width": job.width, "height": job.height}


def _shape_of(source: dict) -> tuple[str, str]:
    width, height = source["width"], source["height"]
    return next((shape for shape, size in SHAPES.items() if size == (width, height)), ("?", "?"))


def create(request: HttpRequest, version: str, model: str) -> HttpResponse:
    given = _parse(request, model)
    job = jobs.create_job(
        protocol=PROTOCOL,
        model=model,
        prompt=given["prompt"],
        width=given["width"],
        height=given["height"],
        seconds=given["seconds"],
        n_variants=given["samples"],
        inputs=given["inputs"],
    )
    hook = Webhook.objects.filter(protocol=PROTOCOL).order_by("-id").first()
    if hook is not None and "video.generated" in hook.events:
        callbacks.remember(request, job, hook.uri, video_event, secret=hook.secret)
    return JsonResponse({"name": operation_name(job)})


def video_event(origin: Any, job: Job, now: Any) -> dict[str, Any]:
    """The thin event a project webhook receives when an operation ends (always re-poll)."""
    data: dict[str, Any] = {"id": operation_name(job)}
    if job.outcome == "internal":
        data.update(error_code="INTERNAL", error_message="Video generation failed due to an internal error.")
    return {"type": "video.generated", "version": "v1", "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}


def create_webhook(request: HttpRequest, version: str) -> HttpResponse:
    """`POST /v1beta/webhooks {name, uri, subscribed_events}`: the secret is shown only here.
    Of the project's webhooks, the emulator calls the newest registration."""
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        raise invalid("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received.")
    uri = body.get("uri")
    events = body.get("subscribed_events", body.get("subscribedEvents"))
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise invalid("uri must be an absolute http(s) URL.")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) and e in EVENTS for e in events):
        raise invalid(f"subscribed_events must list events among {', '.join(sorted(EVENTS))}.")
    hook = Webhook.objects.create(
        protocol=PROTOCOL,
        public_id=secrets.token_hex(8),
        display_name=str(body.get("name") or "")[:200],
        uri=uri,
        secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        events=events,
    )
    return JsonResponse({**_webhook_json(hook), "new_signing_secret": hook.secret})


def _webhook_json(hook: Webhook) -> dict[str, Any]:
    stamp = hook.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": hook.public_id,
        "name": hook.display_name,
        "uri": hook.uri,
        "subscribed_events": hook.events,
        "signing_secrets": [{"truncated_secret": hook.secret[-4:]}],
        "state": "enabled",
        "create_time": stamp,
        "update_time": stamp,
    }


def list_webhooks(request: HttpRequest, version: str) -> HttpResponse:
    hooks = Webhook.objects.filter(protocol=PROTOCOL)
    return JsonResponse({"webhooks": [_webhook_json(hook) for hook in hooks]})


def _webhook(webhook_id: str) -> Webhook:
    hook = Webhook.objects.filter(protocol=PROTOCOL, public_id=webhook_id).first()
    if hook is None:
        raise ApiError(404, "Requested entity was not found.")
    return hook


def get_webhook(request: HttpRequest, version: str, webhook_id: str) -> HttpResponse:
    return JsonResponse(_webhook_json(_webhook(webhook_id)))


def delete_webhook(request: HttpRequest, version: str, webhook_id: str) -> HttpResponse:
    _webhook(webhook_id).delete()
    return JsonResponse({})


def _file_uri(request: HttpRequest, version: str, file_id: str) -> str:
    # Always https, as the service's are: the SDK finds the file id only in an https uri.
    path = reverse("emulator:gemini-download", kwargs={"version": version, "file_id": file_id})
    return f"https://{request.get_host()}{path}?alt=media"


def operation(request: HttpRequest, version: str, model: str, operation_id: str) -> HttpResponse:
    job = _job(model, operation_id)
    if faults.take(PROTOCOL, "retrieve", ["expired"]):
        jobs.mark_expired(job)  # the files are deleted; the operation still lists them
    state = snapshot(job, timezone.now())
    body: dict[str, Any] = {"name": operation_name(job)}
    if not state.done:
        return JsonResponse(body)
    body["done"] = True
    response_type = f"type.googleapis.com/google.ai.generativelanguage.{version}.PredictLongRunningResponse"
    if job.outcome == "internal":
        body["error"] = {"code": 13, "message": "Video generation failed due to an internal error. Please try again."}
    elif job.outcome == "moderation":
        body["response"] = {
            "@type": response_type,
            "generateVideoResponse": {
                "raiMediaFilteredCount": job.n_variants,
                "raiMediaFilteredReasons": [
                    "Unable to generate videos because the prompt could violate our policies. "
                    "You will not be charged for this request."
                ],
            },
        }
    else:
        samples = [
            {"video": {"uri": _file_uri(request, version, _file_id(job, index))}} for index in range(job.n_variants)
        ]
        body["response"] = {"@type": response_type, "generateVideoResponse": {"generatedSamples": samples}}
    return JsonResponse(body)


def _signature(file_id: str) -> str:
    key = (settings.EMULATOR_API_KEY or "").encode()
    return hmac.new(key, f"gemini-file:{file_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _file_job(file_id: str) -> tuple[Job, int]:
    operation_id, _, index = file_id.rpartition("s")
    job = Job.objects.filter(protocol=PROTOCOL, public_id=operation_id).first() if index.isdigit() else None
    if job is None or int(index) >= job.n_variants:
        raise ApiError(404, "Requested entity was not found.")
    state = snapshot(job, timezone.now())
    if state.phase != "succeeded" or state.expired:
        raise ApiError(404, "Requested entity was not found.")
    return job, int(index)


def download(request: HttpRequest, version: str, file_id: str) -> HttpResponse:
    if request.GET.get("alt") != "media":
        raise invalid("Only media downloads are served: add alt=media.")
    job, _index = _file_job(file_id)
    if faults.take(PROTOCOL, "content", ["expired"]):
        jobs.mark_expired(job)
        raise ApiError(404, "Requested entity was not found.")
    location = reverse("emulator:gemini-media", kwargs={"file_id": file_id})
    return HttpResponseRedirect(f"{location}?sig={_signature(file_id)}")


@csrf_exempt
def media_file(request: HttpRequest, file_id: str) -> HttpResponseBase:
    """The signed address a download redirects to: no key, the signature is the credential."""
    accounting.bump(PROTOCOL, "media")
    try:
        if request.method not in ("GET", "HEAD"):
            raise ApiError(405, "Method not allowed.")
        if not hmac.compare_digest(request.GET.get("sig", ""), _signature(file_id)):
            raise ApiError(403, "The signature of this address is not valid.")
        job, _index = _file_job(file_id)
    except ApiError as error:
        return render(PROTOCOL, error)
    body = media.video_body(job.width, job.height, job.video_bytes)
    return content.serve(
        request,
        protocol=PROTOCOL,
        body=body,
        content_type="video/mp4",
        etag=f'"{file_id}-{body.size}"',
        modified=job.finished_at,
    )


predict = endpoint(PROTOCOL, {"POST": ("create", create)})
operation_view = endpoint(PROTOCOL, {"GET": ("retrieve", operation)})
download_view = endpoint(PROTOCOL, {"GET": ("content", download)})
webhooks_view = endpoint(PROTOCOL, {"POST": ("webhooks", create_webhook), "GET": ("webhooks", list_webhooks)})
webhook_view = endpoint(PROTOCOL, {"GET": ("webhooks", get_webhook), "DELETE": ("webhooks", delete_webhook)})
