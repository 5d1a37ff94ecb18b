"""Providers that call back when a job ends: `/hooks/<provider>/<video id>/<token>`.

With PUBLIC_URL set, every create sent to a protocol that can call back (Ark, Kling, Luma,
MiniMax, Replicate) carries that URL, whose token is an HMAC of the video's id: unguessable,
and checked before anything else. Where the provider signs its callbacks (Replicate, per
Standard Webhooks with the account's secret from `GET /webhooks/default/secret`) the signature
is verified too, timestamps more than five minutes away are refused, and a repeated
`webhook-id` is acknowledged without acting again.

A callback never carries state into the platform: the body is not read beyond MiniMax's
challenge. A valid one makes the video due for a status check at once, so the poll loop
(within about 2 s) asks the provider itself and the archive follows as usual; a forged or
replayed callback can at most cost one status call. Unknown videos are acknowledged and
ignored. Polling stays the safety net, relaxed while a provider's callbacks arrive.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
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
from webhooks import secrets
from webhooks.models import InboundCallback

logger = logging.getLogger("webhooks.inbound")

MAX_BODY = 1024 * 1024
SIGNED = {"replicate"}
SECRET_CACHE_SECONDS = 3600


def video_token(video_id: str) -> str:
    key = hashlib.sha256(("video-hooks:" + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, video_id.encode(), hashlib.sha256).hexdigest()[:40]


def callback_url(video: Video) -> str | None:
    """Where the provider may call back about this video, or None (no PUBLIC_URL, a protocol
    that cannot be asked to, or a provider whose callbacks the operator turned off)."""
    adapter = PROVIDER_CLASSES.get(video.provider.kind)
    if not settings.PUBLIC_URL or adapter is None or not adapter.callbacks or not video.provider.callbacks:
        return None
    path = reverse(
        "hooks:receive", kwargs={"provider": video.provider.name, "video_id": video.pk, "token": video_token(video.pk)}
    )
    return settings.PUBLIC_URL + path


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
    if video is None:
        return _answer(200, ignored=True)  # a video gone since, or handed to another provider
    message_id = ""
    if found.kind in SIGNED:
        try:
            message_id = _verify_signature(found, request)
        except secrets.SignatureError as error:
            logger.warning("callback for video %s from provider %s refused: %s", video_id, found.name, error)
            return _answer(error.status, error=str(error))
    if found.kind == "minimax" and (challenge := _challenge(request.body)) is not None:
        return _answer(200, challenge=challenge)
    if message_id and not _first_time(found, message_id):
        return _answer(200, duplicate=True)
    services.video_check_now(video.pk)
    services.provider_note_callback(found)
    return _answer(200, received=True)


def _declared_length(request: HttpRequest) -> int:
    text = request.META.get("CONTENT_LENGTH") or "0"
    return int(text) if text.isascii() and text.isdigit() else 0


def _verify_signature(provider: Provider, request: HttpRequest) -> str:
    headers = {name.lower(): value for name, value in request.headers.items()}
    secret = _provider_secret(provider)
    return secrets.verify(secret, headers, request.body)


def _provider_secret(provider: Provider) -> str:
    key = (
        f"webhooks:provider-secret:{provider.pk}:{hashlib.sha256(provider.api_key_encrypted.encode()).hexdigest()[:12]}"
    )
    secret = cache.get(key)
    if isinstance(secret, str):
        return secret
    try:
        with provider.adapter() as adapter:
            secret = adapter.webhook_secret()  # type: ignore[attr-defined]
    except ProviderError as error:
        raise secrets.SignatureError(f"cannot check the signature now: {error}", status=503) from error
    cache.set(key, secret, SECRET_CACHE_SECONDS)
    return secret


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
