"""Per-provider limits shared by every worker on every host, kept in the database.

A sliding window keeps requests within the provider's requests-per-minute (counted per second,
so it holds whichever way the provider cuts its minutes); who may use how much of it is the
callers' business (see create_acquire: archives and polls first, creates in rounds). `blocked_until` holds every
caller back after a 429's retry-after or while the circuit breaker is open; the poll lease
makes sure one loop at a time polls a provider.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from videos.backoff import provider_block_seconds
from videos.models import Provider, ProviderState, Video, VideoState
from videos.providers.types import ProviderError

logger = logging.getLogger("videos.pipeline")


# The window a provider's requests-per-minute limit holds over, and the short window that caps a burst.
WINDOW_SECONDS = 60
BURST_SECONDS = 5
# Providers give completion times in whole seconds, so jobs measured from them look shorter than
# they are: a job is looked for this long after it is expected to be done.
COMPLETION_SLACK_SECONDS = 1.0


def provider_state(provider: Provider) -> ProviderState:
    state, _ = ProviderState.objects.get_or_create(provider_id=provider.pk)
    return state


def burst_limit(provider: Provider) -> int:
    """Requests that may go out within BURST_SECONDS: half the limit, so a minute's worth never
    leaves at once (providers enforce a per-minute limit in shorter slices too), while the
    downloads of a batch of finished videos still go out within seconds."""
    return max(1, provider.requests_per_minute // 2)


def _live_window(window: dict[str, int], now: float) -> dict[int, int]:
    """Requests per whole second that can still fall within a window ending now. A request
    counted at second s happened in [s, s + 1), so 61 seconds are kept: conservative by one."""
    floor = int(now) - WINDOW_SECONDS
    return {int(second): count for second, count in window.items() if int(second) >= floor and count > 0}


def _wait_until_free(window: dict[int, int], needed: int, now: float, span: int) -> float:
    """Seconds until `needed` of the requests counted within the last `span` seconds have left it."""
    freed = 0
    for second in sorted(window):
        freed += window[second]
        if freed >= needed:
            return max(0.05, second + span + 1 - now)
    return float(span)


def _take(provider: Provider, cost: int, room: Callable[[dict[int, int], float], float], moment: datetime) -> float:
    """Under the provider's lock: 0 and `cost` requests counted in its window when `room(window,
    clock)` finds room (0), else the seconds it says to wait, or those of a retry-after or open
    breaker (nothing taken). Worked out under the lock, so two callers cannot count on the same room."""
    provider_state(provider)
    clock = moment.timestamp()
    with transaction.atomic():
        state = ProviderState.objects.select_for_update().get(pk=provider.pk)
        if state.blocked_until and state.blocked_until > moment:
            return (state.blocked_until - moment).total_seconds()
        if cost <= 0:
            return 0.0
        window = _live_window(state.window, clock)
        wait = room(window, clock)
        if wait > 0:
            return wait
        window[int(clock)] = window.get(int(clock), 0) + cost
        state.window = {str(second): count for second, count in window.items()}
        state.requests_sent += cost
        state.save(update_fields=["window", "requests_sent"])
        return 0.0


def _wait_for_room(provider: Provider, window: dict[int, int], clock: float, cost: int) -> float:
    """0 when `cost` more requests keep the window under the limit and the last seconds under the
    burst limit, else the seconds until they would."""
    limit, burst = provider.requests_per_minute, burst_limit(provider)
    used = sum(window.values())
    recent = {second: count for second, count in window.items() if second >= int(clock) - BURST_SECONDS}
    if used + cost > limit:
        return _wait_until_free(window, used + cost - limit, clock, WINDOW_SECONDS)
    if sum(recent.values()) + cost > burst:
        return _wait_until_free(recent, sum(recent.values()) + cost - burst, clock, BURST_SECONDS)
    return 0.0


def throttle_acquire(provider: Provider, cost: int = 1, *, now: datetime | None = None) -> float:
    """Take `cost` requests from the provider's window.

    No `requests_per_minute` requests ever fall within one 60-second window, wherever a provider
    starts its minutes, and at most `burst_limit` (half of it) within 5 seconds. 0 when taken, else the seconds
    to wait (nothing taken). `cost=0` only asks whether the provider holds every caller back."""
    return _take(
        provider, cost, lambda window, clock: _wait_for_room(provider, window, clock, cost), now or timezone.now()
    )


def throttle_take_up_to(provider: Provider, wanted: int, *, now: datetime | None = None) -> int:
    """Take as many of `wanted` requests as the window and the burst cap allow now (0 while the
    provider holds callers back): for protocols polled one call per job."""
    if wanted <= 0:
        return 0
    provider_state(provider)
    moment = now or timezone.now()
    clock = moment.timestamp()
    with transaction.atomic():
        state = ProviderState.objects.select_for_update().get(pk=provider.pk)
        if state.blocked_until and state.blocked_until > moment:
            return 0
        window = _live_window(state.window, clock)
        recent = sum(count for second, count in window.items() if second >= int(clock) - BURST_SECONDS)
        taken = min(wanted, provider.requests_per_minute - sum(window.values()), burst_limit(provider) - recent)
        if taken <= 0:
            return 0
        window[int(clock)] = window.get(int(clock), 0) + taken
        state.window = {str(second): count for second, count in window.items()}
        state.requests_sent += taken
        state.save(update_fields=["window", "requests_sent"])
        return taken


def throttle_debit(provider: Provider, cost: int) -> None:
    """Count requests made beyond what was taken (the pages of a long list): the window may
    then hold more than the limit, and what follows waits until it is back under."""
    if cost <= 0:
        return
    provider_state(provider)
    clock = timezone.now().timestamp()
    with transaction.atomic():
        state = ProviderState.objects.select_for_update().get(pk=provider.pk)
        window = _live_window(state.window, clock)
        window[int(clock)] = window.get(int(clock), 0) + cost
        state.window = {str(second): count for second, count in window.items()}
        state.requests_sent += cost
        state.save(update_fields=["window", "requests_sent"])


def typical_job_seconds(provider: Provider) -> float | None:
    """How long the provider's recent jobs took from submission to completion (the median of the
    last 20), or None before any finished."""
    recent = (
        Video.objects.filter(provider=provider, provider_completed_at__isnull=False, submitted_at__isnull=False)
        .order_by("-provider_completed_at")
        .values_list("submitted_at", "provider_completed_at")[:20]
    )
    durations = sorted(max(0.0, (done - sent).total_seconds()) for sent, done in recent if sent and done)
    return durations[len(durations) // 2] if durations else None


@dataclass(frozen=True)
class CreateNeeds:
    """What a create must find in the window before it goes (see create_acquire)."""

    kept: int  # requests other work and the video itself will need: downloads still to come, one poll
    together: int  # creates of the round still to go, this one included, which must all have room now
    horizon: float  # seconds from now by which the round's downloads are due


def expected_job_seconds(provider: Provider, typical: float | None = None) -> float:
    """When a new job of the provider should be done: the typical duration (`typical`, else
    looked up) and the slack of whole-second completion times, or the first poll's delay before
    any job finished."""
    typical = typical_job_seconds(provider) if typical is None else typical
    if typical is None:
        return settings.PIPELINE_FIRST_POLL_SECONDS
    return typical + COMPLETION_SLACK_SECONDS


def first_poll_seconds(provider: Provider) -> float:
    """When to look at a new job first: when jobs like it are expected to be done, so that the list
    call finding one job of a round finds the others too; never sooner than the first poll's delay
    nor later than the longest poll interval (users still see progress of long jobs)."""
    return min(
        settings.PIPELINE_MAX_POLL_SECONDS, max(settings.PIPELINE_FIRST_POLL_SECONDS, expected_job_seconds(provider))
    )


def round_size(provider: Provider, video: Video) -> int:
    """Creates that go together in one round: as many as an empty window holds with their
    downloads and the one list call that finds them done, and at most a burst."""
    per_video = provider.assets_per_video(video.n_variants) + 1
    return max(1, min(burst_limit(provider), (provider.requests_per_minute - 1) // per_video))


def create_needs(provider: Provider, video: Video, *, rounds: bool, now: datetime | None = None) -> CreateNeeds:
    """What `video`'s create needs the window to hold.

    `kept`: the downloads of finished videos not yet stored, those of jobs expected to finish
    within the window, the video's own downloads and one poll. Archives race the provider's
    deadline, so a create never takes the requests their downloads will need; before any job
    has finished, every job counts as due.

    With `rounds` (protocols that list every job in one call), creates go in rounds while the
    limit binds, so that jobs finish together and one list call finds a round done. A create goes
    only when the window has room now for the rest of its round (`together`: the pending videos,
    at most round_size and the provider's free slots, less those sent in the last seconds), and
    the room for the downloads is counted when they are due (`horizon`: the job's expected
    duration and two bursts' worth of time), by when older requests will have left the window.
    A lone video, which the window takes at once, is never held back.
    """
    now = now or timezone.now()
    kept = provider.assets_per_video(video.n_variants) + 1
    archiving = (
        Video.objects.filter(provider=provider, state=VideoState.ARCHIVING, deleted_at__isnull=True)
        .annotate(stored=Count("assets"))
        .values_list("provider_assets", "n_variants", "stored")
    )
    for assets, variants, stored in archiving:
        # Without the poll's list of files the archive asks for them first: one request more.
        files = len(assets) if assets else provider.assets_per_video(variants) + 1
        kept += max(0, files - stored)
    at_work = Video.objects.filter(provider=provider, deleted_at__isnull=True).filter(
        Q(state__in=(VideoState.SUBMITTED, VideoState.GENERATING))
        | Q(state=VideoState.PENDING, provider_job_id="", lease_expires_at__gt=now)
    )
    typical = typical_job_seconds(provider)
    if typical is not None:
        due_by = now + timedelta(seconds=WINDOW_SECONDS - typical)
        at_work = at_work.filter(Q(submitted_at__isnull=True) | Q(submitted_at__lte=due_by))
    at_work = at_work.exclude(pk=video.pk)
    kept += sum(provider.assets_per_video(variants) for variants in at_work.values_list("n_variants", flat=True))
    if not rounds:
        return CreateNeeds(kept=kept, together=1, horizon=0.0)
    pending = Video.objects.filter(
        provider=provider,
        state=VideoState.PENDING,
        deleted_at__isnull=True,
        provider_job_id="",
        submit_started_at__isnull=True,
        submit_outcome_unknown=False,
    ).count()
    # No more than the provider has free slots for (this video holds one already).
    busy = Video.objects.filter(provider=provider).filter(
        Q(state__in=(VideoState.SUBMITTED, VideoState.GENERATING))
        | Q(state=VideoState.PENDING, lease_expires_at__gte=now)
    )
    free = provider.max_concurrent_jobs - busy.count() + 1
    sent = Video.objects.filter(provider=provider, submit_started_at__gte=now - timedelta(seconds=BURST_SECONDS))
    together = max(1, min(pending, free, round_size(provider, video)) - sent.count())
    return CreateNeeds(
        kept=kept, together=together, horizon=expected_job_seconds(provider, typical) + 2 * BURST_SECONDS
    )


def create_acquire(provider: Provider, video: Video, *, rounds: bool, now: datetime | None = None) -> float:
    """Take one request for `video`'s create, leaving the window what create_needs says; 0 when
    taken, else the seconds to wait (nothing taken)."""
    moment = now or timezone.now()
    limit = provider.requests_per_minute

    def room(window: dict[int, int], clock: float) -> float:
        needs = create_needs(provider, video, rounds=rounds, now=moment)
        # The whole round must have room now.
        together = min(needs.together, limit, burst_limit(provider))
        if (wait := _wait_for_room(provider, window, clock, together)) > 0:
            return wait
        # The requests still in the window when the downloads are due; however much is kept, a
        # create can always go into a window that will be empty by then.
        ahead = clock + needs.horizon
        later = {second: count for second, count in window.items() if second >= int(ahead) - WINDOW_SECONDS}
        kept = max(0, min(needs.kept, limit - 1))
        if sum(later.values()) + 1 + kept > limit:
            return _wait_until_free(later, sum(later.values()) + 1 + kept - limit, ahead, WINDOW_SECONDS)
        return 0.0

    return _take(provider, 1, room, moment)


def window_used(provider: Provider) -> int:
    """Requests counted within the current window (the admin and benchmarks show it)."""
    return sum(_live_window(provider_state(provider).window, timezone.now().timestamp()).values())


def provider_record_success(provider: Provider) -> None:
    ProviderState.objects.filter(pk=provider.pk, consecutive_failures__gt=0).update(consecutive_failures=0)


def provider_record_failure(provider: Provider, *, retry_after: float | None, message: str, throttled: bool) -> None:
    """A retryable failure: honour retry-after, and open the breaker after repeated failures.

    A 429 (`throttled`) means the provider is up and asks for patience, which its retry-after
    says how long: it holds every caller back but does not count toward the breaker, which is
    for a provider that fails (5xx, timeouts, dropped connections)."""
    provider_state(provider)
    now = timezone.now()
    with transaction.atomic():
        state = ProviderState.objects.select_for_update().get(pk=provider.pk)
        state.last_error = message[:500]
        if throttled:
            state.throttled_responses += 1
        else:
            state.consecutive_failures += 1
        waits = []
        if retry_after is not None:
            waits.append(retry_after)
        block = None if throttled else provider_block_seconds(state.consecutive_failures)
        if block is not None:
            waits.append(block)
            logger.warning("provider %s: breaker open after %d failures", provider.name, state.consecutive_failures)
        if waits:
            until = now + timedelta(seconds=max(waits))
            if state.blocked_until is None or state.blocked_until < until:
                state.blocked_until = until
        state.save()


def provider_record_error(provider: Provider, error: ProviderError) -> None:
    """What a failed call teaches about the provider as a whole: nothing when the failure was
    the request's own (permanent), else its retry-after and a step toward the breaker."""
    if not error.permanent:
        provider_record_failure(
            provider, retry_after=error.retry_after, message=error.message, throttled=error.status_code == 429
        )


def poll_lease_acquire(provider: Provider, owner: str, seconds: float) -> bool:
    """Hold (or renew) the provider's poll lease; False while another live loop holds it."""
    provider_state(provider)
    now = timezone.now()
    changed = (
        ProviderState.objects.filter(pk=provider.pk)
        .filter(Q(poll_lease_owner=owner) | Q(poll_lease_expires_at__isnull=True) | Q(poll_lease_expires_at__lt=now))
        .update(poll_lease_owner=owner, poll_lease_expires_at=now + timedelta(seconds=seconds))
    )
    return changed == 1


def poll_lease_release(provider: Provider, owner: str) -> None:
    ProviderState.objects.filter(pk=provider.pk, poll_lease_owner=owner).update(
        poll_lease_owner="", poll_lease_expires_at=None
    )


def poll_lease_held(provider: Provider) -> bool:
    return ProviderState.objects.filter(pk=provider.pk, poll_lease_expires_at__gt=timezone.now()).exists()
