from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from project.api_errors import DATABASE_ERRORS, error_response
from project.views import database_unavailable

API_PREFIXES = ("/v1/",)


class DatabaseUnavailableMiddleware:
    """A database outage answers 503 (the envelope for the API, a page otherwise), not a 500.

    process_exception sees what views and template rendering raise: in practice every query,
    since the session and the user are loaded lazily when a view or template first reads them.
    DRF views answer through the API's exception handler first. A database error raised inside
    another middleware never reaches here (Django turns it into a response at that layer); with
    DEBUG off the 500 handler answers it the same way. No state is kept: Django drops a broken connection and
    health-checks a kept one (CONN_HEALTH_CHECKS), so the first request after the outage works.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request, exception)
        return None


class ApiRequestLimitsMiddleware:
    """Refuse an oversized body before anything reads it: a 413 envelope for the API, a page otherwise.

    Django does not count uploaded file parts against DATA_UPLOAD_MAX_MEMORY_SIZE and answers
    other oversized bodies with an HTML 400 page; API clients get the documented envelope.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not request.path.startswith(API_PREFIXES) and length > settings.MAX_REQUEST_BYTES:
            # A dashboard upload: refused before Django writes it to disk.
            return render(
                request,
                "errors/error.html",
                {
                    "title": "Upload too large",
                    "status": 413,
                    "limit_mb": settings.MAX_INPUT_IMAGE_BYTES // (1024 * 1024),
                },
                status=413,
            )
        if request.path.startswith(API_PREFIXES):
            if length < 0:
                return error_response(400, "Content-Length is not a number.", code="invalid_body")
            if length > settings.MAX_REQUEST_BYTES:
                return error_response(
                    413,
                    f"The request body is {length} bytes; the limit is {settings.MAX_REQUEST_BYTES} bytes "
                    f"(images up to {settings.MAX_INPUT_IMAGE_BYTES} bytes).",
                    param="input_reference",
                    code="request_too_large",
                )
        response = self.get_response(request)
        if request.path.startswith(API_PREFIXES) and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-store"
        return response
