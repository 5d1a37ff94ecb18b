"""Provider answers that are not a success, turned into ProviderError: can a retry help, when,
and could a create have been accepted although its answer was lost?"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from videos.providers.types import ProviderError

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})
# A gateway answering these to a create may have passed it upstream before giving up.
CREATE_AMBIGUOUS_STATUSES = frozenset({502, 504})
MAX_RETRY_AFTER = 86400.0
# Enough for any real error envelope; an error page can be anything, so the rest is never read.
MAX_ERROR_BODY = 64 * 1024
# Failures that happen before the request can have reached the provider: always safe to retry.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.LocalProtocolError)
_TRY_AGAIN_IN = re.compile(r"try again in (\d+(?:\.\d+)?) ?(ms|milliseconds|s|sec|seconds)?", re.IGNORECASE)


def parse_retry_after(
    headers: Mapping[str, str], message: str | None = None, *, now: float | None = None
) -> float | None:
    """Seconds to wait: `retry-after-ms`, then `retry-after` (seconds or HTTP date), then the
    "Try again in N seconds" sentence Azure puts in 429 messages."""
    lowered = {key.lower(): value for key, value in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return _clamp(float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = (lowered.get("retry-after") or "").strip()
    if raw:
        try:
            return _clamp(float(raw))
        except ValueError:
            parsed = _http_date(raw)
            if parsed is not None:
                return _clamp(parsed.timestamp() - (time.time() if now is None else now))
    if message:
        match = _TRY_AGAIN_IN.search(message)
        if match:
            value = float(match.group(1))
            return _clamp(value / 1000 if (match.group(2) or "").startswith("m") else value)
    return None


def _http_date(raw: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _clamp(seconds: float) -> float | None:
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def parse_error_body(body: Any) -> tuple[str | None, str | None]:
    """(code, message) from OpenAI's `{"error": {...}}` or Azure's flat `{"code", "message"}`."""
    if not isinstance(body, dict):
        return None, None
    detail = body.get("detail")
    if detail is not None and "error" not in body:
        # fal (FastAPI): {"detail": "..."} or {"detail": [{"loc", "msg", "type"}]}, `error_type` beside.
        first = detail[0] if isinstance(detail, list) and detail and isinstance(detail[0], dict) else {}
        message = detail if isinstance(detail, str) else first.get("msg")
        code = body.get("error_type") or first.get("type")
        return (str(code) if code else None), (str(message) if message else None)
    error = body.get("error", body)
    if isinstance(error, str):
        return None, error
    if not isinstance(error, dict):
        return None, None
    code = error.get("code")
    if isinstance(error.get("status"), str) and error["status"]:
        code = error["status"]  # Google: `code` repeats the HTTP status, `status` names the error
    inner = error.get("inner_error") or error.get("innererror")
    if not code and isinstance(inner, dict):
        code = inner.get("code")
    message = error.get("message")
    return (str(code) if code else None), (str(message) if message else None)


def google_retry_delay(body: Any) -> float | None:
    """Seconds from a Google error's `RetryInfo` detail (`"retryDelay": "31s"`), if any."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return _clamp(float(delay[:-1]))
            except ValueError:
                return None
    return None


def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """At most `limit` bytes of a streamed body; a connection that breaks midway gives what came."""
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except httpx.HTTPError:
        pass
    return b"".join(chunks)[:limit]


def error_body(response: httpx.Response) -> bytes:
    """The first MAX_ERROR_BODY bytes of an error answer, read from the stream when not read yet."""
    try:
        return response.content[:MAX_ERROR_BODY]
    except httpx.ResponseNotRead:
        return read_bounded(response, MAX_ERROR_BODY)


def error_from_response(response: httpx.Response, *, create: bool = False, body: bytes | None = None) -> ProviderError:
    """Map an unsuccessful answer. Its body is read here, with a bound, unless `body` is given;
    the status decides the outcome, the body only adds the provider's code and message."""
    status = response.status_code
    try:
        parsed = json.loads(error_body(response) if body is None else body)
    except ValueError:
        parsed = None
    code, message = parse_error_body(parsed)
    retry_after = parse_retry_after(response.headers, message)
    if retry_after is None:
        retry_after = google_retry_delay(parsed)
    if retry_after is None and isinstance(parsed, dict):
        given = parsed.get("retry_after")  # Replicate puts it in the body too
        if isinstance(given, (int, float)) and not isinstance(given, bool):
            retry_after = _clamp(float(given))
    message = message or f"HTTP {status} from the provider"
    if status in (401, 403):
        return ProviderError(
            f"Provider rejected the credentials (HTTP {status}): {message}",
            permanent=True,
            code=code or ("unauthorized" if status == 401 else "forbidden"),
            status_code=status,
        )
    if status in RETRYABLE_STATUSES or status >= 500:
        return ProviderError(
            message,
            permanent=False,
            retry_after=retry_after,
            code=code,
            status_code=status,
            outcome_unknown=create and status in CREATE_AMBIGUOUS_STATUSES,
        )
    return ProviderError(message, permanent=True, code=code, status_code=status)


def error_from_transport(exc: httpx.HTTPError, *, create: bool, what: str) -> ProviderError:
    if isinstance(exc, NOT_SENT_ERRORS):
        return ProviderError(
            f"{what}: provider unreachable ({type(exc).__name__}: {exc})", permanent=False, code="unreachable"
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ProviderError(f"{what}: {exc}", permanent=True, code="bad_url")
    # Sent, at least partly, and no complete answer: the provider may have acted on it.
    return ProviderError(
        f"{what}: no answer from the provider ({type(exc).__name__}: {exc})",
        permanent=False,
        code="no_answer",
        outcome_unknown=create,
    )
