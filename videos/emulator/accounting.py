"""Request counters and the request-rate limit, both shared by every process through the database."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from videos.emulator.errors import rate_limited
from videos.emulator.models import Counter, RateWindow

JOBS_CREATED = "jobs_created"


def _increment(model: type[Counter] | type[RateWindow], by: int = 1, **key: object) -> None:
    if model.objects.filter(**key).update(count=F("count") + by):
        return
    try:
        with transaction.atomic():
            model.objects.create(count=by, **key)
    except IntegrityError:
        # Another process created the row between our update and insert.
        model.objects.filter(**key).update(count=F("count") + by)


def bump(protocol: str, operation: str, by: int = 1) -> None:
    _increment(Counter, by, protocol=protocol, operation=operation)


def counters() -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for protocol, operation, count in Counter.objects.values_list("protocol", "operation", "count"):
        table.setdefault(protocol, {})[operation] = count
    return table


def count(protocol: str, operation: str) -> int:
    row = Counter.objects.filter(protocol=protocol, operation=operation).values_list("count", flat=True).first()
    return row or 0


def check_rate(protocol: str) -> None:
    """A fixed one-minute window per protocol; past the limit answer 429 until the minute ends."""
    limit = int(settings.EMULATOR_REQUESTS_PER_MINUTE)
    if limit <= 0:
        return
    now = time.time()
    minute = int(now // 60)
    _increment(RateWindow, protocol=protocol, minute=minute)
    used = RateWindow.objects.filter(protocol=protocol, minute=minute).values_list("count", flat=True).first() or 0
    if used == 1:
        RateWindow.objects.filter(minute__lt=minute - 1).delete()
    if used > limit:
        wait = 60 - (now % 60)
        message = (
            f"Rate limit is exceeded. Try again in {max(1, round(wait))} seconds."
            if protocol == "azure"
            else "Resource has been exhausted (e.g. check quota)."
            if protocol in ("gemini", "vertex")
            else f"Rate limit reached for requests per min (RPM): Limit {limit}, Used {limit}, Requested 1. "
            f"Please try again in {wait:.3f}s."
        )
        raise rate_limited(message, wait)
