"""Learning the state of many jobs with few calls, and finding a create whose answer was lost.

Both protocols have a list endpoint returning full job objects, so one page answers for up to
a page-size of jobs. Ids not seen in the pages read are retrieved one by one; the number of
pages read is bounded so a long history is never scanned on every cycle.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from videos.providers.http import ProviderHttp
from videos.providers.types import JobStatus, ProviderConfig, ProviderError, SubmissionSpec

logger = logging.getLogger("videos.providers")

# Provider clocks and ours differ; a reconciliation window that is too tight misses the job.
CLOCK_SLACK = timedelta(minutes=5)


@dataclass
class ListPage:
    jobs: list[JobStatus]
    next_cursor: str | None


class JobLister(Protocol):
    """What paging needs from an adapter (VideoProvider has it), named here so the adapter base
    can build on this module without this module importing it back."""

    config: ProviderConfig
    http: ProviderHttp
    list_active_only: bool
    list_newest_first: bool
    lists_many: bool

    def retrieve(self, job_id: str) -> JobStatus: ...

    def list_page(self, *, after: str | None, active_only: bool) -> ListPage: ...


class PollResult(dict[str, JobStatus]):
    """job id -> JobStatus for every id whose state was learned.

    An id that is missing is either in `errors` (its retrieve failed: a 404 there means the
    provider no longer knows the job) or in `skipped` (not tried because the provider asked to
    slow down or failed; poll it next cycle). `calls` counts the HTTP requests made.
    """

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, ProviderError] = {}
        self.skipped: list[str] = []
        self.calls = 0

    @property
    def retry_after(self) -> float | None:
        waits = [error.retry_after for error in self.errors.values() if error.retry_after is not None]
        return max(waits) if waits else None


def poll_many(
    provider: JobLister, job_ids: list[str], *, since: datetime | None = None, listed_too: Collection[str] = ()
) -> PollResult:
    """The states of `job_ids`, from list pages, then one retrieve per id not listed.

    Ids in `listed_too` (other jobs in flight) are taken from the pages read if they are there,
    which costs nothing more: they are never the reason for another page or a retrieve."""
    result = PollResult()
    calls_before = provider.http.calls
    wanted = list(dict.fromkeys(job_ids))
    if wanted and provider.lists_many:
        _collect_from_list(provider, set(wanted), result, since=since, also=set(listed_too) - set(wanted))
    missing = [job_id for job_id in wanted if job_id not in result]
    for index, job_id in enumerate(missing):
        try:
            result[job_id] = provider.retrieve(job_id)
        except ProviderError as exc:
            result.errors[job_id] = exc
            if not exc.permanent:
                # The provider is rate limiting or failing: stop here, the rest waits a cycle.
                result.skipped = missing[index + 1 :]
                break
    result.calls = provider.http.calls - calls_before
    return result


def _collect_from_list(
    provider: JobLister, wanted: set[str], result: PollResult, *, since: datetime | None, also: set[str]
) -> None:
    config = provider.config
    page_size = config.list_page_size or 100
    if since is not None or provider.list_active_only:
        budget = config.list_max_pages
    else:
        # Newest first and no age hint: in-flight jobs sit in the first pages.
        budget = min(config.list_max_pages, math.ceil(len(wanted) / page_size) + 2)
    # Newest first with a known age, the unfiltered list back to `since` holds every wanted job,
    # finished ones included, so none needs a retrieve. A protocol that can filter to jobs at work
    # (Azure) switches to the filter when more than a page of jobs came since.
    newest_first = since is not None and provider.list_newest_first
    filtered = provider.list_active_only and not newest_first
    cursor: str | None = None
    for page_number in range(budget):
        try:
            page = provider.list_page(after=cursor, active_only=filtered)
        except ProviderError as exc:
            if exc.status_code in (404, 405, 501):
                logger.warning("provider %s has no usable list endpoint (%s); polling one by one", config.name, exc)
                return
            raise
        for job in page.jobs:
            if job.job_id in wanted or job.job_id in also:
                result[job.job_id] = job
        if wanted.issubset(result) or not page.next_cursor:
            return
        if newest_first and since is not None and _oldest(page) < since - CLOCK_SLACK:
            return
        if page_number == 0 and provider.list_active_only and not filtered:
            filtered, cursor = True, None
            continue
        cursor = page.next_cursor


def find_created(provider: JobLister, spec: SubmissionSpec, *, since: datetime) -> list[JobStatus]:
    """Provider jobs that look like `spec` submitted at or after `since`, newest first
    (none for a protocol without a list: such a create cannot be found)."""
    if not provider.lists_many:
        return []
    floor = since - CLOCK_SLACK
    matches: list[JobStatus] = []
    cursor: str | None = None
    for _page_number in range(provider.config.list_max_pages):
        page = provider.list_page(after=cursor, active_only=False)
        matches.extend(job for job in page.jobs if looks_like(job, spec, since=since))
        if not page.next_cursor:
            break
        if provider.list_newest_first and _oldest(page) < floor:
            break
        cursor = page.next_cursor
    far_past = datetime.min.replace(tzinfo=floor.tzinfo)
    return sorted(matches, key=lambda job: job.created_at or far_past, reverse=True)


def looks_like(job: JobStatus, spec: SubmissionSpec, *, since: datetime) -> bool:
    """Whether a listed job could be `spec` sent at `since`, as far as the list shows: a field
    the list does not carry (Ark's prompt, say) cannot tell two requests apart."""
    if job.created_at is None or job.created_at < since - CLOCK_SLACK:
        return False
    if job.prompt is not None and job.prompt != spec.prompt:
        return False
    if job.model and spec.model and job.model != spec.model:
        return False
    if job.size and job.size.lower() != spec.size.lower():
        return False
    if job.seconds is not None and spec.remix_of is None and job.seconds != spec.seconds:
        return False
    return spec.remix_of is None or job.remixed_from == spec.remix_of


def _oldest(page: ListPage) -> datetime:
    stamps = [job.created_at for job in page.jobs if job.created_at is not None]
    return min(stamps) if stamps else datetime.max.replace(tzinfo=UTC)
