"""Seedance through BytePlus ModelArk or Volcengine Ark (`/api/v3/contents/generations/tasks`).

PROVIDERS-LIVING.md section 2. The two regions differ only in base URL and model ids. Inputs
travel inside the request as data URLs, so the platform never has to be reachable from the
internet. A finished task's video is a pre-signed URL on ByteDance's object storage (TOS),
public and deleted 24 hours after creation: it is fetched without credentials, over https,
only from the hosts allowed for the provider (videos.providers.safety).

Many tasks are polled with one list call (`filter.task_ids`, the key repeated per id); a task
the list does not return (older than its 7 days) is asked for on its own.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from videos.providers.base import VideoProvider, quote_id
from videos.providers.mapping import data_uri
from videos.providers.polling import ListPage, PollResult
from videos.providers.status import describe_failure, timestamp
from videos.providers.types import VIDEO_TYPES, AssetRef, JobState, JobStatus, ProviderError, SpecImage, SubmissionSpec

TASKS_PATH = "/contents/generations/tasks"
STATES: dict[str, JobState] = {
    "queued": "queued",
    "running": "generating",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "failed",
    "expired": "failed",  # not started before execution_expires_after
}
# The platform's sizes and the ratio and resolution that make them (Seedance 2).
SIZES: dict[str, tuple[str, str]] = {
    "864x480": ("16:9", "480p"),
    "480x864": ("9:16", "480p"),
    "640x640": ("1:1", "480p"),
    "1280x720": ("16:9", "720p"),
    "720x1280": ("9:16", "720p"),
    "960x960": ("1:1", "720p"),
    "1920x1080": ("16:9", "1080p"),
    "1080x1920": ("9:16", "1080p"),
    "1440x1440": ("1:1", "1080p"),
}
SHAPES = {shape: size for size, shape in SIZES.items()}


def _image(image: SpecImage, role: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": data_uri(image.data, image.content_type)}, "role": role}


class ArkSeedanceProvider(VideoProvider):
    callbacks = True
    kind = "ark"
    list_newest_first = True
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            raise ProviderError("Seedance cannot remix videos", permanent=True, code="unsupported")
        shape = SIZES.get(spec.size)
        if shape is None:
            raise ProviderError(f"Seedance makes no {spec.size} video", permanent=True, code="invalid_size")
        content: list[dict[str, Any]] = [{"type": "text", "text": spec.prompt}]
        if spec.input_image is not None:
            content.append(_image(SpecImage(spec.input_image, spec.input_content_type), "first_frame"))
        if spec.last_frame is not None:
            content.append(_image(spec.last_frame, "last_frame"))
        content.extend(_image(image, "reference_image") for image in spec.reference_images)
        body: dict[str, Any] = {
            "model": spec.model,
            "content": content,
            "ratio": shape[0],
            "resolution": shape[1],
            "duration": spec.seconds,
            "watermark": False,
        }
        if spec.audio is not None:
            body["generate_audio"] = spec.audio
        if spec.seed is not None:
            body["seed"] = spec.seed
        if spec.callback_url:
            body["callback_url"] = spec.callback_url
        answer = self.http.request_json("POST", TASKS_PATH, json=body, create=True)
        task_id = answer.get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderError(
                "The provider answered a task without an id",
                permanent=False,
                code="invalid_response",
                outcome_unknown=True,
            )
        return JobStatus(job_id=task_id, state="queued", raw_status="queued", model=spec.model, raw=answer)

    def retrieve(self, job_id: str) -> JobStatus:
        return parse_task(self.http.request_json("GET", f"{TASKS_PATH}/{quote_id(job_id)}"))

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        page = int(after) if after and after.isdigit() else 1
        size = self.config.list_page_size or 100
        body = self.http.request_json("GET", TASKS_PATH, params={"page_num": page, "page_size": size})
        items = [item for item in body.get("items") or [] if isinstance(item, dict) and item.get("id")]
        total = body.get("total")
        more = len(items) == size and (not isinstance(total, int) or total > page * size) and page < 500
        return ListPage(jobs=[parse_task(item) for item in items], next_cursor=str(page + 1) if more else None)

    def poll_many(
        self, job_ids: list[str], *, since: datetime | None = None, listed_too: Collection[str] = ()
    ) -> PollResult:
        """One list call per page-size of ids (`filter.task_ids`), filled up with other jobs in
        flight for free; ids the list does not return are retrieved one by one."""
        result = PollResult()
        before = self.http.calls
        wanted = list(dict.fromkeys(job_ids))
        size = self.config.list_page_size or 100
        spare = [job_id for job_id in dict.fromkeys(listed_too) if job_id not in set(wanted)]
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            room = size - len(chunk)
            chunk, spare = chunk + spare[:room], spare[room:]
            params = [("page_size", str(size)), *(("filter.task_ids", job_id) for job_id in chunk)]
            body = self.http.request_json("GET", TASKS_PATH, params=params)
            for item in body.get("items") or []:
                if isinstance(item, dict) and item.get("id") in chunk:
                    task = parse_task(item)
                    result[task.job_id] = task
        missing = [job_id for job_id in wanted if job_id not in result]
        for index, job_id in enumerate(missing):
            try:
                result[job_id] = self.retrieve(job_id)
            except ProviderError as exc:
                result.errors[job_id] = exc
                if not exc.permanent:
                    result.skipped = missing[index + 1 :]
                    break
        result.calls = self.http.calls - before
        return result

    def delete(self, job_id: str) -> bool:
        # Cancels a queued task, deletes a finished one; a running one cannot be stopped.
        try:
            self.http.request("DELETE", f"{TASKS_PATH}/{quote_id(job_id)}", json={})
        except ProviderError as exc:
            if exc.status_code == 404:
                return False
            if exc.status_code == 400 or exc.status_code == 409:
                return True  # running: it finishes and is deleted by the provider after 24 h
            raise
        return True


def parse_task(body: dict[str, Any]) -> JobStatus:
    task_id = body.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise ProviderError("The provider answered a task without an id", permanent=False, code="invalid_response")
    raw_status = str(body.get("status") or "")
    state: JobState = STATES.get(raw_status, "unknown")
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = error.get("code") if isinstance(error, dict) else None
    failure = describe_failure(code or raw_status) if state == "failed" else None
    content = body.get("content") if isinstance(body.get("content"), dict) else {}
    url = content.get("video_url") if isinstance(content, dict) else None
    assets: tuple[AssetRef, ...] = ()
    if state == "succeeded" and isinstance(url, str) and url:
        assets = (AssetRef(0, "video", "", VIDEO_TYPES, source_id=task_id, url=url),)
    elif state == "succeeded":
        state, failure = "failed", describe_failure(None)
    ratio, resolution = body.get("ratio"), body.get("resolution")
    duration = body.get("duration")
    return JobStatus(
        job_id=task_id,
        state=state,
        raw_status=raw_status,
        progress=100 if state == "succeeded" else None,
        error_code=failure.code if failure else None,
        error_message=failure.message if failure else None,
        provider_error_code=str(code) if code else None,
        provider_error_message=str(error.get("message")) if isinstance(error, dict) and error.get("message") else None,
        created_at=timestamp(body.get("created_at")),
        completed_at=timestamp(body.get("updated_at")) if state in ("succeeded", "failed") else None,
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        size=SHAPES.get((str(ratio), str(resolution))),
        seconds=duration if isinstance(duration, int) and not isinstance(duration, bool) and duration > 0 else None,
        asset_refs=assets,
        raw=body,
    )
