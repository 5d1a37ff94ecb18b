"""A model's own input fields, as data: the platform's inputs put under the names an endpoint uses.

fal and Replicate host many models, each with its own input schema; the catalogue's `mapping`
for a model names, per platform input, the field that carries it (and how the duration is
written). Images go as data URIs.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

from videos.providers.types import ProviderError, SubmissionSpec

INPUTS = (
    "prompt",
    "first_frame",
    "last_frame",
    "negative_prompt",
    "seed",
    "audio",
    "aspect_ratio",
    "resolution",
    "duration",
)
RESOLUTIONS = {480: "480p", 580: "580p", 720: "720p", 768: "768P", 1080: "1080p"}


def data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def aspect_ratio(size: str) -> str:
    width, _, height = size.partition("x")
    w, h = int(width), int(height)
    divisor = math.gcd(w, h)
    exact = f"{w // divisor}:{h // divisor}"
    for ratio, value in (("16:9", 16 / 9), ("9:16", 9 / 16), ("1:1", 1.0), ("4:3", 4 / 3), ("3:4", 3 / 4)):
        if abs(w / h - value) < 0.02:
            return ratio
    return exact


def request_body(spec: SubmissionSpec, fields: Mapping[str, str]) -> dict[str, Any]:
    """The endpoint's own JSON: each platform input under the field the mapping names. An input
    given for which the endpoint has no field is refused rather than silently dropped."""
    resolution = RESOLUTIONS.get(min(spec.width_height))
    duration_format = str(spec.mapping.get("duration_format", "{seconds}"))
    values: dict[str, Any] = {
        "prompt": spec.prompt,
        "first_frame": data_uri(spec.input_image, spec.input_content_type) if spec.input_image is not None else None,
        "last_frame": data_uri(spec.last_frame.data, spec.last_frame.content_type) if spec.last_frame else None,
        "negative_prompt": spec.negative_prompt,
        "seed": spec.seed,
        "audio": spec.audio,
        "aspect_ratio": aspect_ratio(spec.size),
        "resolution": resolution,
        "duration": spec.seconds if duration_format == "int" else duration_format.format(seconds=spec.seconds),
    }
    body: dict[str, Any] = {}
    for name in INPUTS:
        value = values[name]
        field = fields.get(name)
        if field:
            if value is not None:
                body[str(field)] = value
        elif name in ("first_frame", "last_frame", "negative_prompt", "seed", "audio") and value is not None:
            raise ProviderError(f"This endpoint takes no {name}", permanent=True, code="unsupported")
    if spec.reference_images:
        raise ProviderError("This endpoint takes no reference images", permanent=True, code="unsupported")
    constants = spec.mapping.get("constants")
    if isinstance(constants, Mapping):
        body.update({str(key): value for key, value in constants.items()})
    return body
