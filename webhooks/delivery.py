"""Sending deliveries: from the cluster, at least once, signed per Standard Webhooks.

A delivery is tried at once, then after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
(each wait up to a quarter longer at random): eight attempts over about a day. A 2xx answer
within WEBHOOKS_TIMEOUT_SECONDS (10 s) ends it; anything else (another status, a redirect, which is never followed, a
timeout, an address that may not be contacted) waits for the next attempt. Every attempt of
one event carries the same `webhook-id` (the event's id), so receivers can deduplicate; its
timestamp and signatures are made afresh. An endpoint whose attempts have all failed for five
days is disabled, saying why, and what it still had pending is given up.

A worker holds a short lease on a delivery while it sends. `deliver_due` (run by the poll loop
and every minute) hands the cluster each attempt that is due, and hands it again when its task
was lost (handed over a lease's time ago and still pending).
"""

from __future__ import annotations

import logging
import secrets as random_tokens
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from project.queue import enqueue
from videos.backoff import jittered
from webhooks import http, secrets
from webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger("webhooks")

RETRY_WAITS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
ATTEMPTS = len(RETRY_WAITS) + 1
DISABLE_AFTER = timedelta(days=5)
# Longer than any delivery can take (WEBHOOKS_TIMEOUT_SECONDS is at most 30), so a delivery in
# progress is never handed to a second worker.
LEASE_SECONDS = 60
USER_AGENT = "video-platform-webhooks/1"


def enqueue_delivery(delivery_id: int) -> None:
    enqueue("webhooks.tasks.deliver", delivery_id)


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, and a rotated-out one while it is kept (a day at most)."""
    found = [secrets.unseal(endpoint.secret)]
    kept_until = endpoint.previous_secret_until
    if endpoint.previous_secret and kept_until and kept_until > timezone.now():
        found.append(secrets.unseal(endpoint.previous_secret))
    return found


def signed_headers(endpoint: WebhookEndpoint, message_id: str, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            secrets.signature(secret, message_id, timestamp, body) for secret in signing_secrets(endpoint)
        ),
    }


def _lease_free(now) -> Q:
    return Q(lease_owner="") | Q(lease_expires_at__lt=now)


# Deliveries of one owner in progress at once: endpoints that never answer cannot take up the
# cluster's workers, which archives need.
MAX_IN_PROGRESS_PER_OWNER = 2


def deliver(delivery_id: int) -> str:
    """One attempt, when the delivery is due, no other worker holds it and its owner has room."""
    now = timezone.now()
    token = random_tokens.token_hex(8)
    owner_id = WebhookDelivery.objects.filter(pk=delivery_id).values_list("endpoint__owner_id", flat=True).first()
    if owner_id is None:
        return "not found"
    busy = WebhookDelivery.objects.filter(endpoint__owner_id=owner_id, lease_expires_at__gt=now).exclude(lease_owner="")
    if busy.count() >= MAX_IN_PROGRESS_PER_OWNER:
        WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING, lease_owner="").update(
            next_attempt_at=now + timedelta(seconds=jittered(5)), handed_over_at=None
        )
        return "postponed: the owner has deliveries in progress"
    # Due now: a task handed over for an earlier attempt does not send a retry before its time.
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .filter(_lease_free(now))
        .update(lease_owner=token, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
    )
    if not claimed:
        return "not due"
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    if not delivery.endpoint.enabled:
        give_up_pending(delivery.endpoint, "The endpoint was disabled.")
        return "endpoint disabled"
    return attempt(delivery, token=token)


def attempt(delivery: WebhookDelivery, *, token: str = "") -> str:
    """Send the delivery once and record the answer (`send_test` calls it from the request)."""
    endpoint, event = delivery.endpoint, delivery.event
    body = event.body.encode("utf-8")
    status: int | None = None
    try:
        answer = http.deliver(
            endpoint.url,
            body,
            signed_headers(endpoint, event.id, body),
            allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_URLS,
            timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
        )
    except http.Refused:
        # What the address resolved to stays in the security log: it may map the platform's network.
        problem = "refused: the URL's host is not a public address"
    except http.DeliveryError as error:
        problem = str(error)
    except Exception:  # a bug or a secret that cannot be decrypted: counted, never retried forever
        logger.exception("webhook delivery %s to endpoint %s could not be attempted", delivery.pk, endpoint.pk)
        problem = "the platform could not send this delivery"
    else:
        status = answer.status_code
        problem = "" if 200 <= status < 300 else _describe(status)
    _record(delivery, token=token, status=status, problem=problem)
    return problem if problem else "delivered"


def _describe(status: int) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed"
    return f"HTTP {status}"


def _record(delivery: WebhookDelivery, *, token: str, status: int | None, problem: str) -> None:
    now = timezone.now()
    attempts = delivery.attempts + 1
    fields: dict = {
        "attempts": attempts,
        "last_attempt_at": now,
        "last_status_code": status,
        "last_error": problem[:300],
        "lease_owner": "",
        "lease_expires_at": None,
    }
    endpoint = delivery.endpoint
    if not problem:
        fields.update(state=DeliveryState.DELIVERED, delivered_at=now, next_attempt_at=None)
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
    elif delivery.is_test or attempts >= ATTEMPTS:
        fields.update(state=DeliveryState.FAILED, next_attempt_at=None)
    else:
        fields.update(next_attempt_at=now + timedelta(seconds=jittered(RETRY_WAITS[attempts - 1])), handed_over_at=None)
    WebhookDelivery.objects.filter(pk=delivery.pk, lease_owner=token).update(**fields)
    for key, value in fields.items():
        setattr(delivery, key, value)
    if problem:
        logger.info(
            "webhook delivery %s to endpoint %s failed (attempt %d): %s", delivery.pk, endpoint.pk, attempts, problem
        )
        if not delivery.is_test:  # a test the owner sends is no sign of the endpoint failing for days
            _note_failure(endpoint, problem, now)


QUIET = timedelta(days=1)


def _note_failure(endpoint: WebhookEndpoint, problem: str, now) -> None:
    # Failing since now, unless it already failed within the last day (a day without failures,
    # for lack of anything to send, starts the count again).
    WebhookEndpoint.objects.filter(pk=endpoint.pk).filter(
        Q(failing_since__isnull=True) | Q(last_failure_at__lt=now - QUIET)
    ).update(failing_since=now)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_failure_at=now)
    stale = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True, failing_since__lte=now - DISABLE_AFTER).update(
        enabled=False,
        disabled_reason=f"Disabled: every delivery failed for {DISABLE_AFTER.days} days (last: {problem})."[:300],
    )
    if stale:
        logger.warning(
            "webhook endpoint %s disabled after %d days of failed deliveries", endpoint.pk, DISABLE_AFTER.days
        )
        give_up_pending(endpoint, "The endpoint was disabled after failing for days.")


def give_up_pending(endpoint: WebhookEndpoint, why: str) -> None:
    WebhookDelivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED, next_attempt_at=None, last_error=why[:300], lease_owner="", lease_expires_at=None
    )


def deliver_due(*, limit: int = 100) -> int:
    """Hand the cluster the deliveries whose next attempt is due, and again those handed over
    a lease's time ago whose task was lost."""
    now = timezone.now()
    handed_long_ago = Q(handed_over_at__isnull=True) | Q(handed_over_at__lt=now - timedelta(seconds=LEASE_SECONDS))
    due = list(
        WebhookDelivery.objects.filter(handed_long_ago, state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .filter(_lease_free(now))
        .order_by("next_attempt_at")
        .values_list("pk", "handed_over_at")[:limit]
    )
    handed = 0
    for delivery_id, handed_over_at in due:
        # Marked first, so a second caller in parallel does not hand it over too.
        if WebhookDelivery.objects.filter(pk=delivery_id, handed_over_at=handed_over_at).update(handed_over_at=now):
            enqueue_delivery(delivery_id)
            handed += 1
    return handed


KEEP_EVENTS = timedelta(days=30)


def prune_events(*, older_than: timedelta = KEEP_EVENTS) -> int:
    """Events (and their deliveries) older than a month, once none of their deliveries is still
    being tried: the recent ones are what the Webhooks page shows."""
    cutoff = timezone.now() - older_than
    # A pending delivery with no next attempt is a test whose request died: finished too.
    tried = WebhookDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__isnull=False)
    old = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(pk__in=tried.values("event_id"))
    deleted, _ = WebhookEvent.objects.filter(pk__in=list(old.values_list("pk", flat=True)[:1000])).delete()
    return deleted


def send_again(delivery: WebhookDelivery) -> None:
    """The owner's "send again": one more attempt now, then the rest of the schedule."""
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.PENDING,
        next_attempt_at=now,
        handed_over_at=now,
        attempts=min(delivery.attempts, ATTEMPTS - 1),
    )
    enqueue_delivery(delivery.pk)
