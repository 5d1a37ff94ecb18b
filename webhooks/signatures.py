"""How providers other than Standard Webhooks senders sign their callbacks (PROVIDERS-LIVING.md
sections 3 and 9). Each check answers the delivery's id, for handling a repeat once, or raises
SignatureError: 401 for a missing or wrong signature, 400 for a timestamp more than five minutes
away. Header names are in lower case.

- fal: Ed25519 over `"{request id}\\n{user id}\\n{timestamp}\\n{sha256 hex of the body}"`, the
  signature in hex, checked against every key of fal's JWKS.
- OpenRouter: `X-OpenRouter-Signature: t=<unix s>,v1=<hex HMAC-SHA256("{t},{body}")>` with the
  workspace's signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from webhooks.secrets import SignatureError, fresh_timestamp


def fal_message(request_id: str, user_id: str, stamp: str, body: bytes) -> bytes:
    return f"{request_id}\n{user_id}\n{stamp}\n{hashlib.sha256(body).hexdigest()}".encode()


def verify_fal(keys: Iterable[bytes], headers: dict[str, str], body: bytes) -> str:
    request_id = headers.get("x-fal-webhook-request-id", "")
    user_id = headers.get("x-fal-webhook-user-id", "")
    stamp = headers.get("x-fal-webhook-timestamp", "")
    given = headers.get("x-fal-webhook-signature", "")
    if not (request_id and user_id and stamp and given):
        raise SignatureError("missing an X-Fal-Webhook request id, user id, timestamp or signature")
    fresh_timestamp(stamp, name="X-Fal-Webhook-Timestamp")
    try:
        raw = bytes.fromhex(given)
    except ValueError:
        raise SignatureError("X-Fal-Webhook-Signature is not hex") from None
    message = fal_message(request_id, user_id, stamp, body)
    for key in keys:
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(raw, message)
        except (InvalidSignature, ValueError):
            continue
        return f"fal:{request_id}:{hashlib.sha256(body).hexdigest()[:32]}"
    raise SignatureError("the signature does not match any of fal's keys")


def openrouter_signature(secret: str, stamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{stamp},".encode() + body, hashlib.sha256)
    return f"t={stamp},v1={mac.hexdigest()}"


def verify_openrouter(secret: str, headers: dict[str, str], body: bytes) -> str:
    given = headers.get("x-openrouter-signature", "")
    pairs = [part.strip().partition("=") for part in given.split(",")]
    stamp = next((value for key, _, value in pairs if key == "t"), "")
    signatures = [value for key, _, value in pairs if key == "v1"]
    if not (stamp and signatures):
        raise SignatureError("missing or malformed X-OpenRouter-Signature")
    moment = fresh_timestamp(stamp, name="the signature's timestamp")
    expected = openrouter_signature(secret, moment, body).rpartition("v1=")[2].encode()
    if not any(hmac.compare_digest(expected, value.encode("utf-8", "replace")) for value in signatures):
        raise SignatureError("the signature does not match")
    key = headers.get("x-openrouter-idempotency-key", "")
    return f"openrouter:{key or expected.decode()}"
