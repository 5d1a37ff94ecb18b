"""Per-job behaviour chosen in the prompt, so tests get deterministic jobs.

A directive is a bracketed token anywhere in the prompt; several may share one bracket,
separated by commas. The prompt is stored and echoed back unchanged, as a provider would.

    [emulator:fail=moderation]      the job fails: OpenAI error code `moderation_blocked`,
                                    Azure `failure_reason: input_moderation`
    [emulator:fail=internal]        the job fails: `internal_error` on both protocols
    [emulator:fail=none]            the job succeeds even when EMULATOR_FAILURE_RATE > 0
    [emulator:status=WORD]          WORD is shown instead of the in-progress status words
                                    (`in_progress`; Azure `running`/`processing`) until the
                                    job finishes, to test handling of unknown words
    [emulator:queue=SECONDS]        queue time of this job (default EMULATOR_QUEUE_SECONDS)
    [emulator:generation=SECONDS]   generation time (default EMULATOR_GENERATION_SECONDS)
    [emulator:bytes=N]              size of the produced video in bytes, padded with an MP4
                                    `free` box (default EMULATOR_VIDEO_BYTES)
    [emulator:retention=SECONDS]    how long results stay downloadable: after completion for
                                    OpenAI, after creation for Azure

Example: "a red fox [emulator:queue=0,generation=0.5] [emulator:bytes=200000000]".
Unknown or malformed directives are ignored, like any other prompt text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_BRACKET = re.compile(r"\[emulator:([^\]]*)\]", re.IGNORECASE)
_WORD = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
# Large enough for any test, small enough that a typo cannot ask for a petabyte.
MAX_VIDEO_BYTES = 64 * 1024**3


@dataclass(frozen=True)
class Directives:
    fail: str | None = None  # "moderation", "internal", "none"
    status_word: str | None = None
    queue_seconds: float | None = None
    generation_seconds: float | None = None
    video_bytes: int | None = None
    retention_seconds: int | None = None


def _seconds(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and 0 <= number <= 86400 else None


def parse(prompt: str) -> Directives:
    found: dict[str, object] = {}
    for group in _BRACKET.findall(prompt):
        for item in group.split(","):
            name, _, value = item.strip().partition("=")
            name, value = name.strip().lower(), value.strip()
            if name == "fail" and value.lower() in {"moderation", "internal", "none"}:
                found["fail"] = value.lower()
            elif name == "status" and _WORD.match(value):
                found["status_word"] = value
            elif name in {"queue", "generation"} and (seconds := _seconds(value)) is not None:
                found[f"{name}_seconds"] = seconds
            elif name == "bytes" and value.isdigit() and int(value) <= MAX_VIDEO_BYTES:
                found["video_bytes"] = int(value)
            elif name == "retention" and value.isdigit():
                found["retention_seconds"] = int(value)
    return Directives(**found)  # type: ignore[arg-type]
