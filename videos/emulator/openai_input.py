"""Validation of OpenAI Videos requests, with OpenAI's error wording and parameter names."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from videos.emulator import bodies
from videos.emulator.errors import ApiError, bad_request, invalid_choice, missing, unknown_parameter

CREATE_FIELDS = {"prompt", "model", "seconds", "size", "input_reference"}
REFERENCE_KEYS = {"image_url", "file_id"}
MAX_PROMPT = 32000


def allowed_seconds() -> list[str]:
    # The published spec's VideoSeconds enum; some 2026 documents add "16" and "20".
    return [str(s) for s in getattr(settings, "EMULATOR_OPENAI_SECONDS", ("4", "8", "12"))]


def allowed_sizes() -> list[str]:
    return list(getattr(settings, "EMULATOR_OPENAI_SIZES", ("720x1280", "1280x720", "1024x1792", "1792x1024")))


@dataclass(frozen=True)
class CreateInput:
    prompt: str
    model: str
    seconds: int
    width: int
    height: int
    reference: dict | None


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "an integer" if isinstance(value, int) else "a number"
    if value is None:
        return "null"
    names: dict[type, str] = {dict: "an object", list: "an array"}
    return names.get(type(value), "a string")


def _invalid_type(param: str, expected: str, value: object) -> ApiError:
    return bad_request(
        f"Invalid type for '{param}': expected {expected}, but got {_type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def prompt_from(fields: dict[str, object], param: str = "prompt") -> str:
    if param not in fields:
        raise missing(param)
    prompt = fields[param]
    if not isinstance(prompt, str):
        raise _invalid_type(param, "a string", prompt)
    if len(prompt) < 1:
        raise bad_request(
            f"Invalid '{param}': string too short. Expected a string with minimum length 1, "
            "but got an empty string instead.",
            param=param,
            code="string_below_min_length",
        )
    if len(prompt) > MAX_PROMPT:
        raise bad_request(
            f"Invalid '{param}': string too long. Expected a string with maximum length {MAX_PROMPT}, "
            f"but got a string with length {len(prompt)} instead.",
            param=param,
            code="string_above_max_length",
        )
    if "\x00" in prompt:
        raise bad_request(f"Invalid '{param}': the string contains NUL characters.", param=param)
    return prompt


def _choice(fields: dict[str, object], param: str, choices: list[str], default: str) -> str:
    value = fields.get(param, default)
    if not isinstance(value, str):
        quoted = ", ".join(f"'{c}'" for c in choices[:-1]) + f", or '{choices[-1]}'"
        raise _invalid_type(param, f"one of {quoted}", value)
    if value not in choices:
        raise invalid_choice(param, value, choices)
    return value


def _reference(body: bodies.Body, width: int, height: int) -> dict | None:
    uploads = body.files.get("input_reference")
    fields = body.fields
    if uploads:
        data = bodies.read_upload(uploads[-1], "input_reference")
    elif "input_reference" in fields:
        reference = fields["input_reference"]
        if not isinstance(reference, dict):
            raise _invalid_type("input_reference", "an object or a file", reference)
        unknown = set(reference) - REFERENCE_KEYS
        if unknown:
            raise unknown_parameter(f"input_reference.{sorted(unknown)[0]}")
        data = _referenced_bytes(reference)
    elif any(key.startswith("input_reference[") for key in fields):
        # Multipart sends an object as bracketed fields: input_reference[image_url]=...
        reference = {key[16:-1]: value for key, value in fields.items() if key.startswith("input_reference[")}
        data = _referenced_bytes(reference)
    else:
        return None
    picture = bodies.check_image(data, "input_reference", expected_size=(width, height))
    return picture.summary()


def _referenced_bytes(reference: dict) -> bytes:
    given = [key for key in REFERENCE_KEYS if reference.get(key) is not None]
    if len(given) != 1:
        raise bad_request(
            "Invalid 'input_reference': provide exactly one of 'image_url' or 'file_id'.",
            param="input_reference",
        )
    if given[0] == "file_id":
        file_id = reference["file_id"]
        raise ApiError(
            404, f"No such File object: {file_id}", param="input_reference.file_id", code=None, azure_code="NotFound"
        )
    url = reference["image_url"]
    if not isinstance(url, str):
        raise _invalid_type("input_reference.image_url", "a string", url)
    return bodies.data_url_bytes(url, "input_reference.image_url")


def parse_create(request: HttpRequest) -> CreateInput:
    body = bodies.read(request)
    # An explicit JSON null stands for "not given", as for OpenAI's other optional parameters.
    body.fields = {name: value for name, value in body.fields.items() if value is not None or name == "prompt"}
    names = set(body.fields) | set(body.files)
    for name in sorted(names):
        if name not in CREATE_FIELDS and not name.startswith("input_reference["):
            raise unknown_parameter(name)
    prompt = prompt_from(body.fields)
    model = body.fields.get("model", "sora-2")
    if not isinstance(model, str):
        raise _invalid_type("model", "a string", model)
    if not model.strip() or len(model) > 200:
        raise bad_request(f"Invalid value for 'model': {model!r}.", param="model")
    seconds = _choice(body.fields, "seconds", allowed_seconds(), "4")
    size = _choice(body.fields, "size", allowed_sizes(), "720x1280")
    width, height = (int(part) for part in size.split("x"))
    reference = _reference(body, width, height)
    return CreateInput(prompt, model, int(seconds), width, height, reference)


def parse_remix(request: HttpRequest) -> str:
    body = bodies.read(request)
    for name in sorted(set(body.fields) | set(body.files)):
        if name != "prompt":
            raise unknown_parameter(name)
    return prompt_from(body.fields)
