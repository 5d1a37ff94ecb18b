from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from project.api_errors import error_response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/v1/", "/emulator/"))


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("videos:list")
    return render(request, "home.html")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


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
    if _wants_json(request):
        return error_response(
            500, "The server had an error. Try again later.", type="server_error", code="server_error"
        )
    return render(request, "errors/error.html", {"title": "Server error", "status": 500}, status=500)
