"""Errors in each protocol's own envelope.

OpenAI: `{"error": {"message", "type", "param", "code"}}`; Azure: `{"error": {"code", "message"}}`;
Google (Gemini API): `{"error": {"code": <HTTP status>, "message", "status": "INVALID_ARGUMENT", "details"}}`.
Views raise `ApiError`; the endpoint wrapper renders it for the protocol being served.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.http import JsonResponse


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str = "invalid_request_error",
        azure_code: str | None = None,
        headers: dict[str, str] | None = None,
        google_status: str | None = None,
        details: tuple[dict[str, Any], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type
        # Azure names errors differently; by default its code is the HTTP status.
        self.azure_code = azure_code or str(status)
        self.headers = headers or {}
        self.google_status = google_status
        self.details = details


GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def google_error(error: ApiError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": error.status,
        "message": error.message,
        "status": error.google_status or GOOGLE_STATUS.get(error.status, "UNKNOWN"),
    }
    details = list(error.details)
    if error.status == 429 and "retry-after" in error.headers:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{error.headers['retry-after']}s"}
        )
    if details:
        body["details"] = details
    return {"error": body}


ARK_DEFAULTS = {
    401: ("AuthenticationError", "Unauthorized"),
    403: ("AccessDenied", "Forbidden"),
    404: ("NotFound", "NotFound"),
    429: ("RateLimitExceeded.EndpointRPMExceeded", "TooManyRequests"),
    500: ("InternalServiceError", "InternalServerError"),
    503: ("ServiceUnavailable", "ServiceUnavailable"),
}


def ark_error(error: ApiError) -> dict[str, Any]:
    """Ark's `{"code", "message", "param", "type"}`: a code the view chose, or one by status."""
    code, kind = ARK_DEFAULTS.get(error.status, ("InvalidParameter", "BadRequest"))
    own = error.type not in ("invalid_request_error", "requests", "server_error")
    return {
        "code": error.code if own and error.code else code,
        "message": error.message,
        "param": error.param or "",
        "type": error.type if own else kind,
    }


def render(protocol: str, error: ApiError) -> JsonResponse:
    body: dict[str, Any]
    if protocol in ("gemini", "vertex"):
        body = google_error(error)
    elif protocol == "ark":
        body = {"error": ark_error(error)}
    elif protocol == "minimax":
        # Application errors are HTTP 200 with a code in base_resp; server failures keep their status.
        fallback = {400: 2013, 401: 1004, 403: 1004, 404: 2013, 429: 1002}
        code = int(error.code) if error.code and error.code.isdigit() else fallback.get(error.status, 1013)
        body = {"base_resp": {"status_code": code, "status_msg": error.message}}
        response = JsonResponse(body, status=200 if error.status < 500 else error.status)
        for name, value in error.headers.items():
            response[name] = value
        return response
    elif protocol == "luma":
        body = {"detail": error.message}
    elif protocol == "openrouter":
        # {"error": {"code": <the HTTP status>, "message", "metadata"?}}, as OpenRouter's document says.
        body = {"error": {"code": error.status, "message": error.message}}
    elif protocol == "kling":
        fallback = {400: 1200, 401: 1002, 403: 1103, 404: 1202, 429: 1302, 500: 5000, 503: 5001, 504: 5002}
        code = int(error.code) if error.code and error.code.isdigit() else fallback.get(error.status, 5000)
        body = {"code": code, "message": error.message, "request_id": str(uuid.uuid4())}
    elif protocol == "runway":
        body = {"error": error.message}
        if error.details:
            body.update(issues=list(error.details), docUrl="https://docs.dev.runwayml.com/api")
    elif protocol == "replicate":
        # RFC 7807-like, with the wait in seconds beside Retry-After.
        body = {"title": error.code or "Error", "detail": error.message, "status": error.status}
        if error.status == 429 and "retry-after" in error.headers:
            body["retry_after"] = int(error.headers["retry-after"])
    elif protocol == "fal":
        # FastAPI's shape: a list of problems for invalid input, else a sentence.
        body = {"detail": list(error.details) if error.details else error.message}
        if error.code and not error.details:
            body["error_type"] = error.code
    elif protocol == "azure":
        body = {"error": {"code": error.azure_code, "message": error.message}}
    else:
        body = {"error": {"message": error.message, "type": error.type, "param": error.param, "code": error.code}}
    response = JsonResponse(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def retry_headers(seconds: float) -> dict[str, str]:
    return {"retry-after": str(max(1, math.ceil(seconds))), "retry-after-ms": str(max(1, round(seconds * 1000)))}


def bad_request(message: str, *, param: str | None = None, code: str | None = "invalid_value") -> ApiError:
    return ApiError(400, message, param=param, code=code, azure_code="BadRequest")


def missing(param: str) -> ApiError:
    return bad_request(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def invalid_choice(param: str, value: object, choices: list[str]) -> ApiError:
    listed = ", ".join(f"'{c}'" for c in choices[:-1]) + f", and '{choices[-1]}'"
    return bad_request(f"Invalid value: '{value}'. Supported values are: {listed}.", param=param)


def unknown_parameter(param: str) -> ApiError:
    return bad_request(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def rate_limited(message: str, seconds: float) -> ApiError:
    return ApiError(
        429,
        message,
        type="requests",
        code="rate_limit_exceeded",
        azure_code="429",
        headers=retry_headers(seconds),
    )
