"""Per-provider limits shared by every worker on every host, kept in the database.

A token bucket paces requests to the provider's requests-per-minute; `blocked_until` holds
every caller back after a 429's retry-after or while the circuit breaker is open; the poll
lease makes sure one loop at a time polls a provider.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from videos.backoff import provider_block_seconds
from videos.models import Provider, ProviderState
from videos.providers.types import ProviderError

logger = logging.getLogger("videos.pipeline")


def provider_state(provider: Provider) -> ProviderState:
    # A new bucket starts full: the first requests go out at once.
    state, _ = ProviderState.objects.get_or_create(
        provider_id=provider.pk, defaults={"tokens": bucket_capacity(provider)}
    )
    return state


def bucket_capacity(provider: Provider) -> float:
    # Five seconds' worth of requests: short bursts are fine, a minute's worth at once is not.
    return max(1.0, provider.requests_per_minute / 12)


def refill_per_second(provider: Provider) -> float:
    """Refill so that a full bucket plus a minute of refill stays within the per-minute limit
    (providers count in windows: a burst on top of the full rate would earn a 429)."""
    per_minute = provider.requests_per_minute
    return max(per_minute - bucket_capacity(provider), per_minute / 2) / 60.0


def throttle_acquire(
    provider: Provider, cost: float = 1.0, *, reserve: float = 0.0, now: datetime | None = None
) -> float:
    """Take `cost` requests from the bucket, leaving `reserve` in it.

    0 when taken, else seconds to wait (nothing taken)."""
    provider_state(provider)
    now = now or timezone.now()
    rate = refill_per_second(provider)
    capacity = bucket_capacity(provider)
    with transaction.atomic():
        state = ProviderState.objects.select_for_update().get(pk=provider.pk)
        if state.blocked_until and state.blocked_until > now:
            return (state.blocked_until - now).total_seconds()
        elapsed = max(0.0, (now - state.tokens_updated_at).total_seconds())
        tokens = min(capacity, state.tokens + elapsed * rate)
        if tokens - cost < reserve and cost > 0:
            state.tokens, state.tokens_updated_at = tokens, now
            state.save(update_fields=["tokens", "tokens_updated_at"])
            return (cost + reserve - tokens) / rate
        state.tokens, state.tokens_updated_at = tokens - cost, now
        state.requests_sent += int(cost)
        state.save(update_fields=["tokens", "tokens_updated_at", "requests_sent"])
        return 0.0


def throttle_debit(provider: Provider, cost: float) -> None:
    """Charge requests made beyond what was acquired (the bucket may go negative)."""
    if cost > 0:
        provider_state(provider)
        ProviderState.objects.filter(pk=provider.pk).update(
            tokens=F("tokens") - cost, requests_sent=F("requests_sent") + int(cost)
        )


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
