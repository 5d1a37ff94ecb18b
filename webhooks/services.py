"""Managing a user's endpoints, and recording the events their videos raise.

Every change to an endpoint is checked here, for the API and the dashboard alike; a bad
value raises InvalidEndpoint naming the field. An event is recorded in the same transaction
as the video's final state (videos.services calls `video_event_record`), with one delivery
per enabled endpoint that asked for its type; the cluster sends them (webhooks.delivery).
"""

from __future__ import annotations

import ipaddress
import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from webhooks import delivery, http, secrets
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent

MAX_ENDPOINTS = 20
KEEP_OLD_SECRET = timedelta(hours=24)
EVENT_TYPES = tuple(EventType.values)


class InvalidEndpoint(ValueError):
    def __init__(self, message: str, *, param: str) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidEndpoint("name must be a non-empty string.", param="name")
    if len(name) > 200:
        raise InvalidEndpoint("name must be at most 200 characters.", param="name")
    return name.strip()


def clean_url(url: object) -> str:
    """An https URL to a host that may be public (the address is checked again at every
    connect); with WEBHOOKS_ALLOW_PRIVATE_URLS, http and private addresses too."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url.strip():
        raise InvalidEndpoint("url must be a non-empty string.", param="url")
    url = url.strip()
    if len(url) > 2000:
        raise InvalidEndpoint("url must be at most 2000 characters.", param="url")
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_URLS
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidEndpoint("url is not a valid URL.", param="url") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise InvalidEndpoint("url must start with https://.", param="url")
    if not parts.hostname:
        raise InvalidEndpoint("url must name a host.", param="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidEndpoint("url must not carry credentials.", param="url")
    if parts.fragment:
        raise InvalidEndpoint("url must not have a #fragment.", param="url")
    if port == 0:
        raise InvalidEndpoint("url has an invalid port.", param="url")
    if not allow_private and not _may_be_public(parts.hostname):
        raise InvalidEndpoint(f"url must point to a public address; {parts.hostname} is not one.", param="url")
    return url


def _may_be_public(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return True  # a name: what it resolves to is checked when a delivery connects
    return http.is_public(address)


def clean_event_types(types: object) -> list[str]:
    if not isinstance(types, list) or not types:
        raise InvalidEndpoint("event_types must be a non-empty list of event types.", param="event_types")
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidEndpoint(
            f"Unknown event type {unknown[0]!r}; this platform sends {', '.join(EVENT_TYPES)}.",
            param="event_types",
        )
    return [t for t in EVENT_TYPES if t in types]


# --- endpoints --------------------------------------------------------------------------------


def endpoint_create(*, owner, name: object, url: object, event_types: object) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is never shown again."""
    fields = {"name": clean_name(name), "url": clean_url(url), "event_types": clean_event_types(event_types)}
    with transaction.atomic():
        # One at a time per user, so the cap holds under concurrent creates.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        if WebhookEndpoint.objects.filter(owner=owner).count() >= MAX_ENDPOINTS:
            raise InvalidEndpoint(
                f"An account has at most {MAX_ENDPOINTS} webhook endpoints; delete one first.", param="url"
            )
        secret = secrets.new_secret()
        endpoint = WebhookEndpoint.objects.create(
            owner=owner, secret=secrets.seal(secret), secret_hint=secrets.hint(secret), **fields
        )
    return endpoint, secret


def endpoint_update(endpoint: WebhookEndpoint, *, name=None, url=None, event_types=None) -> WebhookEndpoint:
    """Change what was given; `updated_at` moves only when something changed."""
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = clean_name(name)
    if url is not None:
        changes["url"] = clean_url(url)
    if event_types is not None:
        changes["event_types"] = clean_event_types(event_types)
    changed = {k: v for k, v in changes.items() if getattr(endpoint, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(endpoint, key, value)
        endpoint.updated_at = timezone.now()
        endpoint.save(update_fields=[*changed, "updated_at"])
    return endpoint


def endpoint_rotate_secret(endpoint: WebhookEndpoint, *, keep_old_for_24_hours: bool = False) -> str:
    """A new secret; with `keep_old_for_24_hours` deliveries carry a signature with each for a day."""
    secret = secrets.new_secret()
    now = timezone.now()
    endpoint.previous_secret = endpoint.secret if keep_old_for_24_hours else ""
    endpoint.previous_secret_until = now + KEEP_OLD_SECRET if keep_old_for_24_hours else None
    endpoint.secret = secrets.seal(secret)
    endpoint.secret_hint = secrets.hint(secret)
    endpoint.updated_at = now
    endpoint.save(update_fields=["secret", "secret_hint", "previous_secret", "previous_secret_until", "updated_at"])
    return secret


def endpoint_set_enabled(endpoint: WebhookEndpoint, enabled: bool) -> None:
    """Disable by hand, or enable again (which also clears a disabling for failures)."""
    endpoint.enabled = enabled
    endpoint.disabled_reason = "" if enabled else "Disabled by its owner."
    endpoint.failing_since = endpoint.last_failure_at = None
    endpoint.updated_at = timezone.now()
    endpoint.save(update_fields=["enabled", "disabled_reason", "failing_since", "last_failure_at", "updated_at"])
    if not enabled:
        delivery.give_up_pending(endpoint, "The endpoint was disabled.")


def endpoint_delete(endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


# --- events ------------------------------------------------------------------------------------


def event_body(event_id: str, event_type: str, video_id: str, created_at: int) -> str:
    return json.dumps(
        {"id": event_id, "object": "event", "type": event_type, "created_at": created_at, "data": {"id": video_id}},
        separators=(",", ":"),
    )


def event_record(*, owner_id: int, event_type: str, video_id: str, endpoints=None, test: bool = False):
    """Record an event and a delivery to each endpoint (by default every enabled endpoint of the
    owner that asked for this type); the cluster is handed the deliveries after commit."""
    if endpoints is None:
        endpoints = [
            e for e in WebhookEndpoint.objects.filter(owner_id=owner_id, enabled=True) if event_type in e.event_types
        ]
    if not endpoints:
        return None
    now = timezone.now()
    with transaction.atomic():
        event = WebhookEvent(owner_id=owner_id, type=event_type, video_id=video_id)
        event.body = event_body(event.id, event_type, video_id, int(now.timestamp()))
        event.save()
        made = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, endpoint=e, is_test=test, next_attempt_at=now, handed_over_at=now)
                for e in endpoints
            ]
        )
    for row in made:
        delivery.enqueue_delivery(row.pk)
    return event


def video_event_record(video_id: str, event_type: str) -> None:
    """Called in the transaction that gives a video its final state; one query when its owner
    has no endpoint for this type."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(owner__videos__pk=video_id, enabled=True)
        if event_type in e.event_types
    ]
    if endpoints:
        event_record(owner_id=endpoints[0].owner_id, event_type=event_type, video_id=video_id, endpoints=endpoints)


TEST_VIDEO_ID = "video_test"


def send_test(endpoint: WebhookEndpoint, event_type: object) -> WebhookDelivery:
    """A sample event (its video id is `video_test`) sent once, now, from the request itself,
    with the same checks as every delivery; kept in the endpoint's recent deliveries."""
    if event_type not in EVENT_TYPES:
        raise InvalidEndpoint(
            f"Unknown event type {event_type!r}; this platform sends {', '.join(EVENT_TYPES)}.", param="event_type"
        )
    now = timezone.now()
    event = WebhookEvent(owner_id=endpoint.owner_id, type=str(event_type), video_id=TEST_VIDEO_ID)
    event.body = event_body(event.id, str(event_type), TEST_VIDEO_ID, int(now.timestamp()))
    event.save()
    row = WebhookDelivery.objects.create(event=event, endpoint=endpoint, is_test=True, next_attempt_at=None)
    row.event, row.endpoint = event, endpoint
    delivery.attempt(row)
    return row
