"""A checked, size-bounded stream of one provider asset, with what a resumed download needs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from videos.providers.types import AssetRef, ProviderConfig, ProviderError

logger = logging.getLogger("videos.providers")

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


@dataclass
class AssetStream:
    """The body of one asset download.

    `start` is the byte offset of the first byte this body carries: equal to the requested
    offset on a 206, 0 when the server ignored the Range (restart from scratch). `total_size`
    is the whole asset's size when known; `validator` (ETag, else Last-Modified) goes into
    If-Range when resuming.
    """

    response: httpx.Response
    asset: AssetRef
    start: int
    content_length: int | None
    total_size: int | None
    content_type: str
    validator: str | None
    max_bytes: int
    bytes_received: int = 0

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    def iter_bytes(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """Body bytes as they arrive (pieces of at most `chunk_size`), never more than `max_bytes`
        in total; a short body raises. Nothing is held back: after an error, `bytes_received`
        is exactly what was yielded, so a resumed download starts at `start + bytes_received`."""
        try:
            for piece in self.response.iter_raw():
                for position in range(0, len(piece), chunk_size):
                    chunk = piece[position : position + chunk_size]
                    if self.start + self.bytes_received + len(chunk) > self.max_bytes:
                        raise ProviderError(
                            f"{self.asset.kind} is larger than the {self.max_bytes}-byte limit",
                            permanent=True,
                            code="asset_too_large",
                        )
                    self.bytes_received += len(chunk)
                    yield chunk
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise ProviderError(
                f"{self.asset.kind} download cut short after {self.bytes_received} bytes: {exc}",
                permanent=False,
                code="truncated_download",
            ) from exc
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"{self.asset.kind} download stalled after {self.bytes_received} bytes",
                permanent=False,
                code="download_stalled",
            ) from exc
        if self.content_length is not None and self.bytes_received != self.content_length:
            raise ProviderError(
                f"{self.asset.kind} download ended at {self.bytes_received} of {self.content_length} bytes",
                permanent=False,
                code="truncated_download",
            )


def check_asset_response(
    config: ProviderConfig, asset: AssetRef, response: httpx.Response, *, offset: int
) -> AssetStream:
    """Refuse a 200/206 answer that is not the asset we asked for, before reading its body."""
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in asset.content_types:
        logger.warning(
            "provider %s: %s of %s came as %r, expected one of %s",
            config.name,
            asset.kind,
            asset.source_id,
            content_type,
            asset.content_types,
        )
        raise ProviderError(
            f"{asset.kind} download has content type {content_type or 'none'!r}, expected {', '.join(asset.content_types)}",
            permanent=False,
            code="unexpected_content_type",
            status_code=response.status_code,
        )
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ProviderError(
            f"{asset.kind} download is {encoding}-encoded although identity was asked for",
            permanent=False,
            code="unexpected_content_encoding",
        )
    content_length = _int_header(response.headers.get("content-length"))
    start, total = 0, content_length
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if not match or int(match.group(1)) != offset:
            raise ProviderError(
                f"{asset.kind} partial answer does not start at byte {offset}",
                permanent=False,
                code="range_mismatch",
            )
        start = offset
        total = None if match.group(3) == "*" else int(match.group(3))
    if (total or 0) > config.max_download_bytes or start + (content_length or 0) > config.max_download_bytes:
        raise ProviderError(
            f"{asset.kind} is {total or content_length} bytes, above the {config.max_download_bytes}-byte limit",
            permanent=True,
            code="asset_too_large",
        )
    return AssetStream(
        response=response,
        asset=asset,
        start=start,
        content_length=content_length,
        total_size=total,
        content_type=content_type,
        validator=_validator(response.headers),
        max_bytes=config.max_download_bytes,
    )


def _int_header(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _validator(headers: httpx.Headers) -> str | None:
    """If-Range needs a strong validator: a strong ETag, else Last-Modified."""
    etag = headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("last-modified")
