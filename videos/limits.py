"""Per-user limits that protect the platform and its providers.

A user may have a few videos in flight at once and may request a budget of generated seconds
(duration times variants) per UTC day. Both are checked under a lock on the user's row, so two
requests at the same moment cannot both slip under a limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone

from videos.models import ACTIVE_STATES, Video


class LimitExceeded(Exception):
    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class Usage:
    active: int
    active_limit: int
    seconds_today: int
    seconds_limit: int
    resets_at: datetime

    @property
    def seconds_left(self) -> int:
        return max(0, self.seconds_limit - self.seconds_today)


def day_start(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)


def usage_for(user) -> Usage:
    now = timezone.now()
    start = day_start(now)
    # Deleted videos still count: deleting must not refill the day's budget.
    mine = Video.objects.filter(owner=user)
    seconds = (
        mine.filter(created_at__gte=start)
        .exclude(error_code="cancelled")
        .aggregate(total=Sum(F("seconds") * F("n_variants")))["total"]
    )
    return Usage(
        active=mine.filter(state__in=ACTIVE_STATES, deleted_at__isnull=True).count(),
        active_limit=settings.USER_MAX_ACTIVE_VIDEOS,
        seconds_today=int(seconds or 0),
        seconds_limit=settings.USER_DAILY_SECONDS,
        resets_at=start + timedelta(days=1),
    )


def check_user_limits(user, *, requested_seconds: int) -> Usage:
    """Raise LimitExceeded when this request would pass one of the user's limits.

    Call inside the transaction that creates the video, after locking the user's row.
    """
    usage = usage_for(user)
    if usage.active >= usage.active_limit:
        raise LimitExceeded(
            f"You have {usage.active} videos queued or in progress; the limit is {usage.active_limit}. "
            "Try again when one of them finishes.",
            code="too_many_active_videos",
            retry_after=30,
        )
    if usage.seconds_today + requested_seconds > usage.seconds_limit:
        wait = math.ceil((usage.resets_at - timezone.now()).total_seconds())
        raise LimitExceeded(
            f"This video needs {requested_seconds} seconds of your daily budget; {usage.seconds_left} of "
            f"{usage.seconds_limit} are left today. The budget resets at {usage.resets_at:%H:%M} UTC.",
            code="daily_budget_exceeded",
            retry_after=max(1, wait),
        )
    return usage
