"""Validation of Azure Sora job requests: JSON, or multipart with `files` and `inpaint_items`."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from videos.emulator import bodies
from videos.emulator.errors import bad_request, missing, unknown_parameter
from videos.emulator.openai_input import prompt_from

JSON_FIELDS = {"model", "prompt", "width", "height", "n_seconds", "n_variants"}
MULTIPART_FIELDS = JSON_FIELDS | {"inpaint_items", "files"}
ITEM_KEYS = {"frame_index", "type", "file_name", "crop_bounds"}
CROP_KEYS = {"left_fraction", "top_fraction", "right_fraction", "bottom_fraction"}
DEFAULT_SIZES = (
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


def allowed_sizes() -> list[str]:
    return list(getattr(settings, "EMULATOR_AZURE_SIZES", DEFAULT_SIZES))


def max_variants(width: int, height: int) -> int:
    """1080p allows one variant, 720p two, smaller sizes four."""
    shorter = min(width, height)
    return 1 if shorter >= 1080 else 2 if shorter >= 720 else 4


@dataclass(frozen=True)
class JobInput:
    model: str
    prompt: str
    width: int
    height: int
    n_seconds: int
    n_variants: int
    inpaint_items: list[dict]


def _integer(fields: dict[str, object], name: str, *, is_json: bool, default: int | None = None) -> int:
    if name not in fields:
        if default is None:
            raise missing(name)
        return default
    value = fields[name]
    if is_json:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_request(f"Invalid type for '{name}': expected an integer.", param=name, code="invalid_type")
        return value
    if not isinstance(value, str) or not value.strip().isdigit():
        raise bad_request(f"Invalid value for '{name}': expected an integer, got {value!r}.", param=name)
    return int(value)


def _fraction(bounds: dict, key: str, default: float) -> float:
    value = bounds.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 1:
        raise bad_request(f"Invalid crop_bounds.{key}: expected a number between 0.0 and 1.0.", param="inpaint_items")
    return float(value)


def _inpaint_items(raw: object, files: dict[str, bytes]) -> list[dict]:
    try:
        items = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as error:
        raise bad_request("Invalid inpaint_items: expected a JSON array.", param="inpaint_items") from error
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise bad_request("Invalid inpaint_items: expected a JSON array of objects.", param="inpaint_items")
    cleaned = []
    for item in items:
        if unknown := set(item) - ITEM_KEYS:
            raise unknown_parameter(f"inpaint_items.{sorted(unknown)[0]}")
        for key in ("frame_index", "type", "file_name"):
            if key not in item:
                raise missing(f"inpaint_items.{key}")
        frame = item["frame_index"]
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            raise bad_request("Invalid inpaint_items.frame_index: expected an integer >= 0.", param="inpaint_items")
        if item["type"] not in {"image", "video"}:
            raise bad_request("Invalid inpaint_items.type: expected 'image' or 'video'.", param="inpaint_items")
        name = item["file_name"]
        if name not in files:
            raise bad_request(
                f"Invalid inpaint_items.file_name: {name!r} does not match the name of any attached file.",
                param="inpaint_items",
            )
        if item["type"] == "image":
            bodies.check_image(files[name], f"files[{name}]")
        elif files[name][4:8] != b"ftyp":
            raise bad_request(f"Invalid file {name!r}: expected an MP4 video.", param="files")
        clean = {"frame_index": frame, "type": item["type"], "file_name": name}
        if "crop_bounds" in item:
            bounds = item["crop_bounds"]
            if not isinstance(bounds, dict) or set(bounds) - CROP_KEYS:
                raise bad_request("Invalid inpaint_items.crop_bounds.", param="inpaint_items")
            crop = {key: _fraction(bounds, key, 1.0 if key[0] in "rb" else 0.0) for key in sorted(CROP_KEYS)}
            if crop["left_fraction"] >= crop["right_fraction"] or crop["top_fraction"] >= crop["bottom_fraction"]:
                raise bad_request("Invalid inpaint_items.crop_bounds: the crop box is empty.", param="inpaint_items")
            clean["crop_bounds"] = crop
        cleaned.append(clean)
    return cleaned


def parse_create(request: HttpRequest) -> JobInput:
    body = bodies.read(request)
    allowed = JSON_FIELDS if body.is_json else MULTIPART_FIELDS
    for name in sorted(set(body.fields) | set(body.files)):
        if name not in allowed:
            raise unknown_parameter(name)
    prompt = prompt_from(body.fields)
    model = body.fields.get("model")
    if model is None:
        raise missing("model")
    if not isinstance(model, str) or not model.strip() or len(model) > 200:
        raise bad_request(f"Invalid value for 'model': {model!r}.", param="model")
    width = _integer(body.fields, "width", is_json=body.is_json)
    height = _integer(body.fields, "height", is_json=body.is_json)
    if f"{width}x{height}" not in allowed_sizes():
        raise bad_request(
            f"Invalid resolution {width}x{height}. Supported resolutions: {', '.join(allowed_sizes())}.",
            param="width",
        )
    n_seconds = _integer(body.fields, "n_seconds", is_json=body.is_json, default=5)
    if not 1 <= n_seconds <= 20:
        raise bad_request(f"Invalid n_seconds {n_seconds}: must be between 1 and 20.", param="n_seconds")
    n_variants = _integer(body.fields, "n_variants", is_json=body.is_json, default=1)
    most = max_variants(width, height)
    if not 1 <= n_variants <= most:
        raise bad_request(
            f"Invalid n_variants {n_variants}: at {width}x{height} it must be between 1 and {most}.",
            param="n_variants",
        )
    items: list[dict] = []
    if not body.is_json:
        files = {}
        for upload in body.files.get("files", []):
            files[upload.name or ""] = bodies.read_upload(upload, "files")
        if "inpaint_items" in body.fields:
            items = _inpaint_items(body.fields["inpaint_items"], files)
        elif files:
            raise missing("inpaint_items")
    return JobInput(model, prompt, width, height, n_seconds, n_variants, items)
