"""Kling's request signature: a Bearer JWT (HS256) made from the access key and signed with the
secret key, which for the emulator is EMULATOR_API_KEY. Checked by videos.emulator.endpoint."""

from __future__ import annotations

import jwt
from django.conf import settings
from django.http import HttpRequest

from videos.emulator.errors import ApiError


def kling_error(status: int, code: int, message: str) -> ApiError:
    return ApiError(status, message, code=str(code))


def check(request: HttpRequest) -> None:
    authorization = request.headers.get("Authorization", "")
    if authorization[:7].lower() != "bearer " or not authorization[7:].strip():
        raise kling_error(401, 1000, "Authorization is empty")
    try:
        claims = jwt.decode(
            authorization[7:].strip(),
            settings.EMULATOR_API_KEY or "",
            algorithms=["HS256"],
            options={"require": ["iss", "exp", "nbf"]},
        )
    except jwt.ExpiredSignatureError:
        raise kling_error(401, 1004, "Authorization is expired") from None
    except jwt.ImmatureSignatureError:
        raise kling_error(401, 1003, "Authorization is not yet valid") from None
    except jwt.PyJWTError:
        raise kling_error(401, 1002, "Authorization is invalid") from None
    if not claims.get("iss"):
        raise kling_error(401, 1002, "Authorization is invalid")
