"""OpenAI Videos protocol (`/videos`): OpenAI, Azure OpenAI v1 (Sora 2) and compatible gateways."""

from __future__ import annotations

import base64
from typing import Any

from videos.providers.base import VideoProvider, quote_id
from videos.providers.http import ForceMultipart
from videos.providers.polling import ListPage
from videos.providers.status import describe_failure, normalise_status, timestamp
from videos.providers.types import (
    IMAGE_TYPES,
    VIDEO_TYPES,
    AssetKind,
    AssetRef,
    JobStatus,
    ProviderError,
    SubmissionSpec,
)

# The SDK asks for content with this Accept header; some gateways route on it.
CONTENT_ACCEPT = "application/binary"
ASSET_KINDS: tuple[AssetKind, ...] = ("video", "thumbnail", "spritesheet")


class OpenAIVideoProvider(VideoProvider):
    kind = "openai"
    list_newest_first = True  # pages are requested with order=desc
    assets_per_variant = len(ASSET_KINDS)

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            return self.remix(spec.remix_of, spec.prompt)
        if spec.n_variants != 1:
            raise ProviderError(
                "The OpenAI Videos protocol makes one video per request", permanent=True, code="unsupported_variants"
            )
        # The protocol has no crop: the platform hands over an image already matching `size`.
        fields = {"prompt": spec.prompt, "model": spec.model, "seconds": str(spec.seconds), "size": spec.size}
        if self.config.openai_create_format == "json":
            body: dict[str, Any] = dict(fields)
            if spec.input_image is not None:
                encoded = base64.b64encode(spec.input_image).decode("ascii")
                body["input_reference"] = {"image_url": f"data:{spec.input_content_type};base64,{encoded}"}
            return parse_video(self.http.request_json("POST", "/videos", json=body, create=True))
        # Multipart by default: the published spec accepts both encodings, current SDKs always
        # send multipart (so every compatible server must take it), and it is the only encoding
        # that carries an uploaded `input_reference` file rather than a URL or file id.
        files: Any = ForceMultipart()
        if spec.input_image is not None:
            files = {"input_reference": (spec.input_filename, spec.input_image, spec.input_content_type)}
        return parse_video(self.http.request_json("POST", "/videos", data=fields, files=files, create=True))

    def remix(self, job_id: str, prompt: str) -> JobStatus:
        body = self.http.request_json("POST", f"/videos/{quote_id(job_id)}/remix", json={"prompt": prompt}, create=True)
        return parse_video(body)

    def retrieve(self, job_id: str) -> JobStatus:
        return parse_video(self.http.request_json("GET", f"/videos/{quote_id(job_id)}"))

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        # The protocol has no status filter: `active_only` cannot narrow the list.
        params = {"limit": self.config.list_page_size, "order": "desc", "after": after}
        body = self.http.request_json("GET", "/videos", params=params)
        items = [item for item in body.get("data") or [] if isinstance(item, dict) and item.get("id")]
        jobs = [parse_video(item) for item in items]
        cursor = None
        if body.get("has_more") and items:
            cursor = str(body.get("last_id") or items[-1]["id"])
        return ListPage(jobs=jobs, next_cursor=cursor if cursor != after else None)

    def delete(self, job_id: str) -> bool:
        return self._delete(f"/videos/{quote_id(job_id)}")


def video_assets(video_id: str) -> tuple[AssetRef, ...]:
    return tuple(
        AssetRef(
            variant_index=0,
            kind=kind,
            path=f"/videos/{quote_id(video_id)}/content",
            params=(("variant", kind),),
            content_types=VIDEO_TYPES if kind == "video" else IMAGE_TYPES,
            accept=CONTENT_ACCEPT,
            source_id=video_id,
        )
        for kind in ASSET_KINDS
    )


def parse_video(body: dict[str, Any]) -> JobStatus:
    job_id = body.get("id")
    if not isinstance(job_id, str) or not job_id:
        raise ProviderError("The provider answered a video without an id", permanent=False, code="invalid_response")
    raw_status = body.get("status")
    state = normalise_status(raw_status)
    error = body.get("error")
    if not isinstance(error, dict):
        error = {}
    provider_code = error.get("code") or (raw_status if raw_status in ("cancelled", "canceled") else None)
    failure = describe_failure(provider_code) if state == "failed" else None
    progress = body.get("progress")
    seconds = body.get("seconds")
    return JobStatus(
        job_id=job_id,
        state=state,
        raw_status=str(raw_status or ""),
        progress=progress if isinstance(progress, int) and not isinstance(progress, bool) else None,
        error_code=failure.code if failure else None,
        error_message=failure.message if failure else None,
        provider_error_code=str(error["code"]) if error.get("code") else None,
        provider_error_message=str(error["message"]) if error.get("message") else None,
        created_at=timestamp(body.get("created_at")),
        completed_at=timestamp(body.get("completed_at")),
        expires_at=timestamp(body.get("expires_at")),
        generation_ids=(job_id,),
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        prompt=body.get("prompt") if isinstance(body.get("prompt"), str) else None,
        size=body.get("size") if isinstance(body.get("size"), str) else None,
        seconds=int(seconds) if isinstance(seconds, (str, int)) and str(seconds).isdigit() else None,
        remixed_from=body.get("remixed_from_video_id") or None,
        asset_refs=video_assets(job_id),
        raw=body,
    )
