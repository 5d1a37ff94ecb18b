"""Copying a finished job's files from the provider into our storage before it deletes them.

The files to fetch are those the poll saw when the job finished (`Video.provider_assets`); the
provider is asked again only when they are missing or a download is refused (an expired URL, a
moved file). Each asset is streamed (bounded memory), checked (type by its first bytes, size
against the provider's Content-Length), resumed with Range after a cut, published atomically,
then recorded. Recorded assets are skipped, so a second run stores nothing twice; a worker that
dies leaves its lease to run out and the sweeper hands the video to another worker.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from videos import backoff, services, storage, throttle
from videos.asset_refs import assets_from_json, assets_to_json
from videos.models import Video, VideoState
from videos.outcomes import Outcome
from videos.providers.base import VideoProvider
from videos.providers.downloads import AssetStream
from videos.providers.types import AssetRef, ProviderError
from videos.thumbnails import video_thumbnail

logger = logging.getLogger("videos.pipeline")

HEARTBEAT_SECONDS = 10.0
CHUNK_BYTES = 1024 * 1024
# Answers to a download that mean "not at this address (any more)": ask the provider for fresh ones.
REFUSED_STATUSES = frozenset({401, 403, 404, 410})


class LeaseLost(Exception):
    """Another worker took the video over; stop without publishing anything."""


class BudgetWait(Exception):
    """The provider's request budget is spent for now: come back later. Not a provider failure."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"waiting {wait:.1f} s for the provider's request budget")
        self.wait = wait


class LeaseKeeper:
    """Keeps the video's lease while a long step works: a beat now and then, and sleeps that
    renew it, so no other worker takes the video over meanwhile. Raises LeaseLost once lost."""

    def __init__(self, video: Video, token: str) -> None:
        self.video, self.token = video, token
        self.last_beat = time.monotonic()

    def beat(self, *, every: float = 0.0) -> None:
        if time.monotonic() - self.last_beat < every:
            return
        if not services.video_lease_extend(self.video.pk, self.token):
            raise LeaseLost
        self.last_beat = time.monotonic()

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        step = max(0.5, settings.PIPELINE_LEASE_SECONDS / 3)
        while (left := end - time.monotonic()) > 0:
            self.beat()
            time.sleep(min(step, left))

    def wait_for_budget(self, *, max_wait: float = 30.0) -> None:
        """Archives are bound by a deadline: they may use the whole window, while creates
        leave what archives will need (throttle.create_needs)."""
        deadline = time.monotonic() + max_wait
        while (wait := throttle.throttle_acquire(self.video.provider)) > 0:
            if time.monotonic() + wait > deadline:
                raise BudgetWait(wait)
            self.sleep(wait)


def _looks_like(kind: str, head: bytes) -> bool:
    """The first bytes must be the media we asked for, whatever the headers claimed."""
    if kind == "video":
        return len(head) >= 8 and head[4:8] == b"ftyp"
    return (
        head[:3] == b"\xff\xd8\xff"
        or head[:8] == b"\x89PNG\r\n\x1a\n"
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


def archive_video(video_id: str) -> Outcome:
    """Archive every asset of a finished video, then mark it ready."""
    token = services.video_claim(video_id, states=(VideoState.ARCHIVING,))
    if token is None:
        return Outcome.BUSY
    video = Video.objects.select_related("provider", "owner").get(pk=video_id)
    # Transient failures never end an archive while the provider still holds the results.
    deadline_passed = video.provider_expires_at is None or video.provider_expires_at <= timezone.now()
    if video.attempts > settings.PIPELINE_MAX_ATTEMPTS or (
        video.retries >= settings.PIPELINE_MAX_RETRIES and deadline_passed
    ):
        services.video_fail(
            video.pk, code="archive_failed", message="Storing the results failed repeatedly.", token=token
        )
        return Outcome.FAILED
    keeper = LeaseKeeper(video, token)
    try:
        with video.provider.adapter() as adapter:
            _store_all(adapter, keeper, done=set(video.assets.values_list("variant", "kind")))
    except BudgetWait as waiting:
        services.video_lease_release(video.pk, token, retry_in=waiting.wait)
        return Outcome.WAITING_FOR_BUDGET
    except LeaseLost:
        # Deleted meanwhile, or taken over after a stall: let go (a no-op if it is not ours).
        services.video_lease_release(video.pk, token)
        logger.warning("video %s: archive stopped; the video was deleted or taken over", video_id)
        return Outcome.LEASE_LOST
    except ProviderError as error:
        return _archive_failed(video, token, error)
    except Exception:  # storage outage, database hiccup: keep the video, try again
        logger.exception("video %s: archive interrupted", video_id)
        services.video_lease_release(video.pk, token, retry_in=backoff.retry_wait(video.retries), failed=True)
        return Outcome.RETRY
    throttle.provider_record_success(video.provider)
    try:
        _make_missing_thumbnails(keeper)
    except LeaseLost:
        services.video_lease_release(video.pk, token)
        return Outcome.LEASE_LOST
    if services.video_mark_ready(video.pk, token):
        logger.info("video %s ready", video_id)
        return Outcome.READY
    return Outcome.STALE


def _assets(adapter: VideoProvider, keeper: LeaseKeeper, *, ask: bool = False) -> tuple[AssetRef, ...]:
    """The job's files: as the poll stored them, or (missing, or `ask`) from the provider."""
    video = keeper.video
    stored = () if ask else assets_from_json(video.provider_assets)
    if stored:
        return stored
    keeper.wait_for_budget()
    status = adapter.retrieve(video.provider_job_id)
    if status.expires_at and status.expires_at != video.provider_expires_at:
        services.video_note_expiry(video.pk, status.expires_at)
        video.provider_expires_at = status.expires_at
    assets = status.assets()
    if not assets:
        # Past the provider's own deadline, no files means they were deleted (Replicate's hour).
        gone = status.expires_at is not None and status.expires_at <= timezone.now()
        raise ProviderError(
            "the provider lists no files for a finished job",
            permanent=False,
            code="no_assets",
            status_code=404 if gone else None,
        )
    services.video_note_assets(video.pk, assets)
    video.provider_assets = assets_to_json(assets)
    return assets


def _store_all(adapter: VideoProvider, keeper: LeaseKeeper, *, done: set, revision: str = "") -> None:
    """Store every asset not `done`. A download the provider refuses (an expired URL, a moved
    file) makes the run ask for fresh addresses, once; a fresh copy (`revision`) always asks."""
    asked = bool(revision)
    assets = _assets(adapter, keeper, ask=asked)
    while True:
        try:
            for asset in assets:
                if (asset.variant_index, asset.kind) not in done:
                    _archive_asset(adapter, keeper, asset, revision=revision)
                    done.add((asset.variant_index, asset.kind))
            return
        except ProviderError as error:
            if asked or error.status_code not in REFUSED_STATUSES:
                raise
            logger.info("video %s: a download was refused (%s); asking the provider again", keeper.video.pk, error)
            asked = True
            assets = _assets(adapter, keeper, ask=True)


def _make_missing_thumbnails(keeper: LeaseKeeper) -> None:
    """A thumbnail of each stored video the provider sent none for (Veo sends only the video).
    Made from our own copy; a video that cannot be decoded just has no thumbnail."""
    video = keeper.video
    stored = set(video.assets.values_list("variant", "kind"))
    for asset in video.assets.filter(kind="video"):
        if (asset.variant, "thumbnail") in stored:
            continue
        try:
            with default_storage.open(asset.storage_key, "rb") as handle:
                picture = video_thumbnail(handle)
        except (ValueError, OSError) as exc:
            logger.warning("video %s: no thumbnail made for variant %d: %s", video.pk, asset.variant, exc)
            continue
        key = storage.asset_key(video.owner_id, video.pk, asset.variant, "thumbnail", "image/webp")
        storage.save_bytes(key, picture, "image/webp")
        recorded = services.video_asset_record(
            video,
            keeper.token,
            variant=asset.variant,
            kind="thumbnail",
            key=key,
            content_type="image/webp",
            size=len(picture),
            sha256=hashlib.sha256(picture).hexdigest(),
        )
        if not recorded:
            storage.delete_key(key)
            raise LeaseLost


def _archive_failed(video: Video, token: str, error: ProviderError) -> Outcome:
    now = timezone.now()
    past_deadline = video.provider_expires_at is None or video.provider_expires_at <= now + timedelta(seconds=60)
    if error.status_code == 404 and past_deadline:
        services.video_mark_expired(video.pk, token=token)
        return Outcome.EXPIRED
    if error.permanent and error.status_code != 404:
        services.video_fail(video.pk, code=error.code or "archive_failed", message=error.message, token=token)
        return Outcome.FAILED
    throttle.provider_record_error(video.provider, error)
    services.video_lease_release(
        video.pk, token, retry_in=backoff.retry_wait(video.retries, error.retry_after), failed=True
    )
    return Outcome.RETRY


def rearchive_video(video_id: str) -> Outcome:
    """Staff asked for a fresh copy of a ready video. It stays ready and served throughout:
    each asset is downloaded whole beside the stored one, which it then replaces in one
    step; any failure (the provider forgot the job, an outage, a lost lease) leaves the
    stored copy exactly as it was."""
    token = services.video_claim(video_id, states=(VideoState.READY,))
    if token is None:
        return Outcome.BUSY
    video = Video.objects.select_related("provider", "owner").get(pk=video_id)
    keeper = LeaseKeeper(video, token)
    revision = timezone.now().strftime("%Y%m%d%H%M%S")
    outcome = Outcome.REPLACED
    try:
        with video.provider.adapter() as adapter:
            _store_all(adapter, keeper, done=set(), revision=revision)
    except (BudgetWait, LeaseLost, ProviderError) as error:
        logger.warning("video %s: fresh copy not made, the stored one is kept: %s", video_id, error)
        outcome = Outcome.KEPT
    except Exception:
        logger.exception("video %s: fresh copy not made, the stored one is kept", video_id)
        outcome = Outcome.KEPT
    finally:
        services.video_lease_release(video.pk, token)
    return outcome


def provider_still_holds(video: Video) -> str | None:
    """Whether a fresh copy of a finished video can be made: None if the provider still
    offers its files, else why not (said to the operator before anything changes)."""
    if video.provider_expires_at and video.provider_expires_at <= timezone.now():
        return "the provider's retention has ended"
    try:
        with video.provider.adapter() as adapter:
            status = adapter.retrieve(video.provider_job_id)
    except ProviderError as error:
        if error.status_code == 404:
            return "the provider no longer knows the job"
        return f"the provider could not be asked ({error.message})"
    if not status.assets():
        return "the provider holds no files for it"
    return None


# --- one asset ------------------------------------------------------------------------------


def _archive_asset(adapter: VideoProvider, keeper: LeaseKeeper, asset: AssetRef, *, revision: str = "") -> None:
    """Download one asset whole (resuming cuts), publish it and record it; with `revision`,
    as a copy that replaces the stored one. Nothing is left behind when it fails."""
    video = keeper.video
    writer: storage.ArchiveWriter | None = None
    published = False
    try:
        writer = _download(adapter, keeper, asset, revision)
        keeper.beat()
        writer.commit()
        published = True
        _record(keeper, asset, writer, revision)
    finally:
        if writer is not None and not published:
            writer.abort()
    throttle.provider_record_success(video.provider)


def _download(adapter: VideoProvider, keeper: LeaseKeeper, asset: AssetRef, revision: str) -> storage.ArchiveWriter:
    """Fetch the whole asset into a writer, resuming with Range after a cut (at most
    ASSET_RESUME_TRIES times in this run). The writer is returned unpublished."""
    state = _Download()
    try:
        for tries in range(backoff.ASSET_RESUME_TRIES + 1):
            keeper.wait_for_budget()
            try:
                _fetch(adapter, keeper, asset, revision, state)
                return state.finished()
            except ProviderError as error:
                if error.permanent or tries >= backoff.ASSET_RESUME_TRIES or error.code == "unexpected_content":
                    raise
                _before_resuming(keeper, asset, error, tries + 1)
        raise AssertionError("unreachable: the last try raises")
    except BaseException:
        state.abort()
        raise


class _Download:
    """What one asset's download has got so far, across resumptions."""

    def __init__(self) -> None:
        self.writer: storage.ArchiveWriter | None = None
        self.validator: str | None = None
        self.expected: int | None = None
        self.checked = False

    @property
    def offset(self) -> int:
        return self.writer.size if self.writer else 0

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None

    def finished(self) -> storage.ArchiveWriter:
        writer = self.writer
        assert writer is not None
        if self.expected is not None and writer.size != self.expected:
            raise ProviderError(
                f"the download ended at {writer.size} of {self.expected} bytes", permanent=False, code="truncated"
            )
        self.writer = None  # handed over: the caller publishes or aborts it
        return writer


def _fetch(adapter: VideoProvider, keeper: LeaseKeeper, asset: AssetRef, revision: str, state: _Download) -> None:
    """One request: from byte 0, or from where the last one was cut."""
    offset = state.offset
    with adapter.open_asset(asset, offset=offset, if_range=state.validator if offset else None) as stream:
        if state.writer is not None and stream.start == 0 and offset > 0:
            state.abort()  # the server ignored the Range: start over
            state.checked = False
        if state.writer is None:
            state.writer = _open_writer(keeper.video, asset, stream, revision)
        state.validator = stream.validator or state.validator
        state.expected = stream.total_size if stream.total_size is not None else state.expected
        _copy(keeper, asset, stream, state)


def _copy(keeper: LeaseKeeper, asset: AssetRef, stream: AssetStream, state: _Download) -> None:
    """The chunk loop: sniff the first bytes, write, keep the lease."""
    writer = state.writer
    assert writer is not None
    for chunk in stream.iter_bytes(CHUNK_BYTES):
        if not state.checked:
            if not _looks_like(asset.kind, chunk[:16]):
                raise ProviderError(f"the {asset.kind} is not a media file", permanent=False, code="unexpected_content")
            state.checked = True
        writer.write(chunk)
        keeper.beat(every=HEARTBEAT_SECONDS)


def _before_resuming(keeper: LeaseKeeper, asset: AssetRef, error: ProviderError, tries: int) -> None:
    logger.info("video %s: %s download interrupted (%s); resuming", keeper.video.pk, asset.kind, error.message)
    if error.status_code == 429 or error.retry_after:
        # Honour the provider's word, for every worker, and keep what is downloaded.
        throttle.provider_record_failure(
            keeper.video.provider,
            retry_after=error.retry_after,
            message=error.message,
            throttled=error.status_code == 429,
        )
    keeper.sleep(backoff.resume_wait(tries, error.retry_after))


def _open_writer(video: Video, asset: AssetRef, stream: AssetStream, revision: str) -> storage.ArchiveWriter:
    key = storage.asset_key(
        video.owner_id, video.pk, asset.variant_index, asset.kind, stream.content_type, revision=revision
    )
    return storage.open_writer(key, storage.stored_content_type(asset.kind, key, stream.content_type))


def _record(keeper: LeaseKeeper, asset: AssetRef, writer: storage.ArchiveWriter, revision: str) -> None:
    """Point the video's asset row at the published object; drop the copy it replaces."""
    video = keeper.video
    replaced = (
        video.assets.filter(variant=asset.variant_index, kind=asset.kind).values_list("storage_key", flat=True).first()
    )
    recorded = services.video_asset_record(
        video,
        keeper.token,
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
    if replaced and replaced != writer.key:
        storage.delete_key(replaced)  # the row points at the new copy already


# --- resuming -------------------------------------------------------------------------------


def resume_stalled_archives() -> int:
    """Archives whose worker died (lease run out) or that wait for a retry: enqueue again,
    most urgent deadline first. Each video is re-enqueued once per lapse."""
    now = timezone.now()
    due = (
        Video.objects.filter(state=VideoState.ARCHIVING, deleted_at__isnull=True)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .filter(Q(next_step_at__isnull=True) | Q(next_step_at__lte=now))
        .order_by("-priority", "provider_expires_at")
    )
    count = 0
    for video_id in due.values_list("pk", flat=True)[:500]:
        # Push next_step_at out first, so a second sweeper in parallel does not enqueue it too.
        pushed = (
            Video.objects.filter(pk=video_id, state=VideoState.ARCHIVING)
            .filter(Q(next_step_at__isnull=True) | Q(next_step_at__lte=now))
            .update(next_step_at=now + timedelta(seconds=settings.PIPELINE_LEASE_SECONDS))
        )
        if pushed:
            services.enqueue("videos.tasks.archive_video", video_id)
            count += 1
    return count
