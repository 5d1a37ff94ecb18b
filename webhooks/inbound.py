"""Providers that call back when a job ends: `/hooks/<provider>/<video id>/<token>`, and
`/hooks/<provider>` for the Gemini API's project webhook.

With PUBLIC_URL set, every create sent to a protocol that can call back (Ark, fal, Kling, Luma,
MiniMax, OpenRouter, Replicate) carries that URL, whose token is an HMAC of the video's id:
unguessable, and checked before anything else. Where the provider signs its callbacks the
signature is verified too (Replicate per Standard Webhooks with the account's secret from
`GET /webhooks/default/secret`; fal with Ed25519 against its JWKS; OpenRouter with an HMAC of
the workspace secret the operator set), timestamps more than five minutes away are refused, and
a repeated delivery is acknowledged without acting again.

The Gemini API calls one URL per project (`POST /v1beta/webhooks`, which the admin's "Register
the callback URL" action makes), signed per Standard Webhooks with the secret it answered then;
its thin event names the operation, which is how the video is found.

A callback never carries state into the platform: the body is not read beyond MiniMax's
challenge and Gemini's operation name. A valid one makes the video due for a status check at
once, so the poll loop (within about 2 s) asks the provider itself and the archive follows as
usual; a forged or replayed callback can at most cost one status call. Unknown videos are
acknowledged and ignored. Polling stays the safety net, relaxed while a provider's callbacks
arrive.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from videos import services
from videos.models import Provider, Video
from videos.providers.registry import PROVIDER_CLASSES
from videos.providers.types import ProviderError
from webhooks import secrets, signatures
from webhooks.models import InboundCallback

logger = logging.getLogger("webhooks.inbound")

MAX_BODY = 1024 * 1024
SIGNED = {"replicate", "fal", "openrouter"}
SECRET_CACHE_SECONDS = 3600
REFETCH_SECONDS = 60


def video_token(video_id: str) -> str:
    key = hashlib.sha256(("video-hooks:" + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, video_id.encode(), hashlib.sha256).hexdigest()[:40]


def callback_url(video: Video) -> str | None:
    """Where the provider may call back about this video, or None (no PUBLIC_URL, a protocol
    that cannot be asked to, or a provider whose callbacks the operator turned off)."""
    adapter = PROVIDER_CLASSES.get(video.provider.kind)
    if not settings.PUBLIC_URL or adapter is None or not adapter.callbacks or not video.provider.callbacks:
        return None
    if adapter.callbacks_need_secret and not video.provider.webhook_secret_encrypted:
        return None  # signed with a secret the operator has not entered: they could not be checked
    path = reverse(
        "hooks:receive", kwargs={"provider": video.provider.name, "video_id": video.pk, "token": video_token(video.pk)}
    )
    return settings.PUBLIC_URL + path


def project_callback_url(provider: Provider) -> str:
    """The one URL a Gemini API project calls for all its operations."""
    return settings.PUBLIC_URL + reverse("hooks:project", kwargs={"provider": provider.name})


def register_project_webhook(provider: Provider) -> str:
    """Register this platform's URL as the project webhook of a Gemini API provider and keep the
    signing secret it answers (shown only then); the URL registered."""
    if not settings.PUBLIC_URL:
        raise ValueError("Set PUBLIC_URL first: the provider must be able to reach this platform.")
    if provider.kind != "gemini":
        raise ValueError("Only Gemini API providers take a project webhook; the others are asked per video.")
    url = project_callback_url(provider)
    with provider.adapter() as adapter:
        secret = adapter.register_webhook(url, name=f"video platform: {provider.name}")  # type: ignore[attr-defined]
    provider.webhook_secret = secret
    provider.save(update_fields=["webhook_secret_encrypted", "updated_at"])
    return url


def _answer(status: int, **body: object) -> JsonResponse:
    return JsonResponse(body, status=status)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, provider: str, video_id: str, token: str) -> JsonResponse:
    # The token depends on the video id alone: checked first, before any query or body read.
    if not hmac.compare_digest(token.encode("utf-8", "replace"), video_token(video_id).encode()):
        logger.warning("callback for video %s from provider %s: wrong token", video_id[:64], provider[:64])
        return _answer(403, error="This callback URL is not valid.")
    if _declared_length(request) > MAX_BODY or len(request.body) > MAX_BODY:
        return _answer(413, error="The callback body is too large.")
    found = Provider.objects.filter(name=provider).first()
    if found is None:
        return _answer(404, error="Unknown provider.")
    video = Video.objects.filter(pk=video_id, provider=found).only("pk", "provider_id").first()
    if video is None or not found.callbacks:
        # A video gone since or handed to another provider, or callbacks the operator turned off.
        return _answer(200, ignored=True)
    message_id = ""
    if found.kind in SIGNED:
        try:
            message_id = _verify_signature(found, request)
        except secrets.SignatureError as error:
            logger.warning("callback for video %s from provider %s refused: %s", video_id, found.name, error)
            return _answer(error.status, error=str(error))
    if found.kind == "minimax" and (challenge := _challenge(request.body)) is not None:
        return _answer(200, challenge=challenge)
    return _act(found, video.pk, message_id)


@csrf_exempt
@require_POST
def receive_project(request: HttpRequest, provider: str) -> JsonResponse:
    """A Gemini API project webhook: signed per Standard Webhooks; its event names the operation."""
    found = Provider.objects.filter(name=provider, kind="gemini").first()
    if found is None:
        return _answer(404, error="Unknown provider.")
    if _declared_length(request) > MAX_BODY or len(request.body) > MAX_BODY:
        return _answer(413, error="The callback body is too large.")
    try:
        message_id = secrets.verify(_operator_secret(found), _headers(request), request.body)
    except secrets.SignatureError as error:
        logger.warning("project callback from provider %s refused: %s", found.name, error)
        return _answer(error.status, error=str(error))
    operation = _operation_name(request.body)
    video = Video.objects.filter(provider=found, provider_job_id=operation).only("pk").first() if operation else None
    if video is None or not found.callbacks:
        return _answer(200, ignored=True)
    return _act(found, video.pk, message_id)


def _act(provider: Provider, video_id: str, message_id: str) -> JsonResponse:
    if message_id and not _first_time(provider, message_id):
        return _answer(200, duplicate=True)
    services.video_check_now(video_id)
    services.provider_note_callback(provider)
    return _answer(200, received=True)


def _operation_name(body: bytes) -> str:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return ""
    inner = data.get("data") if isinstance(data, dict) else None
    name = inner.get("id") if isinstance(inner, dict) else None
    return name if isinstance(name, str) and len(name) <= 300 else ""


def _declared_length(request: HttpRequest) -> int:
    text = request.META.get("CONTENT_LENGTH") or "0"
    return int(text) if text.isascii() and text.isdigit() else 0


def _headers(request: HttpRequest) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def _verify_signature(provider: Provider, request: HttpRequest) -> str:
    """The delivery's id (for handling a repeat once), or SignatureError."""
    headers, body = _headers(request), request.body
    if provider.kind == "fal":
        try:
            return signatures.verify_fal(_from_provider(provider, "keys"), headers, body)
        except secrets.SignatureError as error:
            if error.status != 401 or not _may_refetch(provider):
                raise
            # fal rotates its keys: a signature no cached key matches is tried once against a fresh
            # copy of the JWKS, at most once a minute per provider.
            return signatures.verify_fal(_from_provider(provider, "keys", fresh=True), headers, body)
    if provider.kind == "openrouter":
        return signatures.verify_openrouter(_operator_secret(provider), headers, body)
    return secrets.verify(_from_provider(provider, "secret"), headers, body)


def _operator_secret(provider: Provider) -> str:
    """The signing secret the operator entered (or the registration kept), or SignatureError."""
    try:
        secret = provider.webhook_secret
    except ImproperlyConfigured as error:
        raise secrets.SignatureError(str(error), status=503) from None
    if not secret:
        raise secrets.SignatureError("no signing secret is configured for this provider")
    return secret


def _may_refetch(provider: Provider) -> bool:
    return cache.add(f"webhooks:provider-keys-refetch:{provider.pk}", 1, REFETCH_SECONDS)


def _from_provider(provider: Provider, what: str, *, fresh: bool = False) -> Any:
    """What the provider publishes to check its signatures with (Replicate's secret, fal's keys),
    asked for once an hour per provider and key (or now, `fresh`)."""
    key_hash = hashlib.sha256(provider.api_key_encrypted.encode()).hexdigest()[:12]
    key = f"webhooks:provider-{what}:{provider.pk}:{key_hash}"
    value = None if fresh else cache.get(key)
    if value:
        return value
    try:
        with provider.adapter() as adapter:
            value = adapter.webhook_keys() if what == "keys" else adapter.webhook_secret()  # type: ignore[attr-defined]
    except ProviderError as error:
        raise secrets.SignatureError(f"cannot check the signature now: {error}", status=503) from error
    cache.set(key, value, SECRET_CACHE_SECONDS)
    return value


def _challenge(body: bytes) -> str | None:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return None
    value = data.get("challenge") if isinstance(data, dict) else None
    return value if isinstance(value, str) and len(value) <= 200 else None


def _first_time(provider: Provider, message_id: str) -> bool:
    try:
        InboundCallback.objects.create(provider_id=provider.pk, message_id=message_id[:200])
    except IntegrityError:
        return False
    return True


def prune_seen(*, older_than: timedelta = timedelta(days=1)) -> int:
    deleted, _ = InboundCallback.objects.filter(received_at__lt=timezone.now() - older_than).delete()
    return deleted
