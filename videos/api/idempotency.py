"""Idempotency-Key on POST: a retried request gets the original answer, never a second video.

The key is stored before the work starts (so a twin arriving meanwhile gets 409), with a
fingerprint of the request (so the same key with another body gets 422), and the answer is
kept for 24 hours. Only successful answers are kept; after an error the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import cast

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from project.api_errors import ApiError
from videos.models import IdempotencyKey

WINDOW = timedelta(hours=24)


def _plain(value: object) -> object:
    if isinstance(value, UploadedFile):
        file_digest = hashlib.sha256()
        for chunk in value.chunks():
            file_digest.update(chunk)
        value.seek(0)
        return {"file_sha256": file_digest.hexdigest()}
    return value


def fingerprint(request: Request) -> str:
    """The request as sent, independent of multipart boundaries and field order."""
    data = request.data
    if hasattr(data, "lists"):  # multipart or form: a QueryDict with files merged in
        body: object = sorted(
            ([name, [_plain(v) for v in values]] for name, values in data.lists()), key=lambda item: item[0]
        )
    else:
        body = data
    text = json.dumps([request.method, request.path, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def idempotent(request: Request, handler: Callable[[], Response]) -> Response:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handler()
    if not key or len(key) > 255 or not key.isprintable():
        raise ApiError(
            "Idempotency-Key must be 1 to 255 printable characters.",
            param="Idempotency-Key",
            code="invalid_idempotency_key",
        )
    user = cast(User, request.user)  # the API views run only for a signed-in caller
    request_hash = fingerprint(request)
    IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=timezone.now() - WINDOW).delete()
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(user=user, key=key, request_hash=request_hash)
    except IntegrityError:
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:
            raise ApiError(
                "The request with this Idempotency-Key just ended; retry.", status_code=409, code="idempotency_conflict"
            ) from None
        if existing.request_hash != request_hash:
            raise ApiError(
                "This Idempotency-Key was already used with a different request.",
                status_code=422,
                param="Idempotency-Key",
                code="idempotency_key_reused",
            ) from None
        if existing.status_code is None:
            raise ApiError(
                "A request with this Idempotency-Key is still being processed.",
                status_code=409,
                code="idempotency_conflict",
            ) from None
        response = Response(existing.response, status=existing.status_code)
        response["Idempotent-Replayed"] = "true"
        return response
    try:
        response = handler()
    except BaseException:
        record.delete()
        raise
    if 200 <= response.status_code < 300:
        IdempotencyKey.objects.filter(pk=record.pk).update(status_code=response.status_code, response=response.data)
    else:
        record.delete()
    return response
