"""Fixtures for tests that talk to the built-in emulator over HTTP (owned by the emulator work).

    def test_something(emulator):
        client = emulator.openai()                       # httpx.Client on .../emulator/openai/v1
        video = client.post("/videos", data={"prompt": "fox [emulator:queue=0,generation=0]"}).json()
        emulator.add_fault("rate_limit", protocol="openai", operation="create", retry_after=7)
        assert emulator.jobs_created("openai") == 1

`emulator` serves pytest-django's live_server, with quick default timings (0.5 s queue, 1.5 s
generation) that a test can change through the `settings` fixture or per job with prompt
directives (videos/emulator/directives.py). Answers are checked against the providers' OpenAPI
documents with `openai_schema(...)` / `azure_schema(...)`.
"""

from __future__ import annotations

import copy
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator
from PIL import Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from videos.emulator import control
from videos.emulator.models import Fault, Job

INSTANT = "[emulator:queue=0,generation=0]"


@dataclass
class Emulator:
    url: str  # ends in /emulator
    api_key: str

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/openai/v1"

    @property
    def azure_endpoint(self) -> str:
        """What Azure calls the endpoint: the protocol's paths start with /openai/v1 below it."""
        return f"{self.url}/azure"

    @property
    def azure_base_url(self) -> str:
        return f"{self.url}/azure/openai/v1"

    @property
    def gemini_url(self) -> str:
        """The Gemini API's host as an SDK sees it: /v1beta and /v1 paths below it."""
        return f"{self.url}/gemini"

    def gemini(self, version: str = "v1beta", **options: object) -> httpx.Client:
        headers = {"x-goog-api-key": self.api_key, **options.pop("headers", {})}  # type: ignore[dict-item]
        return httpx.Client(base_url=f"{self.gemini_url}/{version}", headers=headers, timeout=30, **options)  # type: ignore[arg-type]

    @property
    def ark_base_url(self) -> str:
        return f"{self.url}/ark/api/v3"

    def ark(self, **options: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}", **options.pop("headers", {})}  # type: ignore[dict-item]
        return httpx.Client(base_url=self.ark_base_url, headers=headers, timeout=30, **options)  # type: ignore[arg-type]

    @property
    def fal_url(self) -> str:
        """Where fal's queue host is: endpoint ids and request paths below it."""
        return f"{self.url}/fal"

    def fal(self, **options: object) -> httpx.Client:
        headers = {"Authorization": f"Key {self.api_key}", **options.pop("headers", {})}  # type: ignore[dict-item]
        return httpx.Client(base_url=self.fal_url, headers=headers, timeout=30, **options)  # type: ignore[arg-type]

    @property
    def runway_url(self) -> str:
        return f"{self.url}/runway"

    @property
    def luma_url(self) -> str:
        """The Dream Machine API's base URL, as `lumaai.LumaAI(base_url=...)` takes it."""
        return f"{self.url}/luma/dream-machine/v1"

    @property
    def openrouter_base_url(self) -> str:
        return f"{self.url}/openrouter/api/v1"

    @property
    def replicate_url(self) -> str:
        """The SDK's base URL: it adds /v1 itself."""
        return f"{self.url}/replicate"

    def openai(self, **options: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return httpx.Client(base_url=self.openai_base_url, headers=headers, timeout=30, **options)  # type: ignore[arg-type]

    def azure(self, **options: object) -> httpx.Client:
        """Sends `api-key` and `api-version=preview` on every call, as Azure clients do."""
        return httpx.Client(
            base_url=self.azure_base_url,
            headers={"api-key": self.api_key},
            params={"api-version": "preview"},
            timeout=30,
            **options,  # type: ignore[arg-type]
        )

    def add_fault(
        self, kind: str, *, protocol: str = "*", operation: str = "*", remaining: int | None = 1, **params: object
    ) -> Fault:
        """Switch a fault on (remaining=None: unlimited). Same rules as POST /_control/faults."""
        values = control.clean_fault(
            {"kind": kind, "protocol": protocol, "operation": operation, "remaining": remaining, **params}
        )
        return Fault.objects.create(**values)

    def clear_faults(self) -> None:
        Fault.objects.all().delete()

    def counters(self) -> dict:
        """{"counters": {protocol: {operation: n}}, "jobs_created": {protocol: n}}"""
        return control.counters_json()

    def received(self, protocol: str, operation: str) -> int:
        return self.counters()["counters"].get(protocol, {}).get(operation, 0)

    def jobs_created(self, protocol: str) -> int:
        return self.counters()["jobs_created"][protocol]

    def job(self, public_id: str) -> Job:
        return Job.objects.get(public_id=public_id)


@pytest.fixture
def emulator(live_server, settings) -> Iterator[Emulator]:
    settings.EMULATOR_QUEUE_SECONDS = 0.5
    settings.EMULATOR_GENERATION_SECONDS = 1.5
    settings.EMULATOR_FAILURE_RATE = 0
    settings.EMULATOR_REQUESTS_PER_MINUTE = 0
    settings.EMULATOR_MAX_CONCURRENT_JOBS = 0
    settings.EMULATOR_VIDEO_BYTES = 0
    if not settings.EMULATOR_API_KEY:
        settings.EMULATOR_API_KEY = "emulator-test-key"
    control.reset()
    yield Emulator(url=f"{live_server.url}/emulator", api_key=settings.EMULATOR_API_KEY)
    control.reset()


# --- The providers' published contracts -------------------------------------------------------


CONTRACTS = Path(__file__).resolve().parent / "contracts"  # copies of the published documents, see its README


def _nullable_optionals(node: object) -> object:
    """Azure's document (OpenAPI 3.0) leaves out `nullable`, yet the service sends null for unset
    optional fields (finished_at, expires_at, failure_reason: see Microsoft's quickstart output).
    An optional property may therefore be null; required ones keep their declared type."""
    if isinstance(node, dict):
        node = {key: _nullable_optionals(value) for key, value in node.items()}
        properties = node.get("properties")
        if isinstance(properties, dict):
            required = set(node.get("required", []))
            node["properties"] = {
                name: schema if name in required else {"anyOf": [schema, {"type": "null"}]}
                for name, schema in properties.items()
            }
        return node
    if isinstance(node, list):
        return [_nullable_optionals(item) for item in node]
    return node


def _nullable_flags(node: object) -> object:
    """`nullable: true` (an OpenAPI 3.0 word that Replicate's 3.1 document still uses) as JSON
    Schema says it: null is one of the types."""
    if isinstance(node, dict):
        node = {key: _nullable_flags(value) for key, value in node.items()}
        if node.pop("nullable", False) is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable_flags(item) for item in node]
    return node


def _one_of_as_any_of(node: object) -> object:
    """Replicate's `version` is `oneOf` [any string, the string "hidden"]: "hidden", which the
    document names for official models, matches both, so no answer could pass. Read as `anyOf`."""
    if isinstance(node, dict):
        return {("anyOf" if key == "oneOf" else key): _one_of_as_any_of(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_one_of_as_any_of(item) for item in node]
    return node


def _all_of_merged(node: object, components: dict) -> object:
    """An `allOf` of objects (OpenRouter's FrameImage: an image part plus its `frame_type`) as one
    object schema, so that closing each part does not refuse the other part's keys."""
    if isinstance(node, dict):
        node = {key: _all_of_merged(value, components) for key, value in node.items()}
        parts = node.get("allOf")
        if isinstance(parts, list):
            resolved = [
                components[part["$ref"].rsplit("/", 1)[1]] if isinstance(part, dict) and "$ref" in part else part
                for part in parts
            ]
            if all(isinstance(part, dict) and "properties" in part for part in resolved):
                merged = {key: value for key, value in node.items() if key != "allOf"}
                merged["type"] = "object"
                merged["properties"] = {k: v for part in resolved for k, v in part["properties"].items()}
                merged["required"] = sorted({name for part in resolved for name in part.get("required", [])})
                return merged
        return node
    if isinstance(node, list):
        return [_all_of_merged(item, components) for item in node]
    return node


def _closed(node: object) -> object:
    """Refuse keys a schema does not list, so an extra field in an answer is caught."""
    if isinstance(node, dict):
        node = {key: _closed(value) for key, value in node.items()}
        if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


@cache
def _registry(name: str) -> Registry:
    document = json.loads((CONTRACTS / name).read_text())
    if document["openapi"].startswith("3.0"):
        document = _nullable_optionals(document)
    document = _nullable_flags(document)
    if name.startswith("replicate"):
        document = _one_of_as_any_of(document)
    if name.startswith("openrouter"):
        document = _all_of_merged(document, document["components"]["schemas"])
    document = _closed(copy.deepcopy(document))
    return Registry().with_resource("urn:spec", Resource.from_contents(document, default_specification=DRAFT202012))


def _validator(document: str, schema: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"urn:spec#/components/schemas/{schema}"}, registry=_registry(document))


def openai_schema(schema: str) -> Draft202012Validator:
    """A validator for a schema of openai-videos.openapi.json, e.g. "VideoResource"."""
    return _validator("openai-videos.openapi.json", schema)


def replicate_schema(schema: str) -> Draft202012Validator:
    """A validator for a schema of replicate-videos.openapi.json, e.g. "schemas_prediction_response"."""
    return _validator("replicate-videos.openapi.json", schema)


def runway_schema(path: str, method: str = "get", status: int = 200) -> Draft202012Validator:
    """A validator for the answer (or, with method "post" and status 0, the body) of a path of
    runway-videos.openapi.json; Runway's document writes its schemas inline, not as components."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    where = "requestBody" if status == 0 else f"responses/{status}"
    ref = f"urn:spec#/paths/{pointer}/{method}/{where}/content/application~1json/schema"
    return Draft202012Validator({"$ref": ref}, registry=_registry("runway-videos.openapi.json"))


def luma_schema(schema: str) -> Draft202012Validator:
    """A validator for a schema of luma-videos.openapi.json, e.g. "Generation" or "GenerationRequest"."""
    return _validator("luma-videos.openapi.json", schema)


def openrouter_schema(schema: str) -> Draft202012Validator:
    """A validator for a schema of openrouter-videos.openapi.json, e.g. "VideoGenerationResponse"."""
    return _validator("openrouter-videos.openapi.json", schema)


def azure_schema(schema: str) -> Draft202012Validator:
    """A validator for a schema of azure-video-generation.openapi.json, e.g. "VideoGenerationJob"."""
    return _validator("azure-video-generation.openapi.json", schema)


def assert_openai_error(response: httpx.Response, status: int) -> dict:
    """The OpenAI envelope: {"error": {"message", "type", "param", "code"}}, nothing else."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body["error"]


def assert_google_error(response: httpx.Response, status: int, word: str) -> dict:
    """Google's envelope: {"error": {"code": <status>, "message", "status": WORD[, "details"]}}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) - {"details"} == {"code", "message", "status"}
    assert body["error"]["code"] == status
    assert body["error"]["status"] == word
    assert body["error"]["message"]
    return body["error"]


def assert_azure_error(response: httpx.Response, status: int) -> dict:
    """The Azure envelope {"error": {"code", "message"}}; the spec's error schema describes the inner object."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    azure_schema("AzureOpenAIVideoGenerationErrorResponse").validate(body["error"])
    return body["error"]


# --- Small helpers ----------------------------------------------------------------------------


def image_bytes(width: int, height: int, image_format: str = "PNG") -> bytes:
    """A real image of the given size, for input_reference and inpaint files."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, image_format)
    return buffer.getvalue()


def wait_until(check: Callable[[], object], *, timeout: float = 15, interval: float = 0.05) -> object:
    """Call `check` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout} s: {check}")
        time.sleep(interval)
