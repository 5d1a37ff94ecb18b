"""django-q2 entry points: thin, idempotent, given ids; each calls one function."""

from __future__ import annotations

from videos import archive, pipeline, sweeper
from videos.models import Provider


def submit_pending(provider_id: int) -> int:
    provider = Provider.objects.filter(pk=provider_id, enabled=True).first()
    return pipeline.submit_and_kick(provider) if provider else 0


def poll_loop() -> dict:
    return pipeline.poll_loop()


def archive_video(video_id: str) -> str:
    return archive.archive_video(video_id)


def rearchive_video(video_id: str) -> str:
    return archive.rearchive_video(video_id)


def sweep() -> dict:
    return sweeper.sweep()


def cancel_at_provider(video_id: str) -> bool:
    return sweeper.cancel_upstream(video_id)


def cleanup_video(video_id: str) -> str:
    return sweeper.cleanup_deleted(video_id)
