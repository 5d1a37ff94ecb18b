"""The emulator calls back like each real provider, when a create asked it to.

Ark, Kling and Luma POST their task (generation) object to the `callback_url` when the job
ends; MiniMax first POSTs `{"challenge": ...}` and calls back only if the answer echoes it,
then POSTs the query object; Replicate POSTs the prediction to its `webhook`, signed per
Standard Webhooks with the account's secret (`GET /v1/webhooks/default/secret`). A timer in
the serving process fires when the job's final status is due; a callback lost to a restart is
what polling is for, as with the real providers.
"""

from __future__ import annotations

import base64
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
from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest
from django.utils import timezone

from videos.emulator.models import Job
from webhooks.secrets import signature

logger = logging.getLogger("videos.emulator")


class Origin:
    """What the answer builders need of a request, kept from the create: absolute URLs."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def build_absolute_uri(self, location: str | None = None) -> str:
        return self.base + (location or "/")


def replicate_secret() -> str:
    digest = hashlib.sha256(("replicate-webhooks:" + settings.EMULATOR_API_KEY).encode()).digest()
    return "whsec_" + base64.b64encode(digest).decode("ascii")


Build = Callable[[Any, Job, datetime], dict[str, Any]]


def remember(request: HttpRequest, job: Job, url: object, build: Build) -> None:
    """Keep where to call back (and the site's origin for the body's URLs), and set the timer
    that POSTs `build(origin, job, now)` there when the job ends."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return
    job.inputs = {**(job.inputs or {}), "callback": {"url": url, "origin": request.build_absolute_uri("/")}}
    job.save(update_fields=["inputs"])
    delay = max(0.0, (job.finished_at - timezone.now()).total_seconds()) + 0.05
    timer = threading.Timer(delay, _fire, args=(job.pk, build))
    timer.daemon = True
    timer.start()


def _fire(job_id: int, build: Build) -> None:
    close_old_connections()
    try:
        job = Job.objects.filter(pk=job_id).first()
        callback = ((job.inputs or {}).get("callback") or {}) if job else {}
        if job is not None and callback.get("url"):
            body = build(Origin(callback.get("origin", "")), job, timezone.now())
            _send(job.protocol, callback["url"], body)
    except Exception:
        logger.exception("emulator: callback for job %s failed", job_id)
    finally:
        close_old_connections()


def _send(protocol: str, url: str, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    with httpx.Client(timeout=10, trust_env=False) as client:
        if protocol == "minimax" and not _challenge_echoed(client, url):
            logger.info("emulator: the MiniMax callback URL did not echo the challenge; no callback sent")
            return
        if protocol == "replicate":
            headers.update(_signed(raw))
        client.post(url, content=raw, headers=headers)


def _challenge_echoed(client: httpx.Client, url: str) -> bool:
    challenge = secrets.token_hex(8)
    answer = client.post(url, json={"challenge": challenge})
    try:
        return answer.json().get("challenge") == challenge
    except (ValueError, AttributeError):
        return False


def _signed(raw: bytes) -> dict[str, str]:
    """Standard Webhooks headers, as Replicate signs with the account's secret."""
    message_id = "msg_" + secrets.token_hex(12)
    stamp = int(time.time())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature(replicate_secret(), message_id, stamp, raw),
    }
