"""Azure OpenAI Sora jobs protocol (`/video/generations/jobs?api-version=preview`).

A job holds one generation per variant; the job carries no download URL, so each asset's path
is built from the generation's `gen_` id: `/video/generations/{gen_id}/content/video` (the bare
`/content` is a 404).
"""

from __future__ import annotations

import json
from typing import Any

from videos.providers.base import VideoProvider, quote_id
from videos.providers.polling import ListPage
from videos.providers.status import describe_failure, normalise_status, timestamp
from videos.providers.types import (
    IMAGE_TYPES,
    VIDEO_TYPES,
    AssetRef,
    CropBounds,
    JobStatus,
    ProviderError,
    SubmissionSpec,
)

JOBS_PATH = "/video/generations/jobs"
# Statuses of jobs still at work; listing only these keeps the pages to in-flight jobs.
ACTIVE_STATUSES = ("queued", "preprocessing", "running", "processing")


class AzureSoraProvider(VideoProvider):
    kind = "azure_sora"
    list_active_only = True
    list_newest_first = True
    assets_per_variant = 2  # video and thumbnail

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            raise ProviderError("Azure Sora jobs cannot remix videos", permanent=True, code="unsupported")
        try:
            width, height = spec.width_height
        except ValueError as exc:
            raise ProviderError(f"Invalid size {spec.size!r}", permanent=True, code="invalid_size") from exc
        fields: dict[str, Any] = {
            "model": spec.model,
            "prompt": spec.prompt,
            "width": width,
            "height": height,
            "n_seconds": spec.seconds,
            "n_variants": spec.n_variants,
        }
        if spec.input_image is None:
            return parse_job(self.http.request_json("POST", JOBS_PATH, json=fields, create=True))
        # Image-to-video: form strings, the image as a `files` part, and `inpaint_items` (a JSON
        # string) naming that part's filename as the first frame.
        inpaint_items = [
            {
                "frame_index": 0,
                "type": "image",
                "file_name": spec.input_filename,
                "crop_bounds": (spec.crop_bounds or CropBounds()).as_dict(),
            }
        ]
        data = {key: str(value) for key, value in fields.items()}
        data["inpaint_items"] = json.dumps(inpaint_items)
        files = [("files", (spec.input_filename, spec.input_image, spec.input_content_type))]
        return parse_job(self.http.request_json("POST", JOBS_PATH, data=data, files=files, create=True))

    def retrieve(self, job_id: str) -> JobStatus:
        return parse_job(self.http.request_json("GET", f"{JOBS_PATH}/{quote_id(job_id)}"))

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        params: dict[str, Any] = {"limit": self.config.list_page_size, "after": after}
        if active_only:
            params["statuses"] = ",".join(ACTIVE_STATUSES)
        body = self.http.request_json("GET", JOBS_PATH, params=params)
        items = [item for item in body.get("data") or [] if isinstance(item, dict) and item.get("id")]
        jobs = [parse_job(item) for item in items]
        cursor = None
        if body.get("has_more") and items:
            cursor = str(body.get("last_id") or items[-1]["id"])
        return ListPage(jobs=jobs, next_cursor=cursor if cursor != after else None)

    def delete(self, job_id: str) -> bool:
        return self._delete(f"{JOBS_PATH}/{quote_id(job_id)}", expect=(200, 202, 204))


def generation_assets(index: int, generation_id: str) -> tuple[AssetRef, ...]:
    base = f"/video/generations/{quote_id(generation_id)}/content"
    return (
        AssetRef(index, "video", f"{base}/video", VIDEO_TYPES, source_id=generation_id),
        AssetRef(index, "thumbnail", f"{base}/thumbnail", IMAGE_TYPES, source_id=generation_id),
    )


def parse_job(body: dict[str, Any]) -> JobStatus:
    job_id = body.get("id")
    if not isinstance(job_id, str) or not job_id:
        raise ProviderError("The provider answered a job without an id", permanent=False, code="invalid_response")
    raw_status = body.get("status")
    state = normalise_status(raw_status)
    reason = body.get("failure_reason") or (raw_status if raw_status in ("cancelled", "canceled") else None)
    failure = describe_failure(reason) if state == "failed" else None
    generations = [gen for gen in body.get("generations") or [] if isinstance(gen, dict) and gen.get("id")]
    generation_ids = tuple(str(gen["id"]) for gen in generations)
    width, height = body.get("width"), body.get("height")
    n_seconds = body.get("n_seconds")
    return JobStatus(
        job_id=job_id,
        state=state,
        raw_status=str(raw_status or ""),
        progress=100 if state == "succeeded" else None,
        error_code=failure.code if failure else None,
        error_message=failure.message if failure else None,
        provider_error_code=str(body["failure_reason"]) if body.get("failure_reason") else None,
        created_at=timestamp(body.get("created_at")),
        completed_at=timestamp(body.get("finished_at")),
        expires_at=timestamp(body.get("expires_at")),
        generation_ids=generation_ids,
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        prompt=body.get("prompt") if isinstance(body.get("prompt"), str) else None,
        size=f"{width}x{height}" if isinstance(width, int) and isinstance(height, int) else None,
        seconds=n_seconds if isinstance(n_seconds, int) and not isinstance(n_seconds, bool) else None,
        asset_refs=tuple(
            asset for index, gen_id in enumerate(generation_ids) for asset in generation_assets(index, gen_id)
        ),
        raw=body,
    )
