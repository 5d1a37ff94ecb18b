"""What each model can do, as data: sizes, durations and how they combine, inputs, audio, retention.

The platform speaks OpenAI's words (`size` as WxH, `seconds`) plus its documented extensions
(`last_frame`, `reference_images`, `negative_prompt`, `seed`, `audio`); each protocol adapter
maps them to its own (Veo's aspect ratio and resolution, for instance). Validation, the
dashboard's form and `GET /v1/models` all read the same `Capabilities` record, so a user never
meets a refusal the form could have prevented.

A record comes from, in order: the protocol's defaults, the built-in entry for the model (if
any), the provider's own columns (sizes, seconds, variants, retention: for all its models) and
the provider's per-model overrides (`Provider.model_capabilities`, edited in the admin), where
staff can also describe a model this catalogue does not know.

A leaf: nothing from the project is imported, so models, validation and forms can all use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Literal

AudioSupport = Literal["none", "always", "optional"]
RetentionFrom = Literal["completion", "creation"]

_EMPTY: Mapping[str, tuple[int, ...]] = MappingProxyType({})


class InvalidCapabilities(ValueError):
    """An override that does not describe a usable model (the admin shows the message)."""


@dataclass(frozen=True)
class Capabilities:
    """One model at one provider: what may be asked of it."""

    sizes: tuple[str, ...]
    seconds: tuple[int, ...]
    # Durations allowed at a size when narrower than `seconds` (Veo: 1080p and 4K only at 8 s).
    seconds_by_size: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: _EMPTY)
    max_variants: int = 1
    # Tighter variant limits per size (Azure: one at 1080p, two at 720p).
    variants_by_size: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    first_frame: bool = True
    last_frame: bool = False
    # How many reference images (0: none), and the durations allowed with them (empty: any).
    reference_images: int = 0
    reference_seconds: tuple[int, ...] = ()
    audio: AudioSupport = "none"
    negative_prompt: bool = False
    seed: bool = False
    remix: bool = False
    # Whether a finished video of this model can be extended (`POST /v1/videos/extensions`), by
    # how many seconds (empty: any of `seconds`) and from which sizes of source (empty: any).
    extend: bool = False
    extend_seconds: tuple[int, ...] = ()
    extend_sizes: tuple[str, ...] = ()
    # The longest video that can still be extended (0: no limit).
    extend_max_seconds: int = 0
    retention_seconds: int = 3600
    retention_from: RetentionFrom = "completion"
    # Words shown to people: the model's name in the form and in /v1/models.
    label: str = ""
    # The id users name the model by, shared by every provider that serves the same model (Veo
    # 3.1 at the Gemini API, Vertex AI, fal, Replicate...), so a request for it may go to any of
    # them (videos.routing). Blank: the provider's own name for it.
    model_id: str = ""
    # How the protocol's adapter turns a request into its own fields, where that is data rather
    # than code (fal: which endpoint, which field carries the prompt, the frames, the duration).
    mapping: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        problems = []
        if not self.sizes or any(not _is_size(size) for size in self.sizes):
            problems.append("sizes must be a non-empty list of WIDTHxHEIGHT strings")
        if not self.seconds or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in self.seconds):
            problems.append("seconds must be a non-empty list of positive whole numbers")
        if not isinstance(self.max_variants, int) or not 1 <= self.max_variants <= 8:
            problems.append("max_variants must be between 1 and 8")
        if not isinstance(self.reference_images, int) or not 0 <= self.reference_images <= 8:
            problems.append("reference_images must be between 0 and 8")
        if any(not _is_size(size) for size in self.extend_sizes):
            problems.append("extend_sizes must be a list of WIDTHxHEIGHT strings")
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in self.extend_seconds):
            problems.append("extend_seconds must be a list of positive whole numbers")
        if (
            isinstance(self.extend_max_seconds, bool)
            or not isinstance(self.extend_max_seconds, int)
            or (self.extend_max_seconds < 0)
        ):
            problems.append("extend_max_seconds must be a whole number, 0 for no limit")
        if self.audio not in ("none", "always", "optional"):
            problems.append("audio must be 'none', 'always' or 'optional'")
        if self.retention_from not in ("completion", "creation"):
            problems.append("retention_from must be 'completion' or 'creation'")
        if not isinstance(self.retention_seconds, int) or self.retention_seconds < 1:
            problems.append("retention_seconds must be a positive whole number")
        if problems:
            raise InvalidCapabilities("; ".join(problems))

    @property
    def retention(self) -> timedelta:
        return timedelta(seconds=self.retention_seconds)

    def seconds_for(self, size: str) -> tuple[int, ...]:
        """Durations allowed at `size`."""
        narrowed = self.seconds_by_size.get(size)
        return tuple(s for s in self.seconds if s in narrowed) if narrowed else self.seconds

    def variants_for(self, size: str) -> int:
        return min(self.max_variants, self.variants_by_size.get(size, self.max_variants))

    def extension_seconds(self) -> tuple[int, ...]:
        """How many seconds an extension may add (none when the model cannot extend)."""
        return (self.extend_seconds or self.seconds) if self.extend else ()

    def extends_from(self, size: str) -> bool:
        """Whether a finished video of this size can be extended."""
        return self.extend and (not self.extend_sizes or size in self.extend_sizes)

    def default_size(self) -> str:
        return "720x1280" if "720x1280" in self.sizes else self.sizes[0]

    def default_seconds(self, size: str) -> int:
        allowed = self.seconds_for(size)
        return 4 if 4 in allowed else allowed[0]

    def with_overrides(self, overrides: Mapping[str, Any]) -> Capabilities:
        """A copy with `overrides` (JSON from the admin) applied; InvalidCapabilities when they
        name an unknown field or give a value of the wrong shape."""
        if not isinstance(overrides, Mapping):
            raise InvalidCapabilities("overrides must be an object of field: value")
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise InvalidCapabilities(f"unknown capability {unknown[0]!r}; known: {', '.join(sorted(names))}")
        changes: dict[str, Any] = {}
        for name, value in overrides.items():
            try:
                changes[name] = _coerce(name, value)
            except (TypeError, ValueError) as exc:
                raise InvalidCapabilities(f"{name}: {exc}") from None
        return dataclasses.replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        """The record as `GET /v1/models` and the dashboard show it."""
        return {
            "sizes": list(self.sizes),
            "seconds": [str(s) for s in self.seconds],
            "seconds_by_size": {size: [str(s) for s in self.seconds_for(size)] for size in self.sizes},
            "max_variants": self.max_variants,
            "variants_by_size": {size: self.variants_for(size) for size in self.sizes},
            "inputs": {
                "input_reference": self.first_frame,
                "last_frame": self.last_frame,
                "reference_images": self.reference_images,
                "reference_images_seconds": [str(s) for s in self.reference_seconds],
            },
            "audio": self.audio,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "remix": self.remix,
            "extend": {
                "supported": self.extend,
                "seconds": [str(s) for s in self.extension_seconds()],
                "sizes": list(self.extend_sizes or self.sizes) if self.extend else [],
                "max_video_seconds": self.extend_max_seconds or None,
            },
            "retention_seconds": self.retention_seconds,
            "retention_from": self.retention_from,
        }


def _is_size(value: object) -> bool:
    if not isinstance(value, str):
        return False
    width, sep, height = value.partition("x")
    return bool(sep) and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0


def _ints(value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise TypeError("expected a list of whole numbers")
    return tuple(int(item) for item in value)


def _coerce(name: str, value: Any) -> Any:
    if name in ("sizes", "extend_sizes"):
        if not isinstance(value, (list, tuple)):
            raise TypeError("expected a list of sizes")
        return tuple(str(item) for item in value)
    if name in ("seconds", "reference_seconds", "extend_seconds"):
        return _ints(value)
    if name == "seconds_by_size":
        if not isinstance(value, Mapping):
            raise TypeError("expected an object of size: [seconds]")
        return MappingProxyType({str(size): _ints(allowed) for size, allowed in value.items()})
    if name == "variants_by_size":
        if not isinstance(value, Mapping):
            raise TypeError("expected an object of size: variants")
        return MappingProxyType({str(size): int(limit) for size, limit in value.items()})
    if name == "mapping":
        if not isinstance(value, Mapping):
            raise TypeError("expected an object")
        return MappingProxyType(dict(value))
    if name in ("first_frame", "last_frame", "negative_prompt", "seed", "remix", "extend"):
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    if name in ("max_variants", "reference_images", "retention_seconds", "extend_max_seconds"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("expected a whole number")
        return value
    return str(value)


# --- what each protocol accepts when nothing narrower is known -----------------------------

_AZURE_SIZES = (
    "480x480",
    "480x854",
    "854x480",
    "720x720",
    "720x1280",
    "1280x720",
    "1080x1080",
    "1080x1920",
    "1920x1080",
)

KIND_DEFAULTS: dict[str, Capabilities] = {
    "openai": Capabilities(
        sizes=("720x1280", "1280x720", "1024x1792", "1792x1024"),
        seconds=(4, 8, 12),
        remix=True,
        retention_seconds=3600,  # after completion
    ),
    "azure_sora": Capabilities(
        sizes=_AZURE_SIZES,
        seconds=(5, 10, 15, 20),
        max_variants=4,
        # 1080p allows one variant, 720p two, smaller sizes four.
        variants_by_size=MappingProxyType(
            {"1080x1080": 1, "1080x1920": 1, "1920x1080": 1, "720x720": 2, "720x1280": 2, "1280x720": 2}
        ),
        retention_seconds=24 * 3600,
        retention_from="creation",
    ),
    # Veo through the Gemini API: results are kept two days after creation (PROVIDERS-LIVING 1.3).
    "gemini": Capabilities(
        sizes=("1280x720", "720x1280", "1920x1080", "1080x1920"),
        seconds=(4, 6, 8),
        seconds_by_size=MappingProxyType({"1920x1080": (8,), "1080x1920": (8,)}),
        last_frame=True,
        reference_images=3,
        reference_seconds=(8,),
        audio="always",
        negative_prompt=True,
        retention_seconds=2 * 24 * 3600,
        retention_from="creation",
    ),
    # Veo on Vertex AI: as on the Gemini API, plus a seed and sound on or off. Results come back
    # inside the operation, which is not kept for long: archived at once, assumed gone after a day.
    "vertex": Capabilities(
        sizes=("1280x720", "720x1280", "1920x1080", "1080x1920"),
        seconds=(4, 6, 8),
        seconds_by_size=MappingProxyType({"1920x1080": (8,), "1080x1920": (8,)}),
        last_frame=True,
        reference_images=3,
        reference_seconds=(8,),
        audio="optional",
        negative_prompt=True,
        seed=True,
        max_variants=4,
        retention_seconds=24 * 3600,
        retention_from="creation",
    ),
    # Seedance 2 on Ark: ratio x resolution, 4 to 15 seconds, sound on or off, results kept 24 hours.
    "ark": Capabilities(
        sizes=(
            "1280x720",
            "720x1280",
            "960x960",
            "864x480",
            "480x864",
            "640x640",
            "1920x1080",
            "1080x1920",
            "1440x1440",
        ),
        seconds=tuple(range(4, 16)),
        last_frame=True,
        reference_images=4,
        audio="optional",
        seed=True,
        retention_seconds=24 * 3600,
        retention_from="creation",
    ),
    # Replicate: each model's entry says what it takes; inputs and outputs are deleted after an hour.
    "replicate": Capabilities(
        sizes=("1280x720", "720x1280"),
        seconds=(5,),
        retention_seconds=3600,
        retention_from="creation",
    ),
    # Runway: sizes are its pixel ratios; the task (whose URLs a fresh GET signs again) is
    # assumed kept a day.
    "runway": Capabilities(
        sizes=("1280x720", "720x1280"),
        seconds=(5,),
        retention_seconds=24 * 3600,
        retention_from="creation",
    ),
    # Kling's own API: 5 or 10 s, first and last frame, sound on or off; the CDN keeps 30 days.
    "kling": Capabilities(
        sizes=("1920x1080", "1080x1920", "1080x1080"),
        seconds=(5, 10),
        last_frame=True,
        audio="optional",
        negative_prompt=True,
        retention_seconds=30 * 24 * 3600,
        retention_from="creation",
    ),
    # MiniMax Hailuo: a resolution (the frame's shape, or 16:9), 6 s, or 10 s at 768P; download
    # URLs live some hours: archived at once, assumed gone after eight.
    "minimax": Capabilities(
        sizes=("1366x768", "1920x1080", "1280x720"),
        seconds=(6, 10),
        seconds_by_size=MappingProxyType({"1920x1080": (6,), "1280x720": (6,)}),
        retention_seconds=8 * 3600,
        retention_from="creation",
    ),
    # Luma Dream Machine: an aspect ratio at 540p, 720p or 1080p, 5 or 9 s, first and last frame,
    # no sound. Luma documents no retention: archived at once, assumed gone a day after creation.
    "luma": Capabilities(
        sizes=(
            "1280x720",
            "720x1280",
            "720x720",
            "960x540",
            "540x960",
            "540x540",
            "1920x1080",
            "1080x1920",
            "1080x1080",
        ),
        seconds=(5, 9),
        last_frame=True,
        retention_seconds=24 * 3600,
        retention_from="creation",
    ),
    # OpenRouter's videos API, Veo behind it: resolution and aspect ratio (16:9, 9:16), 1080p only
    # at 8 s, first and last frame, reference images at 8 s, sound on or off, a seed. Content is
    # served until the job says `expired` (its lifetime is not published): archived at once,
    # assumed gone a day after creation.
    "openrouter": Capabilities(
        sizes=("1280x720", "720x1280", "1920x1080", "1080x1920"),
        seconds=(4, 6, 8),
        seconds_by_size=MappingProxyType({"1920x1080": (8,), "1080x1920": (8,)}),
        last_frame=True,
        reference_images=3,
        reference_seconds=(8,),
        audio="optional",
        seed=True,
        retention_seconds=24 * 3600,
        retention_from="creation",
    ),
    # fal: each model's entry says what it takes (BUILTIN below); results kept 7 days by default.
    "fal": Capabilities(
        sizes=("1280x720", "720x1280"),
        seconds=(5,),
        retention_seconds=7 * 24 * 3600,
    ),
}

_VEO_4K = ("3840x2160", "2160x3840")
_VEO_SECONDS_BY_SIZE = MappingProxyType({"1920x1080": (8,), "1080x1920": (8,), "3840x2160": (8,), "2160x3840": (8,)})

# Veo's extension adds 7 s to a 720p video: on the Gemini API (not Lite) to one it made and
# still holds, up to 141 s long; on Vertex AI to a video of up to 30 s sent with the request.
_VEO_720P = ("1280x720", "720x1280")
_GEMINI_EXTEND = {"extend": True, "extend_seconds": (7,), "extend_sizes": _VEO_720P, "extend_max_seconds": 141}
_VERTEX_EXTEND = {"extend": True, "extend_seconds": (7,), "extend_sizes": _VEO_720P, "extend_max_seconds": 30}

# Built-in entries: (protocol, model id) -> what differs from the protocol's defaults.
BUILTIN: dict[tuple[str, str], dict[str, Any]] = {
    ("openai", "sora-2"): {"label": "Sora 2"},
    ("openai", "sora-2-pro"): {"label": "Sora 2 Pro"},
    ("gemini", "veo-3.1-generate-preview"): {
        **_GEMINI_EXTEND,
        "label": "Veo 3.1",
        "sizes": KIND_DEFAULTS["gemini"].sizes + _VEO_4K,
        "seconds_by_size": _VEO_SECONDS_BY_SIZE,
    },
    ("gemini", "veo-3.1-fast-generate-preview"): {
        **_GEMINI_EXTEND,
        "label": "Veo 3.1 Fast",
        "sizes": KIND_DEFAULTS["gemini"].sizes + _VEO_4K,
        "seconds_by_size": _VEO_SECONDS_BY_SIZE,
    },
    # Lite: 720p and 1080p, no reference images.
    ("gemini", "veo-3.1-lite-generate-preview"): {"label": "Veo 3.1 Lite", "reference_images": 0},
    ("vertex", "veo-3.1-generate-001"): {
        **_VERTEX_EXTEND,
        "label": "Veo 3.1 (Vertex AI)",
        "sizes": KIND_DEFAULTS["vertex"].sizes + _VEO_4K,
        "seconds_by_size": _VEO_SECONDS_BY_SIZE,
    },
    ("vertex", "veo-3.1-fast-generate-001"): {
        **_VERTEX_EXTEND,
        "label": "Veo 3.1 Fast (Vertex AI)",
        "sizes": KIND_DEFAULTS["vertex"].sizes + _VEO_4K,
        "seconds_by_size": _VEO_SECONDS_BY_SIZE,
    },
    ("vertex", "veo-3.1-lite-generate-001"): {
        **_VERTEX_EXTEND,
        "label": "Veo 3.1 Lite (Vertex AI)",
        "reference_images": 0,
    },
    # BytePlus ModelArk ids; Volcengine's are the doubao-seedance-* ones.
    ("ark", "dreamina-seedance-2-0-260128"): {"label": "Seedance 2"},
    ("ark", "dreamina-seedance-2-0-fast-260128"): {"label": "Seedance 2 Fast"},
    ("ark", "doubao-seedance-2-0-260128"): {"label": "Seedance 2 (Volcengine)"},
    # fal: the model id is the endpoint family; `mapping` says which endpoint and fields carry what.
    ("fal", "fal-ai/kling-video/v3/pro"): {
        "label": "Kling 3 Pro (fal)",
        "sizes": ("1920x1080", "1080x1920", "1080x1080"),
        "seconds": (5, 10),
        "last_frame": True,
        "audio": "optional",
        "negative_prompt": True,
        "mapping": MappingProxyType(
            {
                "duration_format": "{seconds}",
                "endpoints": {
                    "text": {
                        "id": "fal-ai/kling-video/v3/pro/text-to-video",
                        "fields": {
                            "prompt": "prompt",
                            "duration": "duration",
                            "aspect_ratio": "aspect_ratio",
                            "negative_prompt": "negative_prompt",
                            "audio": "generate_audio",
                        },
                    },
                    "image": {
                        "id": "fal-ai/kling-video/v3/pro/image-to-video",
                        "fields": {
                            "prompt": "prompt",
                            "first_frame": "start_image_url",
                            "last_frame": "end_image_url",
                            "duration": "duration",
                            "negative_prompt": "negative_prompt",
                            "audio": "generate_audio",
                        },
                    },
                },
            }
        ),
    },
    ("fal", "fal-ai/wan-25-preview"): {
        "label": "Wan 2.5 (fal)",
        "sizes": ("1280x720", "720x1280", "1920x1080", "1080x1920", "854x480", "480x854"),
        "seconds": (5, 10),
        "audio": "always",
        "negative_prompt": True,
        "seed": True,
        "mapping": MappingProxyType(
            {
                "duration_format": "{seconds}",
                "endpoints": {
                    "text": {
                        "id": "fal-ai/wan-25-preview/text-to-video",
                        "fields": {
                            "prompt": "prompt",
                            "duration": "duration",
                            "aspect_ratio": "aspect_ratio",
                            "resolution": "resolution",
                            "negative_prompt": "negative_prompt",
                            "seed": "seed",
                        },
                    },
                    "image": {
                        "id": "fal-ai/wan-25-preview/image-to-video",
                        "fields": {
                            "prompt": "prompt",
                            "first_frame": "image_url",
                            "duration": "duration",
                            "resolution": "resolution",
                            "negative_prompt": "negative_prompt",
                            "seed": "seed",
                        },
                    },
                },
            }
        ),
    },
    ("fal", "fal-ai/minimax/hailuo-02/standard"): {
        "label": "MiniMax Hailuo 02 (fal)",
        "sizes": ("1366x768",),
        "seconds": (6, 10),
        "last_frame": True,
        "mapping": MappingProxyType(
            {
                "duration_format": "{seconds}",
                "endpoints": {
                    "text": {
                        "id": "fal-ai/minimax/hailuo-02/standard/text-to-video",
                        "fields": {"prompt": "prompt", "duration": "duration"},
                    },
                    "image": {
                        "id": "fal-ai/minimax/hailuo-02/standard/image-to-video",
                        "fields": {
                            "prompt": "prompt",
                            "first_frame": "image_url",
                            "last_frame": "end_image_url",
                            "duration": "duration",
                        },
                    },
                },
            }
        ),
    },
    ("replicate", "google/veo-3.1"): {
        "label": "Veo 3.1 (Replicate)",
        "sizes": ("1280x720", "720x1280", "1920x1080", "1080x1920"),
        "seconds": (4, 6, 8),
        "seconds_by_size": MappingProxyType({"1920x1080": (8,), "1080x1920": (8,)}),
        "last_frame": True,
        "audio": "optional",
        "negative_prompt": True,
        "seed": True,
        "mapping": MappingProxyType(
            {
                "duration_format": "int",
                "fields": {
                    "prompt": "prompt",
                    "first_frame": "image",
                    "last_frame": "last_frame",
                    "duration": "duration",
                    "aspect_ratio": "aspect_ratio",
                    "resolution": "resolution",
                    "negative_prompt": "negative_prompt",
                    "seed": "seed",
                    "audio": "generate_audio",
                },
            }
        ),
    },
    ("replicate", "kwaivgi/kling-v2.1"): {
        "label": "Kling 2.1 (Replicate)",
        "sizes": ("1920x1080", "1080x1920", "1080x1080"),
        "seconds": (5, 10),
        "last_frame": True,
        "negative_prompt": True,
        "mapping": MappingProxyType(
            {
                "duration_format": "int",
                "fields": {
                    "prompt": "prompt",
                    "first_frame": "start_image",
                    "last_frame": "end_image",
                    "duration": "duration",
                    "aspect_ratio": "aspect_ratio",
                    "negative_prompt": "negative_prompt",
                },
            }
        ),
    },
    ("replicate", "minimax/hailuo-02"): {
        "label": "MiniMax Hailuo 02 (Replicate)",
        "sizes": ("1366x768", "1920x1080"),
        "seconds": (6, 10),
        "seconds_by_size": MappingProxyType({"1920x1080": (6,)}),
        "last_frame": True,
        "mapping": MappingProxyType(
            {
                "duration_format": "int",
                "fields": {
                    "prompt": "prompt",
                    "first_frame": "first_frame_image",
                    "last_frame": "last_frame_image",
                    "duration": "duration",
                    "resolution": "resolution",
                },
            }
        ),
    },
    ("kling", "kling-v3"): {"label": "Kling 3 (Kling)"},
    ("kling", "kling-v2-5-turbo"): {"label": "Kling 2.5 Turbo (Kling)", "audio": "none"},
    ("minimax", "MiniMax-Hailuo-2.3"): {"label": "Hailuo 2.3 (MiniMax)"},
    ("minimax", "MiniMax-Hailuo-02"): {"label": "Hailuo 02 (MiniMax)", "last_frame": True},
    ("luma", "ray-2"): {"label": "Ray 2 (Luma)"},
    ("luma", "ray-flash-2"): {"label": "Ray Flash 2 (Luma)"},
    ("openrouter", "google/veo-3.1"): {"label": "Veo 3.1 (OpenRouter)"},
    # Fast: the same, without reference images.
    ("openrouter", "google/veo-3.1-fast"): {"label": "Veo 3.1 Fast (OpenRouter)", "reference_images": 0},
    ("runway", "gen4.5"): {"label": "Gen-4.5 (Runway)", "seconds": tuple(range(2, 11)), "seed": True},
    ("runway", "veo3.1"): {
        "label": "Veo 3.1 (Runway)",
        "sizes": ("1280x720", "720x1280", "1920x1080", "1080x1920"),
        "seconds": (4, 6, 8),
        "last_frame": True,
        "audio": "optional",
        "negative_prompt": True,
    },
    ("fal", "fal-ai/veo3.1"): {
        "label": "Veo 3.1 (fal)",
        "sizes": ("1280x720", "720x1280", "1920x1080", "1080x1920"),
        "seconds": (4, 6, 8),
        "seconds_by_size": MappingProxyType({"1920x1080": (8,), "1080x1920": (8,)}),
        "last_frame": True,
        "audio": "optional",
        "negative_prompt": True,
        "seed": True,
        "mapping": MappingProxyType(
            {
                "duration_format": "{seconds}s",
                "endpoints": {
                    "text": {
                        "id": "fal-ai/veo3.1",
                        "fields": {
                            "prompt": "prompt",
                            "duration": "duration",
                            "aspect_ratio": "aspect_ratio",
                            "resolution": "resolution",
                            "negative_prompt": "negative_prompt",
                            "seed": "seed",
                            "audio": "generate_audio",
                        },
                    },
                    "image": {
                        "id": "fal-ai/veo3.1/image-to-video",
                        "fields": {
                            "prompt": "prompt",
                            "first_frame": "image_url",
                            "duration": "duration",
                            "resolution": "resolution",
                            "aspect_ratio": "aspect_ratio",
                            "negative_prompt": "negative_prompt",
                            "seed": "seed",
                            "audio": "generate_audio",
                        },
                    },
                    "frames": {
                        "id": "fal-ai/veo3.1/first-last-frame-to-video",
                        "fields": {
                            "prompt": "prompt",
                            "first_frame": "first_frame_url",
                            "last_frame": "last_frame_url",
                            "duration": "duration",
                            "resolution": "resolution",
                            "aspect_ratio": "aspect_ratio",
                            "negative_prompt": "negative_prompt",
                            "seed": "seed",
                            "audio": "generate_audio",
                        },
                    },
                },
            }
        ),
    },
}


# Which model each built-in entry is, by the id users name it with (Capabilities.model_id).
# Entries absent here are known by the provider's own name (sora-2, ray-2...).
MODEL_IDS: dict[tuple[str, str], str] = {
    ("gemini", "veo-3.1-generate-preview"): "veo-3.1",
    ("gemini", "veo-3.1-fast-generate-preview"): "veo-3.1-fast",
    ("gemini", "veo-3.1-lite-generate-preview"): "veo-3.1-lite",
    ("vertex", "veo-3.1-generate-001"): "veo-3.1",
    ("vertex", "veo-3.1-fast-generate-001"): "veo-3.1-fast",
    ("vertex", "veo-3.1-lite-generate-001"): "veo-3.1-lite",
    ("fal", "fal-ai/veo3.1"): "veo-3.1",
    ("replicate", "google/veo-3.1"): "veo-3.1",
    ("runway", "veo3.1"): "veo-3.1",
    ("ark", "dreamina-seedance-2-0-260128"): "seedance-2",
    ("ark", "doubao-seedance-2-0-260128"): "seedance-2",
    ("ark", "dreamina-seedance-2-0-fast-260128"): "seedance-2-fast",
    ("kling", "kling-v3"): "kling-v3",
    ("fal", "fal-ai/kling-video/v3/pro"): "kling-v3",
    ("kling", "kling-v2-5-turbo"): "kling-v2.5-turbo",
    ("replicate", "kwaivgi/kling-v2.1"): "kling-v2.1",
    ("minimax", "MiniMax-Hailuo-2.3"): "hailuo-2.3",
    ("minimax", "MiniMax-Hailuo-02"): "hailuo-02",
    ("fal", "fal-ai/minimax/hailuo-02/standard"): "hailuo-02",
    ("replicate", "minimax/hailuo-02"): "hailuo-02",
    ("fal", "fal-ai/wan-25-preview"): "wan-2.5",
    ("runway", "gen4.5"): "gen-4.5",
    ("openrouter", "google/veo-3.1"): "veo-3.1",
    ("openrouter", "google/veo-3.1-fast"): "veo-3.1-fast",
}

# What a model is called wherever it is served (the providers' entries name their provider too).
MODEL_LABELS: dict[str, str] = {
    "veo-3.1": "Veo 3.1",
    "veo-3.1-fast": "Veo 3.1 Fast",
    "veo-3.1-lite": "Veo 3.1 Lite",
    "seedance-2": "Seedance 2",
    "seedance-2-fast": "Seedance 2 Fast",
    "kling-v3": "Kling 3",
    "kling-v2.5-turbo": "Kling 2.5 Turbo",
    "kling-v2.1": "Kling 2.1",
    "hailuo-2.3": "MiniMax Hailuo 2.3",
    "hailuo-02": "MiniMax Hailuo 02",
    "wan-2.5": "Wan 2.5",
    "gen-4.5": "Gen-4.5",
    "sora-2": "Sora 2",
    "sora-2-pro": "Sora 2 Pro",
}


def combined(records: Sequence[Capabilities]) -> Capabilities:
    """What may be asked of a model that several providers serve: the union of their records,
    the first (preferred) one's words where only one can be kept. A request within it is still
    checked against each provider's own record, and goes only to those that accept it whole."""
    if len(records) == 1:
        return records[0]
    first = records[0]
    sizes = tuple(dict.fromkeys(size for record in records for size in record.sizes))
    seconds = tuple(sorted({s for record in records for s in record.seconds}))
    seconds_by_size = {}
    variants_by_size = {}
    most = max(record.max_variants for record in records)
    for size in sizes:
        at_size = [record for record in records if size in record.sizes]
        allowed = tuple(sorted({s for record in at_size for s in record.seconds_for(size)}))
        if allowed != seconds:
            seconds_by_size[size] = allowed
        variants = max(record.variants_for(size) for record in at_size)
        if variants < most:
            variants_by_size[size] = variants
    with_references = [record for record in records if record.reference_images]
    reference_seconds: tuple[int, ...] = ()
    if with_references and all(record.reference_seconds for record in with_references):
        reference_seconds = tuple(sorted({s for record in with_references for s in record.reference_seconds}))
    audios = {record.audio for record in records}
    audio: AudioSupport = audios.pop() if len(audios) == 1 else "optional"
    extending = [record for record in records if record.extend]
    longest = [record.extend_max_seconds for record in extending]
    return dataclasses.replace(
        first,
        sizes=sizes,
        seconds=seconds,
        seconds_by_size=MappingProxyType(seconds_by_size),
        max_variants=most,
        variants_by_size=MappingProxyType(variants_by_size),
        first_frame=any(record.first_frame for record in records),
        last_frame=any(record.last_frame for record in records),
        reference_images=max(record.reference_images for record in records),
        reference_seconds=reference_seconds,
        audio=audio,
        negative_prompt=any(record.negative_prompt for record in records),
        seed=any(record.seed for record in records),
        remix=any(record.remix for record in records),
        extend=bool(extending),
        extend_seconds=tuple(sorted({s for record in extending for s in record.extension_seconds()})),
        extend_sizes=tuple(dict.fromkeys(size for r in extending for size in (r.extend_sizes or r.sizes))),
        extend_max_seconds=0 if not longest or 0 in longest else max(longest),
        retention_seconds=min(record.retention_seconds for record in records),
        mapping=MappingProxyType({}),
    )


def builtin_models(kind: str) -> list[str]:
    """The model ids the catalogue knows for a protocol, in catalogue order."""
    return [model for (entry_kind, model) in BUILTIN if entry_kind == kind]


def capabilities(
    kind: str,
    model: str,
    *,
    provider_wide: Mapping[str, Any] | None = None,
    per_model: Mapping[str, Any] | None = None,
) -> Capabilities:
    """The record for `model` at a provider of protocol `kind` (see the module docstring)."""
    record = KIND_DEFAULTS[kind]
    builtin = BUILTIN.get((kind, model))
    if builtin:
        record = dataclasses.replace(record, **builtin)
    if (kind, model) in MODEL_IDS:
        record = dataclasses.replace(record, model_id=MODEL_IDS[(kind, model)])
    if provider_wide:
        record = record.with_overrides({name: value for name, value in provider_wide.items() if value})
    if per_model:
        record = record.with_overrides(per_model)
    return record
