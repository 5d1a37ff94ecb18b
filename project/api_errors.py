"""The OpenAI error envelope, used by every JSON error the platform returns.

`{"error": {"message": str, "type": str, "param": str | None, "code": str | None}}`
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.log import log_response
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

NO_STORE = "private, no-store"

# What a refused, dropped or timed-out database connection raises: an outage, not a bad request.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_RETRY_AFTER_SECONDS = 5
SERVICE_UNAVAILABLE_MESSAGE = "The service is briefly unavailable. Try again in a few seconds."
outage_logger = logging.getLogger("project.outage")


def error_body(
    message: str, *, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def error_response(
    status_code: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    response = JsonResponse(error_body(message, type=type, param=param, code=code), status=status_code)
    response["Cache-Control"] = NO_STORE
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def service_unavailable_body() -> dict[str, Any]:
    return error_body(SERVICE_UNAVAILABLE_MESSAGE, type="server_error", code="service_unavailable")


def log_database_unavailable(request: HttpRequest, response: HttpResponse, error: Exception) -> None:
    """One warning line instead of Django's traceback: an outage is not a bug, and it heals by itself.

    log_response marks the response as logged, so Django does not log it a second time (with
    the traceback, at error level)."""
    text = str(error).strip()
    reason = text.splitlines()[0] if text else type(error).__name__
    log_response(
        "Database unavailable, answered %s to %s %s: %s",
        response.status_code,
        request.method,
        request.path,
        reason,
        response=response,
        request=request,
        logger=outage_logger,
        level="warning",
    )


class ApiError(exceptions.APIException):
    """An error with the envelope's type, code and param chosen by the raiser."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message)
        self.status_code = status_code
        self.error_type = type
        self.param = param
        self.error_code = code
        self.headers = headers or {}


def _first_message(detail: Any) -> tuple[str, str | None]:
    """The first message of a DRF error detail and the field it belongs to."""
    if isinstance(detail, dict):
        for field, value in detail.items():
            message, _ = _first_message(value)
            param = None if field in ("non_field_errors", "detail") else str(field)
            return message, param
        return "Invalid request.", None
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ("Invalid request.", None)
    return str(detail), None


def exception_handler(exc: Exception, context: dict) -> Response | None:
    headers: dict[str, str] = {}
    if isinstance(exc, ApiError):
        body = error_body(str(exc.detail), type=exc.error_type, param=exc.param, code=exc.error_code)
        status_code = exc.status_code
        headers.update(exc.headers)
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        message = (
            str(exc.detail)
            if isinstance(exc, exceptions.AuthenticationFailed)
            else ("Missing API token. Send it as 'Authorization: Bearer <token>'.")
        )
        body = error_body(message, type="invalid_request_error", code="unauthorized")
        status_code = status.HTTP_401_UNAUTHORIZED
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    elif isinstance(exc, (Http404, exceptions.NotFound)):
        body = error_body("Not found.", code="not_found")
        status_code = status.HTTP_404_NOT_FOUND
    elif isinstance(exc, (PermissionDenied, exceptions.PermissionDenied)):
        body = error_body("You do not have permission to do that.", code="permission_denied")
        status_code = status.HTTP_403_FORBIDDEN
    elif isinstance(exc, RequestDataTooBig):
        body = error_body("The request body is too large.", code="request_too_large")
        status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    elif isinstance(exc, exceptions.Throttled):
        wait = int(getattr(exc, "wait", None) or 1)  # DRF sets it; its type stubs do not declare it
        body = error_body(str(exc.detail), type="rate_limit_error", code="rate_limit_exceeded")
        status_code = status.HTTP_429_TOO_MANY_REQUESTS
        headers["Retry-After"] = str(wait)
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        body = error_body(str(exc.detail), code="unsupported_media_type")
        status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    elif isinstance(exc, exceptions.MethodNotAllowed):
        body = error_body(str(exc.detail), code="method_not_allowed")
        status_code = status.HTTP_405_METHOD_NOT_ALLOWED
    elif isinstance(exc, exceptions.ParseError):
        body = error_body(str(exc.detail), code="invalid_body")
        status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.ValidationError):
        message, param = _first_message(exc.detail)
        body = error_body(message, param=param, code="invalid_value")
        status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        body = error_body(str(exc.detail), code=str(exc.default_code))
        status_code = exc.status_code
    elif isinstance(exc, DATABASE_ERRORS):
        body = service_unavailable_body()
        status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    else:
        return None
    set_rollback()
    response = Response(body, status=status_code, headers=headers)
    response["Cache-Control"] = NO_STORE
    if isinstance(exc, DATABASE_ERRORS):
        request = context["request"]
        log_database_unavailable(getattr(request, "_request", request), response, exc)
    return response
