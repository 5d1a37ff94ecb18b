"""Veo through Vertex AI (`:predictLongRunning`, `:fetchPredictOperation`).

PROVIDERS-LIVING.md section 1.6. Two ways in, told apart by the key the operator stores:
- **express mode**: an API key (`x-goog-api-key`); the base URL is the API's root with its
  version, e.g. `https://aiplatform.googleapis.com/v1`;
- **project mode**: a service account's JSON key, turned into OAuth access tokens by
  google-auth (at the token endpoint the key file names); the base URL names the project and
  location, e.g. `https://us-central1-aiplatform.googleapis.com/v1/projects/P/locations/us-central1`.

Either way the model's methods sit at `{base}/publishers/google/models/{model}:...`. A job is an
operation, polled with one `fetchPredictOperation` call each (no list, no cancel). Without a
`storageUri` the finished operation carries each video inline as base64: the poll keeps only
the sample's position, and the archive fetches the operation again and decodes it, within the
download size limit. With one (the model's `mapping` names it: `{"storage_uri":
"gs://bucket/prefix"}`, project mode only) the videos are written to that bucket and the archive
reads them through Cloud Storage's JSON API with the same OAuth token; the address is built
here from the `gs://` name, on Google's storage host (or, for a base URL elsewhere such as the
emulator, beside it), never taken from an answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import httpx
from google.auth import transport
from google.auth.exceptions import GoogleAuthError
from google.oauth2 import service_account as sa

from videos.providers.base import VideoProvider, quote_id
from videos.providers.downloads import AssetStream
from videos.providers.gemini import inline_image, veo_shape
from videos.providers.http import ProviderHttp
from videos.providers.polling import ListPage
from videos.providers.status import GENERATION_FAILED
from videos.providers.types import VIDEO_TYPES, AssetRef, JobStatus, ProviderConfig, ProviderError, SubmissionSpec

GCS_URI = re.compile(r"^gs://([a-z0-9][a-z0-9._-]{1,221}[a-z0-9])/([^\x00-\x1f]{1,1024})$")
GOOGLE_STORAGE = "https://storage.googleapis.com"
OPERATION_NAME = re.compile(
    r"^(?:projects/[A-Za-z0-9._-]{1,100}/locations/[A-Za-z0-9-]{1,50}/)?"
    r"publishers/google/models/([A-Za-z0-9._-]{1,100})/operations/[A-Za-z0-9_-]{1,200}$"
)
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# Room for the operation that carries the videos inline (base64 takes a third more).
INLINE_ANSWER_FACTOR = 1.4
# Veo's videos are megabytes; an inline answer is never read past this, whatever the download limit.
MAX_INLINE_ANSWER = 256 * 1024**2

_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def service_account(key: str) -> dict[str, Any] | None:
    """The service account key file, when that is what the operator stored (else an API key)."""
    text = key.strip()
    if not text.startswith("{"):
        return None
    try:
        info = json.loads(text)
    except ValueError:
        raise ProviderError("The stored key is not valid JSON", permanent=True, code="invalid_credentials") from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ProviderError("The stored JSON is not a service account key", permanent=True, code="invalid_credentials")
    return info


class _TokenAnswer(transport.Response):
    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self._status, self._headers, self._data = status, headers, data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class CappedTransport(transport.Request):
    """google-auth's HTTP transport for the token request, through the provider's HTTP helper:
    no environment proxies, no redirects, no provider credentials, and an answer read only up to
    the byte cap (an endless body from the token endpoint is a transient error)."""

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _TokenAnswer:
        answer = self.http.plain(method, url, content=body, headers=headers)
        return _TokenAnswer(answer.status_code, dict(answer.headers), answer.body)


def access_token(info: dict[str, Any], http: ProviderHttp) -> str:
    """An OAuth access token for the service account, from google-auth, cached until shortly
    before it expires (one token request per account and hour, not per call)."""
    cache_key = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()
    with _tokens_lock:
        cached = _tokens.get(cache_key)
        if cached and cached[1] > time.time() + 60:
            return cached[0]
        try:
            credentials = sa.Credentials.from_service_account_info(info, scopes=list(SCOPES))
            credentials.refresh(CappedTransport(http))
        except (GoogleAuthError, ValueError) as exc:
            raise ProviderError(
                f"The service account could not get an access token: {exc}",
                permanent=isinstance(exc, ValueError) or "invalid_grant" in str(exc),
                code="invalid_credentials",
            ) from exc
        # google-auth's expiry is a naive UTC time.
        expires = credentials.expiry
        expiry = expires.replace(tzinfo=UTC).timestamp() if expires is not None else time.time() + 3000
        _tokens[cache_key] = (str(credentials.token), expiry)
        return str(credentials.token)


class VertexVeoProvider(VideoProvider):
    kind = "vertex"
    lists_many = False
    assets_per_variant = 1  # the video; the platform makes the thumbnail itself
    can_extend = True
    extends_held_copy = False  # the stored video is sent with the request

    def __init__(self, config: ProviderConfig) -> None:
        super().__init__(config)
        self.account = service_account(config.api_key)
        if self.account is not None:
            self.http.auth_headers = self._oauth_headers  # type: ignore[method-assign]

    def _oauth_headers(self) -> dict[str, str]:
        assert self.account is not None
        token = access_token(self.account, self.http)
        return {**self.config.extra_headers, "Authorization": f"Bearer {token}"}

    def create(self, spec: SubmissionSpec) -> JobStatus:
        if spec.remix_of:
            raise ProviderError("Veo cannot remix videos", permanent=True, code="unsupported")
        aspect_ratio, resolution = veo_shape(spec.size)
        instance: dict[str, Any] = {"prompt": spec.prompt}
        if spec.extend is not None:
            # The stored copy goes inline: Vertex AI extends any Veo video sent to it, so an
            # extension does not depend on the provider still holding the original.
            instance["video"] = {
                "bytesBase64Encoded": base64.b64encode(spec.extend.read()).decode("ascii"),
                "mimeType": spec.extend.content_type,
            }
        if spec.input_image is not None:
            instance["image"] = inline_image(spec.input_image, spec.input_content_type)
        if spec.last_frame is not None:
            instance["lastFrame"] = inline_image(spec.last_frame.data, spec.last_frame.content_type)
        if spec.reference_images:
            instance["referenceImages"] = [
                {"image": inline_image(image.data, image.content_type), "referenceType": "asset"}
                for image in spec.reference_images
            ]
        parameters: dict[str, Any] = {
            "sampleCount": spec.n_variants,
            "durationSeconds": spec.seconds,
            "aspectRatio": aspect_ratio,
            "resolution": resolution,
        }
        if spec.negative_prompt:
            parameters["negativePrompt"] = spec.negative_prompt
        if spec.seed is not None:
            parameters["seed"] = spec.seed
        if spec.audio is not None:
            parameters["generateAudio"] = spec.audio
        storage_uri = spec.mapping.get("storage_uri") if spec.mapping else None
        if storage_uri:
            if self.account is None:
                raise ProviderError(
                    "Writing videos to a gs:// bucket needs project mode (a service account key)",
                    permanent=True,
                    code="unsupported",
                )
            if not GCS_URI.match(str(storage_uri).rstrip("/") + "/x"):
                raise ProviderError(f"Not a gs:// bucket address: {storage_uri!r}", permanent=True, code="unsupported")
            parameters["storageUri"] = str(storage_uri)
        path = f"/publishers/google/models/{quote_id(spec.model)}:predictLongRunning"
        answer = self.http.request_json(
            "POST", path, json={"instances": [instance], "parameters": parameters}, create=True
        )
        status = parse_operation(answer)
        return JobStatus(job_id=status.job_id, state="queued", raw_status="submitted", model=spec.model, raw=answer)

    def _fetch(self, job_id: str, *, inline: bool = False) -> dict[str, Any]:
        match = OPERATION_NAME.match(job_id)
        if not match:
            raise ProviderError(f"Not a Vertex operation name: {job_id[:120]!r}", permanent=True, code="invalid_job_id")
        path = f"/publishers/google/models/{quote_id(match.group(1))}:fetchPredictOperation"
        # The answer that carries the videos inline may be as large as they are, within bounds.
        limit = min(int(self.config.max_download_bytes * INLINE_ANSWER_FACTOR), MAX_INLINE_ANSWER) if inline else None
        return self.http.request_json("POST", path, json={"operationName": job_id}, max_bytes=limit)

    def retrieve(self, job_id: str) -> JobStatus:
        try:
            return parse_operation(self._fetch(job_id))
        except ProviderError as exc:
            if exc.code != "response_too_large":
                raise
        # Done, with its videos inline and too large for a poll: read it once more, uncapped to
        # the download limit, and keep only where each sample sits.
        return parse_operation(self._fetch(job_id, inline=True))

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        raise ProviderError("Vertex AI lists no video operations", permanent=True, code="unsupported")

    def delete(self, job_id: str) -> bool:
        return False  # operations cannot be cancelled; outputs are the operator's or inline

    def storage_url(self, gcs_uri: str) -> str:
        """Cloud Storage's JSON API address of a `gs://bucket/object`, on Google's storage host,
        or beside the base URL when it is not Google's (the emulator)."""
        match = GCS_URI.match(gcs_uri)
        if not match:
            raise ProviderError(f"Not a gs:// object: {gcs_uri[:200]!r}", permanent=True, code="invalid_response")
        host = httpx.URL(self.config.base_url).host
        root = GOOGLE_STORAGE if host.endswith(".googleapis.com") else self.config.base_url.split("/v1", 1)[0]
        return f"{root}/storage/v1/b/{match.group(1)}/o/{quote_id(match.group(2))}?alt=media"

    @contextmanager
    def open_asset(self, asset: AssetRef, *, offset: int = 0, if_range: str | None = None) -> Iterator[AssetStream]:
        if asset.path.startswith("gcs:"):
            with self.http.open_keyed_url(
                self.storage_url(asset.path.removeprefix("gcs:")), asset, offset=offset
            ) as stream:
                yield stream
            return
        if not asset.path.startswith("inline:"):
            with super().open_asset(asset, offset=offset, if_range=if_range) as stream:
                yield stream
            return
        body = self._fetch(asset.source_id, inline=True)
        videos = _object(body.get("response")).get("videos") or []
        index = int(asset.path.removeprefix("inline:"))
        sample = videos[index] if index < len(videos) and isinstance(videos[index], dict) else {}
        try:
            data = base64.b64decode(str(sample.get("bytesBase64Encoded") or ""), validate=True)
        except (binascii.Error, ValueError):
            data = b""
        if not data:
            raise ProviderError(
                "The operation no longer holds this video", permanent=False, code="inline_missing", status_code=404
            )
        content_type = str(sample.get("mimeType") or "video/mp4")
        body_bytes = data[offset:]
        status = 206 if offset else 200
        headers = {"content-type": content_type, "content-length": str(len(body_bytes))}
        if offset:
            headers["content-range"] = f"bytes {offset}-{len(data) - 1}/{len(data)}"
        response = httpx.Response(status, headers=headers, stream=httpx.ByteStream(body_bytes))
        yield AssetStream(
            response=response,
            asset=asset,
            start=offset,
            content_length=len(body_bytes),
            total_size=len(data),
            content_type=content_type if content_type in VIDEO_TYPES else "video/mp4",
            validator=hashlib.sha256(data).hexdigest()[:32],
            max_bytes=self.config.max_download_bytes,
        )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_operation(body: dict[str, Any]) -> JobStatus:
    name = body.get("name")
    match = OPERATION_NAME.match(name) if isinstance(name, str) else None
    if not match or not isinstance(name, str):
        raise ProviderError(
            "The provider answered an operation without a valid name", permanent=False, code="invalid_response"
        )
    model = match.group(1)
    if not body.get("done"):
        return JobStatus(job_id=name, state="generating", raw_status="running", model=model, raw={"name": name})
    error = body.get("error")
    if isinstance(error, dict):
        return JobStatus(
            job_id=name,
            state="failed",
            raw_status="error",
            error_code="invalid_request" if error.get("code") in (3, 9) else GENERATION_FAILED.code,
            error_message=(
                f"The provider refused the request: {error.get('message')}"
                if error.get("code") in (3, 9)
                else GENERATION_FAILED.message
            ),
            provider_error_code=str(error.get("code")) if error.get("code") is not None else None,
            provider_error_message=str(error.get("message") or "") or None,
            model=model,
            raw={"name": name, "error": error},
        )
    response = _object(body.get("response"))
    videos = [v for v in response.get("videos") or [] if isinstance(v, dict)]
    assets = []
    for index, video in enumerate(videos):
        if video.get("bytesBase64Encoded"):
            assets.append(AssetRef(index, "video", f"inline:{index}", VIDEO_TYPES, source_id=name))
        elif isinstance(video.get("gcsUri"), str) and GCS_URI.match(video["gcsUri"]):
            assets.append(AssetRef(index, "video", f"gcs:{video['gcsUri']}", VIDEO_TYPES, source_id=name))
    if not assets:
        reasons = [str(r) for r in response.get("raiMediaFilteredReasons") or [] if r]
        filtered = bool(reasons or response.get("raiMediaFilteredCount"))
        return JobStatus(
            job_id=name,
            state="failed",
            raw_status="filtered" if filtered else "done",
            error_code="moderation_blocked" if filtered else GENERATION_FAILED.code,
            error_message=(
                "The provider's safety filters blocked this video" + (f": {reasons[0]}" if reasons else ".")
                if filtered
                else "The provider finished without a video."
            ),
            provider_error_code="raiMediaFiltered" if filtered else None,
            provider_error_message=reasons[0] if reasons else None,
            model=model,
            raw={"name": name},
        )
    # Only where each sample sits is kept: the bytes stay at the provider until the archive.
    return JobStatus(
        job_id=name,
        state="succeeded",
        raw_status="done",
        progress=100,
        model=model,
        generation_ids=tuple(f"{name}#{a.variant_index}" for a in assets),
        asset_refs=tuple(assets),
        raw={"name": name, "done": True},
    )
