"""Cursor paging shared by both protocols' list endpoints.

Jobs are ordered by (created_at, pk). A cursor is a job id; if that job is gone (deleted,
expired), the time carried inside the id itself still places the page, so paging through a
list that changes does not break.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Q

from videos.emulator.errors import bad_request
from videos.emulator.models import Job

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"

Position = tuple[datetime, int | None]


def _time_in_id(cursor: str) -> datetime | None:
    prefix, _, rest = cursor.partition("_")
    try:
        if prefix == "video" and len(rest) == 48:
            return datetime.fromtimestamp(int(rest[:8], 16), tz=UTC)
        if prefix in {"task", "gen"} and len(rest) == 26:
            millis = 0
            for char in rest[:10]:
                millis = millis * 32 + _CROCKFORD.index(char)
            return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except ValueError:
        return None
    return None


def position(protocol: str, cursor: str, param: str) -> Position:
    found = Job.objects.filter(protocol=protocol, public_id=cursor).values_list("created_at", "pk").first()
    if found is not None:
        return found
    moment = _time_in_id(cursor)
    if moment is None:
        raise bad_request(f"Invalid '{param}': {cursor!r} is not a valid id.", param=param)
    return moment, None


def beyond(where: Position, *, descending: bool) -> Q:
    """Jobs that come after `where` in the given order."""
    created, pk = where
    if pk is None:
        return Q(created_at__lt=created) if descending else Q(created_at__gt=created)
    if descending:
        return Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk)
    return Q(created_at__gt=created) | Q(created_at=created, pk__gt=pk)


def ordering(*, descending: bool) -> list[str]:
    return ["-created_at", "-pk"] if descending else ["created_at", "pk"]


def parse_limit(raw: str | None, *, default: int, minimum: int, maximum: int) -> int:
    if raw is None:
        return default
    if not raw.strip().lstrip("-").isdigit():
        raise bad_request(
            f"Invalid type for 'limit': expected an integer, but got {raw!r} instead.",
            param="limit",
            code="invalid_type",
        )
    value = int(raw)
    if not minimum <= value <= maximum:
        raise bad_request(
            f"Invalid 'limit': integer out of range. Expected a value between {minimum} and {maximum}, "
            f"but got {value} instead.",
            param="limit",
        )
    return value
