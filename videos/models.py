from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from videos import catalogue
from videos.keys import decrypt_key, encrypt_key, mask_key
from videos.providers import types as provider_types
from videos.providers.base import VideoProvider
from videos.providers.registry import PROVIDER_CLASSES, build_provider
from videos.providers.types import ProviderConfig

ID_MAX_LENGTH = 64


def new_video_id() -> str:
    """Opaque public id in the OpenAI shape: video_ + 48 random hex digits."""
    return "video_" + secrets.token_hex(24)


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI Videos protocol"
    AZURE_SORA = "azure_sora", "Azure OpenAI Sora jobs protocol"
    GEMINI = "gemini", "Gemini API (Veo)"
    VERTEX = "vertex", "Vertex AI (Veo)"
    ARK = "ark", "BytePlus ModelArk / Volcengine Ark (Seedance)"
    FAL = "fal", "fal queue (Kling, Wan, Hailuo, Veo and more)"
    REPLICATE = "replicate", "Replicate predictions (official models)"
    RUNWAY = "runway", "Runway API"
    KLING = "kling", "Kling API (key as ACCESS_KEY:SECRET_KEY)"
    MINIMAX = "minimax", "MiniMax (Hailuo)"
    LUMA = "luma", "Luma Dream Machine"
    OPENROUTER = "openrouter", "OpenRouter videos API"


class AuthStyle(models.TextChoices):
    BEARER = "bearer", "Authorization: Bearer"
    API_KEY = "api_key", "api-key header"
    GOOG_API_KEY = "goog_api_key", "x-goog-api-key header"
    KEY = "key", "Authorization: Key (fal)"


WEBHOOK_SECRET_PURPOSE = "provider-callback-secrets"  # noqa: S105 (a key-derivation label)


class Provider(models.Model):
    """A configured video provider: where to send jobs, with which key, within which limits."""

    name = models.SlugField(max_length=50, unique=True)
    display_name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20, choices=ProviderKind.choices)
    base_url = models.URLField(
        max_length=500,
        help_text="e.g. https://api.openai.com/v1, https://NAME.openai.azure.com/openai/v1 or "
        "https://generativelanguage.googleapis.com/v1beta",
    )
    auth_style = models.CharField(max_length=12, choices=AuthStyle.choices, default=AuthStyle.BEARER)
    api_version = models.CharField(
        max_length=40, blank=True, help_text="Sent as ?api-version= when set (Azure: preview)."
    )
    api_key_encrypted = models.TextField(blank=True, editable=False)
    model_names = models.JSONField(default=list, help_text="Model (or deployment) names this provider serves.")
    sizes = models.JSONField(default=list, blank=True, help_text="Allowed sizes; empty for the protocol's defaults.")
    seconds = models.JSONField(
        default=list, blank=True, help_text="Allowed durations; empty for the protocol's defaults."
    )
    download_hosts = models.TextField(
        blank=True,
        help_text="Further hosts its files may be downloaded from or redirected to, one per line "
        "(.example.com covers every host below it); https and public addresses only.",
    )
    model_capabilities = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per model, what differs from the built-in catalogue, e.g. {"veo-3.1-generate-preview": '
        '{"seconds": [8]}}; a model the catalogue does not know starts from the protocol\'s defaults.',
    )
    max_variants = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    max_concurrent_jobs = models.PositiveIntegerField(default=2, validators=[MinValueValidator(1)])
    callbacks = models.BooleanField(
        default=True,
        help_text="With PUBLIC_URL set, ask the provider to call back when a job ends, where its protocol can "
        "(Ark, fal, Kling, Luma, MiniMax, OpenRouter, Replicate; Gemini API through its project webhook); "
        "polling stays the safety net.",
    )
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    requests_per_minute = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])
    retention_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="How long results stay downloadable; empty for the protocol's default."
    )
    priority = models.IntegerField(
        default=0,
        help_text="Among providers serving the same model, new videos go to the highest priority first "
        "(then by name); one that refuses a create for a passing reason hands the video to the next.",
    )
    enabled = models.BooleanField(default=True)
    is_emulator = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.display_name or self.name

    # --- the API key, encrypted at rest and never shown back in full ---
    @property
    def api_key(self) -> str:
        return decrypt_key(self.api_key_encrypted)

    @api_key.setter
    def api_key(self, plain: str) -> None:
        self.api_key_encrypted = encrypt_key(plain)

    @property
    def api_key_hint(self) -> str:
        return mask_key(self.api_key)

    # --- the secret its callbacks are signed with, where the operator sets it (OpenRouter's
    # workspace secret, the Gemini API's project webhook): encrypted like the key ---
    @property
    def webhook_secret(self) -> str:
        return decrypt_key(
            self.webhook_secret_encrypted,
            purpose=WEBHOOK_SECRET_PURPOSE,
            what="A provider's callback signing secret",
            remedy="Enter it again in the admin (or register the callback URL again).",
        )

    @webhook_secret.setter
    def webhook_secret(self, plain: str) -> None:
        self.webhook_secret_encrypted = encrypt_key(plain, purpose=WEBHOOK_SECRET_PURPOSE) if plain else ""

    # --- what its models can do ---
    def capabilities(self, model: str) -> catalogue.Capabilities:
        """The capability record of one of this provider's models (videos.catalogue)."""
        overrides = self.model_capabilities if isinstance(self.model_capabilities, dict) else {}
        return catalogue.capabilities(
            self.kind,
            model,
            provider_wide={
                "sizes": self.sizes,
                "seconds": self.seconds,
                "max_variants": self.max_variants,
                "retention_seconds": self.retention_seconds,
            },
            per_model=overrides.get(model),
        )

    def as_config(self) -> ProviderConfig:
        """What the HTTP adapters need; they never see this model."""
        return ProviderConfig(
            kind=cast(provider_types.ProviderKind, self.kind),  # one of the field's choices
            base_url=self.base_url,
            api_key=self.api_key,
            name=self.name,
            auth_style=cast(provider_types.AuthStyle, self.auth_style),  # ProviderConfig fills a blank one
            api_version=self.api_version or None,
            redirect_allow_hosts=tuple(line.strip() for line in self.download_hosts.splitlines() if line.strip()),
            max_download_bytes=settings.PIPELINE_MAX_ASSET_BYTES,
            max_response_bytes=settings.PROVIDER_MAX_RESPONSE_BYTES,
        )

    def assets_per_video(self, n_variants: int = 1) -> int:
        """Files a finished video of this protocol holds: its archive makes one download each."""
        return PROVIDER_CLASSES[self.kind].assets_per_variant * max(1, n_variants)

    def adapter(self) -> VideoProvider:
        """An HTTP adapter for this provider's protocol; use it as a context manager."""
        return build_provider(self.as_config())


class VideoState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUBMITTED = "submitted", "Submitted"
    GENERATING = "generating", "Generating"
    ARCHIVING = "archiving", "Archiving"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


ACTIVE_STATES = (VideoState.PENDING, VideoState.SUBMITTED, VideoState.GENERATING, VideoState.ARCHIVING)
FINAL_STATES = (VideoState.READY, VideoState.FAILED, VideoState.EXPIRED)


class VideoKind(models.TextChoices):
    TEXT = "text", "Text to video"
    IMAGE = "image", "Image to video"
    REMIX = "remix", "Remix"
    EXTEND = "extend", "Extension"


class VideoQuerySet(models.QuerySet["Video"]):
    def for_user(self, user) -> VideoQuerySet:
        """The ownership gate: every read of videos on behalf of a user goes through here."""
        if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
            return self.none()
        return self.filter(owner_id=user.pk, deleted_at__isnull=True)

    def active(self) -> VideoQuerySet:
        return self.filter(state__in=ACTIVE_STATES)

    def with_ids(self, video_ids: Sequence[object]) -> VideoQuerySet:
        """The videos with these public ids. Text no id can be (too long, or with a NUL byte,
        which PostgreSQL refuses in a query) finds nothing, exactly like an id that does not exist."""
        valid = [v for v in video_ids if isinstance(v, str) and "\x00" not in v and len(v) <= ID_MAX_LENGTH]
        return self.filter(pk__in=valid) if valid else self.none()

    def with_id(self, video_id: object) -> VideoQuerySet:
        return self.with_ids([video_id])


class Video(models.Model):
    id = models.CharField(primary_key=True, max_length=ID_MAX_LENGTH, default=new_video_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="videos")
    kind = models.CharField(max_length=10, choices=VideoKind.choices, default=VideoKind.TEXT)

    # What was asked for. `model` is the name the video's provider knows the model by;
    # `requested_model` the id the user named (a model any provider may serve, or provider/model).
    model = models.CharField(max_length=100)
    requested_model = models.CharField(max_length=160, blank=True)
    # The providers that may make it, preferred first, as [provider id, its name for the model]:
    # each accepts the whole request. A create refused for a passing reason moves the video to
    # the next one (videos.routing); empty: only `provider`.
    routes = models.JSONField(default=list, blank=True)
    prompt = models.TextField()
    size = models.CharField(max_length=20)
    seconds = models.PositiveSmallIntegerField()
    n_variants = models.PositiveSmallIntegerField(default=1)
    input_image_key = models.CharField(max_length=300, blank=True, help_text="Storage key of the start frame.")
    input_image_type = models.CharField(max_length=50, blank=True)
    input_images = models.JSONField(
        default=list,
        blank=True,
        help_text='Further images besides the start frame: [{"role": "last_frame" or "reference", "key", "type"}].',
    )
    options = models.JSONField(
        default=dict, blank=True, help_text="Extensions asked for: negative_prompt, seed, audio, input_fit."
    )
    remix_source = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="remixes")
    remixed_from_video_id = models.CharField(max_length=64, blank=True)
    # An extension continues one of the owner's finished videos: the result is that video with
    # `seconds` more at its end (the provider's own extension, Veo's `video` input). `seconds`
    # stays what the job generates (what limits count and providers bill).
    extend_source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="extensions"
    )
    extended_from_video_id = models.CharField(max_length=64, blank=True)
    base_seconds = models.PositiveSmallIntegerField(
        default=0, help_text="An extension's source length: the file is base_seconds + seconds long."
    )

    # Where it is.
    state = models.CharField(max_length=12, choices=VideoState.choices, default=VideoState.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    # Long enough for an operation name (Vertex AI: projects/.../operations/...).
    provider_job_id = models.CharField(max_length=300, blank=True, db_index=True)
    provider_generation_ids = models.JSONField(default=list, blank=True)
    provider_status = models.CharField(max_length=40, blank=True, help_text="The provider's last status word, as sent.")
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)

    # When.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    provider_completed_at = models.DateTimeField(null=True, blank=True)
    provider_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider deletes the results: the archive deadline."
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When it became ready, failed or expired.")
    deleted_at = models.DateTimeField(null=True, blank=True)

    # Pipeline bookkeeping.
    submit_started_at = models.DateTimeField(
        null=True, blank=True, help_text="When the create request was sent (for reconciling a lost answer)."
    )
    submit_outcome_unknown = models.BooleanField(
        default=False, help_text="The create was sent but its answer was lost: reconcile, never resend."
    )
    poll_count = models.PositiveIntegerField(default=0)
    next_step_at = models.DateTimeField(
        null=True, blank=True, help_text="When this video's next step is due (see videos/services.py)."
    )
    provider_assets = models.JSONField(
        default=list, blank=True, help_text="The files of the finished job, as the poll that saw it finish listed them."
    )
    priority = models.SmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Workers lost while holding this video's current step (crashes, kills)."
    )
    retries = models.PositiveSmallIntegerField(
        default=0, help_text="Transient provider or storage failures of the current step (drives back-off)."
    )
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    objects = VideoQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_step_at"], name="video_state_next_step"),
            models.Index(fields=["owner", "-created_at"], name="video_owner_created"),
            models.Index(fields=["state", "provider_expires_at"], name="video_state_deadline"),
            models.Index(fields=["provider", "state"], name="video_provider_state"),
            # How long the provider's recent jobs took (throttle.typical_job_seconds).
            models.Index(fields=["provider", "-provider_completed_at"], name="video_provider_completed"),
        ]
        constraints = [
            # One provider job is never held by two videos (a lost create is never adopted by another).
            models.UniqueConstraint(
                fields=["provider", "provider_job_id"],
                condition=~models.Q(provider_job_id=""),
                name="video_provider_job_unique",
            )
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def capabilities(self) -> catalogue.Capabilities:
        """What this video's model can do at its provider (retention, inputs...)."""
        return self.provider.capabilities(self.model)

    @property
    def length_seconds(self) -> int:
        """How long the video file is: an extension holds its source before the seconds it adds."""
        return self.base_seconds + self.seconds

    @property
    def archive_margin(self) -> timedelta | None:
        """Time left before the provider deletes the results, while they are not yet archived."""
        if self.is_final or self.provider_expires_at is None:
            return None
        return self.provider_expires_at - timezone.now()


class AssetKind(models.TextChoices):
    VIDEO = "video", "Video"
    THUMBNAIL = "thumbnail", "Thumbnail"
    SPRITESHEET = "spritesheet", "Spritesheet"


class VideoAsset(models.Model):
    """One stored file of a video: a variant's video, thumbnail or spritesheet."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="assets")
    variant = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=AssetKind.choices)
    storage_key = models.CharField(max_length=300, unique=True)
    content_type = models.CharField(max_length=100)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["variant", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["video", "variant", "kind"], name="asset_unique_per_variant_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.video_id} #{self.variant} {self.kind}"


class ProviderState(models.Model):
    """Shared, cross-process state of one provider: its request window, back-off and poll lease."""

    provider = models.OneToOneField(Provider, on_delete=models.CASCADE, primary_key=True, related_name="state")
    window = models.JSONField(
        default=dict, blank=True, help_text="Requests sent in the last minute, per second (Unix time)."
    )
    blocked_until = models.DateTimeField(
        null=True, blank=True, help_text="No calls before this (retry-after, breaker)."
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    poll_lease_owner = models.CharField(max_length=64, blank=True)
    poll_lease_expires_at = models.DateTimeField(null=True, blank=True)
    requests_sent = models.PositiveBigIntegerField(default=0)
    throttled_responses = models.PositiveBigIntegerField(default=0)
    callback_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="The last valid callback from the provider: polls are relaxed while they come."
    )

    def __str__(self) -> str:
        return f"state of {self.provider}"


class Heartbeat(models.Model):
    """When a part of the task cluster last did its work; the admin shows a stalled cluster."""

    name = models.CharField(max_length=50, primary_key=True)
    seen_at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(models.Model):
    """A POST's Idempotency-Key: while running it blocks a twin; once answered it replays the answer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return self.key
