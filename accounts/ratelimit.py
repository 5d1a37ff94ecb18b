"""Fixed-window rate limits shared by every process: the API's, the download links' and password resets'.

A limit is "N per period". Time is cut into windows of one period (aligned to the Unix epoch);
each request adds one to the counter of its key and window, in one atomic step, and is allowed
while the counter is at most N. Whatever the number of processes or hosts, no window lets more
than N through.

Where the counters live:
- with REDIS_URL, the "ratelimit" cache (Redis): `add(key, 0)` then `incr(key)`, and INCR is atomic;
- otherwise the database, one `INSERT ... ON CONFLICT DO UPDATE SET hits = hits + 1 RETURNING hits`
  per request. Django's file and database caches are no alternative: their `incr` is a read then
  a write, so two processes can both read 7 and both write 8.

A counter is not worth waiting for the disk: the upsert commits without flushing it (PostgreSQL's
`synchronous_commit = off` for that one transaction, SQLite's `synchronous = NORMAL` around that
one statement in WAL mode). Other processes see each hit at once, so the count stays exact; only
a power cut can lose the last moment's hits, which at worst lets a few requests more through in
that window. Inside a transaction of the caller the counter commits as that transaction does.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.models import RateCounter

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
PERIOD_NAMES = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
CACHE_ALIAS = "ratelimit"


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds

    def describe(self) -> str:
        return f"{self.limit} requests per {PERIOD_NAMES[self.period]}"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: int
    retry_after: int  # whole seconds until the window resets, at least 1


@functools.lru_cache(maxsize=64)  # read on every request: parse each setting's text once
def parse_rate(text: str, *, setting: str = "rate") -> Rate:
    """ "120/min" -> Rate(120, 60). The period is read by its first letter, as DRF does (s, m, h, d)."""
    count, _, period = text.strip().partition("/")
    unit = PERIODS.get(period.strip().lower()[:1])
    if not count.strip().isdigit() or int(count) < 1 or unit is None:
        raise ImproperlyConfigured(f"{setting} must look like 120/min (N/sec, N/min, N/hour or N/day), got {text!r}")
    return Rate(limit=int(count), period=unit)


def client_address(request) -> str:
    """The client's address: the socket's, or the one the last trusted proxy saw (TRUSTED_PROXY_COUNT)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:64]
    return (request.META.get("REMOTE_ADDR") or "unknown")[:64]


def rate_hit(key: str, rate: Rate, *, now: float | None = None) -> Verdict:
    """Count one request against `key` and say whether it is within the rate."""
    now = time.time() if now is None else now
    window = int(now // rate.period)
    resets_at = (window + 1) * rate.period
    full_key = f"{key}:{rate.period}:{window}"
    if CACHE_ALIAS in settings.CACHES:
        hits = _cache_count(full_key, ttl=math.ceil(resets_at - now))
    else:
        hits = _database_count(full_key, window_ends=resets_at, now=now)
    return Verdict(allowed=hits <= rate.limit, hits=hits, retry_after=max(1, math.ceil(resets_at - now)))


def _cache_count(key: str, *, ttl: int) -> int:
    cache = caches[CACHE_ALIAS]
    # The entry outlives its window by a minute, so it never expires between add and incr.
    timeout = ttl + 60
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:  # evicted in between (a full Redis): start the window's count again
        cache.add(key, 0, timeout)
        return cache.incr(key)


def _database_count(key: str, *, window_ends: int, now: float) -> int:
    alias = router.db_for_write(RateCounter)
    connection = connections[alias]
    # A transaction of the caller's decides how it commits; on its own the counter need not wait for the disk.
    relaxed = connection.get_autocommit() and not connection.in_atomic_block
    with connection.cursor() as cursor, _without_disk_flush(connection, cursor, relaxed=relaxed):
        cursor.execute(_upsert_sql(alias, relaxed=relaxed), [key, window_ends])
        hits = cursor.fetchone()[0]
        if hits == 1:
            # A key's first hit in a window: a good moment to drop the counters of windows that are over.
            RateCounter.objects.using(alias).filter(window_ends__lt=now).delete()
    return hits


@functools.lru_cache(maxsize=8)
def _upsert_sql(alias: str, *, relaxed: bool) -> str:
    connection = connections[alias]
    quote = connection.ops.quote_name
    table = quote(RateCounter._meta.db_table)
    columns = {field.name: field.column for field in RateCounter._meta.concrete_fields if field.column}
    key_column, hits_column, ends_column = (quote(columns[name]) for name in ("key", "hits", "window_ends"))
    row = "VALUES (%s, 1, %s)"
    if relaxed and connection.vendor == "postgresql":
        # set_config(..., true) lasts until this statement's own transaction ends: its commit is not flushed.
        row = (
            "SELECT CAST(%s AS varchar), 1, CAST(%s AS bigint) "
            "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush"
        )
    # Only quoted names from the model and fixed text go into the statement; the values are parameters.
    return (
        f"INSERT INTO {table} ({key_column}, {hits_column}, {ends_column}) {row} "
        f"ON CONFLICT ({key_column}) DO UPDATE SET {hits_column} = {table}.{hits_column} + 1 "
        f"RETURNING {hits_column}"
    )


@contextmanager
def _without_disk_flush(connection: BaseDatabaseWrapper, cursor, *, relaxed: bool) -> Iterator[None]:
    """SQLite: synchronous = NORMAL for the statements inside, when the file is in WAL mode.

    In WAL mode that is safe for the file (the next fully synchronous commit flushes these frames
    too); in the rollback-journal modes it is not, so they keep their setting. PostgreSQL needs
    nothing here: its statement carries the setting (see _upsert_sql).
    """
    if not relaxed or connection.vendor != "sqlite":
        yield
        return
    # The driver's own connection: these pragmas take microseconds, Django's cursor would double that.
    sqlite = connection.connection
    journal_mode, level = sqlite.execute("SELECT * FROM pragma_journal_mode, pragma_synchronous").fetchone()
    if str(journal_mode).lower() != "wal" or level <= 1:
        yield
        return
    sqlite.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        sqlite.execute(f"PRAGMA synchronous = {int(level)}")
