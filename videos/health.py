"""Whether the platform can do its job: the checks behind /healthz and `manage.py pipeline_status`.

Each check gives a verdict and a short detail. /healthz is open to load balancers without a
login, so details name what is wrong and never a user, a prompt, a video id, a host or a version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from videos import pipeline
from videos.models import Heartbeat, Video, VideoState

logger = logging.getLogger(__name__)

QCLUSTER_HINT = "is `manage.py qcluster` running?"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def healthy(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failing(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def as_dict(self) -> dict:
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in self.checks},
        }


def run_checks() -> Report:
    database = _run("database", check_database)
    checks = [database]
    for name, check in (
        ("broker", check_broker),
        ("cluster", check_cluster),
        ("poll_loop", check_poll_loop),
        ("archives", check_archives),
    ):
        if not database.ok and (name != "broker" or _broker_uses_database()):
            # One failed connection attempt per probe is enough: each retry may wait a connect timeout.
            checks.append(Check(name, False, "not checked: the database is unavailable"))
        else:
            checks.append(_run(name, check))
    return Report(tuple(checks))


def _run(name: str, check: Callable[[], tuple[bool, str]]) -> Check:
    try:
        ok, detail = check()
    except Exception as error:
        # The detail shows the kind of error only; the log says more. An outage of the database
        # or the broker is one line; anything else may be a bug here and keeps its traceback.
        outage = isinstance(error, (DatabaseError, OSError)) or type(error).__module__.startswith("redis")
        text = str(error).strip()
        reason = text.splitlines()[0] if text else type(error).__name__
        logger.warning("Health check %s failed: %s", name, reason, exc_info=not outage)
        return Check(name, False, f"failed ({type(error).__name__})")
    return Check(name, ok, detail)


def check_database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, "reachable"


def _broker_uses_database() -> bool:
    from django_q.conf import Conf

    return bool(Conf.ORM)


def check_broker() -> tuple[bool, str]:
    from django_q.brokers import get_broker

    broker = get_broker()
    kind = "database queue" if _broker_uses_database() else "Redis"
    # The ORM broker's ping always answers True; counting its queue is what reaches the table.
    if not broker.ping():
        return False, f"{kind} does not answer"
    return True, f"{kind}, {broker.queue_size()} task(s) waiting"


def _work_waiting() -> bool:
    return Video.objects.active().filter(deleted_at__isnull=True).exists()


def _age(moment) -> float:
    return max(0.0, (timezone.now() - moment).total_seconds())


def _duration(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def check_cluster() -> tuple[bool, str]:
    """The sweeper runs every minute whatever the load, so its heartbeat says a cluster is alive."""
    limit = settings.HEALTH_HEARTBEAT_SECONDS
    beat = Heartbeat.objects.filter(name="sweeper").first()
    if beat is None:
        if _work_waiting():
            return False, f"no sweep has run although videos wait: {QCLUSTER_HINT}"
        return True, "no sweep has run yet; nothing waits"
    age = _age(beat.seen_at)
    if age > limit:
        return False, f"last sweep {_duration(age)} ago (limit {limit} s): {QCLUSTER_HINT}"
    return True, f"last sweep {_duration(age)} ago"


def check_poll_loop() -> tuple[bool, str]:
    """The poll loop runs only while videos wait at a provider, so an old heartbeat alone is fine."""
    beat = Heartbeat.objects.filter(name="poll-loop").first()
    if pipeline.cluster_stalled():
        if beat is None:
            return False, f"no poll loop has run although videos wait: {QCLUSTER_HINT}"
        return False, (
            f"last poll loop {_duration(_age(beat.seen_at))} ago although videos wait "
            f"(limit {settings.PIPELINE_STALL_SECONDS} s): {QCLUSTER_HINT}"
        )
    if beat is None:
        return True, "idle: no poll loop has run yet"
    return True, f"last poll loop {_duration(_age(beat.seen_at))} ago"


def check_archives() -> tuple[bool, str]:
    """An archive is overdue when the provider's deadline is near or past, or it has taken too long."""
    now = timezone.now()
    archiving = Video.objects.filter(state=VideoState.ARCHIVING, deleted_at__isnull=True)
    overdue = archiving.filter(
        Q(provider_expires_at__lte=now + timedelta(seconds=settings.HEALTH_ARCHIVE_MARGIN_SECONDS))
        | Q(provider_completed_at__lte=now - timedelta(seconds=settings.HEALTH_ARCHIVE_OVERDUE_SECONDS))
    )
    count = overdue.count()
    if not count:
        return True, f"none overdue ({archiving.count()} archiving)"
    worst = overdue.order_by(F("provider_expires_at").asc(nulls_last=True), "provider_completed_at").first()
    facts = []
    if worst is not None and worst.provider_expires_at is not None:
        left = (worst.provider_expires_at - now).total_seconds()
        facts.append(
            f"the provider deletes its results in {_duration(left)}"
            if left > 0
            else f"the provider deleted its results {_duration(left)} ago"
        )
    if worst is not None and worst.provider_completed_at is not None:
        facts.append(f"ready at the provider {_duration(_age(worst.provider_completed_at))} ago")
    return False, f"{count} overdue; the most urgent: " + ", ".join(facts)
