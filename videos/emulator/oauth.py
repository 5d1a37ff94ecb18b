"""The emulator's OAuth token endpoint, as Google's serves service accounts (Vertex AI project mode).

A service account key file names its `token_uri`; google-auth posts a JWT signed with the key's
private key there (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`) and receives an
access token. The emulator checks the assertion against the public keys it is told to trust
(EMULATOR_VERTEX_PUBLIC_KEYS, PEM) with google-auth's own JWT code, and issues stateless tokens
(an expiry and an HMAC under EMULATOR_API_KEY), so every process accepts them alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from google.auth import exceptions, jwt

from videos.emulator import accounting

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
LIFETIME = 3600


def _mac(payload: str) -> str:
    key = (settings.EMULATOR_API_KEY or "").encode()
    return hmac.new(key, f"oauth:{payload}".encode(), hashlib.sha256).hexdigest()[:40]


def issue(subject: str, now: float | None = None) -> str:
    expiry = int((now or time.time()) + LIFETIME)
    payload = base64.urlsafe_b64encode(f"{subject}|{expiry}".encode()).decode().rstrip("=")
    return f"ya29.emulator.{payload}.{_mac(payload)}"


def valid(token: str, now: float | None = None) -> bool:
    parts = token.split(".")
    if len(parts) != 4 or parts[:2] != ["ya29", "emulator"] or not settings.EMULATOR_API_KEY:
        return False
    payload, mac = parts[2], parts[3]
    if not hmac.compare_digest(mac, _mac(payload)):
        return False
    try:
        expiry = int(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode().rsplit("|", 1)[1])
    except (ValueError, IndexError):
        return False
    return expiry > (now or time.time())


def _error(status: int, code: str, description: str) -> JsonResponse:
    return JsonResponse({"error": code, "error_description": description}, status=status)


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    accounting.bump("vertex", "token")
    if request.method != "POST":
        return _error(405, "invalid_request", "POST only")
    if request.POST.get("grant_type") != GRANT:
        return _error(400, "unsupported_grant_type", "Invalid grant_type")
    assertion = request.POST.get("assertion", "")
    trusted = list(getattr(settings, "EMULATOR_VERTEX_PUBLIC_KEYS", ()) or ())
    # google-auth addresses its assertion to Google's token URI whichever token_uri it posts to.
    audience = [request.build_absolute_uri(request.path), "https://oauth2.googleapis.com/token"]
    for certificate in trusted:
        try:
            claims = jwt.decode(assertion, certs=certificate, audience=audience)
        except (exceptions.GoogleAuthError, ValueError):
            continue
        if not claims.get("iss") or "cloud-platform" not in str(claims.get("scope", "")):
            return _error(400, "invalid_scope", "The cloud-platform scope is required")
        return JsonResponse({"access_token": issue(str(claims["iss"])), "expires_in": LIFETIME, "token_type": "Bearer"})
    return _error(400, "invalid_grant", "Invalid JWT Signature.")
