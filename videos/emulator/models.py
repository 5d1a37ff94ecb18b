"""State of the provider emulator, kept in the database so every web process answers alike.

A job's progress is not stored: it follows from the timestamps fixed at creation (see
`lifecycle.py`), so no background worker is needed and any process computes the same answer.
"""

from __future__ import annotations

from django.db import models

PROTOCOL_CHOICES = [
    ("openai", "OpenAI Videos"),
    ("azure", "Azure Sora jobs"),
    ("gemini", "Gemini API (Veo)"),
    ("vertex", "Vertex AI (Veo)"),
    ("ark", "Ark content generation (Seedance)"),
    ("fal", "fal queue"),
    ("replicate", "Replicate predictions"),
    ("runway", "Runway"),
    ("kling", "Kling"),
    ("minimax", "MiniMax"),
    ("luma", "Luma Dream Machine"),
    ("openrouter", "OpenRouter"),
]
PROTOCOLS = tuple(name for name, _ in PROTOCOL_CHOICES)
OUTCOME_CHOICES = [
    ("succeed", "succeeds"),
    ("moderation", "fails on moderation"),
    ("internal", "fails with an internal error"),
]


class Job(models.Model):
    """One generation job: an OpenAI video (`video_...`), an Azure job (`task_...`), a Veo
    operation (its last name segment, 12 letters and digits), an Ark task (`cgt-...`) or a fal
    request (a UUID; `model` holds the endpoint id)."""

    public_id = models.CharField(max_length=64, unique=True)
    protocol = models.CharField(max_length=16, choices=PROTOCOL_CHOICES)
    model = models.CharField(max_length=200)
    prompt = models.TextField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    seconds = models.PositiveIntegerField()
    n_variants = models.PositiveSmallIntegerField(default=1)
    remixed_from = models.CharField(max_length=64, blank=True, default="")
    # Azure echoes the inpainting items back on the job; OpenAI keeps a summary of its reference.
    inputs = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField()
    started_at = models.DateTimeField(help_text="End of the queue time: generation starts.")
    finished_at = models.DateTimeField(help_text="When the job reaches its final status.")
    outcome = models.CharField(max_length=16, choices=OUTCOME_CHOICES, default="succeed")
    retention_seconds = models.PositiveIntegerField()
    # A status word shown instead of the normal in-progress words (tests of unknown words).
    status_word = models.CharField(max_length=64, blank=True, default="")
    # Size of the produced video in bytes; 0 means the natural sample size.
    video_bytes = models.BigIntegerField(default=0)
    # Set by the `expired` fault: the results expire the moment the job finishes.
    force_expired = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["protocol", "created_at"]), models.Index(fields=["protocol", "finished_at"])]

    def __str__(self) -> str:
        return self.public_id


class Generation(models.Model):
    """One Azure variant (`gen_...`); its content is served once the job has succeeded."""

    public_id = models.CharField(max_length=64, unique=True)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="generations")
    index = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["index"]

    def __str__(self) -> str:
        return self.public_id


class Fault(models.Model):
    """A misbehaviour switched on for tests and benchmarks, consumed request by request."""

    KINDS = [
        ("rate_limit", "429 with retry-after"),
        ("server_error", "5xx error envelope"),
        ("delay", "sleep before answering"),
        ("drop", "do the work, then close the connection without an answer"),
        ("html", "an HTML page with status 200"),
        ("redirect", "redirect to another URL"),
        ("slow_stream", "content streamed with a delay per chunk"),
        ("truncate", "content cut short of its Content-Length"),
        ("expired", "the job's results expire as soon as it finishes"),
        ("status_word", "an unknown status word in job answers"),
        ("endless_body", "do the work, then answer a JSON body that never ends"),
    ]

    protocol = models.CharField(
        max_length=16,
        default="*",
        help_text="a protocol (openai, azure, gemini, vertex, ark, fal, replicate, runway, kling, minimax, luma, "
        "openrouter) or * for all",
    )
    operation = models.CharField(max_length=16, default="*", help_text="create, retrieve, list, ... or *")
    kind = models.CharField(max_length=16, choices=KINDS)
    remaining = models.PositiveIntegerField(null=True, blank=True, default=1, help_text="Empty means unlimited")
    probability = models.FloatField(default=1.0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    retry_after = models.FloatField(null=True, blank=True, help_text="Seconds, for 429 and 503")
    delay = models.FloatField(default=0, help_text="Seconds: before answering, or per chunk")
    chunk_bytes = models.PositiveIntegerField(default=65536)
    truncate_at = models.BigIntegerField(null=True, blank=True, help_text="Bytes sent before the cut")
    redirect_url = models.CharField(max_length=2000, blank=True, default="")
    status_word = models.CharField(max_length=64, blank=True, default="")
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.protocol}/{self.operation}"


class Counter(models.Model):
    """Requests received per protocol and operation; `jobs_created` counts jobs really made."""

    protocol = models.CharField(max_length=16)
    operation = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["protocol", "operation"], name="emulator_counter_unique")]

    def __str__(self) -> str:
        return f"{self.protocol}/{self.operation}={self.count}"


class RateWindow(models.Model):
    """Requests counted in one fixed minute, shared by every process through the database."""

    protocol = models.CharField(max_length=16)
    minute = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["protocol", "minute"], name="emulator_ratewindow_unique")]

    def __str__(self) -> str:
        return f"{self.protocol}@{self.minute}={self.count}"


class Webhook(models.Model):
    """A project webhook registered with the emulated Gemini API (`POST /v1beta/webhooks`):
    every job created afterwards is announced there when it ends, signed with its secret."""

    protocol = models.CharField(max_length=16)
    public_id = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=200, blank=True, default="")
    uri = models.CharField(max_length=2000)
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.protocol} webhook {self.public_id} -> {self.uri[:60]}"
