"""The periodic clean-up, and what follows a delete or a cancel.

The sweep (scheduled every minute) raises the priority of videos near their provider's
deadline, expires what is past it, resumes archives whose worker died, clears unfinished
uploads and unfinished clean-ups, and deletes what is past VIDEO_RETENTION_DAYS.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from videos import archive, services, storage
from videos.models import Video, VideoState
from videos.outcomes import Outcome
from webhooks import delivery as webhook_delivery
from webhooks import inbound

logger = logging.getLogger("videos.pipeline")


def sweep() -> dict[str, int]:
    now = timezone.now()
    counts = {
        "urgent": services.videos_raise_priority_near_deadline(
            within=timedelta(minutes=settings.PIPELINE_URGENT_MINUTES)
        ),
        "expired": 0,
        "resumed": archive.resume_stalled_archives(),
    }
    # At the provider, past the deadline and not archiving: the results are gone. Each update
    # re-checks state, lease and deadline, which may have moved since the ids were read.
    for video_id in Video.objects.filter(state__in=services.AT_PROVIDER, provider_expires_at__lt=now).values_list(
        "pk", flat=True
    ):
        counts["expired"] += services.video_mark_expired(video_id)
    counts["uploads_aborted"] = storage.abort_stale_uploads(timedelta(hours=6))
    counts["cleanups"] = _resume_cleanups(now)
    counts["retention_deleted"] = _delete_past_retention(now)
    counts["callbacks_pruned"] = inbound.prune_seen()
    counts["webhook_events_pruned"] = webhook_delivery.prune_events()
    services.heartbeat_record("sweeper", str(counts))
    return counts


def _delete_past_retention(now: datetime) -> int:
    """With VIDEO_RETENTION_DAYS set, stored videos older than that are deleted (the API's expires_at)."""
    if not settings.VIDEO_RETENTION_DAYS:
        return 0
    cutoff = now - timedelta(days=settings.VIDEO_RETENTION_DAYS)
    old = Video.objects.filter(state=VideoState.READY, archived_at__lt=cutoff, deleted_at__isnull=True)
    count = 0
    for video in old[:500]:
        services.video_delete(video=video)
        count += 1
    return count


def _resume_cleanups(now: datetime) -> int:
    """Deleted videos whose clean-up has not finished (it waits for a running archive)."""
    stale = Video.objects.filter(deleted_at__lt=now - timedelta(seconds=30)).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    )
    ids = list(stale.values_list("pk", flat=True)[:200])
    for video_id in ids:
        services.enqueue("videos.tasks.cleanup_video", video_id)
    return len(ids)


def cancel_upstream(video_id: str) -> bool:
    """Cancel (or delete) the video's job at the provider; False when it could not be done."""
    video = Video.objects.select_related("provider").filter(pk=video_id).first()
    if video is None or not video.provider_job_id:
        return False
    try:
        with video.provider.adapter() as adapter:
            return adapter.delete(video.provider_job_id)
    except Exception:
        logger.warning(
            "video %s: could not cancel job %s at the provider", video_id, video.provider_job_id, exc_info=True
        )
        return False


def cleanup_deleted(video_id: str) -> Outcome:
    """After a delete: cancel at the provider if still running, then remove every stored object.

    Waits (BUSY) while an archive holds the lease, so a file published in the race with
    completion is removed too, and nothing is left behind; the sweep comes back for it.
    """
    video = Video.objects.select_related("provider").filter(pk=video_id, deleted_at__isnull=False).first()
    if video is None:
        return Outcome.GONE
    token = services.video_claim_deleted(video_id)
    if token is None:
        return Outcome.BUSY
    if video.state in services.AT_PROVIDER or (video.state == VideoState.PENDING and video.submit_outcome_unknown):
        cancel_upstream(video_id)
    storage.delete_prefix(storage.video_prefix(video.owner_id, video.pk))
    services.video_finish_delete(video_id, token)
    return Outcome.DELETED
