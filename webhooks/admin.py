"""Staff see users' endpoints and deliveries, to help when one fails; secrets are never shown."""

from __future__ import annotations

from django.contrib import admin

from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "url", "enabled", "failing_since", "created_at")
    list_filter = ("enabled",)
    search_fields = ("id", "name", "url", "owner__username")
    fields = ("id", "owner", "name", "url", "event_types", "secret_hint", "enabled", "disabled_reason", "failing_since")
    # Only whether it is enabled changes here; its owner edits the rest, where every check runs.
    readonly_fields = ("id", "owner", "name", "url", "event_types", "secret_hint", "failing_since")

    def save_model(self, request, obj: WebhookEndpoint, form, change: bool) -> None:
        if change and "enabled" in form.changed_data:
            # As the owner's own switch does: failures counted afresh, pending deliveries given up.
            services.endpoint_set_enabled(obj, obj.enabled)
            return
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "endpoint", "state", "attempts", "last_status_code", "last_attempt_at", "next_attempt_at")
    list_filter = ("state", "is_test")
    search_fields = ("event__id", "event__video_id", "endpoint__id")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
