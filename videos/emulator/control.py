"""Fault switches and counters, for tests (through the ORM) and other processes (through HTTP).

    GET    /emulator/_control/faults          the faults, oldest first
    POST   /emulator/_control/faults          add one: {"kind": "rate_limit", "protocol": "openai",
                                              "operation": "create", "remaining": 2, "retry_after": 7}
    DELETE /emulator/_control/faults          remove all
    DELETE /emulator/_control/faults/{id}     remove one
    GET    /emulator/_control/counters        {"counters": {"openai": {"create": 3, ...}},
                                               "jobs_created": {"openai": 2, "azure": 0}}
    POST   /emulator/_control/reset           forget faults, counters, rate windows and the
                                              callbacks not yet sent; {"jobs": true} forgets
                                              the jobs too

Every call needs the emulator's API key (Authorization: Bearer or api-key).
"""

from __future__ import annotations

import json
import math

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from videos.emulator import accounting, callbacks
from videos.emulator.endpoint import key_is_valid
from videos.emulator.models import PROTOCOLS as EMULATED_PROTOCOLS
from videos.emulator.models import Counter, Fault, Job, RateWindow

KINDS = {kind for kind, _ in Fault.KINDS}
PROTOCOLS = {*EMULATED_PROTOCOLS, "*"}
OPERATIONS = {"create", "list", "retrieve", "delete", "remix", "content", "generation", "media", "result", "token", "*"}
NUMBERS = {"probability", "retry_after", "delay"}
INTEGERS = {"remaining", "status_code", "chunk_bytes", "truncate_at"}
TEXTS = {"protocol", "operation", "kind", "redirect_url", "status_word"}


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def fault_json(fault: Fault) -> dict:
    fields = ["id", "kind", "protocol", "operation", "remaining", "probability", "status_code", "retry_after"]
    fields += ["delay", "chunk_bytes", "truncate_at", "redirect_url", "status_word", "hits"]
    return {name: getattr(fault, name) for name in fields}


def counters_json() -> dict:
    table = accounting.counters()
    created = {protocol: table.get(protocol, {}).pop(accounting.JOBS_CREATED, 0) for protocol in EMULATED_PROTOCOLS}
    return {"counters": table, "jobs_created": created}


def clean_fault(data: object) -> dict[str, object]:
    """Check a fault description; the same rules serve the HTTP API and the test helpers."""
    if not isinstance(data, dict):
        raise ControlError(400, "Send a JSON object.")
    unknown = set(data) - NUMBERS - INTEGERS - TEXTS
    if unknown:
        raise ControlError(400, f"Unknown fields: {', '.join(sorted(unknown))}.")
    values = dict(data)
    for name in TEXTS & set(values):
        if not isinstance(values[name], str):
            raise ControlError(400, f"'{name}' must be a string.")
    for name in NUMBERS & set(values):
        value = values[name]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        ):
            raise ControlError(400, f"'{name}' must be a number.")
    for name in INTEGERS & set(values):
        value = values[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ControlError(400, f"'{name}' must be an integer >= 0 or null.")
    if values.get("kind") not in KINDS:
        raise ControlError(400, f"'kind' must be one of: {', '.join(sorted(KINDS))}.")
    if values.setdefault("protocol", "*") not in PROTOCOLS:
        raise ControlError(400, f"'protocol' must be one of {', '.join(sorted(EMULATED_PROTOCOLS))} or *.")
    if values.setdefault("operation", "*") not in OPERATIONS:
        raise ControlError(400, f"'operation' must be one of: {', '.join(sorted(OPERATIONS))}.")
    probability = values.get("probability", 1.0)
    if probability is None or not 0 <= float(probability) <= 1:
        raise ControlError(400, "'probability' must be between 0 and 1.")
    for name in ("delay", "chunk_bytes"):
        if values.get(name) is None:
            values.pop(name, None)
    if values["kind"] == "endless_body":
        if values.get("chunk_bytes") == 0:
            raise ControlError(400, "'chunk_bytes' must be at least 1 for an endless body.")
        status = values.get("status_code")
        if status is not None and not 200 <= status <= 599:
            raise ControlError(400, "'status_code' must be between 200 and 599 for an endless body.")
    return values


@csrf_exempt
def faults(request: HttpRequest, fault_id: int | None = None) -> HttpResponse:
    def handle() -> HttpResponse:
        if fault_id is not None:
            if request.method != "DELETE":
                raise ControlError(405, "Only DELETE is allowed here.")
            deleted, _ = Fault.objects.filter(pk=fault_id).delete()
            if not deleted:
                raise ControlError(404, f"No fault {fault_id}.")
            return HttpResponse(status=204)
        if request.method == "GET":
            return JsonResponse({"faults": [fault_json(f) for f in Fault.objects.all()]})
        if request.method == "DELETE":
            Fault.objects.all().delete()
            return HttpResponse(status=204)
        if request.method == "POST":
            fault = Fault.objects.create(**clean_fault(_json(request)))
            return JsonResponse(fault_json(fault), status=201)
        raise ControlError(405, "Use GET, POST or DELETE.")

    return _guarded(request, handle)


@csrf_exempt
def counters(request: HttpRequest) -> HttpResponse:
    def handle() -> HttpResponse:
        if request.method != "GET":
            raise ControlError(405, "Use GET.")
        return JsonResponse(counters_json())

    return _guarded(request, handle)


def reset(*, jobs: bool = False) -> None:
    callbacks.cancel_pending()
    with transaction.atomic():
        Fault.objects.all().delete()
        Counter.objects.all().delete()
        RateWindow.objects.all().delete()
        if jobs:
            Job.objects.all().delete()


@csrf_exempt
def reset_view(request: HttpRequest) -> HttpResponse:
    def handle() -> HttpResponse:
        if request.method != "POST":
            raise ControlError(405, "Use POST.")
        data = _json(request) if request.body else {}
        reset(jobs=bool(isinstance(data, dict) and data.get("jobs")))
        return HttpResponse(status=204)

    return _guarded(request, handle)


def _json(request: HttpRequest) -> object:
    try:
        return json.loads(request.body)
    except ValueError as error:
        raise ControlError(400, "The body must be JSON.") from error


def _guarded(request: HttpRequest, handle: object) -> HttpResponse:
    try:
        if not key_is_valid(request):
            raise ControlError(401, "A valid emulator API key is required.")
        return handle()  # type: ignore[operator]
    except ControlError as error:
        return JsonResponse({"error": {"code": str(error.status), "message": str(error)}}, status=error.status)
