"""Every write to videos and providers goes through here.

A video's state changes only in this module, and only through conditional updates
(`filter(state=...).update(...)` that must change exactly one row), so two workers can never
both take the same step. Steps that take long hold a lease (`lease_owner`, `lease_expires_at`)
that they renew; an expired lease lets another worker take over.

What each timestamp and counter means, by state (waits and caps: videos/backoff.py):

| field | pending | submitted, generating | archiving | ready, failed, expired |
|---|---|---|---|---|
| `next_step_at` | when it may be sent (after a refusal) or looked up again (create outcome unknown) | when to poll the job next | when the sweeper may enqueue the archive again (guards against enqueuing twice) | none |
| `lease_owner`, `lease_expires_at` | a submitter or reconciler works on it | (polls take no lease) | an archive works on it | a fresh copy is being made (ready) |
| `submit_started_at` | set once the create was sent: never sent again, only reconciled | when the create was sent | same | same |
| `attempts` | workers lost holding it (crashes): the poison cap `PIPELINE_MAX_ATTEMPTS` | reset to 0 | workers lost while archiving | n/a |
| `retries` | transient refusals (`PIPELINE_MAX_RETRIES`), or list look-ups when the outcome is unknown (`RECONCILE_LOOKUPS`) | reset to 0 | transient archive failures (never fatal before the deadline) | n/a |
| `poll_count` | 0 | polls made; the poll interval grows with it | unchanged | unchanged |
| `provider_assets` | empty | empty | the files the poll saw, so the archive need not ask | kept |

The broker's own `max_attempts` only bounds blind redelivery of a task; every decision to try
again is taken here, from the video's row.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, PositiveSmallIntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from project.queue import enqueue
from videos import backoff, catalogue, routing, storage, validation
from videos.asset_refs import assets_to_json
from videos.emulator.signing import openrouter_secret
from videos.inputs import InputImage, VideoCreateInput
from videos.models import (
    ACTIVE_STATES,
    AuthStyle,
    Heartbeat,
    Provider,
    ProviderKind,
    ProviderState,
    Video,
    VideoAsset,
    VideoKind,
    VideoState,
)
from videos.outcomes import Outcome
from videos.providers.types import AssetRef, JobStatus
from videos.routing import Route
from videos.throttle import provider_state
from webhooks import services as webhook_services
from webhooks.models import EventType

logger = logging.getLogger("videos.pipeline")

AT_PROVIDER = (VideoState.SUBMITTED, VideoState.GENERATING)


def new_lease_token() -> str:
    """Unique per claim; it starts with the process id so an operator can tell who holds it."""
    return f"{os.getpid()}.{secrets.token_hex(8)}"


def heartbeat_record(name: str, detail: str = "") -> None:
    """When a part of the cluster last worked (the admin, /healthz and pipeline_status read it)."""
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now(), "detail": detail[:200]})


# --- creating -----------------------------------------------------------------------------


def video_create(
    *,
    owner,
    provider: Provider,
    model: str,
    prompt: str,
    size: str,
    seconds: int,
    n_variants: int = 1,
    input_image: InputImage | None = None,
    remix_source: Video | None = None,
    extend_source: Video | None = None,
    more_images: tuple[tuple[str, InputImage], ...] = (),
    options: dict | None = None,
    requested_model: str = "",
    routes: tuple[Route, ...] = (),
) -> Video:
    """Store a new video as pending and hand it to the cluster once the transaction commits.

    `more_images` are (role, image) pairs besides the start frame: "last_frame", "reference".
    With `routes` (every provider that accepts the request, preferred first) the video goes to
    the first that can take it now (videos.routing), `provider` and `model` being the first."""
    if extend_source is not None:
        kind = VideoKind.EXTEND
    else:
        kind = VideoKind.REMIX if remix_source else VideoKind.IMAGE if input_image else VideoKind.TEXT
    if routes:
        chosen = routing.first_available(routes)
        provider, model = chosen.provider, chosen.model
    video = Video(
        owner=owner,
        provider=provider,
        kind=kind,
        model=model,
        requested_model=requested_model,
        routes=[route.as_json() for route in routes] if len(routes) > 1 else [],
        prompt=prompt,
        size=size,
        seconds=seconds,
        n_variants=n_variants,
        remix_source=remix_source,
        remixed_from_video_id=remix_source.id if remix_source else "",
        extend_source=extend_source,
        extended_from_video_id=extend_source.id if extend_source else "",
        base_seconds=extend_source.length_seconds if extend_source else 0,
        options=options or {},
    )
    stored_key = ""
    try:
        with transaction.atomic():
            if input_image is not None:
                stored_key = storage.input_image_key(owner.pk, video.id, input_image.content_type)
                storage.save_bytes(stored_key, input_image.data, input_image.content_type)
                video.input_image_key = stored_key
                video.input_image_type = input_image.content_type
            for index, (role, image) in enumerate(more_images):
                stored_key = storage.input_image_key(owner.pk, video.id, image.content_type, name=f"{role}-{index}")
                storage.save_bytes(stored_key, image.data, image.content_type)
                video.input_images.append({"role": role, "key": stored_key, "type": image.content_type})
            video.save(force_insert=True)
            enqueue("videos.tasks.submit_pending", provider.pk)
    except BaseException:
        if stored_key:
            storage.delete_prefix(storage.video_prefix(owner.pk, video.id))
        raise
    return video


def video_request_submit(*, user, data: VideoCreateInput) -> Video:
    """A user's checked request (built by videos.validation's rules): check their limits, then create.

    The user's row is locked so two simultaneous requests cannot both pass a limit.
    """
    from accounts.models import User
    from videos.limits import check_user_limits

    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        check_user_limits(user, requested_seconds=data.seconds * data.n_variants)
        return video_create(
            owner=user,
            provider=data.provider,
            model=data.model,
            prompt=data.prompt,
            size=data.size,
            seconds=data.seconds,
            n_variants=data.n_variants,
            input_image=data.input_image,
            remix_source=data.remix_source,
            extend_source=data.extend_source,
            more_images=(
                *((("last_frame", data.last_frame),) if data.last_frame else ()),
                *(("reference", image) for image in data.reference_images),
            ),
            options=data.options(),
            requested_model=data.requested_model,
            routes=data.routes,
        )


# --- leases -------------------------------------------------------------------------------


def _lease_free(now: datetime) -> Q:
    return Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)


def video_claim(video_id: str, *, states: tuple[str, ...], seconds: float | None = None) -> str | None:
    """Take the video's lease for one step; None when another worker holds it or the state moved on."""
    now = timezone.now()
    token = new_lease_token()
    changed = (
        Video.objects.filter(pk=video_id, state__in=states, deleted_at__isnull=True)
        .filter(_lease_free(now))
        .update(
            lease_owner=token,
            lease_expires_at=now + timedelta(seconds=seconds or settings.PIPELINE_LEASE_SECONDS),
            # A lease that ran out without being released means the worker holding it died:
            # that counts toward the poison cap; ordinary retries do not.
            attempts=Case(
                When(~Q(lease_owner=""), then=F("attempts") + 1),
                default=F("attempts"),
                output_field=PositiveSmallIntegerField(),
            ),
        )
    )
    return token if changed == 1 else None


def video_lease_extend(video_id: str, token: str) -> bool:
    """The heartbeat of a long step: False when the lease was lost (stop and leave no trace)."""
    until = timezone.now() + timedelta(seconds=settings.PIPELINE_LEASE_SECONDS)
    return Video.objects.filter(pk=video_id, lease_owner=token).update(lease_expires_at=until) == 1


def video_lease_release(video_id: str, token: str, *, retry_in: float | None = None, failed: bool = False) -> bool:
    """Let go of the step; with `retry_in`, come back then; `failed` counts a transient failure."""
    fields: dict = {"lease_owner": "", "lease_expires_at": None}
    if retry_in is not None:
        fields["next_step_at"] = timezone.now() + timedelta(seconds=retry_in)
    if failed:
        fields["retries"] = F("retries") + 1
    return Video.objects.filter(pk=video_id, lease_owner=token).update(**fields) == 1


def video_claim_next_submission(provider: Provider) -> tuple[Video, str] | None:
    """The next pending video to send to `provider`, if the provider has a free slot.

    Serialised per provider (a row lock on its state) so parallel submitters never exceed
    its concurrency limit. Fair: the owner with the fewest jobs at the provider goes first,
    then the oldest video, so one user's burst cannot starve everyone else.
    """
    now = timezone.now()
    provider_state(provider)
    with transaction.atomic():
        ProviderState.objects.select_for_update().get(pk=provider.pk)
        busy = Video.objects.filter(provider=provider).filter(
            Q(state__in=AT_PROVIDER) | Q(state=VideoState.PENDING, lease_expires_at__gte=now)
        )
        if busy.count() >= provider.max_concurrent_jobs:
            return None
        candidates = list(
            # A video whose create was ever sent is never sent again: it goes to reconciliation.
            Video.objects.filter(
                provider=provider,
                state=VideoState.PENDING,
                deleted_at__isnull=True,
                submit_outcome_unknown=False,
                submit_started_at__isnull=True,
            )
            .filter(_lease_free(now))
            .filter(Q(next_step_at__isnull=True) | Q(next_step_at__lte=now))
            .order_by("-priority", "created_at")
            .values_list("id", "owner_id")[:200]
        )
        if not candidates:
            return None
        load = dict(busy.values_list("owner_id").annotate(n=Count("id")).values_list("owner_id", "n"))
        ranked = sorted(enumerate(candidates), key=lambda item: (load.get(item[1][1], 0), item[0]))
        for _, (video_id, _owner) in ranked:
            token = video_claim(video_id, states=(VideoState.PENDING,))
            if token:
                return Video.objects.select_related("provider", "owner").get(pk=video_id), token
    return None


# --- submitting ---------------------------------------------------------------------------


def video_mark_submit_started(video_id: str, token: str) -> bool:
    """Note that the create is about to be sent. From here on the video is never sent again:
    if no answer is recorded (a crash, a lost lease, a lost answer) it is reconciled instead.
    False when the lease was lost before sending, so nothing must be sent."""
    return (
        Video.objects.filter(pk=video_id, lease_owner=token, state=VideoState.PENDING, deleted_at__isnull=True).update(
            submit_started_at=timezone.now()
        )
        == 1
    )


def video_submit_refused(video_id: str, token: str, *, retry_in: float) -> bool:
    """The provider answered the create with a transient refusal (429, 503...): nothing was
    accepted, so the video may be sent again later."""
    return (
        Video.objects.filter(pk=video_id, lease_owner=token, state=VideoState.PENDING).update(
            submit_started_at=None,
            retries=F("retries") + 1,
            next_step_at=timezone.now() + timedelta(seconds=retry_in),
            lease_owner="",
            lease_expires_at=None,
        )
        == 1
    )


def video_route_onward(video: Video, token: str, *, retry_in: float) -> bool:
    """The provider refused the create for a passing reason (a 5xx, a 429, a concurrency cap):
    hand the video to the next of its routes that can be tried now, at once, or, when it has
    none, keep it here and try again in `retry_in`, as video_submit_refused. Nothing was
    accepted, so nothing can be billed twice; the refusal counts toward the retry cap either way."""
    routes = validation.routes_now(video)
    onward = routing.onward(video, routes=routes)
    if onward is None:
        return video_submit_refused(video.pk, token, retry_in=retry_in)
    provider_id, model = onward
    moved = (
        Video.objects.filter(
            pk=video.pk, lease_owner=token, state=VideoState.PENDING, provider_id=video.provider_id
        ).update(
            provider_id=provider_id,
            model=model,
            routes=_kept_routes(routes),
            submit_started_at=None,
            retries=F("retries") + 1,
            next_step_at=None,
            lease_owner="",
            lease_expires_at=None,
        )
        == 1
    )
    if moved:
        logger.info("video %s: refused by provider %s, handed to provider %s", video.pk, video.provider_id, provider_id)
        enqueue("videos.tasks.submit_pending", provider_id)
    return moved


def _kept_routes(routes: list[tuple[int, str]]) -> list:
    return [list(route) for route in routes] if len(routes) > 1 else []


def videos_route_around(provider: Provider, *, limit: int = 50, full: bool = False) -> int:
    """While `provider` holds every caller back (retry-after, open breaker), or is disabled,
    hand the videos waiting for it that other providers may make (those added since included)
    to the next of those that can be tried now; with `full`, when it has no free slot, to the
    next that can start them at once. Only videos never sent: one whose create went out stays,
    to be reconciled here."""
    waiting = list(
        Video.objects.filter(
            provider=provider,
            state=VideoState.PENDING,
            deleted_at__isnull=True,
            submit_outcome_unknown=False,
            submit_started_at__isnull=True,
        )
        .exclude(kind__in=(VideoKind.REMIX, VideoKind.EXTEND))
        .filter(_lease_free(timezone.now()))
        .order_by("-priority", "created_at")[:limit]
    )
    if not waiting or (full and routing.can_take_now(provider)):
        return 0  # the common case costs this one query
    models = routing.served_models()
    moved = 0
    for video in waiting:
        routes = validation.routes_now(video, models)
        onward = routing.onward(video, free=full, routes=routes)
        if onward is None:
            continue
        provider_id, model = onward
        changed = (
            Video.objects.filter(
                pk=video.pk,
                provider_id=provider.pk,
                state=VideoState.PENDING,
                submit_started_at__isnull=True,
                submit_outcome_unknown=False,
            )
            .filter(_lease_free(timezone.now()))
            .update(provider_id=provider_id, model=model, routes=_kept_routes(routes), next_step_at=None)
        )
        if changed:
            moved += 1
            enqueue("videos.tasks.submit_pending", provider_id)
    if moved:
        logger.info(
            "provider %s %s: %d waiting video(s) handed to other providers",
            provider.name,
            "is disabled" if not provider.enabled else "has no free slot" if full else "holds callers back",
            moved,
        )
    return moved


def videos_leave_disabled() -> int:
    """Videos waiting for a provider an operator disabled go to another provider serving their
    model, where one is enabled; the rest wait for it to come back."""
    disabled = Provider.objects.filter(
        enabled=False,
        videos__state=VideoState.PENDING,
        videos__deleted_at__isnull=True,
        videos__submit_started_at__isnull=True,
    ).distinct()
    return sum(videos_route_around(provider) for provider in disabled)


def video_mark_submitted(video_id: str, token: str, status: JobStatus, *, poll_in: float | None = None) -> bool:
    """Record the provider's job, to be polled first in `poll_in` seconds (the first poll's
    delay by default). A video holds at most one job and a job belongs to at most one video (a
    unique constraint backs this up).

    The answer to a create is the truth even when the submitter's lease was lost meanwhile
    (a database hiccup): the video was sent once and holds no job yet, so recording it here
    is the only way not to lose a billed job. False when not recorded.
    """
    now = timezone.now()
    provider = Provider.objects.filter(videos__pk=video_id).first()
    if provider is None:
        return False
    if video_jobs_held(provider, [status.job_id], besides=video_id):
        logger.error("video %s: job %s already belongs to another video; not recorded", video_id, status.job_id)
        return False
    expires_at = status.expires_at
    record = provider.capabilities(model_of(video_id))
    if expires_at is None and record.retention_from == "creation":
        # Results are deleted a fixed time after creation (Azure, Veo): the archive deadline is known now.
        expires_at = (status.created_at or now) + record.retention
    try:
        changed = (
            Video.objects.filter(pk=video_id, state=VideoState.PENDING, provider_job_id="")
            .filter(Q(lease_owner=token) | Q(submit_started_at__isnull=False))
            .update(
                state=VideoState.GENERATING if status.state == "generating" else VideoState.SUBMITTED,
                provider_job_id=status.job_id,
                provider_status=status.raw_status[:40],
                provider_generation_ids=list(status.generation_ids),
                submitted_at=now,
                submit_outcome_unknown=False,
                attempts=0,
                retries=0,
                poll_count=0,
                progress=min(status.progress or 0, 99),
                provider_expires_at=expires_at,
                next_step_at=now
                + timedelta(seconds=settings.PIPELINE_FIRST_POLL_SECONDS if poll_in is None else poll_in),
                lease_owner="",
                lease_expires_at=None,
            )
        )
    except IntegrityError:  # another video recorded the same job in the same instant
        logger.error("video %s: job %s already belongs to another video; not recorded", video_id, status.job_id)
        return False
    return changed == 1


def video_mark_submit_unknown(video_id: str, token: str, *, retry_in: float) -> bool:
    """The create was sent and its answer lost: never resend; reconcile through the list."""
    return (
        Video.objects.filter(pk=video_id, lease_owner=token, state=VideoState.PENDING).update(
            submit_outcome_unknown=True,
            retries=0,  # from here on: look-ups in the provider's list
            next_step_at=timezone.now() + timedelta(seconds=retry_in),
            lease_owner="",
            lease_expires_at=None,
        )
        == 1
    )


def video_note_submit_unknown(video_id: str, token: str) -> bool:
    """A create that was sent by a worker that died (or lost its lease) before recording the
    answer: from now on it is reconciled like a lost answer. The lease stays with the caller."""
    return (
        Video.objects.filter(
            pk=video_id, lease_owner=token, state=VideoState.PENDING, submit_outcome_unknown=False
        ).update(submit_outcome_unknown=True, retries=0)
        == 1
    )


def videos_unresolved_beside(video: Video) -> QuerySet[Video]:
    """Other videos whose create was sent to the same provider account and whose job is not
    known (answer lost, or still in flight): a provider job that looks like `video`'s request
    could be theirs instead. Which could is for the caller to judge with what the provider's
    list shows (some lists carry no prompt, some no size)."""
    return (
        Video.objects.filter(
            provider__base_url=video.provider.base_url,
            state=VideoState.PENDING,
            provider_job_id="",
            submit_started_at__isnull=False,
        )
        .exclude(pk=video.pk)
        .select_related("remix_source")
    )


def video_jobs_held(provider: Provider, job_ids: list[str], *, besides: str) -> set[str]:
    """Which of these jobs already belong to a video other than `besides`, on any provider
    entry that reaches the same account (two entries may share a base URL)."""
    held = Video.objects.filter(provider__base_url=provider.base_url, provider_job_id__in=job_ids).exclude(pk=besides)
    return set(held.values_list("provider_job_id", flat=True))


# --- polling ------------------------------------------------------------------------------


def video_apply_status(video: Video, status: JobStatus, *, relaxed: bool = False) -> Outcome:
    """Record what the provider said: ARCHIVING, FAILED, PROGRESS, UNKNOWN, or STALE. `relaxed`:
    the provider's callbacks arrive, so the next poll can wait longer."""
    now = timezone.now()
    base = Video.objects.filter(pk=video.pk, state__in=AT_PROVIDER, deleted_at__isnull=True)
    next_poll = now + timedelta(seconds=backoff.poll_interval(video.poll_count + 1, relaxed=relaxed))
    common = {
        "provider_status": (status.raw_status or "")[:40],
        "poll_count": F("poll_count") + 1,
        "next_step_at": next_poll,
    }
    if status.generation_ids:
        common["provider_generation_ids"] = list(status.generation_ids)
    if status.expires_at is not None:
        common["provider_expires_at"] = status.expires_at
    if status.state == "succeeded":
        expires_at = status.expires_at or _default_expiry(video, status)
        changed = base.update(
            **{
                **common,
                "provider_expires_at": expires_at,
                # The sweeper re-enqueues the archive if this task is lost before it starts.
                "next_step_at": now + timedelta(seconds=settings.PIPELINE_LEASE_SECONDS),
            },
            state=VideoState.ARCHIVING,
            provider_assets=assets_to_json(status.assets()),
            progress=_at_least(99),
            provider_completed_at=status.completed_at or now,
            attempts=0,
            retries=0,
        )
        if changed:
            enqueue("videos.tasks.archive_video", video.pk)
            return Outcome.ARCHIVING
        return Outcome.STALE
    if status.state == "failed":
        with transaction.atomic():
            changed = base.update(
                **{**common, "next_step_at": None},
                state=VideoState.FAILED,
                error_code=status.error_code or "generation_failed",
                error_message=status.error_message or "The provider could not generate this video.",
                finished_at=now,
            )
            if changed:
                webhook_services.video_event_record(video.pk, EventType.VIDEO_FAILED)
        return Outcome.FAILED if changed else Outcome.STALE
    if status.state in ("queued", "generating"):
        fields = dict(common)
        if status.state == "generating":
            fields["state"] = VideoState.GENERATING
        if status.progress is not None:
            # Progress only grows, and reaches 100 only when stored.
            fields["progress"] = _at_least(min(int(status.progress), 99))
        changed = base.update(**fields)
        return Outcome.PROGRESS if changed else Outcome.STALE
    logger.warning("video %s: unknown provider status %r; polling again", video.pk, status.raw_status)
    base.update(**common)
    return Outcome.UNKNOWN


def _at_least(progress: int) -> Greatest:
    return Greatest(F("progress"), Value(progress), output_field=PositiveSmallIntegerField())


def model_of(video_id: str) -> str:
    return Video.objects.filter(pk=video_id).values_list("model", flat=True).first() or ""


def _default_expiry(video: Video, status: JobStatus) -> datetime:
    record = video.provider.capabilities(video.model)
    if record.retention_from == "creation":
        return (status.created_at or video.submitted_at or timezone.now()) + record.retention
    return (status.completed_at or timezone.now()) + record.retention


def video_check_now(video_id: str) -> bool:
    """A provider called back about the video's job: ask it for the job's status at once."""
    return bool(
        Video.objects.filter(pk=video_id, state__in=AT_PROVIDER, deleted_at__isnull=True)
        .exclude(provider_job_id="")
        .update(next_step_at=timezone.now())
    )


def provider_note_callback(provider: Provider) -> None:
    provider_state(provider)
    ProviderState.objects.filter(pk=provider.pk).update(callback_seen_at=timezone.now())


def callbacks_arriving(provider: Provider) -> bool:
    """Whether the provider's callbacks reach the platform (one came within the hour), so
    polling can be relaxed: it is the safety net."""
    if not settings.PUBLIC_URL:
        return False
    since = timezone.now() - timedelta(hours=1)
    return ProviderState.objects.filter(pk=provider.pk, callback_seen_at__gte=since).exists()


def video_poll_later(video_id: str, *, seconds: float) -> None:
    Video.objects.filter(pk=video_id, state__in=AT_PROVIDER).update(
        next_step_at=timezone.now() + timedelta(seconds=seconds)
    )


def video_note_expiry(video_id: str, expires_at: datetime) -> None:
    """The provider's latest word on when it deletes the results."""
    Video.objects.filter(pk=video_id, state__in=ACTIVE_STATES).update(provider_expires_at=expires_at)


def video_note_assets(video_id: str, assets: tuple[AssetRef, ...]) -> None:
    """The job's files as the provider listed them last (fresh URLs after a refused download)."""
    Video.objects.filter(pk=video_id, state__in=(VideoState.ARCHIVING, VideoState.READY)).update(
        provider_assets=assets_to_json(assets)
    )


# --- archiving ----------------------------------------------------------------------------


def video_asset_record(
    video: Video, token: str, *, variant: int, kind: str, key: str, content_type: str, size: int, sha256: str
) -> bool:
    """Record a published object, only while this worker still holds the lease and the video lives.

    A ready video's assets are replaced the same way (a fresh copy asked for by staff): the
    row then points at the new object, complete, in one step."""
    with transaction.atomic():
        locked = (
            Video.objects.select_for_update()
            .filter(
                pk=video.pk,
                lease_owner=token,
                state__in=(VideoState.ARCHIVING, VideoState.READY),
                deleted_at__isnull=True,
            )
            .first()
        )
        if locked is None:
            return False
        VideoAsset.objects.update_or_create(
            video=video,
            variant=variant,
            kind=kind,
            defaults={"storage_key": key, "content_type": content_type, "size_bytes": size, "sha256": sha256},
        )
    return True


def video_mark_ready(video_id: str, token: str) -> bool:
    now = timezone.now()
    with transaction.atomic():
        ready = _mark_ready(video_id, token, now)
        if ready:
            webhook_services.video_event_record(video_id, EventType.VIDEO_COMPLETED)
    return ready


def _mark_ready(video_id: str, token: str, now: datetime) -> bool:
    return (
        Video.objects.filter(
            pk=video_id, lease_owner=token, state=VideoState.ARCHIVING, deleted_at__isnull=True
        ).update(
            state=VideoState.READY,
            progress=100,
            archived_at=now,
            finished_at=now,
            next_step_at=None,
            error_code="",
            error_message="",
            lease_owner="",
            lease_expires_at=None,
        )
        == 1
    )


# --- ending -------------------------------------------------------------------------------


def video_fail(video_id: str, *, code: str, message: str, token: str | None = None) -> bool:
    query = Video.objects.filter(pk=video_id, state__in=ACTIVE_STATES)
    if token is not None:
        query = query.filter(lease_owner=token)
    with transaction.atomic():
        changed = query.update(
            state=VideoState.FAILED,
            error_code=code[:60],
            error_message=message,
            finished_at=timezone.now(),
            next_step_at=None,
            lease_owner="",
            lease_expires_at=None,
        )
        if changed:
            webhook_services.video_event_record(video_id, EventType.VIDEO_FAILED)
    if changed:
        logger.info("video %s failed: %s (%s)", video_id, message, code)
    return changed == 1


EXPIRED_MESSAGE = "The provider deleted the results before they could be stored."


def video_mark_expired(video_id: str, *, token: str | None = None) -> bool:
    now = timezone.now()
    # With a token: the archive that found the results gone. Without: the sweeper or a poll,
    # which act only on what is still true in this same statement: the video is still at the
    # provider (an archive waiting to try again keeps trying while the results may be there),
    # nobody holds it, and its deadline has passed (a poll may have moved it since).
    if token is not None:
        query = Video.objects.filter(pk=video_id, state__in=(*AT_PROVIDER, VideoState.ARCHIVING), lease_owner=token)
    else:
        query = Video.objects.filter(pk=video_id, state__in=AT_PROVIDER, provider_expires_at__lte=now)
        query = query.filter(_lease_free(now))
    with transaction.atomic():
        changed = query.update(
            state=VideoState.EXPIRED,
            error_code="video_expired",
            error_message=EXPIRED_MESSAGE,
            finished_at=now,
            next_step_at=None,
            lease_owner="",
            lease_expires_at=None,
        )
        if changed:
            webhook_services.video_event_record(video_id, EventType.VIDEO_FAILED)
    if changed:
        logger.warning("video %s expired at the provider before it was archived", video_id)
    return changed == 1


def videos_raise_priority_near_deadline(*, within: timedelta) -> int:
    """Videos whose results the provider deletes soon go to the front of every queue."""
    deadline = timezone.now() + within
    return Video.objects.filter(
        state__in=(*AT_PROVIDER, VideoState.ARCHIVING), provider_expires_at__lte=deadline, priority__lt=10
    ).update(priority=10)


# --- deleting and cancelling -----------------------------------------------------------------


def video_delete(*, video: Video) -> None:
    """Hide the video at once (every later request is a 404); the cluster cancels and cleans up."""
    changed = Video.objects.filter(pk=video.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    if changed:
        enqueue("videos.tasks.cleanup_video", video.pk)


def video_claim_deleted(video_id: str) -> str | None:
    """The clean-up's lease on a deleted video; None while an archive still works on it."""
    now = timezone.now()
    token = new_lease_token()
    changed = (
        Video.objects.filter(pk=video_id, deleted_at__isnull=False)
        .filter(_lease_free(now))
        .update(lease_owner=token, lease_expires_at=now + timedelta(seconds=settings.PIPELINE_LEASE_SECONDS))
    )
    return token if changed == 1 else None


def video_finish_delete(video_id: str, token: str) -> bool:
    """Remove the row once its files are gone; its id answers 404 from then on, as before."""
    deleted, _ = Video.objects.filter(pk=video_id, deleted_at__isnull=False, lease_owner=token).delete()
    return deleted > 0


def video_cancel(*, video: Video, message: str = "Cancelled by an administrator.") -> bool:
    """Stop a video that is still running: it fails with code `cancelled`; the cluster cancels it upstream."""
    changed = video_fail(video.pk, code="cancelled", message=message)
    if changed and video.provider_job_id:
        enqueue("videos.tasks.cancel_at_provider", video.pk)
    return changed


def video_requeue(*, video: Video) -> Outcome:
    """Admin: poll again now, or archive again if the provider had finished.

    A ready video is never moved back: its fresh copy is made beside the stored one (see
    archive.rearchive_video), and the caller checks first that the provider still holds it."""
    now = timezone.now()
    if video.state in AT_PROVIDER:
        Video.objects.filter(pk=video.pk, state__in=AT_PROVIDER).update(next_step_at=now, priority=10)
        return Outcome.POLL
    if video.state == VideoState.READY:
        enqueue("videos.tasks.rearchive_video", video.pk)
        return Outcome.REARCHIVE
    if video.state == VideoState.ARCHIVING or (video.state == VideoState.FAILED and video.provider_completed_at):
        changed = Video.objects.filter(pk=video.pk, state=video.state).update(
            state=VideoState.ARCHIVING, lease_owner="", lease_expires_at=None, attempts=0, retries=0, next_step_at=now
        )
        if changed:
            enqueue("videos.tasks.archive_video", video.pk)
            return Outcome.ARCHIVE
    return Outcome.NONE


# --- providers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EmulatorProvider:
    display_name: str
    kind: str
    path: str
    auth_style: str
    api_version: str
    model_names: tuple[str, ...]
    max_concurrent_jobs: int
    requests_per_minute: int


EMULATOR_PROVIDERS = {
    "emulator-openai": EmulatorProvider(
        display_name="Emulator (OpenAI Videos protocol)",
        kind=ProviderKind.OPENAI,
        path="/openai/v1",
        auth_style=AuthStyle.BEARER,
        api_version="",
        model_names=("sora-2", "sora-2-pro"),
        max_concurrent_jobs=8,
        requests_per_minute=600,
    ),
    "emulator-azure": EmulatorProvider(
        display_name="Emulator (Azure Sora jobs protocol)",
        kind=ProviderKind.AZURE_SORA,
        path="/azure/openai/v1",
        auth_style=AuthStyle.API_KEY,
        api_version="preview",
        model_names=("sora",),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-gemini": EmulatorProvider(
        display_name="Emulator (Gemini API, Veo)",
        kind=ProviderKind.GEMINI,
        path="/gemini/v1beta",
        auth_style=AuthStyle.GOOG_API_KEY,
        api_version="",
        model_names=tuple(catalogue.builtin_models("gemini")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-vertex": EmulatorProvider(
        display_name="Emulator (Vertex AI, Veo)",
        kind=ProviderKind.VERTEX,
        path="/vertex/v1",
        auth_style=AuthStyle.GOOG_API_KEY,
        api_version="",
        model_names=tuple(catalogue.builtin_models("vertex")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-ark": EmulatorProvider(
        display_name="Emulator (Ark, Seedance)",
        kind=ProviderKind.ARK,
        path="/ark/api/v3",
        auth_style=AuthStyle.BEARER,
        api_version="",
        model_names=tuple(catalogue.builtin_models("ark")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-replicate": EmulatorProvider(
        display_name="Emulator (Replicate)",
        kind=ProviderKind.REPLICATE,
        path="/replicate/v1",
        auth_style=AuthStyle.BEARER,
        api_version="",
        model_names=tuple(catalogue.builtin_models("replicate")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-runway": EmulatorProvider(
        display_name="Emulator (Runway)",
        kind=ProviderKind.RUNWAY,
        path="/runway",
        auth_style=AuthStyle.BEARER,
        api_version="",
        model_names=tuple(catalogue.builtin_models("runway")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-kling": EmulatorProvider(
        display_name="Emulator (Kling)",
        kind=ProviderKind.KLING,
        path="/kling",
        auth_style=AuthStyle.BEARER,
        api_version="",
        model_names=tuple(catalogue.builtin_models("kling")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-minimax": EmulatorProvider(
        display_name="Emulator (MiniMax)",
        kind=ProviderKind.MINIMAX,
        path="/minimax",
        auth_style=AuthStyle.BEARER,
        api_version="",
        model_names=tuple(catalogue.builtin_models("minimax")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-luma": EmulatorProvider(
        display_name="Emulator (Luma)",
        kind=ProviderKind.LUMA,
        path="/luma/dream-machine/v1",
        auth_style=AuthStyle.BEARER,
        api_version="",
        model_names=tuple(catalogue.builtin_models("luma")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-openrouter": EmulatorProvider(
        display_name="Emulator (OpenRouter)",
        kind=ProviderKind.OPENROUTER,
        path="/openrouter/api/v1",
        auth_style=AuthStyle.BEARER,
        api_version="",
        model_names=tuple(catalogue.builtin_models("openrouter")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
    "emulator-fal": EmulatorProvider(
        display_name="Emulator (fal queue)",
        kind=ProviderKind.FAL,
        path="/fal",
        auth_style=AuthStyle.KEY,
        api_version="",
        model_names=tuple(catalogue.builtin_models("fal")),
        max_concurrent_jobs=4,
        requests_per_minute=600,
    ),
}


def providers_sync_emulator(*, base_url: str | None = None) -> list[Provider]:
    """Create or update the providers that point at the built-in emulator, one per protocol.

    With the emulator switched off they are disabled rather than deleted, since videos may
    still refer to them.
    """
    base = (base_url or settings.EMULATOR_BASE_URL).rstrip("/")
    synced = []
    for name, spec in EMULATOR_PROVIDERS.items():
        provider = Provider.objects.filter(name=name).first() or Provider(name=name, is_emulator=True)
        provider.display_name = spec.display_name
        provider.kind = spec.kind
        provider.base_url = base + spec.path
        provider.auth_style = spec.auth_style
        provider.api_version = spec.api_version
        if not provider.pk:
            provider.model_names = list(spec.model_names)
            provider.max_concurrent_jobs = spec.max_concurrent_jobs
            provider.requests_per_minute = spec.requests_per_minute
        provider.is_emulator = True
        provider.enabled = settings.EMULATOR_ENABLED
        # Kling keys are an access key and a secret key: the emulator's key is the secret.
        provider.api_key = (
            f"emulator:{settings.EMULATOR_API_KEY}" if spec.kind == ProviderKind.KLING else settings.EMULATOR_API_KEY
        )
        if spec.kind == ProviderKind.OPENROUTER:
            provider.webhook_secret = openrouter_secret()  # the emulated workspace's, as an operator copies it
        provider.save()
        synced.append(provider)
    return synced
