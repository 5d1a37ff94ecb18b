"""Reads shared by the API and the dashboard.

Every read of a user's videos goes through the ownership gate `Video.objects.for_user`, so
another user's video reads exactly like one that never existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404

from videos.models import AssetKind, Video, VideoAsset


class VideoNotFound(Http404):
    """The user has no video with this id: it never existed, was deleted, or is another user's.

    An Http404, so a dashboard page answers with the ordinary 404 page; the API answers with
    its envelope (videos.api.views).
    """

    def __init__(self, video_id: object) -> None:
        super().__init__()
        self.video_id = video_id


def own_video(user, video_id: object, *, related: Sequence[str] = (), prefetch: Sequence[str] = ()) -> Video:
    """The user's video with this id (with `related` joined and `prefetch` fetched), or VideoNotFound."""
    videos = Video.objects.for_user(user).with_id(video_id)
    if related:
        videos = videos.select_related(*related)
    if prefetch:
        videos = videos.prefetch_related(*prefetch)
    try:
        return videos.get()  # by primary key: no ORDER BY, unlike first()
    except Video.DoesNotExist:
        raise VideoNotFound(video_id) from None


@dataclass(frozen=True)
class VideoPage:
    videos: list[Video]
    has_more: bool


def video_page(user, *, limit: int, ascending: bool = False, after: str | None = None) -> VideoPage:
    """Up to `limit` of the user's videos, newest first (or oldest first), following the video `after`.

    A cursor rather than an offset, so a page neither repeats nor skips videos while new ones
    arrive. VideoNotFound when `after` is not one of the user's videos.
    """
    videos = Video.objects.for_user(user)
    videos = videos.order_by("created_at", "id") if ascending else videos.order_by("-created_at", "-id")
    if after is not None:
        cursor = Video.objects.for_user(user).with_id(after).values_list("created_at", "id").first()
        if cursor is None:
            raise VideoNotFound(after)
        created_at, video_id = cursor
        beyond = "gt" if ascending else "lt"
        videos = videos.filter(
            Q(**{f"created_at__{beyond}": created_at}) | Q(created_at=created_at, **{f"id__{beyond}": video_id})
        )
    page = list(videos[: limit + 1])
    return VideoPage(videos=page[:limit], has_more=len(page) > limit)


def own_video_with_file(user, sha256: str) -> str | None:
    """The id of the user's newest video whose stored video file has this SHA-256, if any."""
    asset = (
        VideoAsset.objects.filter(
            video__in=Video.objects.for_user(user), kind=AssetKind.VIDEO, variant=0, sha256=sha256
        )
        .order_by("-created_at")
        .values_list("video_id", flat=True)
        .first()
    )
    return asset
