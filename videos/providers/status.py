"""Provider status words and failure reasons, normalised in one place (PROVIDERS.md section 3)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from videos.providers.types import JobState

logger = logging.getLogger("videos.providers")

STATUS_WORDS: dict[str, JobState] = {
    "queued": "queued",
    "preprocessing": "queued",
    "pending": "queued",
    "submitted": "queued",
    "in_progress": "generating",
    "running": "generating",
    "processing": "generating",
    "completed": "succeeded",
    "succeeded": "succeeded",
    "success": "succeeded",
    "done": "succeeded",
    "failed": "failed",
    "cancelled": "failed",
    "canceled": "failed",
}


def normalise_status(word: object) -> JobState:
    """Map a provider's status word; anything unrecognised is "unknown" and never ends a job."""
    if isinstance(word, str):
        state = STATUS_WORDS.get(word.strip().lower())
        if state is not None:
            return state
    logger.warning("provider sent an unknown status word %r; keeping the job's state", word)
    return "unknown"


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


# Provider failure reasons (Azure failure_reason, OpenAI error.code, Azure inner error codes) to
# the platform's error codes and the message shown to the user.
FAILURES: dict[str, Failure] = {
    "input_moderation": Failure(
        "input_moderation", "The prompt or input image was rejected by the provider's content policy."
    ),
    "moderation_blocked": Failure(
        "moderation_blocked", "The request was blocked by the provider's content moderation."
    ),
    "content_policy_violation": Failure(
        "moderation_blocked", "The request was blocked by the provider's content moderation."
    ),
    "content_filter": Failure("moderation_blocked", "The request was blocked by the provider's content moderation."),
    "responsibleaipolicyviolation": Failure(
        "moderation_blocked", "The request was blocked by the provider's content moderation."
    ),
    "output_moderation": Failure(
        "output_moderation", "The generated video was blocked by the provider's content policy."
    ),
    "internal_error": Failure(
        "provider_internal_error", "The provider had an internal error while generating this video."
    ),
    "server_error": Failure(
        "provider_internal_error", "The provider had an internal error while generating this video."
    ),
    # Ark (Seedance) task error codes.
    "inputtextsensitivecontentdetected": Failure(
        "input_moderation", "The prompt or input image was rejected by the provider's content policy."
    ),
    "inputimagesensitivecontentdetected": Failure(
        "input_moderation", "The prompt or input image was rejected by the provider's content policy."
    ),
    "outputvideosensitivecontentdetected": Failure(
        "output_moderation", "The generated video was blocked by the provider's content policy."
    ),
    "internalserviceerror": Failure(
        "provider_internal_error", "The provider had an internal error while generating this video."
    ),
    "expired": Failure("provider_expired", "The provider did not start this generation in time."),
    "cancelled": Failure("provider_cancelled", "The provider cancelled this generation."),
    "canceled": Failure("provider_cancelled", "The provider cancelled this generation."),
}
GENERATION_FAILED = Failure("generation_failed", "The provider could not generate this video.")


def describe_failure(provider_code: object) -> Failure:
    """Platform code and user-facing message for a provider's failure reason or error code."""
    if isinstance(provider_code, str) and provider_code.strip():
        return FAILURES.get(provider_code.strip().lower(), GENERATION_FAILED)
    return GENERATION_FAILED


def timestamp(value: object) -> datetime | None:
    """Unix seconds to an aware UTC datetime. Some gateways send milliseconds: detect those."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    seconds = float(value)
    if seconds > 100_000_000_000:  # past year 5138 in seconds: it is milliseconds
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_time(value: object) -> datetime | None:
    """An ISO 8601 time as answers send it ("2026-10-02T10:00:00.000Z"), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
