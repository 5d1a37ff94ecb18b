"""Writes to accounts: creating and revoking API tokens, resetting passwords."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import ApiToken, User

# vp_ + 40 URL-safe characters (240 bits): long enough that a plain SHA-256 is a safe store,
# and the hash can be looked up directly instead of comparing against every token.
TOKEN_SECRET_BYTES = 30
PREFIX_LENGTH = 11  # "vp_" + 8 characters shown in lists


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class TokenCapReached(ValueError):
    """The account holds API_TOKENS_PER_USER live tokens already."""


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    raw: str  # shown to the user once, never stored


def api_token_create(*, user: User, name: str, expires_at: datetime | None = None) -> CreatedToken:
    """A new token; TokenCapReached when the account already holds API_TOKENS_PER_USER live ones."""
    name = name.strip()
    if not name:
        raise ValueError("A token needs a name.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry date must be in the future.")
    raw = settings.API_TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_SECRET_BYTES)
    with transaction.atomic():
        # The account's row is locked while counting, so two creates at once cannot both pass the cap.
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        cap = settings.API_TOKENS_PER_USER
        if ApiToken.objects.active().filter(user=user).count() >= cap:
            raise TokenCapReached(
                f"This account already has {cap} active API tokens, the most it may have. "
                "Revoke a token you no longer use, then create the new one."
            )
        token = ApiToken.objects.create(
            user=user, name=name[:100], prefix=raw[:PREFIX_LENGTH], token_hash=hash_token(raw), expires_at=expires_at
        )
    return CreatedToken(token=token, raw=raw)


def api_token_revoke(*, user: User, token_id: int) -> bool:
    """Revoke one of the user's tokens. False when the user has no such active token."""
    changed = ApiToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return changed == 1


@transaction.atomic
def api_tokens_revoke_all(*, user: User) -> int:
    """Revoke every token of the account and end every download link handed out for its videos."""
    count = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    User.objects.filter(pk=user.pk).update(links_epoch=F("links_epoch") + 1)
    user.refresh_from_db(fields=["links_epoch"])
    return count


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The active token for a raw secret, with last_used_at kept to the minute."""
    if not raw.startswith(settings.API_TOKEN_PREFIX) or len(raw) > 200:
        return None
    # On every API request: only the columns read here (others load if something asks for them),
    # and get() on the unique hash, which needs no ORDER BY.
    tokens = ApiToken.objects.active().select_related("user").only("last_used_at", "user__is_active")
    try:
        token = tokens.get(token_hash=hash_token(raw))
    except ApiToken.DoesNotExist:
        return None
    if not token.user.is_active:
        return None
    now = timezone.now()
    stale = (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() >= settings.API_TOKEN_LAST_USED_RESOLUTION
    )
    if stale:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def user_password_reset(*, user: User, new_password: str) -> None:
    """Set a password through the reset flow: every API token and download link of the account stops working."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    api_tokens_revoke_all(user=user)
