"""What every emulated request goes through: counting, routing by method, api-version, API key,
request-rate limit and the faults that answer instead of the operation."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, faults, kling_auth, oauth
from videos.emulator.errors import ApiError, render

# Content answers stream: a handler returns any kind of response.
Handler = Callable[..., HttpResponseBase]

_OPENAI_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using "
    "Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
_AZURE_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key "
    "for an active subscription and use a correct regional API endpoint for your resource."
)


_GOOGLE_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


def azure_api_versions() -> tuple[str, ...]:
    return tuple(getattr(settings, "EMULATOR_AZURE_API_VERSIONS", ("preview",)))


def presented_key(request: HttpRequest) -> str:
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    if authorization[:4].lower() == "key ":
        return authorization[4:].strip()
    google = request.headers.get("x-goog-api-key", "").strip() or request.GET.get("key", "").strip()
    return request.headers.get("api-key", "").strip() or google


def key_is_valid(request: HttpRequest) -> bool:
    expected = settings.EMULATOR_API_KEY or ""
    given = presented_key(request)
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _masked(key: str) -> str:
    return key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 8 else "*" * len(key)


def authenticate(request: HttpRequest, protocol: str) -> None:
    if protocol == "kling":
        kling_auth.check(request)  # a JWT signed with the key, never the key itself
        return
    if key_is_valid(request):
        return
    authorization = request.headers.get("Authorization", "")
    if protocol == "vertex" and authorization[:7].lower() == "bearer " and oauth.valid(authorization[7:].strip()):
        return
    if protocol == "azure":
        raise ApiError(401, _AZURE_DENIED)
    given = presented_key(request)
    if protocol == "runway":
        raise ApiError(401, "Invalid API key provided.")
    if protocol == "luma":
        raise ApiError(401, "Invalid API key is provided")
    if protocol == "minimax":
        raise ApiError(
            401, "login fail: Please carry the API secret key in the 'Authorization' field of the request header"
        )
    if protocol == "openrouter":
        raise ApiError(401, "No auth credentials found" if not given else "User not found.")
    if protocol == "replicate":
        raise ApiError(401, "You did not pass a valid authentication token", code="Unauthenticated")
    if protocol == "fal":
        raise ApiError(401, "No user found for Key ID and Secret" if given else "Authentication is required")
    if protocol == "ark":
        raise ApiError(
            401,
            "The API key in the request is missing or invalid. Request id: " + uuid.uuid4().hex,
            code="AuthenticationError",
            type="Unauthorized",
        )
    if protocol == "vertex":
        raise ApiError(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
            "or other valid authentication credential.",
        )
    if protocol == "gemini":
        if not given:
            raise ApiError(403, _GOOGLE_NO_KEY)
        raise ApiError(
            400,
            "API key not valid. Please pass a valid API key.",
            details=(
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                },
            ),
        )
    if not given:
        raise ApiError(401, _OPENAI_NO_KEY)
    raise ApiError(
        401,
        f"Incorrect API key provided: {_masked(given)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def not_found(request: HttpRequest, protocol: str) -> ApiError:
    if protocol == "azure":
        return ApiError(404, "Resource not found")
    if protocol in ("gemini", "vertex"):
        return ApiError(404, "Requested entity was not found.")
    if protocol == "fal":
        return ApiError(404, "Not Found")
    if protocol == "runway":
        return ApiError(404, "Not found.")
    if protocol in ("luma", "openrouter"):
        return ApiError(404, "Not Found")
    if protocol == "kling":
        return ApiError(404, "Invalid request method or path", code="1202")
    if protocol == "replicate":
        return ApiError(404, "The requested resource could not be found.", code="Not found")
    if protocol == "ark":
        return ApiError(404, f"The requested path {request.path} is not found.", code="NotFound", type="NotFound")
    # The path as the client would see it on api.openai.com, without the emulator's prefix.
    return ApiError(404, f"Invalid URL ({request.method} {request.path.split('/openai', 1)[-1]})")


def check_api_version(request: HttpRequest) -> None:
    version = request.GET.get("api-version")
    if version is None:
        raise ApiError(404, "Resource not found")
    if version not in azure_api_versions():
        raise ApiError(400, "API version not supported", azure_code="BadRequest")


def _stamp(response: HttpResponseBase, protocol: str, started: float) -> HttpResponseBase:
    if protocol == "azure":
        response["apim-request-id"] = str(uuid.uuid4())
    elif protocol in ("gemini", "vertex"):
        response["server-timing"] = f"gfet4t7; dur={round((time.monotonic() - started) * 1000)}"
    else:
        response["openai-processing-ms"] = str(round((time.monotonic() - started) * 1000))
        response["openai-version"] = "2020-10-01"
    response["x-request-id"] = response.get("apim-request-id") or f"req_{uuid.uuid4().hex}"
    return response


def endpoint(protocol: str, routes: dict[str, tuple[str, Handler]]) -> Handler:
    """One URL of a protocol: `routes` maps each HTTP method to (operation name, handler)."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: str) -> HttpResponseBase:
        started = time.monotonic()
        operation, handler = routes.get(request.method or "", ("other", None))
        accounting.bump(protocol, operation)
        try:
            if handler is None:
                raise not_found(request, protocol)
            if protocol == "azure":
                check_api_version(request)
            authenticate(request, protocol)
            accounting.check_rate(protocol)
            response: HttpResponseBase | None = faults.before(request, protocol, operation)
            if response is None:
                response = handler(request, **kwargs)
                response = (
                    faults.drop_after(request, protocol, operation)
                    or faults.endless_after(protocol, operation)
                    or response
                )
        except ApiError as error:
            response = render(protocol, error)
        return _stamp(response, protocol, started)

    return view


def catch_all(protocol: str) -> Handler:
    """Any other path under a protocol: the provider's own 404, never Django's HTML page."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: str) -> HttpResponseBase:
        accounting.bump(protocol, "other")
        return _stamp(render(protocol, not_found(request, protocol)), protocol, time.monotonic())

    return view
