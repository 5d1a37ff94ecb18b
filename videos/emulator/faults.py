"""Fault switches: picking them request by request, and the misbehaviours they cause.

A fault matches a request by protocol and operation (`*` matches any), fires with its
probability, and is used up after `remaining` requests (unlimited when empty). Each kind is
taken at the moment it applies, so a fault is not spent on a request it could not affect:
`drop`/`endless_body` only after a successful operation, `truncate`/`slow_stream` only when
content is about to stream, `expired`/`status_word` only when a job is being answered.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
from collections.abc import Iterator

from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from videos.emulator.errors import ApiError, rate_limited, retry_headers
from videos.emulator.models import Fault

BEFORE = ["rate_limit", "server_error", "html", "redirect"]
REDIRECTED = "emulator_redirected"
# Where an "endless" body stops at the latest, should a client read on without limit.
ENDLESS_BODY_MAX_BYTES = 1024**3

_HTML = (
    "<!DOCTYPE html>\n<html><head><title>Sign in to continue</title></head>"
    "<body><h1>Sign in to continue</h1><p>This network requires you to sign in.</p></body></html>\n"
)


def take(
    protocol: str, operation: str, kinds: list[str], *, exclusive: frozenset[str] = frozenset()
) -> dict[str, Fault]:
    """Consume at most one matching fault of each kind, and at most one among the `exclusive` kinds."""
    candidates = Fault.objects.filter(
        Q(remaining__isnull=True) | Q(remaining__gt=0),
        kind__in=kinds,
        protocol__in=[protocol, "*"],
        operation__in=[operation, "*"],
    )
    chosen: dict[str, Fault] = {}
    for fault in candidates:
        if fault.kind in chosen or (fault.kind in exclusive and exclusive & chosen.keys()):
            continue
        if fault.probability < 1 and random.random() >= fault.probability:
            continue
        rows = Fault.objects.filter(pk=fault.pk)
        if fault.remaining is None:
            used = rows.update(hits=F("hits") + 1)
        else:
            # Conditional, so two processes cannot both spend the last use.
            used = rows.filter(remaining__gt=0).update(remaining=F("remaining") - 1, hits=F("hits") + 1)
        if used:
            chosen[fault.kind] = fault
    return chosen


def before(request: HttpRequest, protocol: str, operation: str) -> HttpResponse | None:
    """Faults that answer instead of the operation (which is then never performed)."""
    kinds = [k for k in BEFORE if not (k == "redirect" and REDIRECTED in request.GET)]
    chosen = take(protocol, operation, ["delay", *kinds], exclusive=frozenset(kinds))
    if delay := chosen.pop("delay", None):
        time.sleep(max(0.0, delay.delay))
    for kind, fault in chosen.items():
        if kind == "rate_limit":
            wait = fault.retry_after if fault.retry_after is not None else 1.0
            message = (
                f"Rate limit is exceeded. Try again in {max(1, round(wait))} seconds."
                if protocol == "azure"
                else "Resource has been exhausted (e.g. check quota)."
                if protocol in ("gemini", "vertex")
                else f"Rate limit reached for requests. Please try again in {wait:.3f}s."
            )
            raise rate_limited(message, wait)
        if kind == "server_error":
            status = fault.status_code or 500
            headers = retry_headers(fault.retry_after) if fault.retry_after is not None else {}
            raise ApiError(
                status,
                "The server had an error while processing your request. Sorry about that!",
                type="server_error",
                azure_code="InternalServerError" if status == 500 else str(status),
                headers=headers,
            )
        if kind == "html":
            return HttpResponse(_HTML, status=fault.status_code or 200, content_type="text/html; charset=utf-8")
        if kind == "redirect":
            response = HttpResponse(status=fault.status_code or 302)
            response["Location"] = fault.redirect_url or _same_url_marked(request)
            return response
    return None


def _same_url_marked(request: HttpRequest) -> str:
    separator = "&" if request.META.get("QUERY_STRING") else "?"
    return request.build_absolute_uri() + f"{separator}{REDIRECTED}=1"


def drop_after(request: HttpRequest, protocol: str, operation: str) -> HttpResponse | None:
    """After the operation was performed: close the connection so the client gets no answer.

    The returned response is what the server then fails to write (a broken pipe it ignores).
    """
    if not take(protocol, operation, ["drop"]):
        return None
    hang_up(request)
    return HttpResponse(status=204)


def endless_after(protocol: str, operation: str) -> HttpResponseBase | None:
    """After the operation was performed: answer (200 unless `status_code` says otherwise) with a
    JSON object that never ends, as a broken or hostile gateway might.

    The body stops when the client hangs up: the server's next write fails and it closes the
    generator. `truncate_at` ends it sooner (a huge rather than endless body), and nothing goes
    past ENDLESS_BODY_MAX_BYTES, so a client that reads without limit cannot hang a test run.
    """
    chosen = take(protocol, operation, ["endless_body"])
    if not chosen:
        return None
    fault = chosen["endless_body"]
    total = ENDLESS_BODY_MAX_BYTES if fault.truncate_at is None else min(fault.truncate_at, ENDLESS_BODY_MAX_BYTES)
    body = _endless(total, max(1, fault.chunk_bytes), fault.delay)
    return StreamingHttpResponse(body, status=fault.status_code or 200, content_type="application/json")


def _endless(total: int, chunk_bytes: int, delay: float) -> Iterator[bytes]:
    # A string that is opened and never closed: no prefix of it parses.
    opening = b'{"id": "'[:total]
    filler = b"x" * chunk_bytes
    yield opening
    sent = len(opening)
    while sent < total:
        if delay > 0:
            time.sleep(delay)
        piece = filler[: total - sent]
        yield piece
        sent += len(piece)


def _find_socket(request: HttpRequest) -> socket.socket | None:
    found = request.META.get("gunicorn.socket")
    if isinstance(found, socket.socket):
        return found
    # Django's development and test servers: wsgi.input wraps the connection's reader
    # (LimitedStream -> BufferedReader -> SocketIO -> socket).
    node: object = request.META.get("wsgi.input")
    for _ in range(6):
        if isinstance(node, socket.socket):
            return node
        reader = getattr(node, "_read", None)
        node = getattr(reader, "__self__", None) or getattr(node, "raw", None) or getattr(node, "_sock", None)
        if node is None:
            return None
    return None


class ConnectionDropped(Exception):
    """Raised inside a response to make a server without a reachable socket close the connection."""


def hang_up(request: HttpRequest) -> None:
    """End the TCP connection now. Bytes already written still reach the client, then EOF."""
    sock = _find_socket(request)
    if sock is None:
        raise ConnectionDropped("connection dropped on purpose by an emulator fault")
    # Already closed by the client: nothing left to cut.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
