"""django-q2 entry points: thin, idempotent, given ids; the work is in pipeline and archive."""

from __future__ import annotations

import logging

from videos import archive, pipeline, services, storage
from videos.models import Provider, Video, VideoState

logger = logging.getLogger("videos.pipeline")


def submit_pending(provider_id: int) -> int:
    provider = Provider.objects.filter(pk=provider_id, enabled=True).first()
    if provider is None:
        return 0
    sent = pipeline.submit_pending(provider)
    kick_poll_loop()
    return sent


def kick_poll_loop() -> None:
    """Start a poll loop now unless one is running (the schedule starts one every minute too)."""
    from django_q.tasks import async_task

    from videos.throttle import poll_lease_held

    if any(not poll_lease_held(p) for p in Provider.objects.filter(enabled=True)):
        async_task("videos.tasks.poll_loop")


def poll_loop() -> dict:
    return pipeline.poll_loop()


def archive_video(video_id: str) -> str:
    return archive.archive_video(video_id)


def rearchive_video(video_id: str) -> str:
    return archive.rearchive_video(video_id)


def sweep() -> dict:
    return pipeline.sweep()


def cancel_at_provider(video_id: str) -> bool:
    video = Video.objects.select_related("provider").filter(pk=video_id).first()
    if video is None or not video.provider_job_id:
        return False
    try:
        with pipeline.adapter_for(video.provider) as adapter:
            return adapter.delete(video.provider_job_id)
    except Exception:
        logger.warning(
            "video %s: could not cancel job %s at the provider", video_id, video.provider_job_id, exc_info=True
        )
        return False


def cleanup_video(video_id: str) -> str:
    """After a delete: cancel at the provider if still running, then remove every stored object.

    Waits while an archive holds the lease, so a file published in the race with completion
    is removed too, and nothing is left behind.
    """
    video = Video.objects.select_related("provider").filter(pk=video_id, deleted_at__isnull=False).first()
    if video is None:
        return "gone"
    token = services.video_claim_deleted(video_id)
    if token is None:
        return "busy"  # the sweeper tries again once the archive's lease is released or runs out
    if video.state in services.AT_PROVIDER or (video.state == VideoState.PENDING and video.submit_outcome_unknown):
        cancel_at_provider(video_id)
    storage.delete_prefix(storage.video_prefix(video.owner_id, video.pk))
    services.video_finish_delete(video_id, token)
    return "deleted"
