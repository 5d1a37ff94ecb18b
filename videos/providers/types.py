"""The values adapters and the platform exchange: configuration, submissions, job states, errors.

A leaf: nothing from the project is imported here, so every other module can import these
names at the top without forming a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

ProviderKind = Literal[
    "openai",
    "azure_sora",
    "gemini",
    "vertex",
    "ark",
    "fal",
    "replicate",
    "runway",
    "kling",
    "minimax",
    "luma",
    "openrouter",
]
AuthStyle = Literal["bearer", "api_key", "goog_api_key", "key"]
JobState = Literal["queued", "generating", "succeeded", "failed", "unknown"]
AssetKind = Literal["video", "thumbnail", "spritesheet"]

# Blob stores behind a provider (or a gateway) often label media as octet-stream; what must be
# refused is a page of text, HTML or JSON served with 200 in place of the media.
OCTET_STREAM = ("application/octet-stream", "binary/octet-stream", "application/binary")
VIDEO_TYPES = ("video/mp4", *OCTET_STREAM)
IMAGE_TYPES = ("image/webp", "image/jpeg", "image/jpg", "image/png", *OCTET_STREAM)

_DEFAULT_AUTH: dict[str, AuthStyle] = {
    "openai": "bearer",
    "azure_sora": "api_key",
    "gemini": "goog_api_key",
    "vertex": "goog_api_key",  # express mode; a service account key uses OAuth (providers.vertex)
    "ark": "bearer",
    "fal": "key",
    "replicate": "bearer",
    "runway": "bearer",
    "kling": "bearer",  # a JWT made from the stored access and secret keys (providers.kling)
    "minimax": "bearer",
    "luma": "bearer",
    "openrouter": "bearer",
}
_DEFAULT_API_VERSION: dict[str, str | None] = {
    "openai": None,
    "azure_sora": "preview",
    "gemini": None,
    "vertex": None,
    "ark": None,
    "fal": None,
    "replicate": None,
    "runway": None,
    "kling": None,
    "minimax": None,
    "luma": None,
    "openrouter": None,
}
# Where a protocol's downloads are known to live or redirect: CDN hosts its results are served
# from ("ark": ByteDance's TOS object storage). ".host" covers every host below it.
DEFAULT_REDIRECT_HOSTS: dict[str, tuple[str, ...]] = {
    "gemini": (".googleapis.com", ".googleusercontent.com"),
    "ark": (".volces.com", ".bytepluses.com", ".byteplus.com"),
    "fal": (".fal.media", "fal.media", "storage.googleapis.com"),
    "replicate": ("replicate.delivery", ".replicate.delivery"),
    # Runway's signed output URLs are served from CloudFront distributions.
    "runway": (".cloudfront.net", ".runwayml.com"),
    "kling": (".klingai.com", ".kling.ai"),
    # MiniMax's download URLs: its own domains and the object storage it serves them from.
    "minimax": (".minimax.io", ".minimaxi.com", ".aliyuncs.com"),
    # Luma's assets (the video and its thumbnail image) are public files on its CDN.
    "luma": ("storage.cdn-luma.com", ".cdn-luma.com"),
}
# Headers a protocol requires on every call, unless the provider sets its own.
DEFAULT_HEADERS: dict[str, dict[str, str]] = {"runway": {"X-Runway-Version": "2024-11-06"}}
_DEFAULT_PAGE_SIZE = {
    "openai": 100,
    "azure_sora": 50,
    "gemini": 1,
    "vertex": 1,
    "ark": 100,
    "fal": 1,
    "replicate": 100,
    "runway": 1,
    "kling": 100,
    "minimax": 1,
    "luma": 100,
    "openrouter": 1,
}


@dataclass(frozen=True)
class ProviderConfig:
    """Everything an adapter needs to reach one provider account.

    `auth_style`, `api_version` and `list_page_size` default by kind when left as None (and a
    blank `auth_style`): OpenAI-protocol providers use Bearer and no api-version, Azure Sora
    jobs use `api-key` and `api-version=preview`. Pass `api_version=""` to send none at all.
    """

    kind: ProviderKind
    base_url: str
    api_key: str = field(repr=False)
    name: str = ""
    auth_style: AuthStyle | None = None
    api_version: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    pool_timeout: float = 10.0
    max_download_bytes: int = 2 * 1024**3
    # Largest successful answer read from a call other than a download (a job, a list page), so
    # a broken or hostile gateway sending an endless body cannot run the worker out of memory.
    max_response_bytes: int = 4 * 1024**2
    # Hosts ("host" or "host:port") a content response may redirect to, besides the provider's
    # own host. Redirects are always followed without credentials.
    redirect_allow_hosts: tuple[str, ...] = ()
    max_redirects: int = 3
    list_page_size: int | None = None
    # Upper bound of list pages read per poll cycle or reconciliation, whatever the job count.
    list_max_pages: int = 20
    # "multipart" as current OpenAI SDKs send; "json" for gateways that only take JSON bodies.
    openai_create_format: Literal["multipart", "json"] = "multipart"
    extra_headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    verify_tls: bool | str = True
    user_agent: str = "video-platform/0.1"

    def __post_init__(self) -> None:
        if self.kind not in _DEFAULT_AUTH:
            raise ValueError(f"unknown provider kind {self.kind!r}")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"provider base_url must be http(s), got {self.base_url!r}")
        # Frozen dataclass: fill kind-dependent defaults once, here.
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.auth_style:  # None, or a blank form/database field
            object.__setattr__(self, "auth_style", _DEFAULT_AUTH[self.kind])
        if self.auth_style not in ("bearer", "api_key", "goog_api_key", "key"):
            raise ValueError(
                f"auth_style must be 'bearer', 'api_key', 'goog_api_key' or 'key', got {self.auth_style!r}"
            )
        if self.api_version is None:
            object.__setattr__(self, "api_version", _DEFAULT_API_VERSION[self.kind])
        known = DEFAULT_REDIRECT_HOSTS.get(self.kind, ())
        if known:
            object.__setattr__(self, "redirect_allow_hosts", tuple(dict.fromkeys((*known, *self.redirect_allow_hosts))))
        required = {k: v for k, v in DEFAULT_HEADERS.get(self.kind, {}).items() if k not in self.extra_headers}
        if required:
            object.__setattr__(self, "extra_headers", MappingProxyType({**required, **self.extra_headers}))
        if self.list_page_size is None:
            object.__setattr__(self, "list_page_size", _DEFAULT_PAGE_SIZE[self.kind])
        if min(self.max_download_bytes, self.max_response_bytes, self.list_max_pages, self.list_page_size or 0) < 1:
            raise ValueError(
                "max_download_bytes, max_response_bytes, list_max_pages and list_page_size must be positive"
            )
        if self.max_redirects < 0:
            raise ValueError("max_redirects must be 0 or more")


@dataclass(frozen=True)
class CropBounds:
    left_fraction: float = 0.0
    top_fraction: float = 0.0
    right_fraction: float = 1.0
    bottom_fraction: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {
            "left_fraction": self.left_fraction,
            "top_fraction": self.top_fraction,
            "right_fraction": self.right_fraction,
            "bottom_fraction": self.bottom_fraction,
        }


@dataclass(frozen=True)
class SpecImage:
    """An image input besides the start frame (a last frame, a reference image)."""

    data: bytes = field(repr=False)
    content_type: str = "image/png"


@dataclass(frozen=True)
class ExtendSource:
    """The finished video an extension continues: the provider's ids of its files (the Gemini
    API extends a file it still holds, until `expires_at`) and a reader of the copy stored on
    this platform (Vertex AI takes the video itself), read only for a protocol that sends it."""

    file_ids: tuple[str, ...]
    content_type: str = "video/mp4"
    expires_at: datetime | None = None
    read: Callable[[], bytes] = field(default=lambda: b"", repr=False, compare=False)


@dataclass(frozen=True)
class SubmissionSpec:
    model: str
    prompt: str
    size: str = "720x1280"
    seconds: int = 4
    n_variants: int = 1
    input_image: bytes | None = field(default=None, repr=False)
    input_filename: str = "input.png"
    input_content_type: str = "image/png"
    crop_bounds: CropBounds | None = None
    remix_of: str | None = None
    # Set for an extension: `seconds` is then how many seconds to add to it.
    extend: ExtendSource | None = None
    last_frame: SpecImage | None = None
    reference_images: tuple[SpecImage, ...] = ()
    negative_prompt: str | None = None
    seed: int | None = None
    # None: the model's default; False asks a model that can be silent for no sound.
    audio: bool | None = None
    # The model's protocol mapping from the catalogue (videos.catalogue.Capabilities.mapping).
    mapping: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    # How long the platform needs the provider to keep the results (asked for where a protocol can).
    keep_seconds: int | None = None
    # The platform's video id, sent where a protocol can tag a job with it (Kling's external_task_id).
    client_reference: str | None = None
    # Where the provider may call back when the job ends (webhooks.inbound), where it can.
    callback_url: str | None = field(default=None, repr=False)

    @property
    def width_height(self) -> tuple[int, int]:
        width, _, height = self.size.lower().partition("x")
        return int(width), int(height)


@dataclass(frozen=True)
class AssetRef:
    """One downloadable file of a finished job: on the provider's host behind its key (`path`,
    relative to the base URL), or at a public pre-signed address on a CDN (`url`, absolute,
    fetched without credentials, over https, only from hosts allowed for the provider)."""

    variant_index: int
    kind: AssetKind
    path: str
    content_types: tuple[str, ...]
    params: tuple[tuple[str, str], ...] = ()
    accept: str = "*/*"
    # The provider's id of what is downloaded: the video id (OpenAI) or the generation id (Azure).
    source_id: str = ""
    url: str = ""

    @property
    def public(self) -> bool:
        return bool(self.url)


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: JobState
    raw_status: str
    progress: int | None = None
    # Platform error code and user-facing message (status.describe_failure), set when failed.
    error_code: str | None = None
    error_message: str | None = None
    provider_error_code: str | None = None
    provider_error_message: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    generation_ids: tuple[str, ...] = ()
    model: str | None = None
    prompt: str | None = None
    size: str | None = None
    seconds: int | None = None
    remixed_from: str | None = None
    asset_refs: tuple[AssetRef, ...] = ()
    # The tag the job was created with (the platform's video id), where the protocol echoes it.
    client_reference: str | None = None
    raw: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}), repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        return self.state in ("succeeded", "failed")

    def assets(self) -> tuple[AssetRef, ...]:
        """Every file to archive; empty until the provider reports success."""
        return self.asset_refs if self.state == "succeeded" else ()


class ProviderError(Exception):
    """A provider call that did not give a usable answer, and whether trying again can help.

    `outcome_unknown` marks a create (or remix) that was sent but whose answer never arrived:
    the provider may have accepted and will bill it, so it must be reconciled through
    `find_created`, never blindly sent again.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        code: str | None = None,
        status_code: int | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.code = code
        self.status_code = status_code
        self.outcome_unknown = outcome_unknown

    def __repr__(self) -> str:
        return (
            f"ProviderError({self.message!r}, permanent={self.permanent}, code={self.code!r}, "
            f"status_code={self.status_code}, retry_after={self.retry_after}, "
            f"outcome_unknown={self.outcome_unknown})"
        )
