"""A finished job's files as the poll learned them, stored on the video so that the archive
need not ask the provider again (`Video.provider_assets`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from videos.providers.types import AssetRef


def assets_to_json(assets: tuple[AssetRef, ...]) -> list[dict[str, Any]]:
    return [asdict(asset) for asset in assets]


def assets_from_json(stored: object) -> tuple[AssetRef, ...]:
    """The stored references; nothing (so the archive asks the provider) when they are unusable."""
    if not isinstance(stored, list):
        return ()
    try:
        return tuple(
            AssetRef(
                variant_index=int(item["variant_index"]),
                kind=item["kind"],
                path=str(item["path"]),
                content_types=tuple(item["content_types"]),
                params=tuple((str(key), str(value)) for key, value in item.get("params", ())),
                accept=str(item.get("accept", "*/*")),
                source_id=str(item.get("source_id", "")),
                url=str(item.get("url", "")),
            )
            for item in stored
        )
    except (KeyError, TypeError, ValueError):
        return ()
