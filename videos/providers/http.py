"""The one HTTP helper both adapters use: auth, timeouts, bounded answers, safe streaming downloads.

Answers are mapped to ProviderError by errors.py; redirect targets are checked by safety.py.
Every answer other than a download is streamed and read up to a byte cap, so a gateway that
sends an endless body costs a transient error, not the worker's memory.

Nothing here retries. The task side decides when to try again, from ProviderError.permanent,
retry_after and outcome_unknown; a create in particular is never sent twice by this layer.
"""

from __future__ import annotations

import json as jsonlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from videos.providers.downloads import AssetStream, check_asset_response
from videos.providers.errors import error_from_response, error_from_transport
from videos.providers.safety import check_public_asset, check_redirect
from videos.providers.types import AssetRef, ProviderConfig, ProviderError

logger = logging.getLogger("videos.providers")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Answer:
    """A successful answer, its body read whole and within the cap."""

    status_code: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)


def json_object(answer: Answer, *, what: str, create: bool) -> dict[str, Any]:
    """The answer's JSON object, or a transient error (an unknown outcome for a create)."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        content_type = answer.headers.get("content-type", "")
        raise ProviderError(
            f"{what}: the provider answered {answer.status_code} without a JSON object ({content_type})",
            permanent=False,
            code="invalid_response",
            status_code=answer.status_code,
            outcome_unknown=create,
        )
    return body


class ForceMultipart(dict):
    """httpx only encodes multipart when `files` is truthy; creates are multipart even without a file."""

    def __bool__(self) -> bool:
        return True


class ProviderHttp:
    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        # Requests sent (including failed ones); lets callers and benchmarks count calls.
        self.calls = 0
        self.timeout = httpx.Timeout(
            connect=config.connect_timeout,
            read=config.read_timeout,
            write=config.write_timeout,
            pool=config.pool_timeout,
        )
        # No auth on the client itself: credentials are added per request to the provider, so
        # nothing built from the client's defaults (a followed redirect) can carry them.
        self.client = httpx.Client(
            trust_env=False,
            follow_redirects=False,
            timeout=self.timeout,
            verify=config.verify_tls,
            headers={"User-Agent": config.user_agent},
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )

    def close(self) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        return self.config.base_url + path

    def params(
        self, params: Mapping[str, Any] | tuple[tuple[str, str], ...] | None = None
    ) -> tuple[tuple[str, str], ...]:
        items = list(params.items() if isinstance(params, Mapping) else params or ())
        merged = [(key, str(value)) for key, value in items if value is not None]
        if self.config.api_version:
            merged.append(("api-version", self.config.api_version))
        return tuple(merged)

    def auth_headers(self) -> dict[str, str]:
        headers = dict(self.config.extra_headers)
        if self.config.auth_style == "api_key":
            headers["api-key"] = self.config.api_key
        elif self.config.auth_style == "goog_api_key":
            headers["x-goog-api-key"] = self.config.api_key
        elif self.config.auth_style == "key":
            headers["Authorization"] = f"Key {self.config.api_key}"
        else:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Any = None,
        create: bool = False,
        expect: tuple[int, ...] = (200,),
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> Answer:
        """One call, no retries. `create=True` marks calls that start billable work; `max_bytes`
        raises the answer's cap for one call that carries media (Vertex's inline videos)."""
        what = f"{method} {path}"
        # Identity: a compressed body would be inflated in steps the byte cap cannot bound.
        sent = {"Accept": "application/json", "Accept-Encoding": "identity", **(headers or {}), **self.auth_headers()}
        request = self.client.build_request(
            method, self.url(path), params=self.params(params), json=json, data=data, files=files, headers=sent
        )
        return self._exchange(request, what=what, create=create, expect=expect, max_bytes=max_bytes)

    def plain(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] | None = None,
    ) -> Answer:
        """One call to an address the adapter names itself (never one an answer named), without
        the provider's credentials and within the cap: fal's webhook keys, Vertex AI's token
        endpoint. Any status is answered unless `expect` names the ones to accept."""
        sent = {"Accept-Encoding": "identity", "User-Agent": self.config.user_agent, **(headers or {})}
        request = httpx.Request(
            method, url, content=content, headers=sent, extensions={"timeout": self.timeout.as_dict()}
        )
        return self._exchange(request, what=f"{method} {url}", create=False, expect=expect)

    def _exchange(
        self,
        request: httpx.Request,
        *,
        what: str,
        create: bool,
        expect: tuple[int, ...] | None,
        max_bytes: int | None = None,
    ) -> Answer:
        self.calls += 1
        try:
            response = self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise error_from_transport(exc, create=create, what=what) from exc
        try:
            if expect is not None and response.status_code not in expect:
                error = error_from_response(response, create=create)
                logger.info("provider %s: %s answered %s: %r", self.config.name, what, response.status_code, error)
                raise error
            body = self._read_capped(response, create=create, what=what, limit=max_bytes)
        finally:
            response.close()
        return Answer(status_code=response.status_code, headers=response.headers, body=body)

    def _read_capped(self, response: httpx.Response, *, create: bool, what: str, limit: int | None = None) -> bytes:
        """The whole body, or a transient error once it passes the cap (the rest is never read).

        For a create the outcome is unknown: the provider may have accepted the job before its
        answer went wrong, so it is reconciled rather than sent again."""
        limit = limit or self.config.max_response_bytes
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(
                response,
                create=create,
                message=f"{what}: the answer announces {declared} bytes, over the {limit}-byte limit",
            )
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ProviderError(
                f"{what}: the provider answered {encoding}-encoded although identity was asked for",
                permanent=False,
                code="unexpected_content_encoding",
                status_code=response.status_code,
                outcome_unknown=create,
            )
        body = bytearray()
        try:
            for chunk in response.iter_raw():
                body += chunk
                if len(body) > limit:
                    raise self._too_large(
                        response, create=create, message=f"{what}: the answer runs past the {limit}-byte limit"
                    )
        except httpx.HTTPError as exc:
            raise error_from_transport(exc, create=create, what=what) from exc
        return bytes(body)

    def _too_large(self, response: httpx.Response, *, create: bool, message: str) -> ProviderError:
        error = ProviderError(
            message,
            permanent=False,
            code="response_too_large",
            status_code=response.status_code,
            outcome_unknown=create,
        )
        logger.warning("provider %s: %r", self.config.name, error)
        return error

    def request_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return json_object(
            self.request(method, path, **kwargs), what=f"{method} {path}", create=bool(kwargs.get("create"))
        )

    def public_json(self, url: str) -> dict[str, Any]:
        """A public JSON document (fal's webhook keys), without credentials and within the cap."""
        answer = self.plain("GET", url, headers={"Accept": "application/json"}, expect=(200,))
        return json_object(answer, what=f"GET {url}", create=False)

    @contextmanager
    def open_asset(self, asset: AssetRef, *, offset: int = 0, if_range: str | None = None) -> Iterator[AssetStream]:
        """Stream one asset from the provider; redirects are followed only to allowed targets
        and never with credentials."""
        headers = {"Accept": asset.accept, "Accept-Encoding": "identity", "User-Agent": self.config.user_agent}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
            if if_range:
                headers["If-Range"] = if_range
        if asset.public:
            # A pre-signed CDN address: checked like a redirect target, and never sent a credential.
            try:
                target = httpx.URL(asset.url)
            except httpx.InvalidURL as exc:
                raise ProviderError(f"Invalid asset address: {exc}", permanent=True, code="redirect_blocked") from exc
            check_public_asset(self.config, target)
            request = httpx.Request("GET", target, headers=headers, extensions={"timeout": self.timeout.as_dict()})
        else:
            request = self.client.build_request(
                "GET",
                self.url(asset.path),
                params=self.params(asset.params),
                headers={**headers, **self.auth_headers()},
            )
        with self._opened(request, headers, asset, offset) as stream:
            yield stream

    @contextmanager
    def open_keyed_url(self, url: str, asset: AssetRef, *, offset: int = 0) -> Iterator[AssetStream]:
        """Stream an asset from an address the adapter built itself (never one an answer named),
        with the provider's credentials: Vertex AI's outputs in Cloud Storage."""
        headers = {"Accept": asset.accept, "Accept-Encoding": "identity", "User-Agent": self.config.user_agent}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
        request = self.client.build_request("GET", url, headers={**headers, **self.auth_headers()})
        with self._opened(request, headers, asset, offset) as stream:
            yield stream

    @contextmanager
    def _opened(
        self, request: httpx.Request, headers: dict[str, str], asset: AssetRef, offset: int
    ) -> Iterator[AssetStream]:
        response = self._send_following_redirects(request, headers)
        try:
            if response.status_code == 416:
                # The offset is past the end (the asset changed, or is already complete):
                # the caller restarts from byte 0.
                raise ProviderError(
                    f"{asset.kind} cannot be resumed at byte {offset}",
                    permanent=False,
                    code="range_not_satisfiable",
                    status_code=416,
                )
            if response.status_code not in (200, 206):
                raise error_from_response(response)
            stream = check_asset_response(self.config, asset, response, offset=offset)
            yield stream
        finally:
            response.close()

    def _send_following_redirects(self, request: httpx.Request, plain_headers: dict[str, str]) -> httpx.Response:
        for _hop in range(self.config.max_redirects + 1):
            self.calls += 1
            try:
                response = self.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise error_from_transport(exc, create=False, what="download") from exc
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            try:
                target = request.url.join(location)
            except httpx.InvalidURL as exc:
                raise ProviderError(
                    f"Invalid redirect location: {exc}", permanent=True, code="redirect_blocked"
                ) from exc
            check_redirect(self.config, request.url, target)
            # Built by hand, not through the client, so no default header or cookie comes along.
            request = httpx.Request(
                "GET", target, headers=plain_headers, extensions={"timeout": self.timeout.as_dict()}
            )
        raise ProviderError("Too many redirects from the provider", permanent=True, code="redirect_blocked")
