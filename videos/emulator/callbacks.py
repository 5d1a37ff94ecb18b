"""The emulator calls back like each real provider, when a create asked it to.

Ark, Kling and Luma POST their task (generation) object to the `callback_url` when the job
ends; MiniMax first POSTs `{"challenge": ...}` and calls back only if the answer echoes it,
then POSTs the query object; Replicate POSTs the prediction to its `webhook`, signed per
Standard Webhooks with the account's secret (`GET /v1/webhooks/default/secret`); fal POSTs
`{request_id, status, payload}` to `?fal_webhook=`, signed with Ed25519 by the key its JWKS
(`/emulator/fal/.well-known/jwks.json`) publishes; OpenRouter POSTs `{type, data}` to the
`callback_url`, signed `t=,v1=` with the workspace secret (`openrouter_secret()`); the Gemini
API POSTs its thin `video.generated` event to the project's registered webhook, signed per
Standard Webhooks with the secret the registration answered. A timer in
the serving process fires when the job's final status is due; a callback lost to a restart is
what polling is for, as with the real providers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from django.db import close_old_connections
from django.http import HttpRequest
from django.utils import timezone

from videos.emulator.models import Job
from videos.emulator.signing import FAL_USER_ID, fal_key, openrouter_secret, replicate_secret
from webhooks.secrets import signature
from webhooks.signatures import fal_message, openrouter_signature

logger = logging.getLogger("videos.emulator")


class Origin:
    """What the answer builders need of a request, kept from the create: absolute URLs."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def build_absolute_uri(self, location: str | None = None) -> str:
        return self.base + (location or "/")


Build = Callable[[Any, Job, datetime], dict[str, Any]]


def remember(request: HttpRequest, job: Job, url: object, build: Build, *, secret: str = "") -> None:
    """Keep where to call back (and the site's origin for the body's URLs, and the secret a
    registered webhook signs with), and set the timer that POSTs `build(origin, job, now)`
    there when the job ends."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return
    callback = {"url": url, "origin": request.build_absolute_uri("/"), **({"secret": secret} if secret else {})}
    job.inputs = {**(job.inputs or {}), "callback": callback}
    job.save(update_fields=["inputs"])
    delay = max(0.0, (job.finished_at - timezone.now()).total_seconds()) + 0.05
    timer = threading.Timer(delay, _fire, args=(job.pk, build))
    timer.daemon = True
    with _pending_lock:
        _pending.add(timer)
    timer.start()


_pending: set[threading.Timer] = set()
_pending_lock = threading.Lock()


def cancel_pending() -> int:
    """Forget the callbacks not yet sent (the control API's reset): how many there were."""
    with _pending_lock:
        timers = list(_pending)
        _pending.clear()
    for timer in timers:
        timer.cancel()
    return len(timers)


def _fire(job_id: int, build: Build) -> None:
    with _pending_lock:
        _pending.discard(threading.current_thread())
    close_old_connections()
    try:
        job = Job.objects.filter(pk=job_id).first()
        callback = ((job.inputs or {}).get("callback") or {}) if job else {}
        if job is not None and callback.get("url"):
            body = build(Origin(callback.get("origin", "")), job, timezone.now())
            _send(job.protocol, callback["url"], body, secret=callback.get("secret", ""))
    except Exception:
        logger.exception("emulator: callback for job %s failed", job_id)
    finally:
        close_old_connections()


def _send(protocol: str, url: str, body: dict[str, Any], *, secret: str = "") -> None:
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=10, trust_env=False) as client:
        if protocol == "minimax" and not _challenge_echoed(client, url):
            logger.info("emulator: the MiniMax callback URL did not echo the challenge; no callback sent")
            return
        headers.update(signed_headers(protocol, raw, body, secret=secret))
        client.post(url, content=raw, headers=headers)


def signed_headers(protocol: str, raw: bytes, body: dict[str, Any], *, secret: str = "") -> dict[str, str]:
    """The headers each protocol signs its callbacks with (none for the unsigned ones)."""
    stamp = int(time.time())
    if protocol in ("replicate", "gemini"):
        # Standard Webhooks: Replicate with the account's secret, Gemini with the webhook's.
        message_id = "msg_" + secrets.token_hex(12)
        key = replicate_secret() if protocol == "replicate" else secret
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature(key, message_id, stamp, raw),
        }
    if protocol == "fal":
        request_id = str(body.get("request_id", ""))
        message = fal_message(request_id, FAL_USER_ID, str(stamp), raw)
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": FAL_USER_ID,
            "X-Fal-Webhook-Timestamp": str(stamp),
            "X-Fal-Webhook-Signature": fal_key().sign(message).hex(),
        }
    if protocol == "openrouter":
        return {
            "X-OpenRouter-Signature": openrouter_signature(openrouter_secret(), stamp, raw),
            # One key per event, as a retried delivery would carry.
            "X-OpenRouter-Idempotency-Key": hashlib.sha256(
                f"{(body.get('data') or {}).get('id')}:{body.get('type')}".encode()
            ).hexdigest()[:32],
        }
    return {}


def _challenge_echoed(client: httpx.Client, url: str) -> bool:
    challenge = secrets.token_hex(8)
    answer = client.post(url, json={"challenge": challenge})
    try:
        return answer.json().get("challenge") == challenge
    except (ValueError, AttributeError):
        return False
