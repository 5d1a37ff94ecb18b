"""The emulator's signing keys, derived from EMULATOR_API_KEY so every process agrees on them:
Replicate's account secret, OpenRouter's workspace secret and fal's Ed25519 key (published as
a JWKS)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings


def _derived(purpose: str) -> bytes:
    return hashlib.sha256(f"{purpose}:{settings.EMULATOR_API_KEY}".encode()).digest()


def replicate_secret() -> str:
    return "whsec_" + base64.b64encode(_derived("replicate-webhooks")).decode("ascii")


def openrouter_secret() -> str:
    """The emulated workspace's webhook signing secret, which its provider is set up with."""
    return "orwh_" + _derived("openrouter-webhooks").hex()[:40]


FAL_USER_ID = "emulator-user"


def fal_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_derived("fal-webhooks"))


def fal_jwks() -> dict[str, Any]:
    public = fal_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(public).rstrip(b"=").decode("ascii")
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "emulator", "use": "sig"}]}
