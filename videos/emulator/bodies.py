"""Reading request bodies (JSON, multipart, form) and checking uploaded images, for both protocols.

Errors come out as `ApiError`s, so a malformed body is always a 400/413 in the protocol's
envelope, never Django's HTML error page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import warnings
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from PIL import Image

from videos.emulator.errors import ApiError, bad_request

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def max_body_bytes() -> int:
    # OpenAI accepts data URLs of up to 20 MiB; leave room for the rest of the body.
    return int(getattr(settings, "EMULATOR_MAX_BODY_BYTES", 32 * 1024 * 1024))


def too_large(param: str | None = None) -> ApiError:
    return ApiError(
        413,
        f"Request body too large: the limit is {max_body_bytes()} bytes.",
        param=param,
        code="request_too_large",
        azure_code="RequestEntityTooLarge",
    )


@dataclass
class Body:
    """Fields of a request body; `is_json` tells whether the values kept their JSON types."""

    fields: dict[str, object]
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)
    is_json: bool = False


def read(request: HttpRequest) -> Body:
    content_type = request.content_type or ""
    if content_type == "application/json":
        return Body(_json_object(request), is_json=True)
    if content_type in {"multipart/form-data", "application/x-www-form-urlencoded"}:
        try:
            fields = {key: request.POST.getlist(key)[-1] for key in request.POST}
            files = {key: request.FILES.getlist(key) for key in request.FILES}
        except (RequestDataTooBig, TooManyFieldsSent) as error:
            raise too_large() from error
        except MultiPartParserError as error:
            raise bad_request(f"Could not parse the multipart body: {error}", code="invalid_body") from error
        for uploads in files.values():
            if any(upload.size is not None and upload.size > max_body_bytes() for upload in uploads):
                raise too_large()
        return Body(dict(fields), files)
    raise bad_request(
        f"Unsupported Content-Type {content_type or '(none)'!r}: send application/json or multipart/form-data.",
        code="unsupported_content_type",
    )


def _json_object(request: HttpRequest) -> dict[str, object]:
    # Read the stream directly: request.body would apply Django's 2.5 MB form limit to JSON.
    limit = max_body_bytes()
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise too_large()
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.",
            code="invalid_json",
        ) from error
    if not isinstance(value, dict):
        raise bad_request("The JSON body must be an object.", code="invalid_type")
    return value


@dataclass(frozen=True)
class Picture:
    format: str
    width: int
    height: int
    size: int
    sha256: str

    def summary(self) -> dict[str, object]:
        return {"type": IMAGE_FORMATS[self.format], "width": self.width, "height": self.height, "bytes": self.size}


def read_upload(upload: UploadedFile, param: str) -> bytes:
    data = upload.read(max_body_bytes() + 1)
    if len(data) > max_body_bytes():
        raise too_large(param)
    return data


def data_url_bytes(url: str, param: str) -> bytes:
    if not url.startswith("data:"):
        raise bad_request(
            f"Invalid '{param}': the emulator accepts only base64 data URLs (data:image/png;base64,...).", param=param
        )
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        raise bad_request(f"Invalid '{param}': the data URL must be base64-encoded.", param=param)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise bad_request(f"Invalid '{param}': the data URL is not valid base64.", param=param) from error


def check_image(data: bytes, param: str, *, expected_size: tuple[int, int] | None = None) -> Picture:
    """Decode for real: the declared type and the file name prove nothing."""
    max_pixels = int(getattr(settings, "EMULATOR_MAX_IMAGE_PIXELS", 4096 * 4096))
    invalid = bad_request(
        f"Invalid '{param}': the file is not a valid image. Supported formats: image/jpeg, image/png, image/webp.",
        param=param,
        code="invalid_image",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format, (width, height) = image.format, image.size
                if image_format not in IMAGE_FORMATS:
                    raise invalid
                # Sizes are checked before decoding, so a small file claiming a huge picture
                # is refused without allocating it.
                if width * height > max_pixels:
                    raise bad_request(
                        f"Invalid '{param}': the image is too large ({width}x{height}).",
                        param=param,
                        code="image_too_large",
                    )
                if expected_size is not None and (width, height) != expected_size:
                    raise bad_request(
                        "Inpaint image must match the requested width and height",
                        param=param,
                        code="invalid_image_size",
                    )
                image.load()
    except ApiError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise invalid from error
    return Picture(image_format, width, height, len(data), hashlib.sha256(data).hexdigest())
