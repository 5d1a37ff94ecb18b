"""Creating emulated jobs: the timeline, the outcome and the concurrency limit, fixed once."""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Min
from django.utils import timezone

from videos.emulator import directives, ids
from videos.emulator.accounting import JOBS_CREATED
from videos.emulator.errors import rate_limited
from videos.emulator.models import Counter, Generation, Job


def _outcome(choice: str | None) -> str:
    if choice == "none":
        return "succeed"
    if choice in {"moderation", "internal"}:
        return choice
    if random.random() < float(settings.EMULATOR_FAILURE_RATE):
        return random.choice(["moderation", "internal"])
    return "succeed"


def _counter(protocol: str) -> Counter:
    try:
        counter, _ = Counter.objects.get_or_create(protocol=protocol, operation=JOBS_CREATED)
    except IntegrityError:
        counter = Counter.objects.get(protocol=protocol, operation=JOBS_CREATED)
    return counter


def create_job(
    *,
    protocol: str,
    model: str,
    prompt: str,
    width: int,
    height: int,
    seconds: int,
    n_variants: int = 1,
    remixed_from: str = "",
    inputs: dict | None = None,
) -> Job:
    wanted = directives.parse(prompt)
    now = timezone.now()
    queue = wanted.queue_seconds if wanted.queue_seconds is not None else settings.EMULATOR_QUEUE_SECONDS
    generation = (
        wanted.generation_seconds if wanted.generation_seconds is not None else settings.EMULATOR_GENERATION_SECONDS
    )
    outcome = _outcome(wanted.fail)
    started = now + timedelta(seconds=queue)
    finished = started if outcome == "moderation" else started + timedelta(seconds=generation)
    default_retention = {
        "openai": settings.EMULATOR_OPENAI_RETENTION_SECONDS,
        "azure": settings.EMULATOR_AZURE_RETENTION_SECONDS,
        "gemini": settings.EMULATOR_GEMINI_RETENTION_SECONDS,
        "vertex": 86400,  # the operation (and the videos inline in it) is kept a day here
        "ark": settings.EMULATOR_ARK_RETENTION_SECONDS,
        "fal": 7 * 24 * 3600,  # or what the submission asked for (fal_views)
        "replicate": 3600,  # inputs and outputs are deleted an hour after creation
        "runway": 86400,
        "kling": 30 * 86400,
        "minimax": 9 * 3600,
        "luma": 86400,  # undocumented; a day here
        "openrouter": 86400,  # until the job says expired; assumed a day after creation
    }[protocol]
    retention = wanted.retention_seconds if wanted.retention_seconds is not None else default_retention
    video_bytes = wanted.video_bytes if wanted.video_bytes is not None else settings.EMULATOR_VIDEO_BYTES

    _counter(protocol)
    with transaction.atomic():
        # The counter row is the lock that makes the concurrency check exact across processes
        # (SQLite serialises write transactions by itself).
        Counter.objects.select_for_update().filter(protocol=protocol, operation=JOBS_CREATED).first()
        limit = int(settings.EMULATOR_MAX_CONCURRENT_JOBS)
        if limit > 0:
            running = Job.objects.filter(protocol=protocol, finished_at__gt=now)
            if running.count() >= limit:
                soonest = running.aggregate(soonest=Min("finished_at"))["soonest"]
                wait = max(1.0, (soonest - now).total_seconds()) if soonest else 1.0
                raise rate_limited(
                    f"Too many running jobs: the limit is {limit} at a time. Try again when one has finished.", wait
                )
        job = Job.objects.create(
            public_id={
                "openai": ids.video_id,
                "azure": ids.task_id,
                "gemini": ids.operation_id,
                "vertex": ids.operation_id,
                "ark": ids.ark_task_id,
                "fal": ids.fal_request_id,
                "replicate": ids.replicate_prediction_id,
                "runway": ids.fal_request_id,  # a UUID too
                "kling": ids.kling_task_id,
                "minimax": ids.minimax_task_id,
                "luma": ids.fal_request_id,  # a UUID too
                "openrouter": ids.openrouter_job_id,
            }[protocol](),
            protocol=protocol,
            model=model,
            prompt=prompt,
            width=width,
            height=height,
            seconds=seconds,
            n_variants=n_variants,
            remixed_from=remixed_from,
            inputs=inputs or {},
            created_at=now,
            started_at=started,
            finished_at=finished,
            outcome=outcome,
            retention_seconds=retention,
            status_word=wanted.status_word or "",
            video_bytes=video_bytes,
        )
        if protocol == "azure":
            Generation.objects.bulk_create(
                Generation(public_id=ids.generation_id(), job=job, index=index) for index in range(n_variants)
            )
        Counter.objects.filter(protocol=protocol, operation=JOBS_CREATED).update(count=F("count") + 1)
    return job


def mark_expired(job: Job) -> None:
    """The `expired` fault: from now on the job's results are gone once it has finished."""
    if not job.force_expired:
        Job.objects.filter(pk=job.pk).update(force_expired=True)
        job.force_expired = True
