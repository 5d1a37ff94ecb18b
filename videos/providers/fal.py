"""fal's queue (`https://queue.fal.run`): one adapter for any fal video endpoint.

PROVIDERS-LIVING.md section 3. Every fal model has its own input schema, so what the platform
sends is data, not code: the catalogue's `mapping` for the model names the endpoint to use for
text, a start frame, or a start and a last frame, and which field carries each of the
platform's inputs, e.g.

    {"endpoints": {
        "text": {"id": "fal-ai/veo3.1",
                 "fields": {"prompt": "prompt", "aspect_ratio": "aspect_ratio", "duration": "duration",
                            "resolution": "resolution", "audio": "generate_audio"}},
        "image": {"id": "fal-ai/veo3.1/image-to-video", "fields": {"first_frame": "image_url", ...}}},
     "duration_format": "{seconds}s"}

(`duration_format`: "{seconds}", "{seconds}s" or "int"). Images go as data URIs, so the
platform never has to be reachable. A job's id is its queue path `owner/app/requests/{id}`:
status, result and cancel are that path plus `/status`, nothing and `/cancel`, always on the
configured host (the addresses an answer names are used only when they agree). There is no
list: each job is polled with one status call, plus one result call when it is done. Results
are public files on fal's CDN, fetched without credentials; fal is asked to keep them as long
as the platform needs (`X-Fal-Object-Lifecycle-Preference`).

With a callback URL, the submission asks fal to POST there when the request ends
(`?fal_webhook=`); fal signs those with Ed25519, and `webhook_keys` reads its public keys from
the JWKS (`https://rest.fal.ai/.well-known/jwks.json` for fal's own hosts, else
`{base URL}/.well-known/jwks.json`, where the emulator and gateways serve theirs).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from videos.providers.base import VideoProvider
from videos.providers.mapping import request_body
from videos.providers.polling import ListPage
from videos.providers.status import describe_failure
from videos.providers.types import VIDEO_TYPES, AssetRef, JobStatus, ProviderError, SubmissionSpec

FAL_HOSTS = ("fal.run", "fal.ai")  # fal's own hosts (queue.fal.run...), whose keys are fal's
FAL_JWKS_URL = "https://rest.fal.ai/.well-known/jwks.json"
ENDPOINT_ID = re.compile(r"^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)+$")
JOB_PATH = re.compile(r"^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+/requests/[A-Za-z0-9-]{1,100}$")


def choose_endpoint(spec: SubmissionSpec) -> tuple[str, Mapping[str, str]]:
    """(endpoint id, field names) for what `spec` holds, from the model's mapping."""
    endpoints = spec.mapping.get("endpoints") if isinstance(spec.mapping, Mapping) else None
    if not isinstance(endpoints, Mapping) or not endpoints:
        raise ProviderError(
            f"No fal endpoint is configured for {spec.model}: set its mapping in the provider's model capabilities",
            permanent=True,
            code="unsupported",
        )
    if spec.last_frame is not None and "frames" in endpoints:
        wanted = "frames"
    elif spec.input_image is not None or spec.last_frame is not None:
        wanted = "image"
    else:
        wanted = "text"
    entry = endpoints.get(wanted)
    if not isinstance(entry, Mapping) or not ENDPOINT_ID.match(str(entry.get("id", ""))):
        raise ProviderError(f"{spec.model} has no fal endpoint for {wanted} input", permanent=True, code="unsupported")
    fields = entry.get("fields")
    return str(entry["id"]), fields if isinstance(fields, Mapping) else {}


class FalQueueProvider(VideoProvider):
    kind = "fal"
    callbacks = True
    lists_many = False
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            raise ProviderError("fal endpoints here cannot remix videos", permanent=True, code="unsupported")
        endpoint, fields = choose_endpoint(spec)
        body = request_body(spec, fields)
        headers = {}
        if spec.keep_seconds:
            # Keep the outputs at least until the archive deadline (fal's default is 7 days).
            headers["X-Fal-Object-Lifecycle-Preference"] = json.dumps(
                {"expiration_duration_seconds": spec.keep_seconds}
            )
        params = {"fal_webhook": spec.callback_url} if spec.callback_url else None
        answer = self.http.request_json("POST", f"/{endpoint}", json=body, create=True, headers=headers, params=params)
        request_id = answer.get("request_id")
        if not isinstance(request_id, str) or not re.fullmatch(r"[A-Za-z0-9-]{1,100}", request_id):
            raise ProviderError(
                "fal answered a submission without a usable request_id",
                permanent=False,
                code="invalid_response",
                outcome_unknown=True,
            )
        job_id = self._job_path(endpoint, request_id, answer.get("response_url"))
        return JobStatus(job_id=job_id, state="queued", raw_status=str(answer.get("status") or "IN_QUEUE"), raw=answer)

    def jwks_url(self) -> str:
        host = (urlsplit(self.config.base_url).hostname or "").lower()
        if host in FAL_HOSTS or host.endswith(tuple("." + name for name in FAL_HOSTS)):
            return FAL_JWKS_URL
        return self.config.base_url + "/.well-known/jwks.json"

    def webhook_keys(self) -> list[bytes]:
        """The raw Ed25519 public keys fal signs its webhooks with (OKP keys of its JWKS)."""
        document = self.http.public_json(self.jwks_url())
        keys = []
        for entry in document.get("keys") or ():
            if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
                continue
            text = str(entry.get("x") or "")
            try:
                raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            except (binascii.Error, ValueError):
                continue
            if len(raw) == 32:
                keys.append(raw)
        if not keys:
            raise ProviderError("fal's JWKS holds no Ed25519 key", permanent=False, code="invalid_response")
        return keys

    def _job_path(self, endpoint: str, request_id: str, response_url: object) -> str:
        """The queue path of a request: the answer's own when it is on the configured host."""
        owner, app = endpoint.split("/")[:2]
        built = f"{owner}/{app}/requests/{request_id}"
        if isinstance(response_url, str):
            given, base = urlsplit(response_url), urlsplit(self.config.base_url)
            prefix = base.path.rstrip("/") + "/"
            if given.netloc == base.netloc and given.path.startswith(prefix):
                path = given.path[len(prefix) :]
                if JOB_PATH.match(path) and path.endswith(f"/requests/{request_id}"):
                    return path
        return built

    def retrieve(self, job_id: str) -> JobStatus:
        if not JOB_PATH.match(job_id):
            raise ProviderError(f"Not a fal queue request: {job_id[:120]!r}", permanent=True, code="invalid_job_id")
        status = self.http.request_json("GET", f"/{job_id}/status", params={"logs": "0"}, expect=(200, 202))
        word = str(status.get("status") or "")
        if word == "IN_QUEUE":
            return JobStatus(job_id=job_id, state="queued", raw_status=word, raw=status)
        if word == "IN_PROGRESS":
            return JobStatus(job_id=job_id, state="generating", raw_status=word, raw=status)
        if word != "COMPLETED":
            return JobStatus(job_id=job_id, state="unknown", raw_status=word, raw=status)
        if status.get("error"):
            return _failed(job_id, str(status.get("error_type") or ""), str(status["error"]), status)
        try:
            result = self.http.request_json("GET", f"/{job_id}")
        except ProviderError as exc:
            if exc.permanent and exc.status_code in (400, 422):
                return _failed(job_id, exc.code or "", exc.message, status)
            raise
        return parse_result(job_id, result)

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        raise ProviderError("fal's queue lists no requests", permanent=True, code="unsupported")

    def delete(self, job_id: str) -> bool:
        """Ask fal to cancel a request still waiting or running; its files expire by themselves."""
        if not JOB_PATH.match(job_id):
            return False
        try:
            self.http.request("PUT", f"/{job_id}/cancel", expect=(200, 202))
        except ProviderError as exc:
            if exc.status_code == 404:
                return False
            if exc.status_code == 400:  # ALREADY_COMPLETED
                return True
            raise
        return True


def _failed(job_id: str, error_type: str, message: str, raw: Mapping[str, Any]) -> JobStatus:
    failure = describe_failure(error_type or None)
    return JobStatus(
        job_id=job_id,
        state="failed",
        raw_status="COMPLETED",
        error_code=failure.code,
        error_message=failure.message,
        provider_error_code=error_type or None,
        provider_error_message=message[:1000] or None,
        raw=raw,
    )


def parse_result(job_id: str, body: Mapping[str, Any]) -> JobStatus:
    video = body.get("video")
    url = video.get("url") if isinstance(video, Mapping) else None
    if not isinstance(url, str) or not url:
        return _failed(job_id, "", "fal's result holds no video", body)
    return JobStatus(
        job_id=job_id,
        state="succeeded",
        raw_status="COMPLETED",
        progress=100,
        generation_ids=(job_id.rsplit("/", 1)[1],),
        asset_refs=(AssetRef(0, "video", "", VIDEO_TYPES, source_id=job_id.rsplit("/", 1)[1], url=url),),
        raw=body,
    )
