"""The cluster's work at the provider: submit, reconcile lost creates, poll, in one loop per
provider. Called by the thin tasks in tasks.py; archiving is in archive.py, the periodic
clean-up in sweeper.py.

Every step re-reads the video row, the source of truth, and changes it only through
videos.services; a step run twice, or by two workers at once, takes effect once. Waits and
try caps come from videos.backoff; what a step did is an Outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.models import Min, Q
from django.utils import timezone

from videos import archive, backoff, services, throttle
from videos.models import Heartbeat, Provider, Video, VideoState
from videos.outcomes import Outcome
from videos.providers.base import VideoProvider
from videos.providers.polling import looks_like
from videos.providers.types import ExtendSource, JobStatus, ProviderError, SpecImage, SubmissionSpec
from webhooks import delivery as webhook_delivery
from webhooks import inbound

logger = logging.getLogger("videos.pipeline")

# How long a list call may wait after the first job fell due, for others about to fall due.
GATHER_SECONDS = 1.0
# A database that cannot be reached (or, on SQLite, is locked), as opposed to a query's own error.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_RETRY_SECONDS = 2.0
# Unresolved creates of one account a reconciliation weighs; beyond this it adopts nothing.
MAX_RIVALS = 500

SUBMIT_UNKNOWN_MESSAGE = (
    "The provider did not answer the request and does not list it. It was not sent "
    "again, so it cannot have been billed twice. Please try again."
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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


def _read(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def _request_shape(video: Video) -> dict[str, Any]:
    """What a provider's job list can show of a video's request (and reconciliation matches)."""
    return {
        "model": video.model,
        "prompt": video.prompt,
        "size": video.size,
        "seconds": video.seconds,
        "remix_of": video.remix_source.provider_job_id if video.remix_source_id and video.remix_source else None,
    }


def extend_source(video: Video) -> ExtendSource | None:
    """What an extension continues, while its source is still the owner's finished video."""
    source = video.extend_source if video.extend_source_id else None
    if source is None or source.deleted_at is not None or source.state != VideoState.READY:
        return None
    stored = source.assets.filter(kind="video", variant=0).first()
    if stored is None:
        return None
    return ExtendSource(
        file_ids=tuple(str(i) for i in source.provider_generation_ids or ()),
        content_type=stored.content_type or "video/mp4",
        expires_at=source.provider_expires_at,
        read=lambda: _read(stored.storage_key),
    )


def submission_spec(video: Video) -> SubmissionSpec:
    image = _read(video.input_image_key) if video.input_image_key else None
    more: dict[str, list[SpecImage]] = {"last_frame": [], "reference": []}
    for item in video.input_images or []:
        more.setdefault(item["role"], []).append(SpecImage(_read(item["key"]), item["type"]))
    options = video.options or {}
    record = video.capabilities
    return SubmissionSpec(
        **_request_shape(video),
        n_variants=video.n_variants,
        extend=extend_source(video) if video.extended_from_video_id else None,
        input_image=image,
        input_filename="input." + video.input_image_key.rsplit(".", 1)[-1] if image else "input.png",
        input_content_type=video.input_image_type or "image/png",
        last_frame=more["last_frame"][0] if more["last_frame"] else None,
        reference_images=tuple(more["reference"]),
        negative_prompt=options.get("negative_prompt"),
        seed=options.get("seed"),
        audio=options.get("audio"),
        mapping=record.mapping,
        keep_seconds=record.retention_seconds,
        client_reference=video.pk,
        callback_url=inbound.callback_url(video),
    )


# When this process's last create that had to wait may go (per provider): the poll loop wakes
# then rather than at its next second, so a round starts as soon as the window has room for it.
_create_wakes: dict[int, float] = {}


def submit_pending(provider: Provider, *, limit: int = 50) -> int:
    """Send pending videos to the provider while it has free slots and request budget.
    Returns how many were settled (sent, failed or handed to reconciliation)."""
    settled = 0
    with provider.adapter() as adapter:
        while settled < limit:
            if throttle.throttle_acquire(provider, cost=0) > 0:
                # Backing off after a 429 or while the breaker is open: what another provider
                # may make goes there meanwhile.
                services.videos_route_around(provider)
                break
            claimed = services.video_claim_next_submission(provider)
            if claimed is None:
                # Nothing sendable now; if the provider has no free slot, what another provider
                # can start at once goes there.
                services.videos_route_around(provider, full=True)
                break
            video, token = claimed
            if _submit_one(provider, adapter, video, token) is Outcome.PROVIDER_WAIT:
                break
            settled += 1
    return settled


def _submit_one(provider: Provider, adapter: VideoProvider, video: Video, token: str) -> Outcome:
    """Send one claimed video. PROVIDER_WAIT means the provider asked for patience: stop
    sending to it for now; any other outcome settled this video and the next may go."""
    if video.attempts > settings.PIPELINE_MAX_ATTEMPTS:
        return _fail(video, token, "submit_failed", "Submitting this video crashed repeatedly.")
    if video.retries >= settings.PIPELINE_MAX_RETRIES:
        return _fail(video, token, "submit_failed", "The provider kept refusing the request; it was never accepted.")
    # Archives race the provider's deadline: a create leaves the window what they will need, and
    # where one list call finds every job, creates go in rounds that finish together.
    wait = throttle.create_acquire(provider, video, rounds=adapter.lists_many)
    if wait > 0:
        services.video_lease_release(video.pk, token, retry_in=min(wait, 60))
        _create_wakes[provider.pk] = time.monotonic() + wait
        return Outcome.PROVIDER_WAIT
    try:
        spec = submission_spec(video)
    except OSError as exc:
        return _fail(video, token, "input_missing", f"The start frame could not be read: {exc}")
    if video.remix_source_id and not spec.remix_of:
        return _fail(video, token, "remix_source_gone", "The video to remix no longer exists.")
    if video.extended_from_video_id and spec.extend is None:
        return _fail(video, token, "extend_source_gone", "The video to extend no longer exists.")
    if spec.extend is not None:
        ready = _extension_ready(adapter, spec)
        if isinstance(ready, tuple):
            return _fail(video, token, *ready)
        spec = ready
    if not services.video_mark_submit_started(video.pk, token):
        return Outcome.LEASE_LOST  # lost before anything was sent: another worker has it
    try:
        with lease_kept(video.pk, token):
            status = adapter.remix(spec.remix_of, spec.prompt) if spec.remix_of else adapter.create(spec)
    except ProviderError as error:
        return _create_refused(provider, video, token, error, source_needed=bool(spec.remix_of or spec.extend))
    throttle.provider_record_success(provider)
    if not services.video_mark_submitted(video.pk, token, status, poll_in=throttle.first_poll_seconds(provider)):
        _job_not_recorded(adapter, video.pk, status.job_id)
        return Outcome.STALE
    return Outcome.SUBMITTED


def submit_and_kick(provider: Provider) -> int:
    """A new video was stored: send what the provider can take now, and make sure a poll
    loop runs (the schedule starts one every minute too)."""
    settled = submit_pending(provider)
    if any(not throttle.poll_lease_held(p) for p in Provider.objects.filter(enabled=True)):
        services.enqueue("videos.tasks.poll_loop")
    return settled


def _extension_ready(adapter: VideoProvider, spec: SubmissionSpec) -> SubmissionSpec | tuple[str, str]:
    """The extension's spec with what its protocol needs of the source, or (code, message) why
    it cannot go: checked before anything is sent, so a refusal costs nothing at the provider."""
    source = spec.extend
    assert source is not None
    if not adapter.can_extend:
        return "extend_unsupported", f"{adapter.config.name} cannot extend videos."
    if adapter.extends_held_copy:
        if not source.file_ids or (source.expires_at is not None and source.expires_at <= timezone.now()):
            return "extend_source_expired", (
                "The provider no longer holds the original video, so it cannot be extended. Extend a newer video, "
                "or create a new one."
            )
        return spec
    try:
        data = source.read()
    except OSError as exc:
        return "extend_source_gone", f"The video to extend could not be read: {exc}"
    return dataclasses.replace(spec, extend=dataclasses.replace(source, read=lambda: data))


def _fail(video: Video, token: str, code: str, message: str) -> Outcome:
    services.video_fail(video.pk, code=code, message=message, token=token)
    return Outcome.FAILED


def _create_refused(
    provider: Provider, video: Video, token: str, error: ProviderError, *, source_needed: bool
) -> Outcome:
    if error.outcome_unknown:
        logger.warning("video %s: create sent but its answer was lost; reconciling", video.pk)
        services.video_mark_submit_unknown(video.pk, token, retry_in=settings.PIPELINE_RECONCILE_SECONDS)
        return Outcome.RECONCILING
    if error.permanent and source_needed and error.status_code == 404:
        # Providers remix (and the Gemini API extends) only what they still hold, and they
        # delete results after hours or days.
        code, verb = (
            ("extend_source_expired", "extended")
            if video.extended_from_video_id
            else ("remix_source_expired", "remixed")
        )
        return _fail(
            video,
            token,
            code,
            f"The provider no longer holds the original video, so it cannot be {verb}. Create a new video instead.",
        )
    if error.permanent:
        return _fail(video, token, error.code or "provider_rejected", error.message)
    throttle.provider_record_error(provider, error)
    # Nothing was accepted: the next provider serving the model may take it now.
    services.video_route_onward(video, token, retry_in=backoff.retry_wait(video.retries, error.retry_after))
    return Outcome.PROVIDER_WAIT


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
    video of the account whose job is unknown could own it, as far as the provider's list
    shows (a list without prompts cannot tell two requests of one shape apart). Where the
    protocol tags a job with the video's id (Kling's `external_task_id`), the tagged job is
    the certain answer. Anything less certain fails with `submit_outcome_unknown` rather than
    hand one user another user's video."""
    now = timezone.now()
    due = (
        Video.objects.filter(provider=provider, state=VideoState.PENDING, deleted_at__isnull=True)
        .filter(Q(submit_outcome_unknown=True) | Q(submit_started_at__isnull=False))
        .filter(Q(next_step_at__isnull=True) | Q(next_step_at__lte=now))
    )
    for video in due.select_related("provider", "remix_source", "extend_source")[:20]:
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
        if not adapter.lists_many:  # nothing to look in: never sent again, never guessed
            services.video_fail(video.pk, code="submit_outcome_unknown", message=SUBMIT_UNKNOWN_MESSAGE, token=token)
            continue
        if throttle.throttle_acquire(provider) > 0:
            services.video_lease_release(video.pk, token, retry_in=settings.PIPELINE_RECONCILE_SECONDS)
            return
        try:
            found = adapter.find_created(submission_spec(video), since=video.submit_started_at or video.created_at)
        except ProviderError as error:
            throttle.provider_record_error(provider, error)
            services.video_lease_release(
                video.pk, token, retry_in=backoff.retry_wait(video.retries, error.retry_after), failed=True
            )
            continue
        throttle.provider_record_success(provider)
        _settle_reconciliation(video, token, found)


def _settle_reconciliation(video: Video, token: str, found: list[JobStatus]) -> None:
    held = services.video_jobs_held(video.provider, [job.job_id for job in found], besides=video.pk)
    # A job another video holds, or one tagged with another video's id, is never this one's.
    free = [job for job in found if job.job_id not in held and job.client_reference in (None, video.pk)]
    tagged = [job for job in free if job.client_reference == video.pk]
    if len(tagged) == 1 and services.video_mark_submitted(video.pk, token, tagged[0]):
        logger.info("video %s: adopted provider job %s by its tag after a lost answer", video.pk, tagged[0].job_id)
        return
    rivals = _contested(video, free)
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
    elif video.retries < backoff.RECONCILE_LOOKUPS:
        # Not listed yet: a create held up in flight may still arrive.
        services.video_lease_release(video.pk, token, retry_in=settings.PIPELINE_RECONCILE_SECONDS, failed=True)
        return
    services.video_fail(video.pk, code="submit_outcome_unknown", message=SUBMIT_UNKNOWN_MESSAGE, token=token)


def _contested(video: Video, free: list[JobStatus]) -> bool:
    """Whether another unresolved video of the same account could own one of these jobs, judged
    by what the provider's list shows of them: where it carries no prompt (Ark), any rival with
    the same model, size and duration could."""
    rivals = list(services.videos_unresolved_beside(video)[: MAX_RIVALS + 1])
    if len(rivals) > MAX_RIVALS:
        return True  # too many to judge: adopt nothing rather than guess
    for rival in rivals:
        request = SubmissionSpec(**_request_shape(rival))
        since = rival.submit_started_at or rival.created_at
        if any(job.client_reference in (None, rival.pk) and looks_like(job, request, since=since) for job in free):
            return True
    return False


# --- polling ------------------------------------------------------------------------------


def poll_due(provider: Provider, adapter: VideoProvider, *, batch: int = 200) -> int:
    """Poll the videos that are due, in one list call where the protocol allows."""
    now = timezone.now()
    due = list(
        Video.objects.filter(
            provider=provider, state__in=services.AT_PROVIDER, next_step_at__lte=now, deleted_at__isnull=True
        )
        .exclude(provider_job_id="")
        .select_related("provider")
        .order_by("-priority", "provider_expires_at", "next_step_at")[:batch]
    )
    if not due:
        return 0
    if adapter.lists_many and _more_due_soon(provider, due, now):
        return 0
    others: dict[str, Video] = {}
    if not adapter.lists_many:
        # One call per job: as many of the most urgent as the window has room for; the rest stay due.
        due = due[: throttle.throttle_take_up_to(provider, len(due))]
        if not due:
            return 0
    elif throttle.throttle_acquire(provider) > 0:
        return 0
    else:
        # The other jobs in flight come back in the same pages for nothing: what they say is used
        # too, and their next poll moves out with it.
        others = {
            v.provider_job_id: v
            for v in Video.objects.filter(provider=provider, state__in=services.AT_PROVIDER, deleted_at__isnull=True)
            .exclude(provider_job_id="")
            .exclude(pk__in=[v.pk for v in due])
            .select_related("provider")[: batch * 5]
        }
    relaxed = services.callbacks_arriving(provider)
    since = min((v.submitted_at or v.created_at) for v in due)
    try:
        result = adapter.poll_many([v.provider_job_id for v in due], since=since, listed_too=others.keys())
    except ProviderError as error:  # the list call itself failed: every due video waits, spread out
        throttle.provider_record_error(provider, error)
        for video in due:
            services.video_poll_later(video.pk, seconds=backoff.retry_wait(video.poll_count + 1, error.retry_after))
        return 0
    throttle.throttle_debit(provider, max(0, result.calls - (1 if adapter.lists_many else len(due))))
    for video in due:
        status = result.get(video.provider_job_id)
        if status is not None:
            services.video_apply_status(video, status, relaxed=relaxed)
            continue
        failure = result.errors.get(video.provider_job_id)
        if failure is not None and failure.status_code == 404:
            _job_vanished(video)
        elif failure is not None:
            throttle.provider_record_error(provider, failure)
            services.video_poll_later(video.pk, seconds=backoff.retry_wait(video.poll_count + 1, failure.retry_after))
        else:
            services.video_poll_later(video.pk, seconds=max(1.0, result.retry_after or 1.0))
    for job_id, video in others.items():
        if (status := result.get(job_id)) is not None:
            services.video_apply_status(video, status, relaxed=relaxed)
    if len(result) > 0:  # the provider answered: whatever failed beside it, it is up
        throttle.provider_record_success(provider)
    return len(due)


def _more_due_soon(provider: Provider, due: list[Video], now: datetime) -> bool:
    """One list call answers for every job in flight: while other jobs fall due within
    GATHER_SECONDS of the first one due (a round of creates finishing together), wait for them,
    so that one call finds them all."""
    first = min(v.next_step_at for v in due if v.next_step_at is not None)
    return (
        Video.objects.filter(provider=provider, state__in=services.AT_PROVIDER, deleted_at__isnull=True)
        .exclude(provider_job_id="")
        .filter(next_step_at__gt=now, next_step_at__lte=first + timedelta(seconds=GATHER_SECONDS))
        .exists()
    )


def _job_vanished(video: Video) -> None:
    """The provider no longer knows the job: expired if past its window, else failed."""
    if video.provider_expires_at and video.provider_expires_at <= timezone.now():
        services.video_mark_expired(video.pk)
    else:
        services.video_fail(video.pk, code="provider_job_lost", message="The provider no longer knows this job.")


def next_due_in(provider: Provider) -> float:
    soonest = Video.objects.filter(provider=provider, state__in=services.AT_PROVIDER).aggregate(t=Min("next_step_at"))[
        "t"
    ]
    if soonest is None:
        return settings.PIPELINE_MAX_POLL_SECONDS
    return max(0.0, (soonest - timezone.now()).total_seconds())


def poll_loop(*, seconds: float | None = None) -> dict[str, int]:
    """Submit, reconcile and poll every provider this loop holds the lease of, for a while.

    One loop per provider: a newcomer that finds every lease held exits at once; a dead
    loop's lease runs out and the next scheduled run takes over. A loop that ends its time
    with work still waiting hands over to a successor at once, since the schedule alone
    (one-minute granularity, checked every 30 s) would leave gaps of up to a minute.

    While the database is unavailable the loop waits and tries again within its time,
    keeping its place: its leases are renewed by the first cycle after the database returns,
    so work resumes at once rather than when the leases would have run out.
    """
    budget = settings.PIPELINE_LOOP_SECONDS if seconds is None else seconds
    owner = f"{worker_name()}:{services.new_lease_token()}"
    end = time.monotonic() + budget
    counts = {"submitted": 0, "polled": 0, "cycles": 0}
    held: list[Provider] = []
    try:
        while True:
            try:
                held, sleep_for = _poll_cycle(owner, counts)
            except DATABASE_UNAVAILABLE as error:
                logger.warning("poll loop: the database is unavailable (%s); trying again", type(error).__name__)
                _drop_connection()
                sleep_for = DATABASE_RETRY_SECONDS
            else:
                if not held:
                    break
                counts["cycles"] += 1
            remaining = end - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(max(0.2, min(sleep_for, remaining, 2.0)))
    finally:
        for provider in held:
            with contextlib.suppress(DatabaseError):
                throttle.poll_lease_release(provider, owner)
    with contextlib.suppress(DatabaseError):
        if held and seconds is None and _work_waiting():
            services.enqueue("videos.tasks.poll_loop")
            counts["handed_over"] = 1
    return counts


def _poll_cycle(owner: str, counts: dict[str, int]) -> tuple[list[Provider], float]:
    """One pass over the providers whose lease this loop holds: those, and how long to sleep."""
    lease_seconds = settings.PIPELINE_LEASE_SECONDS
    providers = [
        p for p in Provider.objects.filter(enabled=True) if throttle.poll_lease_acquire(p, owner, lease_seconds)
    ]
    if not providers:
        return [], 0.0
    services.heartbeat_record("poll-loop", f"{owner} {len(providers)} provider(s)")
    counts["resumed"] = counts.get("resumed", 0) + archive.resume_stalled_archives()
    services.videos_leave_disabled()
    webhook_delivery.deliver_due()
    sleep_for = settings.PIPELINE_MAX_POLL_SECONDS
    for provider in providers:
        try:
            counts["submitted"] += submit_pending(provider)
            with provider.adapter() as adapter:
                reconcile_unknown(provider, adapter)
                counts["polled"] += poll_due(provider, adapter)
        except Exception as error:
            if isinstance(error, DATABASE_UNAVAILABLE) and not _database_reachable():
                raise  # the whole cycle waits for the database, not just this provider
            logger.exception("poll loop: provider %s failed this cycle", provider.name)
        sleep_for = min(sleep_for, next_due_in(provider), _pending_due_in(provider))
    return providers, sleep_for


def _database_reachable() -> bool:
    """Whether a query's OperationalError was its own (a deadlock, a timeout, SQLite's lock)
    rather than the database going away."""
    try:
        return connection.is_usable() if connection.connection is not None else False
    except DatabaseError:
        return False


def _drop_connection() -> None:
    """Close a connection the outage broke, so the next query opens a fresh one."""
    with contextlib.suppress(DatabaseError):
        connection.close()


def _work_waiting() -> bool:
    return Video.objects.filter(
        state__in=(VideoState.PENDING, *services.AT_PROVIDER, VideoState.ARCHIVING), deleted_at__isnull=True
    ).exists()


def _pending_due_in(provider: Provider) -> float:
    if Video.objects.filter(provider=provider, state=VideoState.PENDING, deleted_at__isnull=True).exists():
        left = _create_wakes.get(provider.pk, 0.0) - time.monotonic()
        return left if 0 < left < 1.0 else 1.0
    return settings.PIPELINE_MAX_POLL_SECONDS


def cluster_stalled() -> bool:
    """True when the poll loop has not run recently although work is waiting."""
    limit = timezone.now() - timedelta(seconds=settings.PIPELINE_STALL_SECONDS)
    beat = Heartbeat.objects.filter(name="poll-loop").first()
    waiting = Video.objects.filter(
        state__in=(VideoState.PENDING, *services.AT_PROVIDER), deleted_at__isnull=True
    ).exists()
    return waiting and (beat is None or beat.seen_at < limit)
