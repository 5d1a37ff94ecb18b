"""How videos read on the dashboard: state words, badges, failure explanations, file links."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.forms import BoundField
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from videos.models import ACTIVE_STATES, Video, VideoAsset, VideoState

register = template.Library()

# Short words for badges. Both waiting states read "Queued": whether the job waits for a slot
# here or in the provider's queue matters only on the video page.
STATE_LABELS: dict[str, str] = {
    VideoState.PENDING: "Queued",
    VideoState.SUBMITTED: "Queued",
    VideoState.GENERATING: "Generating",
    VideoState.ARCHIVING: "Saving",
    VideoState.READY: "Ready",
    VideoState.FAILED: "Failed",
    VideoState.EXPIRED: "Expired",
}
STATE_HINTS: dict[str, str] = {
    VideoState.PENDING: "Waiting for a free slot at the provider.",
    VideoState.SUBMITTED: "The provider has accepted the job and queued it.",
    VideoState.GENERATING: "The provider is generating the video.",
    VideoState.ARCHIVING: "The provider has finished; the files are being copied into storage.",
    VideoState.READY: "Stored on this platform and ready to play and download.",
    VideoState.FAILED: "The video could not be made.",
    VideoState.EXPIRED: "The provider deleted the results before they could be stored.",
}
# Why a video ended without content, in words that say what to do next.
FAILURE_EXPLANATIONS = {
    "moderation_blocked": "The provider's safety system refused this request. Change the prompt (or the start "
    "frame) and try again.",
    "video_expired": "The provider deletes results after a while, and this video's results were gone before "
    "they could be copied here (the task workers were probably not running in time). Nothing was stored; "
    "generate it again.",
    "cancelled": "The video was cancelled before it finished.",
    "asset_too_large": "The provider's file was larger than this platform accepts.",
    "input_missing": "The start frame could not be read when the job was sent.",
    "remix_source_gone": "The video it remixed was deleted before the job was sent.",
    "extend_source_gone": "The video it extended was deleted before the job was sent.",
    "extend_source_expired": "The provider no longer held the video to extend (it keeps results for a limited "
    "time). Extend a newer video, or create a new one.",
    "submit_outcome_unknown": "The provider did not confirm the job, and it could not be found afterwards.",
}
DEFAULT_FAILURE = "The provider could not generate this video. Try again, perhaps with a different prompt."


@register.filter
def state_label(video: Video) -> str:
    return STATE_LABELS[video.state]


@register.filter
def state_hint(video: Video) -> str:
    return STATE_HINTS[video.state]


@register.filter
def badge(video: Video) -> str:
    """The badge's CSS class: one per label."""
    return STATE_LABELS[video.state].lower()


@register.filter
def is_active(video: Video) -> bool:
    return video.state in ACTIVE_STATES


@register.filter
def failure_explanation(video: Video) -> str:
    return FAILURE_EXPLANATIONS.get(video.error_code, DEFAULT_FAILURE)


# The same, in a few words for a gallery card.
FAILURE_SUMMARIES = {
    "moderation_blocked": "Refused by the provider's safety system.",
    "video_expired": "Deleted by the provider before it was stored.",
    "cancelled": "Cancelled.",
}


@register.filter
def failure_summary(video: Video) -> str:
    return FAILURE_SUMMARIES.get(video.error_code, "The provider could not generate it.")


@register.filter
def ago(moment: datetime) -> str:
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def shown_progress(video: Video) -> int:
    """Never 100 before the files are stored, as the API says."""
    return 100 if video.state == VideoState.READY else min(int(video.progress), 99)


@register.simple_tag
def file_url(video: Video, kind: str, index: int = 0, download: bool = False) -> str:
    url = reverse("videos:file", args=[video.pk, index, kind])
    return f"{url}?download=1" if download else url


def assets_of(video: Video) -> list[VideoAsset]:
    """The video's stored files; prefetched by the views so a gallery costs one query."""
    return list(video.assets.all())


@register.filter
def thumbnail(video: Video) -> VideoAsset | None:
    if video.state != VideoState.READY:
        return None
    return next((a for a in assets_of(video) if a.kind == "thumbnail" and a.variant == 0), None)


@register.filter
def variants(video: Video) -> list[dict]:
    """Per variant: its index, number and files, video first."""
    order = {"video": 0, "thumbnail": 1, "spritesheet": 2}
    found: dict[int, list[VideoAsset]] = {}
    for asset in assets_of(video):
        found.setdefault(asset.variant, []).append(asset)
    return [
        {"index": index, "number": index + 1, "assets": sorted(found[index], key=lambda a: order.get(a.kind, 9))}
        for index in sorted(found)
    ]


@register.filter
def asset_for(assets: list[VideoAsset], kind: str) -> VideoAsset | None:
    return next((a for a in assets if a.kind == kind), None)


TIMES = "\u00d7"  # the multiplication sign, as in 1280 by 720 written for people
FILE_TYPES = {"video/mp4": "MP4", "image/webp": "WebP", "image/jpeg": "JPEG", "image/png": "PNG"}


@register.filter
def file_type(asset: VideoAsset) -> str:
    return FILE_TYPES.get(asset.content_type, asset.content_type)


@register.filter
def orientation(size: str) -> str:
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit()):
        return ""
    return "square" if width == height else "landscape" if int(width) > int(height) else "portrait"


@register.filter
def pretty_size(size: str) -> str:
    return size.replace("x", TIMES)


@register.simple_tag
def widget(field: BoundField, *extra_ids: str) -> SafeString:
    """The field's input, described by its help text, its errors and any `extra_ids` (e.g. a counter)."""
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_helptext")
    if field.errors:
        described.append(f"{field.auto_id}_error")
    described.extend(i for i in extra_ids if i)
    attrs: dict[str, str | bool] | None = {"aria-describedby": " ".join(described)} if described else None
    return field.as_widget(attrs=attrs)


@register.filter
def duration_words(span) -> str:
    """A timedelta as a person would say it: "1 hour", "24 hours", "90 minutes"."""
    minutes = int(span.total_seconds() // 60)
    if minutes % 60 == 0 and minutes:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
