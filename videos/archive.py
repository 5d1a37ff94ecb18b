"""Copying a finished job's files from the provider into our storage before it deletes them.

Each asset is streamed (bounded memory), checked (type by its first bytes, size against the
provider's Content-Length), resumed with Range after a cut, published atomically, then
recorded. Recorded assets are skipped, so a second run stores nothing twice; a worker that
dies leaves its lease to run out and the sweeper hands the video to another worker.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from videos import services, storage, throttle
from videos.models import Video, VideoState
from videos.pipeline import _record_provider_error, adapter_for, backoff_seconds
from videos.providers.base import AssetRef, ProviderError, VideoProvider

logger = logging.getLogger("videos.pipeline")

RESUME_TRIES = 4  # Range resumptions of one asset within one run
HEARTBEAT_SECONDS = 10.0


class LeaseLost(Exception):
    """Another worker took the video over; stop without publishing anything."""


def _looks_like(kind: str, head: bytes) -> bool:
    """The first bytes must be the media we asked for, whatever the headers claimed."""
    if kind == "video":
        return len(head) >= 8 and head[4:8] == b"ftyp"
    return (
        head[:3] == b"\xff\xd8\xff"
        or head[:8] == b"\x89PNG\r\n\x1a\n"
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def archive_video(video_id: str) -> str:
    """Archive every asset of a finished video, then mark it ready. Returns what happened."""
    token = services.video_claim(video_id, states=(VideoState.ARCHIVING,))
    if token is None:
        return "busy"
    video = Video.objects.select_related("provider", "owner").get(pk=video_id)
    # Transient failures never end an archive while the provider still holds the results.
    deadline_passed = video.provider_expires_at is None or video.provider_expires_at <= timezone.now()
    if video.attempts > settings.PIPELINE_MAX_ATTEMPTS or (
        video.retries >= settings.PIPELINE_MAX_RETRIES and deadline_passed
    ):
        services.video_fail(
            video.pk, code="archive_failed", message="Storing the results failed repeatedly.", token=token
        )
        return "failed"
    provider = video.provider
    try:
        with adapter_for(provider) as adapter:
            _wait_for_budget(video, token)
            status = adapter.retrieve(video.provider_job_id)
            if status.expires_at and status.expires_at != video.provider_expires_at:
                services.video_note_expiry(video.pk, status.expires_at)
                video.provider_expires_at = status.expires_at
            assets = status.assets()
            if not assets:
                raise ProviderError("the provider lists no files for a finished job", permanent=False, code="no_assets")
            stored = set(video.assets.values_list("variant", "kind"))
            for asset in assets:
                if (asset.variant_index, asset.kind) not in stored:
                    _archive_asset(adapter, video, token, asset)
    except BudgetWait as waiting:
        services.video_lease_release(video.pk, token, retry_in=waiting.wait)
        return "waiting for budget"
    except LeaseLost:
        # Deleted meanwhile, or taken over after a stall: let go (a no-op if it is not ours).
        services.video_lease_release(video.pk, token)
        logger.warning("video %s: archive stopped; the video was deleted or taken over", video_id)
        return "lease_lost"
    except ProviderError as error:
        return _archive_failed(video, token, error)
    except Exception as error:  # storage outage, database hiccup: keep the video, try again
        logger.exception("video %s: archive interrupted", video_id)
        services.video_lease_release(video.pk, token, retry_in=backoff_seconds(video.retries), failed=True)
        return f"retry: {error.__class__.__name__}"
    throttle.provider_record_success(provider)
    if services.video_mark_ready(video.pk, token):
        logger.info("video %s ready", video_id)
        return "ready"
    return "stale"


def rearchive_video(video_id: str) -> str:
    """Staff asked for a fresh copy of a ready video. It stays ready and served throughout:
    each asset is downloaded whole beside the stored one, which it then replaces in one
    step; any failure (the provider forgot the job, an outage, a lost lease) leaves the
    stored copy exactly as it was."""
    token = services.video_claim(video_id, states=(VideoState.READY,))
    if token is None:
        return "busy"
    video = Video.objects.select_related("provider", "owner").get(pk=video_id)
    revision = timezone.now().strftime("%Y%m%d%H%M%S")
    outcome = "replaced"
    try:
        with adapter_for(video.provider) as adapter:
            _wait_for_budget(video, token)
            assets = adapter.retrieve(video.provider_job_id).assets()
            if not assets:
                raise ProviderError("the provider lists no files for this job", permanent=True, code="no_assets")
            for asset in assets:
                _archive_asset(adapter, video, token, asset, revision=revision)
    except (BudgetWait, LeaseLost, ProviderError) as error:
        logger.warning("video %s: fresh copy not made, the stored one is kept: %s", video_id, error)
        outcome = "kept"
    except Exception:
        logger.exception("video %s: fresh copy not made, the stored one is kept", video_id)
        outcome = "kept"
    finally:
        services.video_lease_release(video.pk, token)
    return outcome


def provider_still_holds(video: Video) -> str | None:
    """Whether a fresh copy of a finished video can be made: None if the provider still
    offers its files, else why not (said to the operator before anything changes)."""
    if video.provider_expires_at and video.provider_expires_at <= timezone.now():
        return "the provider's retention has ended"
    try:
        with adapter_for(video.provider) as adapter:
            status = adapter.retrieve(video.provider_job_id)
    except ProviderError as error:
        if error.status_code == 404:
            return "the provider no longer knows the job"
        return f"the provider could not be asked ({error.message})"
    if not status.assets():
        return "the provider holds no files for it"
    return None


def _archive_failed(video: Video, token: str, error: ProviderError) -> str:
    now = timezone.now()
    past_deadline = video.provider_expires_at is None or video.provider_expires_at <= now + timedelta(seconds=60)
    if error.status_code == 404 and past_deadline:
        services.video_mark_expired(video.pk, token=token)
        return "expired"
    if error.permanent and error.status_code != 404:
        services.video_fail(video.pk, code=error.code or "archive_failed", message=error.message, token=token)
        return "failed"
    _record_provider_error(video.provider, error)
    services.video_lease_release(
        video.pk, token, retry_in=backoff_seconds(video.retries, error.retry_after), failed=True
    )
    return "retry"


class BudgetWait(Exception):
    """The provider's request budget is spent for now: come back later. Not a provider failure."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"waiting {wait:.1f} s for the provider's request budget")
        self.wait = wait


def _sleep_holding(video: Video, token: str, seconds: float) -> None:
    """Sleep without letting the lease run out, or another worker would take the video over."""
    end = time.monotonic() + seconds
    step = max(0.5, settings.PIPELINE_LEASE_SECONDS / 3)
    while (left := end - time.monotonic()) > 0:
        if not services.video_lease_extend(video.pk, token):
            raise LeaseLost
        time.sleep(min(step, left))


def _wait_for_budget(video: Video, token: str, *, max_wait: float = 30.0) -> None:
    # Archives are bound by a deadline: they may use the bucket down to zero, while
    # submissions leave a reserve for them (see pipeline._submit_one).
    deadline = time.monotonic() + max_wait
    while (wait := throttle.throttle_acquire(video.provider)) > 0:
        if time.monotonic() + wait > deadline:
            raise BudgetWait(wait)
        _sleep_holding(video, token, wait)


def _archive_asset(adapter: VideoProvider, video: Video, token: str, asset: AssetRef, *, revision: str = "") -> None:
    """Download one asset and publish it; with `revision`, as a copy that replaces the stored one."""
    writer: storage.ArchiveWriter | None = None
    validator: str | None = None
    expected: int | None = None
    last_beat = time.monotonic()
    tries = 0
    checked = False
    try:
        while True:
            offset = writer.size if writer else 0
            _wait_for_budget(video, token)
            try:
                with adapter.open_asset(asset, offset=offset, if_range=validator if offset else None) as stream:
                    if writer is not None and stream.start == 0 and offset > 0:
                        writer.abort()  # the server ignored the Range: start over
                        writer, checked = None, False
                    if writer is None:
                        key = storage.asset_key(
                            video.owner_id,
                            video.pk,
                            asset.variant_index,
                            asset.kind,
                            stream.content_type,
                            revision=revision,
                        )
                        content_type = storage.stored_content_type(asset.kind, key, stream.content_type)
                        writer = storage.open_writer(key, content_type)
                    validator = stream.validator or validator
                    expected = stream.total_size if stream.total_size is not None else expected
                    for chunk in stream.iter_bytes(1024 * 1024):
                        if not checked and writer.size == 0:
                            if not _looks_like(asset.kind, chunk[:16]):
                                raise ProviderError(
                                    f"the {asset.kind} is not a media file", permanent=False, code="unexpected_content"
                                )
                            checked = True
                        writer.write(chunk)
                        if time.monotonic() - last_beat > HEARTBEAT_SECONDS:
                            if not services.video_lease_extend(video.pk, token):
                                raise LeaseLost
                            last_beat = time.monotonic()
                if expected is not None and writer.size != expected:
                    raise ProviderError(
                        f"the {asset.kind} download ended at {writer.size} of {expected} bytes",
                        permanent=False,
                        code="truncated",
                    )
                break
            except ProviderError as error:
                tries += 1
                if error.permanent or tries > RESUME_TRIES or error.code == "unexpected_content":
                    raise
                logger.info("video %s: %s download interrupted (%s); resuming", video.pk, asset.kind, error.message)
                if error.status_code == 429 or error.retry_after:
                    # Honour the provider's word, for every worker, and keep what is downloaded.
                    throttle.provider_record_failure(
                        video.provider,
                        retry_after=error.retry_after,
                        message=error.message,
                        throttled=error.status_code == 429,
                    )
                _sleep_holding(video, token, min(30.0, max(error.retry_after or 0.0, 0.5 * 2**tries)))
        if not services.video_lease_extend(video.pk, token):
            raise LeaseLost
        writer.commit()
        previous = video.assets.filter(variant=asset.variant_index, kind=asset.kind).values_list(
            "storage_key", flat=True
        )
        replaced = previous.first() or ""
        recorded = services.video_asset_record(
            video,
            token,
            variant=asset.variant_index,
            kind=asset.kind,
            key=writer.key,
            content_type=writer.content_type,
            size=writer.size,
            sha256=writer.sha256,
        )
        if not recorded:
            if revision:
                storage.delete_key(writer.key)  # a replacement nobody will point at
            raise LeaseLost
        throttle.provider_record_success(video.provider)
        if replaced and replaced != writer.key:
            storage.delete_key(replaced)  # the row points at the new copy already
        writer = None
    finally:
        if writer is not None:
            writer.abort()


def resume_stalled_archives() -> int:
    """Archives whose worker died (lease run out) or that wait for a retry: enqueue again,
    most urgent deadline first. Each video is re-enqueued once per lapse."""
    from django_q.tasks import async_task

    now = timezone.now()
    due = (
        Video.objects.filter(state=VideoState.ARCHIVING, deleted_at__isnull=True)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .order_by("-priority", "provider_expires_at")
    )
    count = 0
    for video_id in due.values_list("pk", flat=True)[:500]:
        # Push next_poll_at out first, so a second sweeper in parallel does not enqueue it too.
        pushed = (
            Video.objects.filter(pk=video_id, state=VideoState.ARCHIVING)
            .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
            .update(next_poll_at=now + timedelta(seconds=settings.PIPELINE_LEASE_SECONDS))
        )
        if pushed:
            async_task("videos.tasks.archive_video", video_id)
            count += 1
    return count
