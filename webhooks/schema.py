"""OpenAPI descriptions of /v1/webhook_endpoints, for drf-spectacular (raw schemas, as videos/api/schema.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from videos.api.schema import deleted, errors, page_of

EVENT_TYPE = {"type": "string", "enum": ["video.completed", "video.failed"]}
ENDPOINT_PROPERTIES = {
    "id": {"type": "string", "example": "we_0123456789abcdef0123456789abcdef"},
    "object": {"type": "string", "enum": ["webhook_endpoint"]},
    "name": {"type": "string"},
    "url": {"type": "string", "example": "https://example.com/hooks/videos"},
    "event_types": {"type": "array", "items": EVENT_TYPE},
    "created_at": {"type": "integer"},
    "updated_at": {"type": "integer"},
    "signing_secret_hint": {"type": "string"},
    "status": {"type": "string", "enum": ["enabled", "disabled"]},
    "disabled_reason": {"type": "string", "nullable": True},
}
REQUIRED = ["id", "object", "name", "url", "event_types", "created_at", "updated_at", "signing_secret_hint", "status"]
ENDPOINT = {"type": "object", "required": REQUIRED, "properties": ENDPOINT_PROPERTIES}
ENDPOINT_WITH_SECRET = {
    "type": "object",
    "required": [*REQUIRED, "signing_secret"],
    "properties": {
        **ENDPOINT_PROPERTIES,
        "signing_secret": {"type": "string", "description": "Shown only in this answer."},
    },
}
ENDPOINT_LIST = page_of(ENDPOINT)
DELETED = deleted("webhook_endpoint.deleted")
TEST_RESULT = {
    "type": "object",
    "required": ["object", "webhook_endpoint_id", "event_type", "status_code", "success"],
    "properties": {
        "object": {"type": "string", "enum": ["webhook_endpoint.test"]},
        "webhook_endpoint_id": {"type": "string"},
        "event_type": EVENT_TYPE,
        "status_code": {"type": "integer"},
        "success": {"type": "boolean"},
    },
}
EVENT_TYPES = {
    "type": "object",
    "required": ["object", "data"],
    "properties": {"object": {"type": "string", "enum": ["list"]}, "data": {"type": "array", "items": EVENT_TYPE}},
}
CREATE_BODY = {
    "type": "object",
    "required": ["name", "url", "event_types"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "url": {"type": "string", "maxLength": 2000},
        "event_types": {"type": "array", "items": EVENT_TYPE, "minItems": 1},
    },
}
UPDATE_BODY = {**CREATE_BODY, "required": []}
ROTATE_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"keep_old_secret_active_for_24_hours": {"type": "boolean"}},
}
TEST_BODY = {
    "type": "object",
    "required": ["event_type"],
    "additionalProperties": False,
    "properties": {"event_type": EVENT_TYPE},
}
ENDPOINT_ID = OpenApiParameter(
    "endpoint_id", str, OpenApiParameter.PATH, description="The webhook endpoint's id (we_…)"
)

CREATE: dict[str, Any] = {
    "operation_id": "createWebhookEndpoint",
    "summary": "Create a webhook endpoint",
    "request": {"application/json": CREATE_BODY},
    "responses": {200: OpenApiResponse(ENDPOINT_WITH_SECRET), **errors(400, 415)},
}
LIST: dict[str, Any] = {
    "operation_id": "listWebhookEndpoints",
    "summary": "List your webhook endpoints, newest first",
    "parameters": [
        OpenApiParameter("after", str, description="List endpoints after this id"),
        OpenApiParameter("limit", int, description="1 to 100 (default 20)"),
    ],
    "responses": {200: OpenApiResponse(ENDPOINT_LIST), **errors(400)},
}
RETRIEVE: dict[str, Any] = {
    "operation_id": "retrieveWebhookEndpoint",
    "summary": "Retrieve a webhook endpoint",
    "parameters": [ENDPOINT_ID],
    "responses": {200: OpenApiResponse(ENDPOINT), **errors(404)},
}
UPDATE: dict[str, Any] = {
    "operation_id": "updateWebhookEndpoint",
    "summary": "Update a webhook endpoint",
    "parameters": [ENDPOINT_ID],
    "request": {"application/json": UPDATE_BODY},
    "responses": {200: OpenApiResponse(ENDPOINT), **errors(400, 404, 415)},
}
DELETE: dict[str, Any] = {
    "operation_id": "deleteWebhookEndpoint",
    "summary": "Delete a webhook endpoint",
    "parameters": [ENDPOINT_ID],
    "responses": {200: OpenApiResponse(DELETED), **errors(404)},
}
ROTATE: dict[str, Any] = {
    "operation_id": "rotateWebhookEndpointSecret",
    "summary": "Rotate a webhook endpoint's signing secret",
    "parameters": [ENDPOINT_ID],
    "request": {"application/json": ROTATE_BODY},
    "responses": {200: OpenApiResponse(ENDPOINT_WITH_SECRET), **errors(400, 404, 415)},
}
TEST: dict[str, Any] = {
    "operation_id": "testWebhookEndpoint",
    "summary": "Send a sample event to a webhook endpoint now",
    "parameters": [ENDPOINT_ID],
    "request": {"application/json": TEST_BODY},
    "responses": {200: OpenApiResponse(TEST_RESULT), **errors(400, 404, 415)},
}
EVENT_TYPE_LIST: dict[str, Any] = {
    "operation_id": "listWebhookEventTypes",
    "summary": "The event types this platform sends",
    "responses": {200: OpenApiResponse(EVENT_TYPES), **errors()},
}
