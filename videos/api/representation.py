"""The platform's answers, in the exact shapes of the OpenAI Videos API and the relay's query API."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from accounts.models import User
from videos.models import Video, VideoState

STATUS = {
    VideoState.PENDING: "queued",
    VideoState.SUBMITTED: "queued",
    VideoState.GENERATING: "in_progress",
    VideoState.ARCHIVING: "in_progress",
    VideoState.READY: "completed",
    VideoState.FAILED: "failed",
    VideoState.EXPIRED: "failed",
}
TASK_STATUS = {"queued": "processing", "in_progress": "processing", "completed": "success", "failed": "failed"}
# How long SDK pollers should wait before asking again (openai-poll-after-ms).
POLL_AFTER_MS = {
    VideoState.PENDING: 3000,
    VideoState.SUBMITTED: 2000,
    VideoState.GENERATING: 2000,
    VideoState.ARCHIVING: 1000,
}


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def our_expiry(video: Video) -> datetime | None:
    """When this platform deletes the stored video: never, unless VIDEO_RETENTION_DAYS is set."""
    if video.state != VideoState.READY or not settings.VIDEO_RETENTION_DAYS or not video.archived_at:
        return None
    return video.archived_at + timedelta(days=settings.VIDEO_RETENTION_DAYS)


def video_object(video: Video) -> dict:
    status = STATUS[VideoState(video.state)]
    error = None
    if status == "failed":
        error = {"code": video.error_code or "generation_failed", "message": video.error_message or "The video failed."}
    return {
        "id": video.pk,
        "object": "video",
        "model": video.requested_model or video.model,
        "status": status,
        "progress": 100 if status == "completed" else min(int(video.progress), 99),
        "created_at": _unix(video.created_at),
        "completed_at": _unix(video.finished_at)
        if video.state in (VideoState.READY, VideoState.FAILED, VideoState.EXPIRED)
        else None,
        "expires_at": _unix(our_expiry(video)),
        "prompt": video.prompt,
        "size": video.size,
        "seconds": str(video.seconds),
        "remixed_from_video_id": video.remixed_from_video_id or None,
        "error": error,
    }


def download_token(video: Video, *, variant: str = "video", index: int = 0) -> str:
    # "s" is the owner's stamp: it changes with the password and "revoke all tokens", ending the link.
    claims = {"v": video.pk, "k": variant, "i": index, "s": video.owner.download_links_stamp()}
    return signing.dumps(claims, salt="videos.download", compress=True)


def read_download_token(token: str) -> dict:
    return signing.loads(token, salt="videos.download", max_age=settings.SIGNED_DOWNLOAD_TTL)


def download_token_is_current(claims: dict, owner: User) -> bool:
    """False for a link made before the owner's password changed or all tokens were revoked."""
    return constant_time_compare(str(claims.get("s", "")), owner.download_links_stamp())


def signed_download_url(request, video: Video, *, variant: str = "video", index: int = 0) -> str:
    path = reverse("api-signed-download", args=[download_token(video, variant=variant, index=index)])
    return request.build_absolute_uri(path)


def query_object(request, video: Video) -> dict:
    """The relay's unified answer (PROVIDERS.md section 4)."""
    status = STATUS[VideoState(video.state)]
    task_status = TASK_STATUS[status]
    if task_status == "success":
        message = "Video completed and stored"
    elif task_status == "failed":
        message = video.error_message or "The video failed."
    elif video.state in (VideoState.PENDING, VideoState.SUBMITTED):
        message = f"Queued ({video.progress}%)"
    else:
        message = f"In progress: {min(video.progress, 99)}%"
    return {
        "task_id": video.pk,
        "video_id": video.pk if task_status == "success" else "",
        "task_status": task_status,
        "message": message,
        "duration": str(video.seconds),
        "video_result": signed_download_url(request, video) if task_status == "success" else "",
    }
