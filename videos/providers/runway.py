"""Runway's API (`https://api.dev.runwayml.com`, `X-Runway-Version: 2024-11-06`).

PROVIDERS-LIVING.md section 5. Text goes to `POST /v1/text_to_video`, a first (and last) frame
to `POST /v1/image_to_video` as data URIs (`promptImage`: one image, or `[{uri, position}]`).
Sizes are Runway's pixel ratios ("1280:720"). A task is polled with one `GET /v1/tasks/{id}`
each (no list); `THROTTLED` is a queue state, not an error. A succeeded task's outputs are
signed URLs that expire within a day or two, but a fresh GET of the task signs them again: the
archive asks again when a download is refused, which is exactly that.
"""

from __future__ import annotations

from typing import Any

from videos.providers.base import VideoProvider, quote_id
from videos.providers.mapping import data_uri
from videos.providers.polling import ListPage
from videos.providers.status import describe_failure, iso_time
from videos.providers.types import VIDEO_TYPES, AssetRef, JobState, JobStatus, ProviderError, SubmissionSpec

API_VERSION = "2024-11-06"
STATES: dict[str, JobState] = {
    "PENDING": "queued",
    "THROTTLED": "queued",
    "RUNNING": "generating",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELLED": "failed",
}


class RunwayProvider(VideoProvider):
    kind = "runway"
    lists_many = False
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            raise ProviderError("Runway models here cannot remix videos", permanent=True, code="unsupported")
        if spec.reference_images:
            raise ProviderError("Runway models here take no reference images", permanent=True, code="unsupported")
        width, _, height = spec.size.partition("x")
        body: dict[str, Any] = {
            "model": spec.model,
            "promptText": spec.prompt,
            "ratio": f"{width}:{height}",
            "duration": spec.seconds,
        }
        if spec.negative_prompt:
            body["negativePrompt"] = spec.negative_prompt
        if spec.seed is not None:
            body["seed"] = spec.seed
        if spec.audio is not None:
            body["audio"] = spec.audio
        if spec.input_image is None and spec.last_frame is None:
            path = "/v1/text_to_video"
        else:
            path = "/v1/image_to_video"
            if spec.input_image is None:
                raise ProviderError("Runway needs a first frame with a last frame", permanent=True, code="unsupported")
            first = data_uri(spec.input_image, spec.input_content_type)
            if spec.last_frame is None:
                body["promptImage"] = first
            else:
                last = data_uri(spec.last_frame.data, spec.last_frame.content_type)
                body["promptImage"] = [{"uri": first, "position": "first"}, {"uri": last, "position": "last"}]
        answer = self.http.request_json("POST", path, json=body, create=True)
        task_id = answer.get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderError(
                "Runway answered a task without an id", permanent=False, code="invalid_response", outcome_unknown=True
            )
        return JobStatus(job_id=task_id, state="queued", raw_status="PENDING", model=spec.model, raw=answer)

    def retrieve(self, job_id: str) -> JobStatus:
        return parse_task(self.http.request_json("GET", f"/v1/tasks/{quote_id(job_id)}"))

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        raise ProviderError("Runway lists no tasks", permanent=True, code="unsupported")

    def delete(self, job_id: str) -> bool:
        """Cancels a task still at work, deletes a finished one."""
        return self._delete(f"/v1/tasks/{quote_id(job_id)}", expect=(200, 204))


def parse_task(body: dict[str, Any]) -> JobStatus:
    task_id = body.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise ProviderError("Runway answered a task without an id", permanent=False, code="invalid_response")
    raw_status = str(body.get("status") or "")
    state: JobState = STATES.get(raw_status, "unknown")
    code = body.get("failureCode")
    failure = None
    if state == "failed":
        if isinstance(code, str) and code.startswith("SAFETY.INPUT"):
            failure = describe_failure("input_moderation")
        elif isinstance(code, str) and code.startswith("SAFETY.OUTPUT"):
            failure = describe_failure("output_moderation")
        else:
            failure = describe_failure("cancelled" if raw_status == "CANCELLED" else None)
    outputs = [url for url in body.get("output") or [] if isinstance(url, str) and url]
    assets: tuple[AssetRef, ...] = ()
    if state == "succeeded":
        if outputs:
            assets = (AssetRef(0, "video", "", VIDEO_TYPES, source_id=task_id, url=outputs[0]),)
        else:
            state, failure = "failed", describe_failure(None)
    progress = body.get("progress")
    return JobStatus(
        job_id=task_id,
        state=state,
        raw_status=raw_status,
        progress=round(progress * 100)
        if isinstance(progress, (int, float)) and not isinstance(progress, bool)
        else None,
        error_code=failure.code if failure else None,
        error_message=failure.message if failure else None,
        provider_error_code=str(code) if code else None,
        provider_error_message=str(body.get("failure")) if body.get("failure") else None,
        created_at=iso_time(body.get("createdAt")),
        asset_refs=assets,
        raw=body,
    )
