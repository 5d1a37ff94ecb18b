"""/v1: the OpenAI-compatible Videos API and the relay's query endpoints."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, cast

from django.core import signing
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiTokenAuthentication
from project.api_errors import NO_STORE, ApiError, error_response
from videos import routing, services, validation
from videos.api import schema
from videos.api.idempotency import idempotent
from videos.api.representation import (
    POLL_AFTER_MS,
    download_token_is_current,
    query_object,
    read_download_token,
    video_object,
)
from videos.api.throttling import AccountRateThrottle, check_download_rate
from videos.delivery import serve_asset
from videos.inputs import VideoCreateInput
from videos.limits import LimitExceeded
from videos.models import Video, VideoState
from videos.selectors import VideoNotFound, own_video, own_video_with_file, video_page

CREATE_FIELDS = {
    "prompt",
    "model",
    "seconds",
    "size",
    "input_reference",
    "n_variants",
    # Extensions beyond the OpenAI shape, for the models whose capabilities include them.
    "last_frame",
    "reference_images",
    "negative_prompt",
    "seed",
    "audio",
    "input_fit",
}
REMIX_FIELDS = {"prompt"}
EXTEND_FIELDS = {"prompt", "seconds", "video"}
ASSET_KINDS = ("video", "thumbnail", "spritesheet")


class JsonNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, without parsing the Accept header in the usual case of one JSON renderer and
    a client that accepts anything or JSON (what SDKs send); anything else is negotiated in full."""

    def select_renderer(self, request, renderers, format_suffix=None):
        meta = request.META
        plain = meta.get("HTTP_ACCEPT", "*/*") in ("*/*", "application/json") and len(renderers) == 1
        overridden = format_suffix or (meta.get("QUERY_STRING") and self.settings.URL_FORMAT_OVERRIDE in request.GET)
        if plain and not overridden:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class ApiView(APIView):
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    throttle_classes = [AccountRateThrottle]
    content_negotiation_class: type[BaseContentNegotiation] = JsonNegotiation

    def initial(self, request: Request, *args, **kwargs) -> None:
        try:
            super().initial(request, *args, **kwargs)
        except (NotAuthenticated, AuthenticationFailed):
            # Refused before DRF's throttle runs; such requests still count, against the client's address.
            self.check_throttles(request)
            raise

    def check_throttles(self, request: Request) -> None:
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):
                raise cast(AccountRateThrottle, throttle).exceeded()

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, VideoNotFound):
            exc = not_found(exc.video_id)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = NO_STORE
        return response


def not_found(video_id: object) -> ApiError:
    """The same answer for another user's video as for one that never existed."""
    return ApiError(f"No video found with id '{video_id}'.", status_code=404, code="video_not_found")


def not_available(video: Video) -> HttpResponse | None:
    """The envelope for a video without content, or None when it has some."""
    if video.state == VideoState.EXPIRED:
        return error_response(
            404, "The provider deleted this video's results before they could be stored.", code="video_expired"
        )
    if video.state == VideoState.FAILED:
        return error_response(404, "This video failed; it has no content.", code="video_not_ready")
    if video.state != VideoState.READY:
        return error_response(
            404, "The video is not ready yet; try again when its status is completed.", code="video_not_ready"
        )
    return None


def unbracket(data: Any) -> Any:
    """A form as the openai SDK flattens objects in `extra_body`: `last_frame[image_url]=...`
    becomes `last_frame={"image_url": ...}` and each `reference_images[][image_url]=...` one
    item of the list `reference_images`. Plain fields and files pass unchanged."""
    if not hasattr(data, "getlist") or not any("[" in key for key in data):
        return data
    folded = data.copy()
    for key in list(folded):
        name, bracket, rest = key.partition("[")
        if not bracket or not rest.endswith("]"):
            continue
        values = folded.pop(key)
        inner = rest[:-1]
        if inner.startswith("]["):  # name[][field]: one object per value
            field = inner[2:]
            folded.setlist(name, [*folded.getlist(name), *({field: value} for value in values)])
        elif inner:
            if len(values) > 1:
                raise ApiError(f"'{key}' was sent more than once.", param=name, code="invalid_value")
            existing = folded.get(name)
            target = existing if isinstance(existing, dict) else {}
            target[inner] = values[0]
            folded[name] = target
        else:  # name[]: a list of plain values
            folded.setlist(name, [*folded.getlist(name), *values])
    return folded


def reject_unknown_fields(data, allowed: set[str]) -> None:
    if not hasattr(data, "keys"):
        raise ApiError("The request body must be a JSON object or a form.", code="invalid_body")
    unknown = sorted(set(data.keys()) - allowed)
    if unknown:
        raise ApiError(f"Unknown parameter: '{unknown[0]}'.", param=unknown[0], code="unknown_parameter")


def page_limit(params, allowed: set[str]) -> int:
    """A list's `limit` (1 to 100, default 20), once no parameter outside `allowed` was sent."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ApiError(f"Unknown parameter: '{unknown[0]}'.", param=unknown[0], code="unknown_parameter")
    text = params.get("limit", "20")
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise ApiError("limit must be a whole number from 1 to 100.", param="limit")
    return int(text)


def _single(data, name: str) -> object:
    """One value of a field; a repeated form field is an error, not a silent pick."""
    if hasattr(data, "getlist"):
        values = data.getlist(name)
        if len(values) > 1:
            raise ApiError(f"'{name}' was sent more than once.", param=name, code="invalid_value")
        return values[0] if values else None
    return data.get(name)


def _image_from(
    value: object, size: str | None, param: str = "input_reference", fit: str = "exact"
) -> validation.InputImage | None:
    """An image part or `{"image_url": "data:..."}`; `size` None takes any dimensions."""
    if value is None:
        return None
    if hasattr(value, "read"):  # a file part
        return validation.clean_upload(value, size=size, param=param, fit=fit)
    if isinstance(value, dict):
        if set(value) - {"image_url", "file_id"} or len(value) != 1:
            raise ApiError(f"{param} takes exactly one of image_url or file_id.", param=param)
        if "file_id" in value:
            raise ApiError(
                "Uploaded file ids are not supported; send the image itself or a data URL.",
                param=param,
                code="unsupported_value",
            )
        url = value["image_url"]
        if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
            raise ApiError(
                "image_url must be a base64 data URL (data:image/png;base64,...).", param=param, code="invalid_value"
            )
        try:
            data = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError("image_url is not valid base64.", param=param) from None
        return validation.clean_image(data, size=size, param=param, fit=fit)
    raise ApiError(f'{param} must be an image file or {{"image_url": ...}}.', param=param, code="invalid_type")


def _many(data: Any, name: str) -> object:
    """Every value of a repeatable field: the form's list, or what the JSON body holds."""
    return data.getlist(name) or None if hasattr(data, "getlist") else data.get(name)


def _images_from(data: Any, size: str | None, param: str = "reference_images") -> tuple[validation.InputImage, ...]:
    """Several images: repeated file parts, or a JSON list of `{"image_url": ...}`."""
    values = _many(data, param)
    if values is None:
        return ()
    if not isinstance(values, list):
        raise ApiError(f'{param} must be a list of {{"image_url": ...}} objects.', param=param, code="invalid_type")
    if len(values) > 8:
        raise ApiError(f"{param} holds {len(values)} images; no model takes more than 8.", param=param)
    return tuple(image for value in values if (image := _image_from(value, size, param)) is not None)


def as_api_error(error: validation.InvalidRequest | LimitExceeded) -> ApiError:
    if isinstance(error, LimitExceeded):
        return ApiError(
            error.message,
            status_code=429,
            type="rate_limit_error",
            code=error.code,
            headers={"Retry-After": str(error.retry_after)},
        )
    return ApiError(error.message, status_code=error.status, param=error.param, code=error.code)


def submit(request: Request, data: VideoCreateInput) -> Response:
    try:
        video = services.video_request_submit(user=request.user, data=data)
    except LimitExceeded as exc:
        raise as_api_error(exc) from None
    return Response(video_object(video), status=status.HTTP_200_OK)


class VideoCollection(ApiView):
    @extend_schema(**schema.CREATE)
    def post(self, request: Request) -> Response:
        return idempotent(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data = unbracket(request.data)
        reject_unknown_fields(data, CREATE_FIELDS)
        multipart = hasattr(data, "getlist")
        try:
            prompt = validation.clean_prompt(_single(data, "prompt"))
            served = validation.resolve_model(_single(data, "model"))
            caps = served.capabilities
            size = validation.clean_size(_single(data, "size"), caps)
            seconds = validation.clean_seconds(_single(data, "seconds"), caps, size, strict_string=not multipart)
            n_variants = validation.clean_variants(_single(data, "n_variants"), caps, size)
            negative_prompt = validation.clean_negative_prompt(_single(data, "negative_prompt"), caps)
            seed = validation.clean_seed(_single(data, "seed"), caps)
            audio = validation.clean_audio(_single(data, "audio"), caps)
            first, last = _single(data, "input_reference"), _single(data, "last_frame")
            references = _many(data, "reference_images")
            validation.check_inputs(
                caps,
                seconds=seconds,
                first_frame=first is not None,
                last_frame=last is not None,
                reference_images=len(references) if isinstance(references, list) else int(references is not None),
            )
            routes = validation.accepting_routes(
                served,
                validation.Wanted(
                    size=size,
                    seconds=seconds,
                    n_variants=n_variants,
                    first_frame=first is not None,
                    last_frame=last is not None,
                    reference_images=len(references) if isinstance(references, list) else int(references is not None),
                    negative_prompt=negative_prompt,
                    seed=seed,
                    audio=audio,
                ),
            )
            fit = validation.clean_fit(_single(data, "input_fit"))
            image = _image_from(first, size, fit=fit)
            last_frame = _image_from(last, size, "last_frame", fit=fit)
            reference_images = _images_from(data, None)
        except validation.InvalidRequest as exc:
            raise as_api_error(exc) from None
        return submit(
            request,
            VideoCreateInput(
                provider=routes[0].provider,
                model=routes[0].model,
                requested_model=served.id,
                routes=routes,
                prompt=prompt,
                size=size,
                seconds=seconds,
                n_variants=n_variants,
                input_image=image,
                last_frame=last_frame,
                reference_images=reference_images,
                negative_prompt=negative_prompt,
                seed=seed,
                audio=audio,
                input_fit=fit if image or last_frame else None,
            ),
        )

    @extend_schema(**schema.LIST)
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = page_limit(params, {"after", "limit", "order"})
        order = params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError("order must be 'asc' or 'desc'.", param="order")
        after = params.get("after")
        try:
            page = video_page(request.user, limit=limit, ascending=order == "asc", after=after)
        except VideoNotFound:
            raise ApiError(
                f"No video found with id '{after}' to list after.", param="after", code="video_not_found"
            ) from None
        data = [video_object(v) for v in page.videos]
        return Response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": page.has_more,
            }
        )


class VideoDetail(ApiView):
    @extend_schema(**schema.RETRIEVE)
    def get(self, request: Request, video_id: str) -> Response:
        video = own_video(request.user, video_id)
        response = Response(video_object(video))
        state = VideoState(video.state)
        if state in POLL_AFTER_MS:
            response["openai-poll-after-ms"] = str(POLL_AFTER_MS[state])
        return response

    @extend_schema(**schema.DELETE)
    def delete(self, request: Request, video_id: str) -> Response:
        video = own_video(request.user, video_id)
        services.video_delete(video=video)
        return Response({"id": video.pk, "object": "video.deleted", "deleted": True})


class VideoRemix(ApiView):
    @extend_schema(**schema.REMIX)
    def post(self, request: Request, video_id: str) -> Response:
        return idempotent(request, lambda: self._remix(request, video_id))

    def _remix(self, request: Request, video_id: str) -> Response:
        own_video(request.user, video_id)  # 404 first, before anything about the body
        reject_unknown_fields(request.data, REMIX_FIELDS)
        try:
            prompt = validation.clean_prompt(_single(request.data, "prompt"))
            source = validation.remix_source_for(request.user, video_id)
        except validation.InvalidRequest as exc:
            raise as_api_error(exc) from None
        return submit(request, VideoCreateInput.remix_of(source, prompt))


class VideoExtensions(ApiView):
    @extend_schema(**schema.EXTEND)
    def post(self, request: Request) -> Response:
        return idempotent(request, lambda: self._extend(request))

    def _extend(self, request: Request) -> Response:
        data = unbracket(request.data)
        reject_unknown_fields(data, EXTEND_FIELDS)
        try:
            source = validation.extend_source_for(request.user, _video_reference(request.user, _single(data, "video")))
            prompt = validation.clean_prompt(_single(data, "prompt"))
            seconds = validation.clean_extend_seconds(
                _single(data, "seconds"), source.capabilities, strict_string=not hasattr(data, "getlist")
            )
        except validation.InvalidRequest as exc:
            raise as_api_error(exc) from None
        return submit(request, VideoCreateInput.extension_of(source, prompt, seconds))


def _video_reference(user, value: object) -> str:
    """The id in `video: {"id": ...}` (`video[id]` in a form), or the id of the caller's own
    video whose stored file this upload is (the openai SDK sends `video` as a file): only videos
    made here can be extended."""
    if value is None:
        raise ApiError(
            'Name the video to extend: video is required, as {"id": "video_..."}.',
            param="video",
            code="missing_required_parameter",
        )
    if hasattr(value, "read"):
        digest = hashlib.sha256()
        for chunk in value.chunks() if hasattr(value, "chunks") else iter(lambda: value.read(1 << 20), b""):
            digest.update(chunk)
        video_id = own_video_with_file(user, digest.hexdigest())
        if video_id is None:
            raise ApiError(
                "This file is not one of your videos. Only videos made here can be extended: send "
                'video as {"id": "video_..."}, or the file downloaded from it unchanged.',
                status_code=404,
                param="video",
                code="video_not_found",
            )
        return video_id
    if not isinstance(value, dict) or set(value) != {"id"} or not isinstance(value["id"], str) or not value["id"]:
        raise ApiError('video must be {"id": "video_..."}.', param="video", code="invalid_type")
    return value["id"]


class AnyAccept(BaseContentNegotiation):
    """File downloads answer whatever Accept says (the SDK sends application/binary)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class VideoContent(ApiView):
    content_negotiation_class = AnyAccept

    @extend_schema(**schema.CONTENT)
    def get(self, request: Request, video_id: str) -> HttpResponse:
        video = own_video(request.user, video_id)
        variant = request.query_params.get("variant", "video")
        if variant not in ASSET_KINDS:
            raise ApiError("variant must be video, thumbnail or spritesheet.", param="variant")
        index_text = request.query_params.get("index", "0")
        if not index_text.isdigit() or int(index_text) >= max(1, video.n_variants):
            raise ApiError(f"index must be from 0 to {max(1, video.n_variants) - 1}.", param="index")
        unavailable = not_available(video)
        if unavailable is not None:
            return unavailable
        asset = video.assets.filter(kind=variant, variant=int(index_text)).first()
        if asset is None:
            raise ApiError(
                f"This video has no {variant}.", status_code=404, param="variant", code="variant_not_available"
            )
        return cast(HttpResponse, serve_asset(request, video, asset))  # DRF passes any response through


class VideoQuery(ApiView):
    @extend_schema(**schema.QUERY_GET)
    def get(self, request: Request, video_id: str) -> Response:
        return Response(query_object(request, own_video(request.user, video_id)))


class VideoQueryPost(ApiView):
    @extend_schema(**schema.QUERY_POST)
    def post(self, request: Request) -> Response:
        reject_unknown_fields(request.data, {"video_id"})
        video_id = _single(request.data, "video_id")
        if not isinstance(video_id, str) or not video_id:
            raise ApiError("video_id is required.", param="video_id", code="missing_required_parameter")
        return Response(query_object(request, own_video(request.user, video_id)))


@extend_schema(exclude=True)
@api_view(["GET", "HEAD"])
@authentication_classes([])
@permission_classes([])
def signed_download(request: Request, token: str) -> HttpResponse:
    """A link that works without a token until it expires, so it can be handed to a player.

    It also ends when the video is deleted, when the owner's password changes and when the owner
    revokes all tokens (the stamp signed into it no longer matches), and it is rate limited per owner.
    """
    invalid = ApiError("This download link is not valid.", status_code=403, code="invalid_link")
    try:
        claims = read_download_token(token)
    except signing.SignatureExpired:
        raise ApiError(
            "This download link has expired; ask for a new one.", status_code=403, code="link_expired"
        ) from None
    except signing.BadSignature:
        raise invalid from None
    video = (
        Video.objects.select_related("owner")
        .filter(pk=claims["v"], deleted_at__isnull=True, owner__is_active=True)
        .first()
    )
    gone = ApiError("The video is no longer available.", status_code=404, code="video_not_found")
    if video is None:
        raise gone
    if not download_token_is_current(claims, video.owner):
        raise invalid
    check_download_rate(video.owner)
    asset = (
        video.assets.filter(kind=claims["k"], variant=claims["i"]).first() if video.state == VideoState.READY else None
    )
    if asset is None:
        raise gone
    return cast(HttpResponse, serve_asset(request, video, asset))  # a stream, or a redirect


class ModelList(ApiView):
    @extend_schema(**schema.MODELS)
    def get(self, request: Request) -> Response:
        staff = bool(request.user.is_staff)
        data = []
        for served in routing.served_models().values():
            entry = {
                "id": served.id,
                "object": "model",
                "created": int(min(route.provider.created_at for route in served.routes).timestamp()),
                "owned_by": served.routes[0].provider.name if len(served.routes) == 1 else "platform",
                # Extensions of the OpenAI shape: what the model can be asked for (of whichever
                # provider takes the video), and the ids that pin one provider.
                "label": served.label,
                "capabilities": served.capabilities.as_json(),
                "routes": [route.id for route in served.routes],
            }
            if staff:
                entry["providers"] = [
                    {
                        "id": route.id,
                        "provider": route.provider.name,
                        "model": route.model,
                        "priority": route.provider.priority,
                        "capabilities": route.capabilities.as_json(),
                    }
                    for route in served.routes
                ]
            data.append(entry)
        return Response({"object": "list", "data": data})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def not_found_route(request: Request) -> Response:
    raise ApiError(f"No API route {request.method} {request.path}.", status_code=404, code="not_found")
