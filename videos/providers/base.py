"""The adapter base class: one provider account speaking one protocol over one HTTP helper.

Adapters are HTTP only. They never touch the ORM: the task side builds a ProviderConfig from
whatever it stores and hands JobStatus values back to the services that own state changes.
The values themselves live in videos.providers.types.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Self
from urllib.parse import quote

from videos.providers.downloads import AssetStream
from videos.providers.http import ProviderHttp
from videos.providers.polling import ListPage, PollResult, find_created, poll_many
from videos.providers.types import (
    IMAGE_TYPES,
    OCTET_STREAM,
    VIDEO_TYPES,
    AssetKind,
    AssetRef,
    AuthStyle,
    CropBounds,
    JobState,
    JobStatus,
    ProviderConfig,
    ProviderError,
    ProviderKind,
    SubmissionSpec,
)

# The value types are re-exported while some callers still import them from here.
__all__ = [
    "IMAGE_TYPES",
    "OCTET_STREAM",
    "VIDEO_TYPES",
    "AssetKind",
    "AssetRef",
    "AuthStyle",
    "CropBounds",
    "JobState",
    "JobStatus",
    "ProviderConfig",
    "ProviderError",
    "ProviderKind",
    "SubmissionSpec",
    "VideoProvider",
    "quote_id",
]


class VideoProvider(abc.ABC):
    """One provider account speaking one protocol. Use as a context manager, or call close()."""

    kind: str = ""
    # Whether the protocol lists jobs, so one call learns the state of many (and a create whose
    # answer was lost can be found); without it each job is polled with one call.
    lists_many: bool = True
    # Whether the protocol can be asked to call back when a job ends (SubmissionSpec.callback_url).
    callbacks: bool = False
    # Whether those callbacks are signed with a secret the operator enters (Provider.webhook_secret).
    callbacks_need_secret: bool = False
    # Whether list_page(active_only=True) filters to in-flight jobs (Azure `statuses`).
    list_active_only: bool = False
    # Whether list pages come newest first, so paging can stop once past a given time.
    list_newest_first: bool = False
    # Files a finished job holds per variant (what its archive downloads).
    assets_per_variant: int = 1
    # Whether the protocol can extend a finished video (SubmissionSpec.extend), and whether it
    # continues a file the provider still holds (by its id) rather than a video sent to it.
    can_extend: bool = False
    extends_held_copy: bool = True

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.http = ProviderHttp(config)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @abc.abstractmethod
    def create(self, spec: SubmissionSpec) -> JobStatus:
        """Submit once. Never retried here; a lost answer raises with outcome_unknown=True."""

    @abc.abstractmethod
    def retrieve(self, job_id: str) -> JobStatus: ...

    @abc.abstractmethod
    def list_page(self, *, after: str | None, active_only: bool) -> ListPage:
        """One page of the provider's job list, and the cursor of the next page if any."""

    @abc.abstractmethod
    def delete(self, job_id: str) -> bool:
        """Cancel or delete a job; False when the provider no longer knew it."""

    def _delete(self, path: str, *, expect: tuple[int, ...] = (200,)) -> bool:
        """DELETE a job; False when the provider no longer knew it."""
        try:
            self.http.request("DELETE", path, expect=expect)
        except ProviderError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    def remix(self, job_id: str, prompt: str) -> JobStatus:
        raise ProviderError(f"{self.kind} providers cannot remix videos", permanent=True, code="unsupported")

    def poll_many(
        self, job_ids: list[str], *, since: datetime | None = None, listed_too: Collection[str] = ()
    ) -> PollResult:
        """States of many jobs through the list endpoint, then retrieve for ids not listed.

        `since` (the oldest creation time among the ids) lets paging stop early on
        newest-first lists; without it a few pages beyond the job count are read at most.
        Jobs in `listed_too` come back too when the pages read hold them.
        """
        return poll_many(self, job_ids, since=since, listed_too=listed_too)

    def find_created(self, spec: SubmissionSpec, *, since: datetime) -> list[JobStatus]:
        """Jobs matching `spec` created at or after `since` (minus clock slack), newest first.

        For a create that raised outcome_unknown: none means it never arrived, one means adopt
        it, several means the provider holds duplicates."""
        return find_created(self, spec, since=since)

    def open_asset(
        self, asset: AssetRef, *, offset: int = 0, if_range: str | None = None
    ) -> AbstractContextManager[AssetStream]:
        """Stream one asset, from `offset` when resuming (Range, with If-Range if given)."""
        return self.http.open_asset(asset, offset=offset, if_range=if_range)


def quote_id(value: str) -> str:
    """A provider's id as one path segment: quoting keeps a hostile id from changing the path."""
    return quote(value, safe="")
