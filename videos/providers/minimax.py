"""MiniMax Hailuo (`https://api.minimax.io`, mainland `https://api.minimaxi.com`), its v1 API.

PROVIDERS-LIVING.md section 7. A create answers a task id; the query answers a status and, once
`Success`, a `file_id`, which one more call (`/v1/files/retrieve`) turns into a download URL that
needs no key and lives some hours: the poll that sees the task succeed makes that call, so the
archive starts with the URL in hand and asks again when it is refused. Application errors come
as HTTP 200 with a non-zero `base_resp.status_code`, mapped here to what a retry can do. There is
no list in v1: each task is polled with one call.
"""

from __future__ import annotations

from typing import Any

from videos.providers.base import VideoProvider
from videos.providers.mapping import data_uri
from videos.providers.polling import ListPage
from videos.providers.status import describe_failure
from videos.providers.types import VIDEO_TYPES, AssetRef, JobState, JobStatus, ProviderError, SubmissionSpec

STATES: dict[str, JobState] = {
    "Preparing": "queued",
    "Queueing": "queued",
    "Processing": "generating",
    "Success": "succeeded",
    "Fail": "failed",
}
RESOLUTIONS = {512: "512P", 720: "720P", 768: "768P", 1080: "1080P"}
# base_resp codes that say: slow down and try again (nothing was accepted).
THROTTLED = {1002, 1039, 1041}
TRANSIENT = {1000, 1001, 1013, 1024}
CREDENTIALS = {1004, 2049}


def check(answer: dict[str, Any], *, create: bool = False) -> dict[str, Any]:
    """The answer, or the ProviderError its `base_resp` means."""
    given = answer.get("base_resp")
    base: dict[str, Any] = given if isinstance(given, dict) else {}
    code = base.get("status_code", 0)
    if code in (0, None):
        return answer
    message = f"MiniMax answered {code}: {base.get('status_msg') or 'error'}"
    if code in THROTTLED:
        raise ProviderError(message, permanent=False, code=str(code), status_code=429, retry_after=5.0)
    if code in TRANSIENT:
        raise ProviderError(message, permanent=False, code=str(code), status_code=503)
    if code in CREDENTIALS:
        raise ProviderError(message, permanent=True, code="unauthorized", status_code=401)
    return_code = {1026: "input_moderation", 1027: "output_moderation"}.get(code, str(code))
    raise ProviderError(message, permanent=True, code=return_code, status_code=400)


class MiniMaxProvider(VideoProvider):
    callbacks = True
    kind = "minimax"
    lists_many = False
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of or spec.reference_images:
            raise ProviderError("Hailuo here makes text and image to video only", permanent=True, code="unsupported")
        resolution = RESOLUTIONS.get(min(spec.width_height))
        if resolution is None:
            raise ProviderError(f"Hailuo makes no {spec.size} video", permanent=True, code="invalid_size")
        body: dict[str, Any] = {
            "model": spec.model,
            "prompt": spec.prompt,
            "duration": spec.seconds,
            "resolution": resolution,
            "prompt_optimizer": True,
        }
        if spec.input_image is not None:
            body["first_frame_image"] = data_uri(spec.input_image, spec.input_content_type)
        if spec.last_frame is not None:
            body["last_frame_image"] = data_uri(spec.last_frame.data, spec.last_frame.content_type)
        if spec.callback_url:
            body["callback_url"] = spec.callback_url
        answer = check(self.http.request_json("POST", "/v1/video_generation", json=body, create=True), create=True)
        task_id = str(answer.get("task_id") or "")
        if not task_id.isdigit():
            raise ProviderError(
                "MiniMax answered a task without an id", permanent=False, code="invalid_response", outcome_unknown=True
            )
        return JobStatus(job_id=task_id, state="queued", raw_status="Preparing", model=spec.model, raw=answer)

    def retrieve(self, job_id: str) -> JobStatus:
        if not job_id.isdigit():
            raise ProviderError(f"Not a MiniMax task: {job_id[:100]!r}", permanent=True, code="invalid_job_id")
        answer = self.http.request_json("GET", "/v1/query/video_generation", params={"task_id": job_id})
        base = answer.get("base_resp") if isinstance(answer.get("base_resp"), dict) else {}
        raw_status = str(answer.get("status") or "")
        if raw_status != "Fail":
            check(answer)
        state: JobState = STATES.get(raw_status, "unknown")
        if state == "failed":
            code = base.get("status_code") if isinstance(base, dict) else None
            reason = {1026: "input_moderation", 1027: "output_moderation"}.get(code) if isinstance(code, int) else None
            failure = describe_failure(reason)
            return JobStatus(
                job_id=job_id,
                state="failed",
                raw_status=raw_status,
                error_code=failure.code,
                error_message=failure.message,
                provider_error_code=str(code) if code is not None else None,
                provider_error_message=str(base.get("status_msg") or "") or None if isinstance(base, dict) else None,
                raw=answer,
            )
        if state != "succeeded":
            return JobStatus(job_id=job_id, state=state, raw_status=raw_status, raw=answer)
        file_id = str(answer.get("file_id") or "")
        if not file_id.isdigit():
            raise ProviderError("MiniMax reported success without a file", permanent=False, code="invalid_response")
        # One more call for the file's download URL, while the poll is at it.
        file_answer = check(self.http.request_json("GET", "/v1/files/retrieve", params={"file_id": file_id}))
        record = file_answer.get("file") if isinstance(file_answer.get("file"), dict) else {}
        url = record.get("download_url") if isinstance(record, dict) else None
        if not isinstance(url, str) or not url:
            raise ProviderError("MiniMax's file has no download URL", permanent=False, code="invalid_response")
        width, height = answer.get("video_width"), answer.get("video_height")
        return JobStatus(
            job_id=job_id,
            state="succeeded",
            raw_status=raw_status,
            progress=100,
            size=f"{width}x{height}" if isinstance(width, int) and isinstance(height, int) else None,
            generation_ids=(file_id,),
            asset_refs=(AssetRef(0, "video", "", VIDEO_TYPES, source_id=file_id, url=url),),
            raw=answer,
        )

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        raise ProviderError("MiniMax's v1 API lists no tasks", permanent=True, code="unsupported")

    def delete(self, job_id: str) -> bool:
        return False  # no cancel; the files expire by themselves
