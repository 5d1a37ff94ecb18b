"""How long to wait, and how often to try: every back-off formula and try cap of the pipeline.

One video's waits (a retry after a failure, the next poll) are short and spread at random; the
provider as a whole is protected by its shared retry-after block and circuit breaker
(`provider_block_seconds`), so these only spread one video's tries.
"""

from __future__ import annotations

import random

from django.conf import settings

# Range resumptions of one asset within one archive run, before the run gives up for now.
ASSET_RESUME_TRIES = 4
# Look-ups in the provider's list for a create whose answer was lost, before it fails.
RECONCILE_LOOKUPS = 4
# Consecutive provider failures (not 429s) that open the circuit breaker, and its longest block.
BREAKER_THRESHOLD = 5
BREAKER_MAX_SECONDS = 30.0


def jittered(seconds: float) -> float:
    """Up to a quarter more at random, so that what one 429 or one outage held back together
    does not all come back in the same second."""
    return seconds * (1.0 + random.random() / 4)


def retry_wait(retries: int, retry_after: float | None = None) -> float:
    """Before a video's next try after a transient failure: doubling from 2 s to 30 s, never
    below the provider's retry-after, jittered."""
    return jittered(max(retry_after or 0.0, min(30.0, 2.0 * 2 ** max(0, retries))))


# How much longer polls wait while a provider's callbacks arrive (polling is then the safety net).
CALLBACK_POLL_FACTOR = 3


def poll_interval(poll_count: int, *, relaxed: bool = False) -> float:
    """Between polls of a job: fast first, backing off to a cap, so users see progress soon and
    providers see few calls; `relaxed`, three times as long, while callbacks arrive."""
    interval = settings.PIPELINE_FIRST_POLL_SECONDS * settings.PIPELINE_POLL_BACKOFF ** max(0, poll_count)
    factor = CALLBACK_POLL_FACTOR if relaxed else 1
    return min(settings.PIPELINE_MAX_POLL_SECONDS * factor, interval * factor)


def resume_wait(tries: int, retry_after: float | None = None) -> float:
    """Before resuming a cut download within one archive run: from 1 s, doubling, at most 30 s."""
    return min(30.0, max(retry_after or 0.0, 0.5 * 2**tries))


def provider_block_seconds(consecutive_failures: int) -> float | None:
    """How long the circuit breaker holds every call to a failing provider back (None: closed)."""
    if consecutive_failures < BREAKER_THRESHOLD:
        return None
    return min(BREAKER_MAX_SECONDS, 2.0 ** (consecutive_failures - BREAKER_THRESHOLD) * 2)
