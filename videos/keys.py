"""Provider API keys at rest: encrypted with a key derived from PROVIDER_KEYS_SECRET."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> Fernet:
    digest = hashlib.sha256(("provider-keys:" + settings.PROVIDER_KEYS_SECRET).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_key(plain: str) -> str:
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt_key(stored: str) -> str:
    if not stored:
        return ""
    try:
        return _fernet().decrypt(stored.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ImproperlyConfigured(
            "A provider API key cannot be decrypted: PROVIDER_KEYS_SECRET (or SECRET_KEY) changed. "
            "Enter the provider's key again in the admin."
        ) from None


def mask_key(plain: str) -> str:
    """What the admin shows of a key: never more than its last four characters."""
    if not plain:
        return "—"
    if len(plain) <= 8:
        return "••••"
    return f"{plain[:3]}…{plain[-4:]}"
