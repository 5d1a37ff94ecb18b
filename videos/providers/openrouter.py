"""OpenRouter's videos API (`https://openrouter.ai/api/v1`), not the OpenAI shape.

PROVIDERS-LIVING.md section 9. A create is `POST /videos` with an integer `duration`, the
`resolution` and `aspect_ratio` (or `size` where the pair is not one of OpenRouter's), the
frames as `frame_images` (`frame_type` first_frame/last_frame) and reference images as
`input_references`, every image a data URL, so the platform never has to be reachable from
the internet. It answers 202 with the job's id. There is no list: each job is polled with one
`GET /videos/{id}`, and a create whose answer was lost cannot be looked up. A completed job's
content is `GET /videos/{id}/content?index=N` on OpenRouter's own host behind the same key (the
`unsigned_urls` point there); the adapter builds that path itself, so the key never goes
anywhere an answer names. A job whose results are gone says `expired`: reported as finished
with no files past its deadline, which the archive turns into an expired video. A 402 means
the account is out of credits, permanent for that video.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from videos.providers.base import VideoProvider, quote_id
from videos.providers.mapping import data_uri
from videos.providers.polling import ListPage
from videos.providers.safety import https_or_loopback
from videos.providers.status import describe_failure
from videos.providers.types import VIDEO_TYPES, AssetRef, JobState, JobStatus, ProviderError, SubmissionSpec

JOB_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
STATES: dict[str, JobState] = {
    "pending": "queued",
    "in_progress": "generating",
    "completed": "succeeded",
    "failed": "failed",
    "cancelled": "failed",
    # The results are gone: a finished job with no files, past its deadline.
    "expired": "succeeded",
}
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21")
RESOLUTIONS = {480: "480p", 720: "720p", 768: "768p", 1080: "1080p"}
# OpenRouter's error `code` repeats the HTTP status; these are the words the platform keeps.
ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    402: "insufficient_credits",
    404: "not_found",
    429: "rate_limited",
    500: "provider_internal_error",
    502: "bad_gateway",
}


def image_part(data: bytes, content_type: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": data_uri(data, content_type)}}


def named(error: ProviderError) -> ProviderError:
    """The error with a word for its code where OpenRouter only repeated the HTTP status."""
    if error.status_code in ERROR_CODES and error.code in (None, str(error.status_code)):
        error.code = ERROR_CODES[error.status_code]
    if error.status_code == 402:
        error.permanent = True  # out of credits: trying the same video again cannot help
    return error


def shape(size: str) -> dict[str, str]:
    """`resolution` and `aspect_ratio` where OpenRouter names the pair, else the exact `size`."""
    width, _, height = size.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or not int(width) or not int(height):
        raise ProviderError(f"Not a size: {size!r}", permanent=True, code="invalid_size")
    w, h = int(width), int(height)
    divisor = math.gcd(w, h)
    ratio = f"{w // divisor}:{h // divisor}"
    resolution = RESOLUTIONS.get(min(w, h))
    if ratio in ASPECT_RATIOS and resolution is not None:
        return {"resolution": resolution, "aspect_ratio": ratio}
    return {"size": f"{w}x{h}"}


class OpenRouterProvider(VideoProvider):
    kind = "openrouter"
    # Calls back to the create's `callback_url`, signed with the workspace's secret, which the
    # operator copies into the provider (Provider.webhook_secret); only https URLs are taken.
    callbacks = True
    callbacks_need_secret = True
    lists_many = False
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            raise ProviderError("OpenRouter's videos API cannot remix videos", permanent=True, code="unsupported")
        if spec.negative_prompt:
            raise ProviderError("OpenRouter's videos API takes no negative prompt", permanent=True, code="unsupported")
        body: dict[str, Any] = {
            "model": spec.model,
            "prompt": spec.prompt,
            "duration": spec.seconds,
            **shape(spec.size),
        }
        frames = []
        if spec.input_image is not None:
            frames.append({**image_part(spec.input_image, spec.input_content_type), "frame_type": "first_frame"})
        if spec.last_frame is not None:
            last = image_part(spec.last_frame.data, spec.last_frame.content_type)
            frames.append({**last, "frame_type": "last_frame"})
        if frames:
            body["frame_images"] = frames
        if spec.reference_images:
            body["input_references"] = [image_part(image.data, image.content_type) for image in spec.reference_images]
        if spec.audio is not None:
            body["generate_audio"] = spec.audio
        if spec.seed is not None:
            body["seed"] = spec.seed
        if spec.callback_url and https_or_loopback(spec.callback_url):
            body["callback_url"] = spec.callback_url
        try:
            answer = self.http.request_json("POST", "/videos", json=body, create=True, expect=(200, 201, 202))
        except ProviderError as error:
            raise named(error) from None
        job_id = answer.get("id")
        if not isinstance(job_id, str) or not JOB_ID.match(job_id):
            raise ProviderError(
                "OpenRouter answered a job without an id",
                permanent=False,
                code="invalid_response",
                outcome_unknown=True,
            )
        status = parse_job(answer)
        return JobStatus(
            job_id=job_id,
            state=status.state if status.state != "unknown" else "queued",
            raw_status=status.raw_status or "pending",
            generation_ids=status.generation_ids,
            model=spec.model,
            raw=answer,
        )

    def retrieve(self, job_id: str) -> JobStatus:
        if not JOB_ID.match(job_id):
            raise ProviderError(f"Not an OpenRouter job: {job_id[:100]!r}", permanent=True, code="invalid_job_id")
        try:
            return parse_job(self.http.request_json("GET", f"/videos/{quote_id(job_id)}"))
        except ProviderError as error:
            raise named(error) from None

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        raise ProviderError("OpenRouter lists no video jobs", permanent=True, code="unsupported")

    def delete(self, job_id: str) -> bool:
        return False  # no cancel in the API; the job's results expire by themselves


def _content_index(url: object, position: int) -> int:
    """Which `index` a content URL asks for (its position in the list when it names none)."""
    if not isinstance(url, str):
        return position
    given = parse_qs(urlsplit(url).query).get("index") or []
    return int(given[0]) if given and given[0].isdigit() else position


def parse_job(body: dict[str, Any]) -> JobStatus:
    job_id = body.get("id")
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise ProviderError("OpenRouter answered a job without a valid id", permanent=False, code="invalid_response")
    raw_status = str(body.get("status") or "")
    state: JobState = STATES.get(raw_status, "unknown")
    generation = body.get("generation_id")
    error = body.get("error")
    failure = None
    if state == "failed":
        failure = describe_failure("cancelled" if raw_status == "cancelled" else None)
    assets: tuple[AssetRef, ...] = ()
    expires_at = None
    if raw_status == "expired":
        expires_at = datetime.now(UTC)  # already gone: the deadline has passed
    elif state == "succeeded":
        urls = body.get("unsigned_urls")
        first = urls[0] if isinstance(urls, list) and urls else None
        # The content lives on OpenRouter's own host, behind the key: the path is built here.
        index = _content_index(first, 0)
        assets = (
            AssetRef(
                0,
                "video",
                f"/videos/{quote_id(job_id)}/content",
                VIDEO_TYPES,
                params=(("index", str(index)),),
                source_id=job_id,
            ),
        )
    return JobStatus(
        job_id=job_id,
        state=state,
        raw_status=raw_status,
        progress=100 if raw_status == "completed" else None,
        error_code=failure.code if failure else None,
        error_message=failure.message if failure else None,
        provider_error_code=raw_status if state == "failed" else None,
        provider_error_message=str(error) if error and state == "failed" else None,
        expires_at=expires_at,
        generation_ids=(generation,) if isinstance(generation, str) and generation else (),
        asset_refs=assets,
        raw=body,
    )
