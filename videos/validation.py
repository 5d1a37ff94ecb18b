"""What a user may ask for: one set of rules for the API and the dashboard.

Every rule raises `InvalidRequest` with the parameter it concerns and a message a person can
act on; nothing is stored before all of them pass. What passes becomes a
`videos.inputs.VideoCreateInput`, the input of `services.video_request_submit`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from videos import routing
from videos.catalogue import Capabilities
from videos.inputs import InputImage
from videos.models import Video, VideoKind, VideoState
from videos.providers.registry import PROVIDER_CLASSES
from videos.routing import Route, ServedModel

MAX_PROMPT_CHARS = 32000
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class InvalidRequest(Exception):
    def __init__(self, message: str, *, param: str | None, code: str = "invalid_value", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status


def clean_prompt(prompt: object, *, param: str = "prompt") -> str:
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        raise InvalidRequest(
            "Describe the video: the prompt is empty.",
            param=param,
            code="missing_required_parameter" if prompt is None else "invalid_value",
        )
    if not isinstance(prompt, str):
        raise InvalidRequest("The prompt must be a string.", param=param, code="invalid_type")
    if "\x00" in prompt:
        raise InvalidRequest("The prompt contains a NUL character.", param=param)
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidRequest(
            f"The prompt is {len(prompt)} characters long; the limit is {MAX_PROMPT_CHARS}.",
            param=param,
            code="string_above_max_length",
        )
    return prompt


def resolve_model(model: object) -> ServedModel:
    """The model a request names and the routes to it (videos.routing); the default without one."""
    if model is None:
        served = routing.default_model()
        if served is None:
            raise InvalidRequest(
                "No video provider is enabled on this platform.", param="model", code="no_provider", status=503
            )
        return served
    served = routing.resolve(model) if isinstance(model, str) else None
    if served is None:
        available = list(routing.served_models())
        if not available:
            raise InvalidRequest(
                "No video provider is enabled on this platform.", param="model", code="no_provider", status=503
            )
        raise InvalidRequest(
            f"Unknown model {model!r}. Available: {', '.join(available)}.", param="model", code="model_not_found"
        )
    return served


@dataclass(frozen=True)
class Wanted:
    """What a request asks of a model, once checked against the model as a whole."""

    size: str
    seconds: int
    n_variants: int = 1
    first_frame: bool = False
    last_frame: bool = False
    reference_images: int = 0
    negative_prompt: str | None = None
    seed: int | None = None
    audio: bool | None = None


def _check_route(caps: Capabilities, wanted: Wanted) -> None:
    clean_size(wanted.size, caps)
    clean_seconds(wanted.seconds, caps, wanted.size, strict_string=False)
    clean_variants(wanted.n_variants, caps, wanted.size)
    clean_negative_prompt(wanted.negative_prompt, caps)
    clean_seed(wanted.seed, caps)
    clean_audio(wanted.audio, caps)
    check_inputs(
        caps,
        seconds=wanted.seconds,
        first_frame=wanted.first_frame,
        last_frame=wanted.last_frame,
        reference_images=wanted.reference_images,
    )


def accepting_routes(served: ServedModel, wanted: Wanted) -> tuple[Route, ...]:
    """The routes whose provider accepts the whole request, preferred first. When the model's
    providers can each do part of it but none all of it, the preferred one's refusal is raised."""
    accepted = []
    refusal: InvalidRequest | None = None
    for route in served.routes:
        try:
            _check_route(route.capabilities, wanted)
        except InvalidRequest as exc:
            refusal = refusal or exc
            continue
        accepted.append(route)
    if not accepted:
        assert refusal is not None
        if len(served.routes) > 1:
            refusal.message = f"No provider of {served.id} can make this combination: {refusal.message}"
        raise refusal
    return tuple(accepted)


def wanted_of(video: Video) -> Wanted:
    """What a stored video asks of a model, as its request was checked when it was made."""
    roles = [item.get("role") for item in video.input_images or []]
    options = video.options or {}
    return Wanted(
        size=video.size,
        seconds=video.seconds,
        n_variants=video.n_variants,
        first_frame=bool(video.input_image_key),
        last_frame="last_frame" in roles,
        reference_images=roles.count("reference"),
        negative_prompt=options.get("negative_prompt"),
        seed=options.get("seed"),
        audio=options.get("audio"),
    )


def routes_now(video: Video, models: dict[str, ServedModel] | None = None) -> list[tuple[int, str]]:
    """The routes a video never sent may take now, preferred first, as (provider id, model):
    every enabled provider serving the model it asked for that accepts its whole request,
    providers added or enabled since it was made included. A remix stays with the provider
    holding its source, and so does an extension; a video from before routing, or whose model no enabled provider serves
    any longer, keeps the routes it was given."""
    kept = [(int(provider_id), str(model)) for provider_id, model in video.routes or ()]
    if video.kind in (VideoKind.REMIX, VideoKind.EXTEND) or not video.requested_model:
        return kept
    served = routing.resolve(video.requested_model, models)
    if served is None:
        return kept
    wanted = wanted_of(video)
    routes = []
    for route in served.routes:
        try:
            _check_route(route.capabilities, wanted)
        except InvalidRequest:
            continue
        routes.append((route.provider.pk, route.model))
    return routes


def clean_size(size: object, caps: Capabilities) -> str:
    if size is None:
        return caps.default_size()
    if not isinstance(size, str) or size not in caps.sizes:
        raise InvalidRequest(
            f"Size {size!r} is not available for this model. Choose one of: {', '.join(caps.sizes)}.",
            param="size",
        )
    return size


def clean_seconds(seconds: object, caps: Capabilities, size: str, *, strict_string: bool) -> int:
    allowed = caps.seconds_for(size)
    if seconds is None:
        return caps.default_seconds(size)
    if strict_string and not isinstance(seconds, str):
        raise InvalidRequest('seconds must be a string, e.g. "4".', param="seconds", code="invalid_type")
    text = str(seconds).strip()
    if not text.isdigit() or int(text) not in caps.seconds:
        raise InvalidRequest(
            f"{seconds!r} seconds is not available for this model. Choose one of: {', '.join(map(str, caps.seconds))}.",
            param="seconds",
        )
    if int(text) not in allowed:
        raise InvalidRequest(
            f"At {size} this model makes {', '.join(map(str, allowed))}-second videos only.", param="seconds"
        )
    return int(text)


def clean_variants(n_variants: object, caps: Capabilities, size: str) -> int:
    if n_variants is None:
        return 1
    limit = caps.variants_for(size)
    try:
        number = (
            int(str(n_variants)) if isinstance(n_variants, (str, int)) and not isinstance(n_variants, bool) else None
        )
    except ValueError:
        number = None
    if number is None:
        raise InvalidRequest("n_variants must be a whole number.", param="n_variants", code="invalid_type")
    if not 1 <= number <= limit:
        raise InvalidRequest(f"n_variants must be between 1 and {limit} for this model and size.", param="n_variants")
    return number


def clean_negative_prompt(value: object, caps: Capabilities) -> str | None:
    if value is None or value == "":
        return None
    if not caps.negative_prompt:
        raise InvalidRequest("This model takes no negative_prompt.", param="negative_prompt", code="unsupported_value")
    return clean_prompt(value, param="negative_prompt")


def clean_seed(value: object, caps: Capabilities) -> int | None:
    if value is None or value == "":
        return None
    if not caps.seed:
        raise InvalidRequest("This model takes no seed.", param="seed", code="unsupported_value")
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) > 2**32 - 1:
        raise InvalidRequest("seed must be a whole number from 0 to 4294967295.", param="seed", code="invalid_type")
    return int(text)


def clean_audio(value: object, caps: Capabilities) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        value = value.strip().lower() in ("true", "1")
    if not isinstance(value, bool):
        raise InvalidRequest("audio must be true or false.", param="audio", code="invalid_type")
    if value and caps.audio == "none":
        raise InvalidRequest("This model makes silent videos only.", param="audio", code="unsupported_value")
    if not value and caps.audio == "always":
        raise InvalidRequest("This model always makes videos with sound.", param="audio", code="unsupported_value")
    return value


def check_inputs(
    caps: Capabilities, *, seconds: int, first_frame: bool, last_frame: bool, reference_images: int
) -> None:
    """The images sent are ones this model takes, in a number and at a duration it allows."""
    if first_frame and not caps.first_frame:
        raise InvalidRequest(
            "This model cannot start from an image.", param="input_reference", code="unsupported_value"
        )
    if last_frame and not caps.last_frame:
        raise InvalidRequest("This model takes no last_frame.", param="last_frame", code="unsupported_value")
    if reference_images:
        if not caps.reference_images:
            raise InvalidRequest(
                "This model takes no reference_images.", param="reference_images", code="unsupported_value"
            )
        if reference_images > caps.reference_images:
            raise InvalidRequest(
                f"This model takes at most {caps.reference_images} reference images.",
                param="reference_images",
            )
        if caps.reference_seconds and seconds not in caps.reference_seconds:
            raise InvalidRequest(
                "With reference images this model makes "
                f"{', '.join(map(str, caps.reference_seconds))}-second videos only.",
                param="seconds",
            )


def too_large(byte_count: int, *, param: str) -> InvalidRequest:
    limit = settings.MAX_INPUT_IMAGE_BYTES
    return InvalidRequest(
        f"The image is {byte_count // 1024} KB; the limit is {limit // 1024} KB.",
        param=param,
        code="image_too_large",
        status=413,
    )


FITS = ("crop", "pad", "exact")


def clean_fit(value: object) -> str:
    """How a start or last frame of another size is fitted to the video: `crop` (the default:
    scaled to fill the frame, the overflow cut from both sides), `pad` (scaled to fit inside,
    with black bars) or `exact` (refused unless it already matches)."""
    if value is None or value == "":
        return "crop"
    if value not in FITS:
        raise InvalidRequest(f"input_fit must be one of: {', '.join(FITS)}.", param="input_fit")
    return str(value)


def clean_upload(upload, *, size: str | None, param: str = "input_reference", fit: str = "exact") -> InputImage:
    """An uploaded file: its size is checked before it is read into memory, then its content."""
    if upload.size > settings.MAX_INPUT_IMAGE_BYTES:
        raise too_large(upload.size, param=param)
    return clean_image(upload.read(), size=size, param=param, fit=fit)


def fit_image(data: bytes, kind: str, size: str, fit: str) -> bytes:
    """The image turned upright (a phone's EXIF orientation) and fitted to `size` as `fit` says,
    in its own format."""
    width, _, height = size.partition("x")
    target = (int(width), int(height))
    with Image.open(io.BytesIO(data)) as opened:
        upright = ImageOps.exif_transpose(opened)
        picture = upright.convert("RGBA" if kind == "PNG" and upright.mode in ("RGBA", "LA", "P") else "RGB")
    if fit == "pad":
        inner = ImageOps.contain(picture, target, Image.Resampling.LANCZOS)
        canvas = Image.new(picture.mode, target, (0, 0, 0, 255) if picture.mode == "RGBA" else (0, 0, 0))
        canvas.paste(inner, ((target[0] - inner.width) // 2, (target[1] - inner.height) // 2))
        picture = canvas
    else:
        picture = ImageOps.fit(picture, target, Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    buffer = io.BytesIO()
    picture.save(buffer, kind, **({"quality": 92} if kind in ("JPEG", "WEBP") else {}))
    return buffer.getvalue()


def clean_image(data: bytes, *, size: str | None, param: str = "input_reference", fit: str = "exact") -> InputImage:
    """A real JPEG, PNG or WebP by its content, within byte and pixel limits, fitted to `size`
    (`fit`: see clean_fit; any dimensions when `size` is None: reference images)."""
    if len(data) > settings.MAX_INPUT_IMAGE_BYTES:
        raise too_large(len(data), param=param)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind = image.format
                width, height = image.size  # read from the header; nothing is decoded yet
                if kind not in IMAGE_FORMATS:
                    raise InvalidRequest(
                        f"The image is {kind or 'of an unknown type'}; use JPEG, PNG or WebP.",
                        param=param,
                        code="unsupported_image",
                    )
                if width * height > settings.MAX_INPUT_IMAGE_PIXELS:
                    raise InvalidRequest(
                        f"The image is {width}x{height} pixels; the limit is {settings.MAX_INPUT_IMAGE_PIXELS} pixels.",
                        param=param,
                        code="image_too_large",
                    )
                if size is not None and f"{width}x{height}" != size and fit == "exact":
                    raise InvalidRequest(
                        f"The image is {width}x{height} but the video is {size}: upload an image of exactly that size.",
                        param=param,
                        code="image_size_mismatch",
                    )
                image.load()  # a truncated or corrupt file fails here, within the pixel limit
    except InvalidRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidRequest(
            f"The image claims more than {settings.MAX_INPUT_IMAGE_PIXELS} pixels.", param=param, code="image_too_large"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidRequest(
            "The file is not a readable JPEG, PNG or WebP image.", param=param, code="invalid_image"
        ) from None
    if size is not None and fit != "exact":
        oriented = _orientation(data)
        if f"{width}x{height}" != size or oriented not in (None, 1):
            data = fit_image(data, kind, size, fit)
    return InputImage(data=data, content_type=IMAGE_FORMATS[kind])


def _orientation(data: bytes) -> int | None:
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif().get(0x0112)


def remix_source_for(user, video_id: str) -> Video:
    """The caller's own ready video, or the same 404 as for a video that does not exist."""
    video = Video.objects.for_user(user).select_related("provider").filter(pk=video_id).first()
    if video is None:
        raise InvalidRequest(f"No video found with id '{video_id}'.", param=None, code="video_not_found", status=404)
    if video.state != VideoState.READY:
        raise InvalidRequest(
            "Only a finished (completed) video can be remixed.", param=None, code="video_not_ready", status=409
        )
    if not video.provider.enabled or not video.provider.capabilities(video.model).remix:
        raise InvalidRequest(
            "This video's provider cannot remix videos.", param=None, code="remix_unsupported", status=400
        )
    return video


def extend_source_for(user, video_id: object) -> Video:
    """The caller's own finished video that its model can extend: the same 404 as for a video
    that does not exist, else what stands in the way (`param` "video")."""
    video = Video.objects.for_user(user).with_id(video_id).select_related("provider").first()
    if video is None:
        raise InvalidRequest(f"No video found with id '{video_id}'.", param="video", code="video_not_found", status=404)
    if video.state != VideoState.READY:
        raise InvalidRequest(
            "Only a finished (completed) video can be extended.", param="video", code="video_not_ready", status=409
        )
    caps = video.provider.capabilities(video.model)
    adapter = PROVIDER_CLASSES.get(video.provider.kind)
    if not video.provider.enabled or not caps.extend or adapter is None or not adapter.can_extend:
        raise InvalidRequest(
            "This video's model cannot extend videos.", param="video", code="extend_unsupported", status=400
        )
    if not caps.extends_from(video.size):
        raise InvalidRequest(
            f"This model extends {', '.join(caps.extend_sizes)} videos only; this one is {video.size}.",
            param="video",
            code="extend_unsupported",
        )
    if caps.extend_max_seconds and video.length_seconds > caps.extend_max_seconds:
        raise InvalidRequest(
            f"This model extends videos of up to {caps.extend_max_seconds} seconds; this one is "
            f"{video.length_seconds} seconds long.",
            param="video",
            code="extend_unsupported",
        )
    if adapter.extends_held_copy and (
        not video.provider_generation_ids
        or (video.provider_expires_at is not None and video.provider_expires_at <= timezone.now())
    ):
        raise InvalidRequest(
            "The provider no longer holds this video (it keeps results for a limited time), so it cannot be "
            "extended. Extend a newer video, or create a new one.",
            param="video",
            code="extend_source_expired",
            status=409,
        )
    return video


def clean_extend_seconds(seconds: object, caps: Capabilities, *, strict_string: bool) -> int:
    """How many seconds an extension adds: required, one of what the model can add."""
    allowed = caps.extension_seconds()
    if seconds is None:
        raise InvalidRequest(
            "Say how many seconds to add: seconds is required.", param="seconds", code="missing_required_parameter"
        )
    if strict_string and not isinstance(seconds, str):
        raise InvalidRequest('seconds must be a string, e.g. "8".', param="seconds", code="invalid_type")
    text = str(seconds).strip()
    if not text.isdigit() or int(text) not in allowed:
        raise InvalidRequest(
            f"This model cannot add {seconds!r} seconds. Choose one of: {', '.join(map(str, allowed))}.",
            param="seconds",
        )
    return int(text)
