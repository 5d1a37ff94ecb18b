"""Provider adapters: HTTP clients for the video generation protocols, with no ORM inside."""

from __future__ import annotations

from videos.providers.base import VideoProvider
from videos.providers.downloads import AssetStream
from videos.providers.polling import PollResult
from videos.providers.registry import PROVIDER_CLASSES, build_provider
from videos.providers.types import AssetRef, CropBounds, JobStatus, ProviderConfig, ProviderError, SubmissionSpec

__all__ = [
    "PROVIDER_CLASSES",
    "AssetRef",
    "AssetStream",
    "CropBounds",
    "JobStatus",
    "PollResult",
    "ProviderConfig",
    "ProviderError",
    "SubmissionSpec",
    "VideoProvider",
    "build_provider",
]
