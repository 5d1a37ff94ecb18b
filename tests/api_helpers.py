"""Videos in any state, with stored files, for API and dashboard tests."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone
from emulator_fixtures import image_bytes

from videos import storage
from videos.models import Provider, Video, VideoAsset

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40


def make_video(owner, state: str = "ready", **fields) -> Video:
    provider = Provider.objects.get(name="emulator-openai")
    now = timezone.now()
    values = {
        "provider": provider,
        "model": "sora-2",
        "prompt": "a quiet harbour",
        "size": "1280x720",
        "seconds": 4,
        "state": state,
        "provider_job_id": "video_" + secrets.token_hex(24),  # one job never belongs to two videos
    }
    if state == "ready":
        values.update(progress=100, archived_at=now, finished_at=now, provider_completed_at=now)
    if state in ("failed", "expired"):
        values.update(
            finished_at=now,
            error_code="video_expired" if state == "expired" else "moderation_blocked",
            error_message="gone",
        )
    video = Video.objects.create(owner=owner, **{**values, **fields})
    if state == "ready":
        for kind, data, content_type in (
            ("video", MP4, "video/mp4"),
            ("thumbnail", image_bytes(64, 36, "WEBP"), "image/webp"),
            ("spritesheet", image_bytes(64, 36, "JPEG"), "image/jpeg"),
        ):
            key = storage.asset_key(owner.pk, video.pk, 0, kind, content_type)
            storage.save_bytes(key, data, content_type)
            VideoAsset.objects.create(
                video=video,
                kind=kind,
                storage_key=key,
                content_type=content_type,
                size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
    return video
