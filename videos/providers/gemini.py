"""Veo through the Gemini API (`:predictLongRunning`, operations, keyed file downloads).

PROVIDERS-LIVING.md section 1. The base URL includes the API version
(`https://generativelanguage.googleapis.com/v1beta`). A job is a long-running operation named
`models/{model}/operations/{id}`; there is no list of operations and no cancel, so each job is
polled with one GET of its name. A finished operation's samples are files on the API host
behind the key (`files/{id}:download?alt=media`, which redirects to the bytes): the adapter
keeps only the file id and builds the download from its own base URL, as the official SDK
does, so an answer can never send the key to another host.

The platform's size (WxH) maps to Veo's aspect ratio and resolution; durations are whole
seconds. An extension sends the finished video's file as the API named it (`video.uri`), so
only a video the provider still holds (two days) can be extended. A safety-filtered result
(done, no sample, `raiMediaFilteredReasons`) is a failure that says why, never retried.
"""

from __future__ import annotations

import base64
import logging
import re
from typing import Any

from videos.providers.base import VideoProvider, quote_id
from videos.providers.polling import ListPage
from videos.providers.status import GENERATION_FAILED
from videos.providers.types import (
    VIDEO_TYPES,
    AssetRef,
    ExtendSource,
    JobStatus,
    ProviderError,
    SpecImage,
    SubmissionSpec,
)

logger = logging.getLogger("videos.providers")

# What an operation name may look like: it becomes a path, so nothing else gets through.
OPERATION_NAME = re.compile(r"^models/[A-Za-z0-9._-]{1,100}/operations/[A-Za-z0-9_-]{1,100}$")
FILE_ID = re.compile(r"files/([a-z0-9]+)")
RESOLUTIONS = {720: "720p", 1080: "1080p", 2160: "4k"}
# google.rpc.Code values that say the request itself was wrong: trying again cannot help.
PERMANENT_RPC_CODES = {3: "invalid_argument", 5: "not_found", 7: "permission_denied", 9: "failed_precondition"}
SAFETY_MESSAGE = "The provider's safety filters blocked this video"


def veo_shape(size: str) -> tuple[str, str]:
    """("16:9" or "9:16", "720p" | "1080p" | "4k") for a platform size such as "1280x720"."""
    try:
        width, _, height = size.lower().partition("x")
        w, h = int(width), int(height)
    except ValueError:
        raise ProviderError(f"Invalid size {size!r}", permanent=True, code="invalid_size") from None
    resolution = RESOLUTIONS.get(min(w, h))
    if resolution is None or w == h or max(w, h) * 9 != min(w, h) * 16:
        raise ProviderError(f"Veo makes no {size} video", permanent=True, code="invalid_size")
    return ("16:9" if w > h else "9:16"), resolution


def inline_image(data: bytes, content_type: str) -> dict[str, str]:
    return {"bytesBase64Encoded": base64.b64encode(data).decode("ascii"), "mimeType": content_type}


class GeminiVeoProvider(VideoProvider):
    kind = "gemini"
    lists_many = False
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself
    can_extend = True

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            raise ProviderError("Veo cannot remix videos", permanent=True, code="unsupported")
        aspect_ratio, resolution = veo_shape(spec.size)
        instance: dict[str, Any] = {"prompt": spec.prompt}
        if spec.extend is not None:
            instance["video"] = {"uri": self._file_uri(spec.extend)}
        if spec.input_image is not None:
            instance["image"] = inline_image(spec.input_image, spec.input_content_type)
        if spec.last_frame is not None:
            instance["lastFrame"] = inline_image(spec.last_frame.data, spec.last_frame.content_type)
        if spec.reference_images:
            instance["referenceImages"] = [_reference(image) for image in spec.reference_images]
        parameters: dict[str, Any] = {
            "sampleCount": spec.n_variants,
            "durationSeconds": spec.seconds,
            "aspectRatio": aspect_ratio,
            "resolution": resolution,
        }
        if spec.extend is not None:
            # An extension adds 7 s to the held video, asked for as an 8-second job, and only
            # with people allowed in full (the documented values for extensions).
            parameters.update(durationSeconds=8, personGeneration="allow_all")
        if spec.negative_prompt:
            parameters["negativePrompt"] = spec.negative_prompt
        body = {"instances": [instance], "parameters": parameters}
        path = f"/models/{quote_id(spec.model)}:predictLongRunning"
        answer = self.http.request_json("POST", path, json=body, create=True)
        return parse_operation(answer, model=spec.model, submitted=True)

    def _file_uri(self, source: ExtendSource) -> str:
        """The held file an extension continues, as the API names it in a finished operation
        (on this provider's own host: it is the provider's file, never an outside address)."""
        file_id = source.file_ids[0] if source.file_ids else ""
        if not re.fullmatch(r"[a-z0-9]{1,100}", file_id):
            raise ProviderError(
                "The provider's file of the video to extend is not known", permanent=True, code="extend_source_expired"
            )
        return f"{self.config.base_url.rstrip('/')}/files/{file_id}:download?alt=media"

    def register_webhook(self, uri: str, *, name: str) -> str:
        """Ask the project to POST `video.generated` events to `uri` (`POST /webhooks`), in place
        of an earlier registration of the same URI; the signing secret it answers is shown this
        once."""
        body = {"name": name, "uri": uri, "subscribed_events": ["video.generated"]}
        answer = self.http.request_json("POST", "/webhooks", json=body)
        secret = answer.get("new_signing_secret", answer.get("newSigningSecret"))
        if not isinstance(secret, str) or not secret.startswith("whsec_"):
            raise ProviderError("The Gemini API answered no webhook signing secret", permanent=False, code="bad_answer")
        # Only now that the new one exists: the earlier registrations of the same URI go. The
        # secret is the caller's to keep even if this tidying fails (they then stay registered).
        try:
            listed = self.http.request_json("GET", "/webhooks")
            for hook in listed.get("webhooks") or ():
                hook_id = str(hook.get("id")) if isinstance(hook, dict) else ""
                if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", hook_id) or hook_id == answer.get("id"):
                    continue
                if hook.get("uri") == uri:
                    self.http.request("DELETE", f"/webhooks/{hook_id}")
        except ProviderError as error:
            logger.warning("provider %s: earlier webhook registrations were not removed: %r", self.config.name, error)
        return secret

    def retrieve(self, job_id: str) -> JobStatus:
        if not OPERATION_NAME.match(job_id):
            raise ProviderError(f"Not a Veo operation name: {job_id[:120]!r}", permanent=True, code="invalid_job_id")
        return parse_operation(self.http.request_json("GET", f"/{job_id}"))

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        raise ProviderError("The Gemini API lists no video operations", permanent=True, code="unsupported")

    def delete(self, job_id: str) -> bool:
        # Operations cannot be cancelled or deleted; the provider removes the files after two days.
        return False


def _reference(image: SpecImage) -> dict[str, Any]:
    return {"image": inline_image(image.data, image.content_type), "referenceType": "ASSET"}


def parse_operation(body: dict[str, Any], *, model: str | None = None, submitted: bool = False) -> JobStatus:
    name = body.get("name")
    if not isinstance(name, str) or not OPERATION_NAME.match(name):
        raise ProviderError(
            "The provider answered an operation without a valid name", permanent=False, code="invalid_response"
        )
    model = model or name.split("/")[1]
    if not body.get("done"):
        # No status word or progress on a Veo operation: "running" until it is done.
        word = "submitted" if submitted else "running"
        return JobStatus(
            job_id=name, state="queued" if submitted else "generating", raw_status=word, model=model, raw=body
        )
    error = body.get("error")
    if isinstance(error, dict):
        return _failed(name, model, body, error)
    response = _object(body.get("response"))
    result = _object(response.get("generateVideoResponse"))
    samples = [s for s in result.get("generatedSamples") or [] if isinstance(s, dict)]
    assets = []
    for index, sample in enumerate(samples):
        video = _object(sample.get("video"))
        match = FILE_ID.search(str(video.get("uri") or ""))
        if match:
            file_id = match.group(1)
            assets.append(
                AssetRef(
                    variant_index=index,
                    kind="video",
                    path=f"/files/{file_id}:download",
                    params=(("alt", "media"),),
                    content_types=VIDEO_TYPES,
                    source_id=file_id,
                )
            )
    if not assets:
        reasons = [str(r) for r in result.get("raiMediaFilteredReasons") or [] if r]
        message = SAFETY_MESSAGE + (f": {reasons[0]}" if reasons else ".")
        return JobStatus(
            job_id=name,
            state="failed",
            raw_status="filtered",
            error_code="moderation_blocked" if reasons or result.get("raiMediaFilteredCount") else "generation_failed",
            error_message=message if reasons or result.get("raiMediaFilteredCount") else GENERATION_FAILED.message,
            provider_error_code="raiMediaFiltered" if reasons else None,
            provider_error_message=reasons[0] if reasons else None,
            model=model,
            raw=body,
        )
    return JobStatus(
        job_id=name,
        state="succeeded",
        raw_status="done",
        progress=100,
        generation_ids=tuple(asset.source_id for asset in assets),
        model=model,
        asset_refs=tuple(assets),
        raw=body,
    )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _failed(name: str, model: str, body: dict[str, Any], error: dict[str, Any]) -> JobStatus:
    code = error.get("code")
    message = str(error.get("message") or "")
    rpc = PERMANENT_RPC_CODES.get(code) if isinstance(code, int) else None
    return JobStatus(
        job_id=name,
        state="failed",
        raw_status="error",
        error_code="invalid_request" if rpc else GENERATION_FAILED.code,
        error_message=f"The provider refused the request: {message}" if rpc and message else GENERATION_FAILED.message,
        provider_error_code=str(code) if code is not None else None,
        provider_error_message=message or None,
        model=model,
        raw=body,
    )
