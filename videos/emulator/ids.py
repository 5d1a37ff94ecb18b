"""Identifiers in the providers' own formats."""

from __future__ import annotations

import secrets
import time
import uuid

# Crockford's base32, lower case, as in Azure's `task_01jwcet0eje35tc5jy54yjax5q`.
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def video_id() -> str:
    """`video_` and 48 hex digits; the first eight carry the time, as OpenAI's appear to."""
    return f"video_{int(time.time()):08x}{secrets.token_hex(20)}"


def ulid() -> str:
    """26 characters: a 48-bit millisecond time and 80 random bits, in Crockford base32."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def task_id() -> str:
    return f"task_{ulid()}"


def generation_id() -> str:
    return f"gen_{ulid()}"


def request_id() -> str:
    return f"req_{secrets.token_hex(16)}"


def operation_id() -> str:
    """A Veo operation's last path segment: 12 lower-case letters and digits."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def ark_task_id() -> str:
    """`cgt-` , the creation time to the second, and five random characters."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return f"cgt-{stamp}-{secrets.token_hex(3)[:5]}"


def fal_request_id() -> str:
    return str(uuid.uuid4())


def replicate_prediction_id() -> str:
    """26 lower-case letters and digits, like Replicate's."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def kling_task_id() -> str:
    """18 digits, like Kling's task ids."""
    return str(10**17 + secrets.randbelow(9 * 10**17))


def minimax_task_id() -> str:
    """15 digits, like MiniMax's (its file id is the next number here)."""
    return str(10**14 + 2 * secrets.randbelow(4 * 10**14))


def openrouter_job_id() -> str:
    """`job-` and 24 hex digits, like the ids OpenRouter's document shows."""
    return f"job-{secrets.token_hex(12)}"


def openrouter_generation_id() -> str:
    """`gen-`, the time in seconds and 20 letters and digits, like OpenRouter's generation ids."""
    return f"gen-{int(time.time())}-{secrets.token_urlsafe(15).replace('-', 'x').replace('_', 'y')[:20]}"
