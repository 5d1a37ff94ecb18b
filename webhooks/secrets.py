"""Endpoint signing secrets: made here, kept encrypted, and used to sign per Standard Webhooks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time

from videos.keys import decrypt_key, encrypt_key

PREFIX = "whsec_"
PURPOSE = "webhook-secrets"


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64, the form Standard Webhooks libraries decode."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def hint(secret: str) -> str:
    """All that is shown of a secret after it was handed out once."""
    return f"{PREFIX}…{secret[-4:]}"


def seal(secret: str) -> str:
    return encrypt_key(secret, purpose=PURPOSE)


def unseal(stored: str) -> str:
    return decrypt_key(stored, purpose=PURPOSE, what="A webhook signing secret", remedy="Rotate the endpoint's secret.")


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one attempt: HMAC-SHA256 over `id.timestamp.body`."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


class SignatureError(ValueError):
    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def fresh_timestamp(stamp: str, *, name: str, tolerance: int = 300) -> int:
    """A header's Unix time in seconds, or SignatureError (400) when it is not one or is more
    than `tolerance` seconds away; over twelve digits is refused before it is parsed."""
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise SignatureError(f"{name} is not a Unix time", status=400)
    if abs(time.time() - int(stamp)) > tolerance:
        raise SignatureError(f"{name} is more than five minutes away", status=400)
    return int(stamp)


def verify(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> str:
    """Check a Standard Webhooks delivery (header names in lower case); its `webhook-id`, or
    SignatureError: missing headers, a timestamp more than `tolerance` seconds away, or no
    signature that matches."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    given = headers.get("webhook-signature", "")
    if not (message_id and stamp and given):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    moment = fresh_timestamp(stamp, name="webhook-timestamp", tolerance=tolerance)
    try:
        expected = signature(secret, message_id, moment, body).encode()
    except (binascii.Error, ValueError):
        raise SignatureError("the signing secret configured here is not a whsec_ secret", status=503) from None
    if not any(hmac.compare_digest(expected, part.encode("utf-8", "replace")) for part in given.split()):
        raise SignatureError("the signature does not match")
    return message_id
