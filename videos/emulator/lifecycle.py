"""Where a job stands at a given moment, computed from the timestamps fixed at its creation.

Queue time first (OpenAI `queued`; Azure `queued` then `preprocessing`), then generation time
in progress steps (OpenAI `in_progress`; Azure `running` then, for the last fifth, `processing`),
then the outcome chosen at creation. A moderation failure ends the job when its queue time ends,
an internal error when its generation time ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from videos.emulator.models import Job


@dataclass(frozen=True)
class Snapshot:
    phase: str  # "queued", "preprocessing", "generating", "succeeded", "failed"
    progress: int
    late: bool  # in the last fifth of the generation time (Azure's `processing`)
    finished_at: datetime | None
    expires_at: datetime | None
    expired: bool

    @property
    def done(self) -> bool:
        return self.phase in {"succeeded", "failed"}


def _progress(job: Job, at: datetime) -> int:
    steps = max(1, int(settings.EMULATOR_PROGRESS_STEPS))
    span = (job.finished_at - job.started_at).total_seconds()
    if span <= 0:
        return 0
    fraction = (at - job.started_at).total_seconds() / span
    step = min(steps - 1, max(0, int(fraction * steps)))
    return step * 100 // steps


def expires_at(job: Job) -> datetime | None:
    """OpenAI and fal keep results for a while after completion; Azure, the Gemini API and Ark after creation."""
    if job.outcome != "succeed" and job.protocol == "openai":
        return None
    if job.force_expired:
        return job.finished_at
    base = job.finished_at if job.protocol in ("openai", "fal") else job.created_at
    return base + timedelta(seconds=job.retention_seconds)


def snapshot(job: Job, now: datetime) -> Snapshot:
    # At the creation instant a job is queued even with no queue time: a create is never
    # answered with a finished job, as providers never do.
    if now < job.started_at or now <= job.created_at:
        halfway = job.created_at + (job.started_at - job.created_at) / 2
        phase = "queued" if now < halfway else "preprocessing"
        return Snapshot(phase, 0, False, None, None, False)
    if now < job.finished_at:
        span = (job.finished_at - job.started_at).total_seconds()
        late = (now - job.started_at).total_seconds() >= 0.8 * span
        return Snapshot("generating", _progress(job, now), late, None, None, False)
    expiry = expires_at(job)
    expired = expiry is not None and now >= expiry
    if job.outcome == "succeed":
        return Snapshot("succeeded", 100, False, job.finished_at, expiry, expired)
    # The failure moment: the progress reached just before it.
    last = job.finished_at - timedelta(microseconds=1)
    progress = 0 if job.outcome == "moderation" else _progress(job, last)
    return Snapshot("failed", progress, False, job.finished_at, expiry, expired)
