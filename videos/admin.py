from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils import timezone

from videos import archive, catalogue, pipeline, services
from videos.models import Heartbeat, Provider, ProviderState, Video, VideoAsset, VideoState
from videos.providers.types import ProviderError
from webhooks import inbound


def _is_standard_webhooks_secret(secret: str) -> bool:
    try:
        return secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) >= 16
    except (binascii.Error, ValueError):
        return False


class ProviderForm(forms.ModelForm):
    new_api_key = forms.CharField(
        required=False,
        label="API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current key. The key is stored encrypted and never shown again.",
    )
    new_webhook_secret = forms.CharField(
        required=False,
        label="Callback signing secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="OpenRouter: the workspace's webhook signing secret. Gemini API: the project webhook's "
        'whsec_ secret (or use the action "Register the callback URL"). Leave empty to keep the current one.',
    )

    class Meta:
        model = Provider
        fields = [
            "name",
            "display_name",
            "kind",
            "base_url",
            "auth_style",
            "api_version",
            "model_names",
            "sizes",
            "seconds",
            "max_variants",
            "max_concurrent_jobs",
            "requests_per_minute",
            "retention_seconds",
            "model_capabilities",
            "download_hosts",
            "callbacks",
            "priority",
            "enabled",
        ]
        widgets = {
            "base_url": forms.URLInput(attrs={"size": 60}),
            "download_hosts": forms.Textarea(attrs={"rows": 3, "cols": 60}),
        }

        @staticmethod
        def formfield_callback(field, **kwargs):
            if isinstance(field, models.URLField):
                kwargs["assume_scheme"] = "https"
            return field.formfield(**kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        self._check_capabilities(cleaned)
        for line in (cleaned.get("download_hosts") or "").splitlines():
            host = line.strip().lower()
            if host and not re.fullmatch(r"\.?[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?", host):
                self.add_error(
                    "download_hosts", f"{line.strip()!r} is not a host name (one per line, no scheme or path)."
                )
        secret = (cleaned.get("new_webhook_secret") or "").strip()
        if secret and cleaned.get("kind") == "gemini" and not _is_standard_webhooks_secret(secret):
            self.add_error("new_webhook_secret", "A Gemini API webhook secret is whsec_ followed by base64.")
        # The stored key goes wherever base_url points: whoever moves it must know the key.
        if self.instance.pk and "base_url" in self.changed_data and not cleaned.get("new_api_key"):
            self.add_error(
                "new_api_key",
                "Enter the API key again to change the base URL: the stored key is never sent to a new address.",
            )
        return cleaned

    def _check_capabilities(self, cleaned: dict[str, Any]) -> None:
        """Every model's record, as the platform will read it, must make sense before it is saved."""
        kind = cleaned.get("kind")
        overrides = cleaned.get("model_capabilities") or {}
        if not kind or "kind" in self.errors:
            return
        if not isinstance(overrides, dict) or any(not isinstance(v, dict) for v in overrides.values()):
            self.add_error(
                "model_capabilities", 'Give an object of model: {capability: value}, e.g. {"m": {"seconds": [8]}}.'
            )
            return
        names = list(cleaned.get("model_names") or [])
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            self.add_error("model_capabilities", f"{unknown[0]!r} is not one of this provider's model names.")
        for model in names:
            try:
                catalogue.capabilities(
                    kind,
                    str(model),
                    provider_wide={
                        "sizes": cleaned.get("sizes"),
                        "seconds": cleaned.get("seconds"),
                        "max_variants": cleaned.get("max_variants"),
                        "retention_seconds": cleaned.get("retention_seconds"),
                    },
                    per_model=overrides.get(model),
                )
            except catalogue.InvalidCapabilities as exc:
                self.add_error("model_capabilities", f"{model}: {exc}")

    def save(self, commit: bool = True) -> Provider:
        provider = super().save(commit=False)
        if self.cleaned_data.get("new_api_key"):
            provider.api_key = self.cleaned_data["new_api_key"]
        if self.cleaned_data.get("new_webhook_secret"):
            provider.webhook_secret = self.cleaned_data["new_webhook_secret"].strip()
        if commit:
            provider.save()
        return provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = (
        "name",
        "kind",
        "base_url",
        "enabled",
        "priority",
        "api_key_hint",
        "max_concurrent_jobs",
        "requests_per_minute",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name", "display_name", "base_url")
    readonly_fields = ("api_key_hint", "is_emulator", "created_at", "updated_at")
    actions = ["register_callbacks"]

    @admin.display(description="API key")
    def api_key_hint(self, obj: Provider) -> str:
        return obj.api_key_hint

    @admin.action(description="Register the callback URL (Gemini API project webhook)")
    def register_callbacks(self, request, queryset) -> None:
        for provider in queryset:
            try:
                url = inbound.register_project_webhook(provider)
            except (ValueError, ProviderError) as error:
                self.message_user(request, f"{provider.name}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{provider.name}: callbacks will come to {url}; the secret is kept.")


class VideoAssetInline(admin.TabularInline):
    model = VideoAsset
    extra = 0
    can_delete = False
    fields = ("variant", "kind", "storage_key", "content_type", "size_bytes", "sha256", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "requested", "provider", "kind", "state", "progress", "created_at", "margin")
    actions = ["repoll_or_rearchive", "cancel"]
    list_filter = ("state", "provider", "kind", ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("id", "prompt", "provider_job_id")
    list_select_related = ("owner", "provider")
    date_hierarchy = "created_at"
    inlines = [VideoAssetInline]
    readonly_fields = (
        "id",
        "owner",
        "provider",
        "kind",
        "requested_model",
        "model",
        "routes",
        "prompt",
        "size",
        "seconds",
        "n_variants",
        "input_image_key",
        "input_image_type",
        "remix_source",
        "remixed_from_video_id",
        "extend_source",
        "extended_from_video_id",
        "base_seconds",
        "state",
        "progress",
        "provider_job_id",
        "provider_generation_ids",
        "provider_status",
        "error_code",
        "error_message",
        "created_at",
        "updated_at",
        "submitted_at",
        "provider_completed_at",
        "provider_expires_at",
        "archived_at",
        "finished_at",
        "deleted_at",
        "next_step_at",
        "priority",
        "attempts",
        "retries",
        "lease_owner",
        "lease_expires_at",
        "margin",
    )

    def has_add_permission(self, request) -> bool:
        # Videos are created by their owners through the dashboard or the API.
        return False

    def changelist_view(self, request, extra_context=None):
        if pipeline.cluster_stalled():
            self.message_user(
                request,
                "The task cluster has not polled for a while although videos are waiting. "
                "Check that `manage.py qcluster` is running.",
                messages.ERROR,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Poll again now, or archive again", permissions=["change"])
    def repoll_or_rearchive(self, request, queryset) -> None:
        done = {"poll": 0, "archive": 0, "rearchive": 0, "none": 0}
        kept: list[str] = []
        for video in queryset.select_related("provider"):
            if video.state == VideoState.READY:
                # A ready video stays served; a fresh copy is only tried while the provider has it.
                reason = archive.provider_still_holds(video)
                if reason is not None:
                    kept.append(f"{video.pk} ({reason})")
                    continue
            done[services.video_requeue(video=video)] += 1
        self.message_user(
            request,
            f"Polling {done['poll']}, archiving {done['archive']}, making a fresh copy of {done['rearchive']} "
            f"ready video(s) (each stays served until its new copy is complete); {done['none']} left as they "
            "are (finished without results or not yet submitted).",
        )
        if kept:
            self.message_user(
                request,
                "Nothing changed for these ready videos, whose stored copy stays as it is: " + "; ".join(kept) + ".",
                messages.WARNING,
            )

    @admin.action(description="Cancel (stops the job at the provider)", permissions=["change"])
    def cancel(self, request, queryset) -> None:
        cancelled = sum(services.video_cancel(video=video) for video in queryset)
        self.message_user(request, f"Cancelled {cancelled} video(s); finished ones were left alone.")

    @admin.display(description="Model asked for", ordering="requested_model")
    def requested(self, obj: Video) -> str:
        """The id the user named; the provider that makes the video is the next column."""
        return obj.requested_model or obj.model

    @admin.display(description="Archive margin")
    def margin(self, obj: Video) -> str:
        margin = obj.archive_margin
        if margin is None:
            return "—"
        seconds = int(margin.total_seconds())
        if seconds <= 0:
            return f"overdue by {-seconds // 60} min"
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    """When each part of the task cluster last worked: a stalled cluster shows here first."""

    list_display = ("name", "seen_at", "age", "detail")
    readonly_fields = ("name", "seen_at", "detail")

    @admin.display(description="Seconds ago")
    def age(self, obj: Heartbeat) -> int:
        return int((timezone.now() - obj.seen_at).total_seconds())

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ProviderState)
class ProviderStateAdmin(admin.ModelAdmin):
    list_display = (
        "provider",
        "blocked_until",
        "consecutive_failures",
        "requests_sent",
        "throttled_responses",
        "poll_lease_expires_at",
    )
    readonly_fields = [f.name for f in ProviderState._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
