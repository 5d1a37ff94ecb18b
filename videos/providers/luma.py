"""Luma's Dream Machine API v1 (`https://api.lumalabs.ai/dream-machine/v1`), text and image to video.

PROVIDERS-LIVING.md section 8.1. A create is `POST /generations/video` with an aspect ratio,
a resolution (`540p`, `720p`, `1080p`) and a duration (`5s`, `9s`); the first and last frames
go as keyframes `frame0` and `frame1` of `{type: "image", url}`, with data URLs in `url` so the
platform never has to be reachable from the internet (Luma's document only says `format: uri`;
the real service may want public URLs). `loop` is sent false unless the model's mapping says
`{"loop": true}`. Many generations are polled with the list
(`GET /generations?limit=&offset=`, newest first), which also finds a create whose answer was
lost. A completed generation's `assets` are public files on Luma's CDN (storage.cdn-luma.com),
fetched without the key over https: the video, and an image that is archived as the
thumbnail. Luma documents no retention, so results are archived at once and assumed gone a day
after creation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from math import gcd
from typing import Any

from videos.providers.base import VideoProvider, quote_id
from videos.providers.mapping import data_uri
from videos.providers.polling import ListPage
from videos.providers.status import describe_failure, iso_time
from videos.providers.types import (
    IMAGE_TYPES,
    VIDEO_TYPES,
    AssetRef,
    JobState,
    JobStatus,
    ProviderError,
    SubmissionSpec,
)

GENERATION_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
STATES: dict[str, JobState] = {
    "queued": "queued",
    "dreaming": "generating",
    "completed": "succeeded",
    "failed": "failed",
}
ASPECTS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21")
RESOLUTIONS = {540: "540p", 720: "720p", 1080: "1080p", 2160: "4k"}
SHORT_SIDES = {word: short for short, word in RESOLUTIONS.items()}


def aspect_ratio(width: int, height: int) -> str | None:
    """Luma's word for a frame's shape ("16:9"), or None when it names none."""
    divisor = gcd(width, height)
    w, h = width // divisor, height // divisor
    for word in ASPECTS:
        a, _, b = word.partition(":")
        if int(a) * h == int(b) * w:
            return word
    return None


def frame_size(aspect: object, resolution: object) -> str | None:
    """The platform's WxH for an aspect ratio at a resolution, as the create chose them."""
    if not isinstance(aspect, str) or aspect not in ASPECTS or resolution not in SHORT_SIDES:
        return None
    short = SHORT_SIDES[str(resolution)]
    a, _, b = aspect.partition(":")
    w, h = int(a), int(b)
    if w >= h:
        return f"{2 * round(short * w / h / 2)}x{short}"
    return f"{short}x{2 * round(short * h / w / 2)}"


class LumaProvider(VideoProvider):
    callbacks = True
    kind = "luma"
    list_newest_first = True
    assets_per_variant = 2  # the video and Luma's own thumbnail image

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of or spec.reference_images:
            raise ProviderError("Luma here makes text and image to video only", permanent=True, code="unsupported")
        width, height = spec.width_height
        aspect = aspect_ratio(width, height)
        resolution = RESOLUTIONS.get(min(width, height))
        if aspect is None or resolution is None or frame_size(aspect, resolution) != f"{width}x{height}":
            raise ProviderError(f"Luma makes no {spec.size} video", permanent=True, code="invalid_size")
        body: dict[str, Any] = {
            "generation_type": "video",
            "model": spec.model,
            "prompt": spec.prompt,
            "aspect_ratio": aspect,
            "resolution": resolution,
            "duration": f"{spec.seconds}s",
            "loop": bool(spec.mapping.get("loop", False)) if isinstance(spec.mapping, Mapping) else False,
        }
        keyframes: dict[str, Any] = {}
        if spec.input_image is not None:
            keyframes["frame0"] = {"type": "image", "url": data_uri(spec.input_image, spec.input_content_type)}
        if spec.last_frame is not None:
            keyframes["frame1"] = {"type": "image", "url": data_uri(spec.last_frame.data, spec.last_frame.content_type)}
        if keyframes:
            body["keyframes"] = keyframes
        if spec.callback_url:
            body["callback_url"] = spec.callback_url
        answer = self.http.request_json("POST", "/generations/video", json=body, create=True, expect=(200, 201))
        if not isinstance(answer.get("id"), str) or not GENERATION_ID.match(answer["id"]):
            raise ProviderError(
                "Luma answered a generation without an id",
                permanent=False,
                code="invalid_response",
                outcome_unknown=True,
            )
        return parse_generation(answer)

    def retrieve(self, job_id: str) -> JobStatus:
        if not GENERATION_ID.match(job_id):
            raise ProviderError(f"Not a Luma generation: {job_id[:100]!r}", permanent=True, code="invalid_job_id")
        return parse_generation(self.http.request_json("GET", f"/generations/{quote_id(job_id)}"))

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        """A page of the newest generations (`after` is the offset of the page)."""
        offset = int(after) if after and after.isdigit() else 0
        limit = self.config.list_page_size or 100
        body = self.http.request_json("GET", "/generations", params={"limit": limit, "offset": offset})
        given = body.get("generations")
        items = [item for item in given if isinstance(item, dict) and item.get("id")] if isinstance(given, list) else []
        more = body.get("has_more")
        if not isinstance(more, bool):
            more = len(items) >= limit
        following = str(offset + len(items)) if more and items else None
        return ListPage(jobs=[parse_generation(item) for item in items], next_cursor=following)

    def delete(self, job_id: str) -> bool:
        if not GENERATION_ID.match(job_id):
            return False
        return self._delete(f"/generations/{quote_id(job_id)}", expect=(200, 204))


def parse_generation(body: Mapping[str, Any]) -> JobStatus:
    job_id = body.get("id")
    if not isinstance(job_id, str) or not GENERATION_ID.match(job_id):
        raise ProviderError("Luma answered a generation without a valid id", permanent=False, code="invalid_response")
    raw_status = str(body.get("state") or "")
    state: JobState = STATES.get(raw_status, "unknown")
    reason = body.get("failure_reason")
    failure = None
    if state == "failed":
        moderated = isinstance(reason, str) and "moderation" in reason.lower()
        failure = describe_failure("input_moderation" if moderated else None)
    given = body.get("assets")
    assets_body: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    video, image = assets_body.get("video"), assets_body.get("image")
    assets: tuple[AssetRef, ...] = ()
    if state == "succeeded":
        if isinstance(video, str) and video:
            assets = (AssetRef(0, "video", "", VIDEO_TYPES, source_id=job_id, url=video),)
            if isinstance(image, str) and image:
                assets += (AssetRef(0, "thumbnail", "", IMAGE_TYPES, source_id=job_id, url=image),)
        else:
            state, failure = "failed", describe_failure(None)
    echoed = body.get("request")
    request: Mapping[str, Any] = echoed if isinstance(echoed, Mapping) else {}
    duration = request.get("duration")
    seconds = duration[:-1] if isinstance(duration, str) and duration.endswith("s") else None
    prompt, model = request.get("prompt"), body.get("model") or request.get("model")
    return JobStatus(
        job_id=job_id,
        state=state,
        raw_status=raw_status,
        progress=100 if state == "succeeded" else None,
        error_code=failure.code if failure else None,
        error_message=failure.message if failure else None,
        provider_error_code=raw_status if state == "failed" else None,
        provider_error_message=str(reason) if reason else None,
        created_at=iso_time(body.get("created_at")),
        generation_ids=(job_id,),
        model=model if isinstance(model, str) else None,
        prompt=prompt if isinstance(prompt, str) else None,
        size=frame_size(request.get("aspect_ratio"), request.get("resolution")),
        seconds=int(seconds) if seconds and seconds.isdigit() else None,
        asset_refs=assets,
        raw=dict(body),
    )
