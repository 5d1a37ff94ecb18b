"""Secrets at rest (provider API keys, webhook signing secrets): encrypted with a key derived
from PROVIDER_KEYS_SECRET, one per purpose."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet(purpose: str) -> Fernet:
    digest = hashlib.sha256((f"{purpose}:" + settings.PROVIDER_KEYS_SECRET).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_key(plain: str, *, purpose: str = "provider-keys") -> str:
    """`plain` encrypted at rest; each `purpose` has a key of its own."""
    return _fernet(purpose).encrypt(plain.encode("utf-8")).decode("ascii") if plain else ""


def decrypt_key(
    stored: str,
    *,
    purpose: str = "provider-keys",
    what: str = "A provider API key",
    remedy: str = "Enter the provider's key again in the admin.",
) -> str:
    if not stored:
        return ""
    try:
        return _fernet(purpose).decrypt(stored.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ImproperlyConfigured(
            f"{what} cannot be decrypted: PROVIDER_KEYS_SECRET (or SECRET_KEY) changed. {remedy}"
        ) from None


def mask_key(plain: str) -> str:
    """What the admin shows of a key: never more than its last four characters."""
    if not plain:
        return "—"
    if len(plain) <= 8:
        return "••••"
    return f"{plain[:3]}…{plain[-4:]}"
