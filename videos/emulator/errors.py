"""Errors in each protocol's own envelope.

OpenAI: `{"error": {"message", "type", "param", "code"}}`; Azure: `{"error": {"code", "message"}}`.
Views raise `ApiError`; the endpoint wrapper renders it for the protocol being served.
"""

from __future__ import annotations

import math

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


def render(protocol: str, error: ApiError) -> JsonResponse:
    body: dict[str, dict[str, str | None]]
    if protocol == "azure":
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
