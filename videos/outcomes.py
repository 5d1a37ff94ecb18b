"""What a pipeline step did, as values callers and tests can rely on (they compare equal to their
lowercase names, so logs and task results read as words)."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    # Anything that claims a video.
    BUSY = "busy"  # another worker holds the video's lease, or nothing is due
    STALE = "stale"  # the video moved on since it was read; nothing changed
    LEASE_LOST = "lease_lost"  # taken over or deleted meanwhile; stopped without a trace
    # Submitting.
    SUBMITTED = "submitted"
    RECONCILING = "reconciling"  # sent, answer lost: looked up in the provider's list from now on
    PROVIDER_WAIT = "provider_wait"  # the provider asked to wait (429, 5xx, budget): stop sending for now
    # Polling.
    ARCHIVING = "archiving"  # the provider finished; the archive is enqueued
    PROGRESS = "progress"
    UNKNOWN = "unknown"  # a status word nobody knows: polled again
    # Archiving.
    READY = "ready"
    RETRY = "retry"  # a transient failure: the video comes back after a wait
    WAITING_FOR_BUDGET = "waiting_for_budget"
    REPLACED = "replaced"  # a fresh copy of a ready video replaced the stored one
    KEPT = "kept"  # no fresh copy could be made; the stored one stays
    # Ending.
    FAILED = "failed"
    EXPIRED = "expired"
    DELETED = "deleted"
    GONE = "gone"  # no such video (any more)
    # Admin requeue.
    POLL = "poll"
    ARCHIVE = "archive"
    REARCHIVE = "rearchive"
    NONE = "none"
