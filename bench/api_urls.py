"""The platform's URLs plus two bare Django views, for bench/api.py only.

The bare views make the same database lookups as GET /v1/videos/{id} and GET /v1/videos (the
token by its hash, then the caller's video by its id or page of videos, as videos/selectors.py
reads them) and answer the same JSON, but without DRF, the rate-limit counter, the user's row
or the token's last-used bookkeeping: the floor the API's figures are compared with.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from accounts.models import ApiToken
from accounts.services import hash_token
from videos.api.representation import video_object
from videos.models import Video


def _owner_id(request: HttpRequest) -> int | None:
    header = request.headers.get("Authorization", "")
    raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
    return ApiToken.objects.active().filter(token_hash=hash_token(raw)).values_list("user_id", flat=True).first()


def _videos(request: HttpRequest):
    return Video.objects.filter(owner_id=_owner_id(request), deleted_at__isnull=True)


def bare_detail(request: HttpRequest, video_id: str) -> JsonResponse:
    try:
        video = _videos(request).get(pk=video_id)
    except Video.DoesNotExist:
        return JsonResponse({"error": {"code": "video_not_found"}}, status=404)
    return JsonResponse(video_object(video))


def bare_list(request: HttpRequest) -> JsonResponse:
    limit = int(request.GET.get("limit", "20"))
    page = list(_videos(request).order_by("-created_at", "-id")[: limit + 1])
    data = [video_object(video) for video in page[:limit]]
    return JsonResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": len(page) > limit,
        }
    )


# The platform's error pages, as under its own URLconf.
handler400 = "project.views.bad_request"
handler403 = "project.views.permission_denied"
handler404 = "project.views.page_not_found"
handler500 = "project.views.server_error"

urlpatterns = [
    path("bench/videos", bare_list),
    path("bench/videos/<str:video_id>", bare_detail),
    path("", include("project.urls")),
]
