"""Kling's own API (`https://api-singapore.klingai.com`), text and image to video.

PROVIDERS-LIVING.md section 6. Every call carries a short-lived HS256 JWT made from the
account's access key and secret key (stored together as `ACCESS_KEY:SECRET_KEY`), with PyJWT.
Images go as raw base64 (no `data:` prefix): `image` is the first frame, `image_tail` the last.
Each task is tagged with the platform's video id (`external_task_id`), so a create whose answer
was lost is found by that tag, not by guessing. Many tasks are polled with the family's list;
answers share one envelope (`code` 0 on success; 1303 means the account's concurrency is full,
a transient 429). Results are public CDN URLs, cleared after 30 days.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

import jwt

from videos.providers.base import VideoProvider, quote_id
from videos.providers.polling import ListPage, find_created
from videos.providers.status import describe_failure, timestamp
from videos.providers.types import (
    VIDEO_TYPES,
    AssetRef,
    JobState,
    JobStatus,
    ProviderConfig,
    ProviderError,
    SubmissionSpec,
)

FAMILIES = ("text2video", "image2video")
STATES: dict[str, JobState] = {
    "submitted": "queued",
    "processing": "generating",
    "succeed": "succeeded",
    "failed": "failed",
}
TOKEN_SECONDS = 1800


def keys(secret: str) -> tuple[str, str]:
    access, sep, secret_key = secret.partition(":")
    if not sep or not access or not secret_key:
        raise ProviderError(
            "A Kling key is stored as ACCESS_KEY:SECRET_KEY", permanent=True, code="invalid_credentials"
        )
    return access, secret_key


def token(access: str, secret_key: str, now: float | None = None) -> str:
    moment = int(now or time.time())
    claims = {"iss": access, "exp": moment + TOKEN_SECONDS, "nbf": moment - 5}
    return jwt.encode(claims, secret_key, algorithm="HS256", headers={"typ": "JWT"})


class KlingProvider(VideoProvider):
    callbacks = True
    kind = "kling"
    list_newest_first = True
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self.access, self.secret_key = keys(config.api_key)
        self._token: tuple[str, float] | None = None
        self.http.auth_headers = self._jwt_headers  # type: ignore[method-assign]

    def _jwt_headers(self) -> dict[str, str]:
        now = time.time()
        if self._token is None or self._token[1] < now + 60:
            self._token = (token(self.access, self.secret_key, now), now + TOKEN_SECONDS)
        return {**self.config.extra_headers, "Authorization": f"Bearer {self._token[0]}"}

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of or spec.reference_images:
            raise ProviderError("Kling here makes text and image to video only", permanent=True, code="unsupported")
        width, _, height = spec.size.partition("x")
        w, h = int(width), int(height)
        body: dict[str, Any] = {
            "model_name": spec.model,
            "prompt": spec.prompt,
            "duration": str(spec.seconds),
            "mode": str(spec.mapping.get("mode", "pro")) if spec.mapping else "pro",
        }
        if spec.negative_prompt:
            body["negative_prompt"] = spec.negative_prompt
        if spec.audio is not None:
            body["sound"] = "on" if spec.audio else "off"
        if spec.client_reference:
            body["external_task_id"] = spec.client_reference
        if spec.callback_url:
            body["callback_url"] = spec.callback_url
        family = "text2video"
        if spec.input_image is not None or spec.last_frame is not None:
            family = "image2video"
            if spec.input_image is not None:
                body["image"] = base64.b64encode(spec.input_image).decode("ascii")
            if spec.last_frame is not None:
                body["image_tail"] = base64.b64encode(spec.last_frame.data).decode("ascii")
        else:
            body["aspect_ratio"] = "16:9" if w > h else "9:16" if h > w else "1:1"
        answer = self.http.request_json("POST", f"/v1/videos/{family}", json=body, create=True)
        return parse_task(_data(answer, create=True), family)

    def retrieve(self, job_id: str) -> JobStatus:
        family, _, task_id = job_id.partition("/")
        if family not in FAMILIES or not task_id.isdigit():
            raise ProviderError(f"Not a Kling task: {job_id[:100]!r}", permanent=True, code="invalid_job_id")
        answer = self.http.request_json("GET", f"/v1/videos/{family}/{quote_id(task_id)}")
        return parse_task(_data(answer), family)

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        """Both families' newest tasks, a page of each (`after` is the page number)."""
        page = int(after) if after and after.isdigit() else 1
        size = self.config.list_page_size or 100
        jobs: list[JobStatus] = []
        more = False
        for family in FAMILIES:
            answer = self.http.request_json("GET", f"/v1/videos/{family}", params={"pageNum": page, "pageSize": size})
            data = answer.get("data")
            items: list[Any] = data if isinstance(data, list) else []
            jobs += [parse_task(item, family) for item in items if isinstance(item, dict) and item.get("task_id")]
            more = more or len(items) == size
        jobs.sort(key=lambda job: job.created_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        return ListPage(jobs=jobs, next_cursor=str(page + 1) if more and page < 1000 else None)

    def find_created(self, spec: SubmissionSpec, *, since: datetime) -> list[JobStatus]:
        """The task tagged with this video's id, when there is one: certain, not a guess."""
        found = find_created(self, spec, since=since)
        if spec.client_reference:
            tagged = [job for job in found if job.client_reference == spec.client_reference]
            return tagged
        return found

    def delete(self, job_id: str) -> bool:
        return False  # Kling has no cancel; its CDN clears results after 30 days


def _data(answer: dict[str, Any], *, create: bool = False) -> dict[str, Any]:
    code = answer.get("code")
    data = answer.get("data")
    if code not in (0, None) or not isinstance(data, dict):
        raise ProviderError(
            f"Kling answered code {code}: {answer.get('message')}",
            permanent=False,
            code=str(code),
            outcome_unknown=create,
        )
    return data


def parse_task(data: dict[str, Any], family: str) -> JobStatus:
    task_id = str(data.get("task_id") or "")
    if not task_id.isdigit():
        raise ProviderError("Kling answered a task without an id", permanent=False, code="invalid_response")
    raw_status = str(data.get("task_status") or "")
    state: JobState = STATES.get(raw_status, "unknown")
    message = str(data.get("task_status_msg") or "")
    failure = None
    if state == "failed":
        risky = "risk" in message.lower() or "safety" in message.lower()
        failure = describe_failure("output_moderation" if risky else None)
    result = data.get("task_result") if isinstance(data.get("task_result"), dict) else {}
    videos = [v for v in (result or {}).get("videos") or [] if isinstance(v, dict) and isinstance(v.get("url"), str)]
    assets: tuple[AssetRef, ...] = ()
    if state == "succeeded":
        if videos:
            assets = (
                AssetRef(
                    0, "video", "", VIDEO_TYPES, source_id=str(videos[0].get("id") or task_id), url=videos[0]["url"]
                ),
            )
        else:
            state, failure = "failed", describe_failure(None)
    info = data.get("task_info") if isinstance(data.get("task_info"), dict) else {}
    reference = (info or {}).get("external_task_id")
    return JobStatus(
        job_id=f"{family}/{task_id}",
        state=state,
        raw_status=raw_status,
        progress=100 if state == "succeeded" else None,
        error_code=failure.code if failure else None,
        error_message=failure.message if failure else None,
        provider_error_message=message or None,
        created_at=timestamp(data.get("created_at")),
        completed_at=timestamp(data.get("updated_at")) if state in ("succeeded", "failed") else None,
        asset_refs=assets,
        client_reference=str(reference) if reference else None,
        raw=data,
    )
