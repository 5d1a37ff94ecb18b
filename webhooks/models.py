"""Users' webhook endpoints, the events their videos raise, and one delivery per event and endpoint."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_endpoint_id() -> str:
    return "we_" + secrets.token_hex(16)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(16)


class EventType(models.TextChoices):
    VIDEO_COMPLETED = "video.completed", "video.completed"
    VIDEO_FAILED = "video.failed", "video.failed"


class WebhookEndpoint(models.Model):
    """Where a user wants to hear about their videos. The signing secret is stored encrypted
    (webhooks.secrets) and shown once, when made and when rotated; afterwards only its hint."""

    id = models.CharField(primary_key=True, max_length=40, default=new_endpoint_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    name = models.CharField(max_length=200)
    url = models.CharField(max_length=2000)
    event_types = models.JSONField(default=list)
    secret = models.TextField(editable=False)
    secret_hint = models.CharField(max_length=40, editable=False)
    # After a rotation that keeps the old secret for a while, deliveries carry both signatures.
    previous_secret = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # The first failed attempt since the last success (or since a day without failures), and the
    # last failed one: failing for days disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class WebhookEvent(models.Model):
    """Something that happened to a user's video, as the OpenAI event its deliveries send.
    `body` holds the exact bytes every attempt sends, so retries are identical."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_events")
    type = models.CharField(max_length=40, choices=EventType.choices)
    video_id = models.CharField(max_length=64, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.video_id} ({self.id})"


class InboundCallback(models.Model):
    """A provider's callback that carried its own id (Standard Webhooks' `webhook-id`): a repeat
    of the same id is acknowledged and not acted on again. Rows older than a day are pruned."""

    provider_id = models.BigIntegerField()
    message_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider_id", "message_id"], name="one_callback_per_id")]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return f"{self.provider_id}: {self.message_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event to one endpoint, tried until a 2xx answer or until the retry schedule ends."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    is_test = models.BooleanField(default=False)
    state = models.CharField(max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the due attempt was handed to the cluster; a lease's time later it may be handed again.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_endpoint")]
        indexes = [models.Index(fields=["state", "next_attempt_at"]), models.Index(fields=["endpoint", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.state})"
