from __future__ import annotations

import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.log import log_response
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from project.api_errors import (
    DATABASE_ERRORS,
    DATABASE_RETRY_AFTER_SECONDS,
    NO_STORE,
    SERVICE_UNAVAILABLE_MESSAGE,
    error_response,
    log_database_unavailable,
)
from videos import health


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/v1/", "/emulator/"))


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("videos:list")
    return render(request, "home.html")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitoring: open to anyone, so it says what is wrong but nothing about users."""
    report = health.run_checks()
    response = JsonResponse(report.as_dict(), status=200 if report.healthy else 503)
    if not report.healthy:
        # A load balancer asks every few seconds: one warning line per probe, not an error.
        log_response(
            "Unhealthy: %s",
            ", ".join(report.failing),
            response=response,
            request=request,
            logger=health.logger,
            level="warning",
        )
    return response


def database_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    """503 while the database cannot be reached; the next request after it is back succeeds.

    The page is rendered without the request, so no context processor looks up the user or
    the session (both live in the database)."""
    if _wants_json(request):
        response: HttpResponse = error_response(
            503,
            SERVICE_UNAVAILABLE_MESSAGE,
            type="server_error",
            code="service_unavailable",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    else:
        page = render_to_string("errors/503.html", {"site_name": settings.SITE_NAME})
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        response["Cache-Control"] = NO_STORE
    log_database_unavailable(request, response, error)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return error_response(400, "The request could not be read.", code="bad_request")
    return render(request, "errors/error.html", {"title": "Bad request", "status": 400}, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return error_response(403, "You do not have permission to do that.", code="permission_denied")
    return render(request, "errors/error.html", {"title": "Permission denied", "status": 403}, status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return error_response(404, f"No such path: {request.path}", code="not_found")
    return render(request, "errors/error.html", {"title": "Page not found", "status": 404}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this while handling the exception. A database error raised outside a view
    # (in a middleware, which DatabaseUnavailableMiddleware cannot see) still answers 503.
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        return database_unavailable(request, error)
    if _wants_json(request):
        return error_response(
            500, "The server had an error. Try again later.", type="server_error", code="server_error"
        )
    return render(request, "errors/error.html", {"title": "Server error", "status": 500}, status=500)
