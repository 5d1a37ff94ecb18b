"""The cluster's work: submit, poll, archive, sweep. Called by the thin tasks in tasks.py.

Every step re-reads the video row, the source of truth, and changes it only through
videos.services; a step run twice, or by two workers at once, takes effect once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Min, Q
from django.utils import timezone

from videos import services, storage, throttle
from videos.models import Heartbeat, Provider, Video, VideoState
from videos.providers.base import JobStatus, ProviderError, SubmissionSpec, VideoProvider
from videos.providers.registry import build_provider

logger = logging.getLogger("videos.pipeline")

RECONCILE_ATTEMPTS = 4  # list look-ups for a lost create before giving up on it
SUBMIT_UNKNOWN_MESSAGE = (
    "The provider did not answer the request and does not list it. It was not sent "
    "again, so it cannot have been billed twice. Please try again."
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat(name: str, detail: str = "") -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now(), "detail": detail[:200]})


def adapter_for(provider: Provider) -> VideoProvider:
    return build_provider(provider.as_config())


def _record_provider_error(provider: Provider, error: ProviderError) -> None:
    if not error.permanent:
        throttle.provider_record_failure(
            provider, retry_after=error.retry_after, message=error.message, throttled=error.status_code == 429
        )


def backoff_seconds(retries: int, retry_after: float | None = None) -> float:
    """Wait before a video's next try: doubling from 2 s to 30 s, never below retry-after,
    plus up to a quarter more at random, so that the videos a 429 or an outage held back
    together do not all come back in the same second.

    Short, because the provider as a whole is protected by its shared retry-after block and
    circuit breaker; this only spreads one video's tries."""
    base = max(retry_after or 0.0, min(30.0, 2.0 * 2 ** max(0, retries)))
    return base * (1.0 + random.random() / 4)


@contextmanager
def lease_kept(video_id: str, token: str) -> Iterator[None]:
    """Renew the video's lease from a side thread while a call that may outlast it runs
    (a create the provider holds for minutes), so no other worker can take the video.

    The thread first waits a third of the lease, so quick calls never touch the database
    from it; it stops when the block ends, and closes its own database connection."""
    stop = threading.Event()
    interval = max(0.5, settings.PIPELINE_LEASE_SECONDS / 3)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                if not services.video_lease_extend(video_id, token):
                    logger.warning("video %s: lease lost while a provider call was in flight", video_id)
                    return
        except Exception:
            logger.exception("video %s: could not renew the lease", video_id)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"lease-{video_id[-8:]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


# --- submitting ---------------------------------------------------------------------------


def submission_spec(video: Video) -> SubmissionSpec:
    image = None
    if video.input_image_key:
        with default_storage.open(video.input_image_key, "rb") as handle:
            image = handle.read()
    return SubmissionSpec(
        model=video.model,
        prompt=video.prompt,
        size=video.size,
        seconds=video.seconds,
        n_variants=video.n_variants,
        input_image=image,
        input_filename="input." + video.input_image_key.rsplit(".", 1)[-1] if image else "input.png",
        input_content_type=video.input_image_type or "image/png",
        remix_of=video.remix_source.provider_job_id if video.remix_source_id and video.remix_source else None,
    )


def submit_pending(provider: Provider, *, limit: int = 50) -> int:
    """Send pending videos to the provider while it has free slots and request budget."""
    sent = 0
    with adapter_for(provider) as adapter:
        while sent < limit:
            if throttle.throttle_acquire(provider, cost=0) > 0:
                break  # backing off after a 429 or while the breaker is open
            claimed = services.video_claim_next_submission(provider)
            if claimed is None:
                break
            video, token = claimed
            if not _submit_one(provider, adapter, video, token):
                break
            sent += 1
    return sent


def _submit_one(provider: Provider, adapter: VideoProvider, video: Video, token: str) -> bool:
    """Send one claimed video; False when the provider asked us to stop for now."""
    if video.attempts > settings.PIPELINE_MAX_ATTEMPTS:
        services.video_fail(
            video.pk, code="submit_failed", message="Submitting this video crashed repeatedly.", token=token
        )
        return True
    if video.retries >= settings.PIPELINE_MAX_RETRIES:
        services.video_fail(
            video.pk,
            code="submit_failed",
            message="The provider kept refusing the request; it was never accepted.",
            token=token,
        )
        return True
    # Archives race the provider's deadline: while any wait, new submissions leave them half
    # of the bucket.
    archives_waiting = Video.objects.filter(provider=provider, state=VideoState.ARCHIVING).exists()
    reserve = throttle.bucket_capacity(provider) / 2 if archives_waiting else 0.0
    wait = throttle.throttle_acquire(provider, reserve=min(reserve, throttle.bucket_capacity(provider) - 1))
    if wait > 0:
        services.video_lease_release(video.pk, token, retry_in=min(wait, 60))
        return False
    try:
        spec = submission_spec(video)
    except OSError as exc:
        services.video_fail(
            video.pk, code="input_missing", message=f"The start frame could not be read: {exc}", token=token
        )
        return True
    if video.remix_source_id and not spec.remix_of:
        services.video_fail(
            video.pk, code="remix_source_gone", message="The video to remix no longer exists.", token=token
        )
        return True
    if not services.video_mark_submit_started(video.pk, token):
        return True  # the lease was lost before anything was sent: another worker has it
    try:
        with lease_kept(video.pk, token):
            status = adapter.remix(spec.remix_of, spec.prompt) if spec.remix_of else adapter.create(spec)
    except ProviderError as error:
        if error.outcome_unknown:
            logger.warning("video %s: create sent but its answer was lost; reconciling", video.pk)
            services.video_mark_submit_unknown(video.pk, token, retry_in=settings.PIPELINE_RECONCILE_SECONDS)
            return True
        if error.permanent and spec.remix_of and error.status_code == 404:
            # Providers remix only what they still hold, and they delete results after hours.
            services.video_fail(
                video.pk,
                code="remix_source_expired",
                message="The provider no longer holds the original video, so it cannot be remixed. Create a new video instead.",
                token=token,
            )
            return True
        if error.permanent:
            services.video_fail(video.pk, code=error.code or "provider_rejected", message=error.message, token=token)
            return True
        _record_provider_error(provider, error)
        services.video_submit_refused(video.pk, token, retry_in=backoff_seconds(video.retries, error.retry_after))
        return False
    throttle.provider_record_success(provider)
    if not services.video_mark_submitted(video.pk, token, status):
        _job_not_recorded(adapter, video.pk, status.job_id)
    return True


def _job_not_recorded(adapter: VideoProvider, video_id: str, job_id: str) -> None:
    """A created job no video can take (the video was deleted meanwhile): cancel it upstream,
    so it is not billed for nothing."""
    video = Video.objects.filter(pk=video_id).first()
    if video is not None and video.provider_job_id == job_id:
        return
    if video is None or video.deleted_at is not None:
        logger.warning("video %s: deleted while its create was in flight; cancelling job %s", video_id, job_id)
        try:
            adapter.delete(job_id)
        except ProviderError as error:
            logger.error("video %s: job %s could not be cancelled: %s", video_id, job_id, error.message)
        return
    logger.error("video %s: job %s was created but could not be recorded (state %s)", video_id, job_id, video.state)


def reconcile_unknown(provider: Provider, adapter: VideoProvider) -> None:
    """Creates that were sent but whose answer was never recorded (lost on the wire, or the
    worker died or lost its lease meanwhile): adopt the job the provider holds, or fail clearly.

    A job is adopted only when it is the one match not held by another video, and no other
    video sent the same request without learning its job: it could be theirs. Protocols
    offer no tag that ties a job to the video that asked for it, so anything less certain
    fails with `submit_outcome_unknown` rather than hand one user another user's video."""
    now = timezone.now()
    due = (
        Video.objects.filter(provider=provider, state=VideoState.PENDING, deleted_at__isnull=True)
        .filter(Q(submit_outcome_unknown=True) | Q(submit_started_at__isnull=False))
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
    )
    for video in due.select_related("provider", "remix_source")[:20]:
        token = services.video_claim(video.pk, states=(VideoState.PENDING,))
        if token is None:
            continue  # its create is still in flight (the submitter renews the lease), or it is taken
        video.refresh_from_db()
        if video.provider_job_id:
            services.video_lease_release(video.pk, token)
            continue
        if not video.submit_outcome_unknown:
            logger.warning("video %s: its create was sent by a worker that stopped; reconciling", video.pk)
            services.video_note_submit_unknown(video.pk, token)
            video.retries = 0
        if throttle.throttle_acquire(provider) > 0:
            services.video_lease_release(video.pk, token, retry_in=settings.PIPELINE_RECONCILE_SECONDS)
            return
        try:
            found = adapter.find_created(submission_spec(video), since=video.submit_started_at or video.created_at)
        except ProviderError as error:
            _record_provider_error(provider, error)
            services.video_lease_release(
                video.pk, token, retry_in=backoff_seconds(video.retries, error.retry_after), failed=True
            )
            continue
        throttle.provider_record_success(provider)
        _settle_reconciliation(video, token, found)


def _settle_reconciliation(video: Video, token: str, found: list[JobStatus]) -> None:
    held = services.video_jobs_held(video.provider, [job.job_id for job in found], besides=video.pk)
    free = [job for job in found if job.job_id not in held]
    rivals = services.videos_unresolved_alike(video).exists()
    if len(free) == 1 and not rivals:
        if services.video_mark_submitted(video.pk, token, free[0]):
            logger.info("video %s: adopted provider job %s after a lost answer", video.pk, free[0].job_id)
            return
    elif free:
        logger.warning(
            "video %s: %d unclaimed provider jobs match and %s; adopting none",
            video.pk,
            len(free),
            "another video sent the same request" if rivals else "none is certain",
        )
    elif video.retries < RECONCILE_ATTEMPTS:
        # Not listed yet: a create held up in flight may still arrive.
        services.video_lease_release(video.pk, token, retry_in=settings.PIPELINE_RECONCILE_SECONDS, failed=True)
        return
    services.video_fail(video.pk, code="submit_outcome_unknown", message=SUBMIT_UNKNOWN_MESSAGE, token=token)


# --- polling ------------------------------------------------------------------------------


def poll_due(provider: Provider, adapter: VideoProvider, *, batch: int = 200) -> int:
    """Poll the videos that are due, in one list call where the protocol allows."""
    now = timezone.now()
    due = list(
        Video.objects.filter(
            provider=provider, state__in=services.AT_PROVIDER, next_poll_at__lte=now, deleted_at__isnull=True
        )
        .exclude(provider_job_id="")
        .select_related("provider")
        .order_by("-priority", "provider_expires_at", "next_poll_at")[:batch]
    )
    if not due:
        return 0
    wait = throttle.throttle_acquire(provider)
    if wait > 0:
        return 0
    since = min((v.submitted_at or v.created_at) for v in due)
    try:
        result = adapter.poll_many([v.provider_job_id for v in due], since=since)
    except ProviderError as error:  # the list call itself failed: every due video waits, spread out
        _record_provider_error(provider, error)
        for video in due:
            services.video_poll_later(video.pk, seconds=backoff_seconds(video.poll_count + 1, error.retry_after))
        return 0
    throttle.throttle_debit(provider, max(0, result.calls - 1))
    for video in due:
        status = result.get(video.provider_job_id)
        if status is not None:
            services.video_apply_status(video, status)
            continue
        error = result.errors.get(video.provider_job_id)
        if error is not None and error.status_code == 404:
            _job_vanished(video)
        elif error is not None:
            _record_provider_error(provider, error)
            services.video_poll_later(video.pk, seconds=backoff_seconds(video.poll_count + 1, error.retry_after))
        else:
            services.video_poll_later(video.pk, seconds=max(1.0, result.retry_after or 1.0))
    if len(result) > 0:  # the provider answered: whatever failed beside it, it is up
        throttle.provider_record_success(provider)
    return len(due)


def _job_vanished(video: Video) -> None:
    """The provider no longer knows the job: expired if past its window, else failed."""
    if video.provider_expires_at and video.provider_expires_at <= timezone.now():
        services.video_mark_expired(video.pk)
    else:
        services.video_fail(video.pk, code="provider_job_lost", message="The provider no longer knows this job.")


def next_due_in(provider: Provider) -> float:
    soonest = Video.objects.filter(provider=provider, state__in=services.AT_PROVIDER).aggregate(t=Min("next_poll_at"))[
        "t"
    ]
    if soonest is None:
        return settings.PIPELINE_MAX_POLL_SECONDS
    return max(0.0, (soonest - timezone.now()).total_seconds())


def resume_stalled_archives() -> int:
    from videos.archive import resume_stalled_archives as resume

    return resume()


def poll_loop(*, seconds: float | None = None) -> dict[str, int]:
    """Submit, reconcile and poll every provider this loop holds the lease of, for a while.

    One loop per provider: a newcomer that finds every lease held exits at once; a dead
    loop's lease runs out and the next scheduled run takes over. A loop that ends its time
    with work still waiting hands over to a successor at once, since the schedule alone
    (one-minute granularity, checked every 30 s) would leave gaps of up to a minute.
    """
    budget = settings.PIPELINE_LOOP_SECONDS if seconds is None else seconds
    owner = f"{worker_name()}:{services.new_lease_token()}"
    lease_seconds = settings.PIPELINE_LEASE_SECONDS
    end = time.monotonic() + budget
    counts = {"submitted": 0, "polled": 0, "cycles": 0}
    held: list[Provider] = []
    try:
        while True:
            providers = [
                p for p in Provider.objects.filter(enabled=True) if throttle.poll_lease_acquire(p, owner, lease_seconds)
            ]
            held = providers
            if not providers:
                break
            heartbeat("poll-loop", f"{owner} {len(providers)} provider(s)")
            counts["resumed"] = counts.get("resumed", 0) + resume_stalled_archives()
            sleep_for = settings.PIPELINE_MAX_POLL_SECONDS
            for provider in providers:
                try:
                    counts["submitted"] += submit_pending(provider)
                    with adapter_for(provider) as adapter:
                        reconcile_unknown(provider, adapter)
                        counts["polled"] += poll_due(provider, adapter)
                except Exception:
                    logger.exception("poll loop: provider %s failed this cycle", provider.name)
                sleep_for = min(sleep_for, next_due_in(provider), _pending_due_in(provider))
            counts["cycles"] += 1
            remaining = end - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(max(0.2, min(sleep_for, remaining, 2.0)))
    finally:
        for provider in held:
            throttle.poll_lease_release(provider, owner)
    if held and seconds is None and _work_waiting():
        from django_q.tasks import async_task

        async_task("videos.tasks.poll_loop")
        counts["handed_over"] = 1
    return counts


def _work_waiting() -> bool:
    return Video.objects.filter(
        state__in=(VideoState.PENDING, *services.AT_PROVIDER, VideoState.ARCHIVING), deleted_at__isnull=True
    ).exists()


def _pending_due_in(provider: Provider) -> float:
    if Video.objects.filter(provider=provider, state=VideoState.PENDING, deleted_at__isnull=True).exists():
        return 1.0
    return settings.PIPELINE_MAX_POLL_SECONDS


# --- sweeping -----------------------------------------------------------------------------


def sweep() -> dict[str, int]:
    """Deadlines and leftovers: raise priority near expiry, expire what is past it, resume
    archives whose worker died, clear unfinished uploads, restart a missing poll loop."""
    now = timezone.now()
    counts = {
        "urgent": services.videos_raise_priority_near_deadline(
            within=timedelta(minutes=settings.PIPELINE_URGENT_MINUTES)
        ),
        "expired": 0,
        "resumed": resume_stalled_archives(),
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
    heartbeat("sweeper", str(counts))
    return counts


def _delete_past_retention(now) -> int:
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


def _resume_cleanups(now) -> int:
    """Deleted videos whose clean-up has not finished (it waits for a running archive)."""
    from django_q.tasks import async_task

    stale = Video.objects.filter(deleted_at__lt=now - timedelta(seconds=30)).filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    )
    ids = list(stale.values_list("pk", flat=True)[:200])
    for video_id in ids:
        async_task("videos.tasks.cleanup_video", video_id)
    return len(ids)


def cluster_stalled() -> bool:
    """True when the poll loop has not run recently although work is waiting."""
    limit = timezone.now() - timedelta(seconds=settings.PIPELINE_STALL_SECONDS)
    beat = Heartbeat.objects.filter(name="poll-loop").first()
    waiting = Video.objects.filter(
        state__in=(VideoState.PENDING, *services.AT_PROVIDER), deleted_at__isnull=True
    ).exists()
    return waiting and (beat is None or beat.seen_at < limit)
