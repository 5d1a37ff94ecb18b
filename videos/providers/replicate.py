"""Replicate predictions (`https://api.replicate.com/v1`), for official models by their path.

PROVIDERS-LIVING.md section 4. A create is `POST /models/{owner}/{name}/predictions` with the
model's own `input` (named by the catalogue's `mapping`, as for fal), never with `Prefer: wait`:
the platform follows the prediction like any job. Many predictions are polled with the list
(`GET /predictions`, newest first, 100 a page), read back to the oldest in flight. Outputs live
on `replicate.delivery` for **one hour**, so the archive races that deadline; Replicate's
document says file requests carry the key, so they are sent it, but only over https to
`replicate.delivery` hosts (or the configured host itself, the emulator), never elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from videos.providers.base import VideoProvider, quote_id
from videos.providers.downloads import AssetStream
from videos.providers.mapping import request_body
from videos.providers.polling import ListPage
from videos.providers.safety import blocked, check_redirect, host_port
from videos.providers.status import describe_failure, iso_time
from videos.providers.types import VIDEO_TYPES, AssetRef, JobState, JobStatus, ProviderError, SubmissionSpec

MODEL = re.compile(r"^[A-Za-z0-9._-]{1,100}/[A-Za-z0-9._-]{1,100}$")
PREDICTION_ID = re.compile(r"^[a-z0-9]{1,64}$")
STATES: dict[str, JobState] = {
    "starting": "queued",
    "processing": "generating",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
    "aborted": "failed",
}
DELIVERY_HOSTS = ("replicate.delivery", ".replicate.delivery")


class ReplicateProvider(VideoProvider):
    callbacks = True
    kind = "replicate"
    list_newest_first = True
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself

    def webhook_secret(self) -> str:
        """The account's signing secret for webhooks (`GET /webhooks/default/secret`)."""
        answer = self.http.request_json("GET", "/webhooks/default/secret")
        key = answer.get("key") if isinstance(answer, Mapping) else None
        if not isinstance(key, str) or not key.startswith("whsec_"):
            raise ProviderError("Replicate answered no webhook signing secret", permanent=False, code="bad_answer")
        return key

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            raise ProviderError("Replicate models here cannot remix videos", permanent=True, code="unsupported")
        if not MODEL.match(spec.model):
            raise ProviderError(f"Not a Replicate model: {spec.model!r}", permanent=True, code="unsupported")
        fields = spec.mapping.get("fields") if isinstance(spec.mapping, Mapping) else None
        if not isinstance(fields, Mapping) or not fields:
            raise ProviderError(f"No input mapping is configured for {spec.model}", permanent=True, code="unsupported")
        owner, name = spec.model.split("/")
        body: dict[str, Any] = {"input": request_body(spec, fields)}
        if spec.callback_url:
            body["webhook"] = spec.callback_url
            body["webhook_events_filter"] = ["completed"]
        path = f"/models/{quote_id(owner)}/{quote_id(name)}/predictions"
        answer = self.http.request_json("POST", path, json=body, create=True, expect=(200, 201, 202))
        return parse_prediction(answer)

    def retrieve(self, job_id: str) -> JobStatus:
        if not PREDICTION_ID.match(job_id):
            raise ProviderError(f"Not a prediction id: {job_id[:100]!r}", permanent=True, code="invalid_job_id")
        return parse_prediction(self.http.request_json("GET", f"/predictions/{job_id}"))

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        body = self.http.request_json("GET", "/predictions", params={"cursor": after} if after else None)
        items = [item for item in body.get("results") or [] if isinstance(item, dict) and item.get("id")]
        cursor = None
        following = body.get("next")
        if isinstance(following, str) and following:
            # Only the cursor is taken from `next`; the request goes to the configured host.
            cursors = parse_qs(urlsplit(following).query).get("cursor") or []
            cursor = cursors[0] if cursors else None
        return ListPage(
            jobs=[parse_prediction(item) for item in items], next_cursor=cursor if cursor != after else None
        )

    def delete(self, job_id: str) -> bool:
        if not PREDICTION_ID.match(job_id):
            return False
        try:
            self.http.request("POST", f"/predictions/{job_id}/cancel")
        except ProviderError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    @contextmanager
    def open_asset(self, asset: AssetRef, *, offset: int = 0, if_range: str | None = None) -> Iterator[AssetStream]:
        """An output file, fetched with the key only from a delivery host over https."""
        try:
            target = httpx.URL(asset.url)
        except httpx.InvalidURL as exc:
            raise ProviderError(f"Invalid output address: {exc}", permanent=True, code="redirect_blocked") from exc
        base = httpx.URL(self.config.base_url)
        own = host_port(target) == host_port(base)
        delivery = target.host.lower().rstrip(".")
        allowed = own or delivery == "replicate.delivery" or delivery.endswith(".replicate.delivery")
        if not allowed or (not own and target.scheme != "https"):
            raise blocked(
                self.config, target, "an output is fetched with the key only from replicate.delivery over https"
            )
        check_redirect(self.config, base, target)
        with self.http.open_keyed_url(str(target), asset, offset=offset) as stream:
            yield stream


def _output_url(output: object) -> str | None:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return next((item for item in output if isinstance(item, str) and item), None)
    if isinstance(output, dict):
        return next((v for v in output.values() if isinstance(v, str) and v.startswith(("http://", "https://"))), None)
    return None


def parse_prediction(body: Mapping[str, Any]) -> JobStatus:
    job_id = body.get("id")
    if not isinstance(job_id, str) or not PREDICTION_ID.match(job_id):
        raise ProviderError(
            "The provider answered a prediction without a valid id", permanent=False, code="invalid_response"
        )
    raw_status = str(body.get("status") or "")
    state: JobState = STATES.get(raw_status, "unknown")
    error = body.get("error")
    failure = (
        describe_failure(raw_status if raw_status in ("canceled", "aborted") else None) if state == "failed" else None
    )
    url = _output_url(body.get("output"))
    assets: tuple[AssetRef, ...] = ()
    created, completed = iso_time(body.get("created_at")), iso_time(body.get("completed_at"))
    expires_at = None
    if state == "succeeded":
        if body.get("data_removed"):
            # The hour is over: the files are deleted, and the deadline was when that happened.
            expires_at = completed or created or datetime.now(UTC)
        elif url:
            assets = (AssetRef(0, "video", "", VIDEO_TYPES, source_id=job_id, url=url),)
        else:
            state, failure = "failed", describe_failure(None)
    input_body = body.get("input") if isinstance(body.get("input"), dict) else {}
    prompt = input_body.get("prompt") if isinstance(input_body, dict) else None
    return JobStatus(
        job_id=job_id,
        state=state,
        raw_status=raw_status,
        progress=100 if state == "succeeded" else None,
        error_code=failure.code if failure else None,
        error_message=failure.message if failure else None,
        provider_error_code=raw_status if state == "failed" else None,
        provider_error_message=str(error) if error else None,
        created_at=created,
        completed_at=completed,
        expires_at=expires_at,
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        prompt=prompt if isinstance(prompt, str) else None,
        asset_refs=assets,
        raw=dict(body),
    )
