"""OpenAPI descriptions of the /v1 endpoints, for drf-spectacular (raw schemas, no serializers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": "string", "nullable": True},
                "code": {"type": "string", "nullable": True},
            },
        }
    },
}
VIDEO = {
    "type": "object",
    "required": [
        "id",
        "object",
        "model",
        "status",
        "progress",
        "created_at",
        "completed_at",
        "expires_at",
        "prompt",
        "size",
        "seconds",
        "remixed_from_video_id",
        "error",
    ],
    "properties": {
        "id": {"type": "string", "example": "video_691611812ca88190bfb123716dcc953a089a232f54b02b21"},
        "object": {"type": "string", "enum": ["video"]},
        "model": {
            "type": "string",
            "example": "veo-3.1",
            "description": "A model id from /v1/models (any provider serving it may make the video), or "
            "`provider/model` for one provider.",
        },
        "status": {"type": "string", "enum": ["queued", "in_progress", "completed", "failed"]},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "created_at": {"type": "integer"},
        "completed_at": {"type": "integer", "nullable": True},
        "expires_at": {"type": "integer", "nullable": True},
        "prompt": {"type": "string"},
        "size": {"type": "string", "example": "1280x720"},
        "seconds": {"type": "string", "example": "4"},
        "remixed_from_video_id": {"type": "string", "nullable": True},
        "error": {
            "type": "object",
            "nullable": True,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}


def page_of(item: dict) -> dict:
    """A cursor page of `item`s, as the OpenAI lists answer."""
    return {
        "type": "object",
        "required": ["object", "data", "first_id", "last_id", "has_more"],
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {"type": "array", "items": item},
            "first_id": {"type": "string", "nullable": True},
            "last_id": {"type": "string", "nullable": True},
            "has_more": {"type": "boolean"},
        },
    }


def deleted(object_name: str) -> dict:
    """The answer to a delete: the id, `object_name` and `deleted`."""
    return {
        "type": "object",
        "required": ["id", "object", "deleted"],
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string", "enum": [object_name]},
            "deleted": {"type": "boolean"},
        },
    }


VIDEO_LIST = page_of(VIDEO)
DELETED = deleted("video.deleted")
QUERY = {
    "type": "object",
    "required": ["task_id", "video_id", "task_status", "message", "duration", "video_result"],
    "properties": {
        "task_id": {"type": "string"},
        "video_id": {"type": "string", "description": "Empty until the video is stored."},
        "task_status": {"type": "string", "enum": ["processing", "success", "failed"]},
        "message": {"type": "string"},
        "duration": {"type": "string"},
        "video_result": {"type": "string", "description": "A signed, expiring download URL once stored; empty before."},
    },
}
MODEL_LIST = {
    "type": "object",
    "properties": {
        "object": {"type": "string", "enum": ["list"]},
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "object": {"type": "string"},
                    "created": {"type": "integer"},
                    "owned_by": {"type": "string"},
                    "capabilities": {
                        "type": "object",
                        "description": "What the model can be asked for (an extension of the OpenAI shape).",
                        "properties": {
                            "sizes": {"type": "array", "items": {"type": "string"}},
                            "seconds": {"type": "array", "items": {"type": "string"}},
                            "seconds_by_size": {
                                "type": "object",
                                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                            },
                            "max_variants": {"type": "integer"},
                            "variants_by_size": {"type": "object", "additionalProperties": {"type": "integer"}},
                            "inputs": {
                                "type": "object",
                                "properties": {
                                    "input_reference": {"type": "boolean"},
                                    "last_frame": {"type": "boolean"},
                                    "reference_images": {"type": "integer"},
                                    "reference_images_seconds": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                            "audio": {"type": "string", "enum": ["none", "always", "optional"]},
                            "negative_prompt": {"type": "boolean"},
                            "seed": {"type": "boolean"},
                            "remix": {"type": "boolean"},
                            "extend": {
                                "type": "object",
                                "required": ["supported", "seconds", "sizes", "max_video_seconds"],
                                "properties": {
                                    "supported": {"type": "boolean"},
                                    "seconds": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "How many seconds an extension may add.",
                                    },
                                    "sizes": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "description": "The sizes of video that can be extended.",
                                    },
                                    "max_video_seconds": {
                                        "type": "integer",
                                        "nullable": True,
                                        "description": "The longest video that can still be extended.",
                                    },
                                },
                            },
                            "retention_seconds": {"type": "integer"},
                            "retention_from": {"type": "string", "enum": ["completion", "creation"]},
                        },
                    },
                    "label": {"type": "string", "description": "The model's name, for people."},
                    "routes": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "`provider/model` ids, each pinning one of the providers that serve the model.",
                    },
                    "providers": {
                        "type": "array",
                        "description": "Staff only: each provider serving the model, its own name for it, its "
                        "priority and what it can do.",
                        "items": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "provider": {"type": "string"},
                                "model": {"type": "string"},
                                "priority": {"type": "integer"},
                                "capabilities": {"type": "object"},
                            },
                        },
                    },
                },
            },
        },
    },
}
CREATE_FIELDS = {
    "prompt": {"type": "string", "minLength": 1, "maxLength": 32000},
    "model": {"type": "string", "example": "sora-2"},
    "seconds": {
        "type": "string",
        "example": "4",
        "description": "A string: one of the durations the model's provider allows.",
    },
    "size": {"type": "string", "example": "720x1280"},
    "n_variants": {"type": "integer", "minimum": 1, "maximum": 4, "description": "Azure Sora providers only."},
    "negative_prompt": {"type": "string", "description": "What the video should not show (models that take it)."},
    "seed": {"type": "integer", "minimum": 0, "maximum": 4294967295, "description": "Models that take a seed."},
    "audio": {"type": "boolean", "description": "Sound on or off, for models that can be silent."},
    "input_fit": {
        "type": "string",
        "enum": ["crop", "pad", "exact"],
        "description": "How frames of another size are fitted: crop (default), pad, or refuse (exact).",
    },
}
IMAGE_URL = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"image_url": {"type": "string", "description": "A base64 data URL of a JPEG, PNG or WebP."}},
}
CREATE_JSON = {
    "type": "object",
    "required": ["prompt"],
    "additionalProperties": False,
    "properties": {
        **CREATE_FIELDS,
        "input_reference": IMAGE_URL,
        "last_frame": IMAGE_URL,
        "reference_images": {"type": "array", "items": IMAGE_URL, "maxItems": 8},
    },
}
CREATE_MULTIPART = {
    "type": "object",
    "required": ["prompt"],
    "additionalProperties": False,
    "properties": {
        **CREATE_FIELDS,
        "input_reference": {"type": "string", "format": "binary", "description": "The start frame (see input_fit)."},
        "last_frame": {"type": "string", "format": "binary", "description": "The last frame (models that take it)."},
        "reference_images": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 8},
    },
}
REMIX_BODY = {
    "type": "object",
    "required": ["prompt"],
    "additionalProperties": False,
    "properties": {"prompt": {"type": "string", "minLength": 1, "maxLength": 32000}},
}
EXTEND_BODY = {
    "type": "object",
    "required": ["prompt", "seconds", "video"],
    "additionalProperties": False,
    "properties": {
        "prompt": {"type": "string", "minLength": 1, "maxLength": 32000, "description": "What happens next."},
        "seconds": {"type": "string", "description": "How many seconds to add (the model's `extend.seconds`)."},
        "video": {
            "type": "object",
            "required": ["id"],
            "additionalProperties": False,
            "properties": {"id": {"type": "string", "description": "One of your completed videos."}},
            "description": "The video to extend; in a form, `video[id]`.",
        },
    },
}
QUERY_BODY = {
    "type": "object",
    "required": ["video_id"],
    "additionalProperties": False,
    "properties": {"video_id": {"type": "string"}},
}


def errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ERROR) for code in (401, 429, *codes)}


VIDEO_ID = OpenApiParameter("video_id", str, OpenApiParameter.PATH, description="The video's id (video_…)")

CREATE: dict[str, Any] = {
    "operation_id": "createVideo",
    "summary": "Create a video",
    "request": {"application/json": CREATE_JSON, "multipart/form-data": CREATE_MULTIPART},
    "responses": {200: OpenApiResponse(VIDEO), **errors(400, 409, 413, 415, 422)},
    "parameters": [OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    "examples": [
        OpenApiExample(
            "Text to video",
            value={"prompt": "A red fox in the snow", "model": "sora-2", "seconds": "4", "size": "1280x720"},
            request_only=True,
        )
    ],
}
LIST: dict[str, Any] = {
    "operation_id": "listVideos",
    "summary": "List your videos",
    "parameters": [
        OpenApiParameter("after", str, description="List videos after this id"),
        OpenApiParameter("limit", int, description="1 to 100 (default 20)"),
        OpenApiParameter("order", str, enum=["asc", "desc"], description="By creation time (default desc)"),
    ],
    "responses": {200: OpenApiResponse(VIDEO_LIST), **errors(400)},
}
RETRIEVE: dict[str, Any] = {
    "operation_id": "retrieveVideo",
    "summary": "Retrieve a video",
    "parameters": [VIDEO_ID],
    "responses": {200: OpenApiResponse(VIDEO), **errors(404)},
}
DELETE: dict[str, Any] = {
    "operation_id": "deleteVideo",
    "summary": "Delete a video",
    "parameters": [VIDEO_ID],
    "responses": {200: OpenApiResponse(DELETED), **errors(404)},
}
REMIX: dict[str, Any] = {
    "operation_id": "remixVideo",
    "summary": "Remix one of your completed videos",
    "parameters": [VIDEO_ID, OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    "request": {"application/json": REMIX_BODY},
    "responses": {200: OpenApiResponse(VIDEO), **errors(400, 404, 409, 415, 422)},
}
EXTEND: dict[str, Any] = {
    "operation_id": "extendVideo",
    "summary": "Extend one of your completed videos",
    "description": "A new video: the source with `seconds` more at its end, made by the source's provider "
    "and model (those whose capabilities say `extend.supported`). Its `seconds` is the length added.",
    "parameters": [OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    "request": {"application/json": EXTEND_BODY, "multipart/form-data": EXTEND_BODY},
    "responses": {200: OpenApiResponse(VIDEO), **errors(400, 404, 409, 415, 422, 429)},
}
CONTENT: dict[str, Any] = {
    "operation_id": "downloadVideoContent",
    "summary": "Download a video's content",
    "parameters": [
        VIDEO_ID,
        OpenApiParameter("variant", str, enum=["video", "thumbnail", "spritesheet"]),
        OpenApiParameter("index", int, description="Which variant (Azure Sora jobs with n_variants > 1); default 0"),
        OpenApiParameter("Range", str, OpenApiParameter.HEADER, required=False),
    ],
    "responses": {
        (200, "video/mp4"): OpenApiResponse(description="The file (video/mp4, image/webp or image/jpeg)"),
        (206, "video/mp4"): OpenApiResponse(description="The requested byte range"),
        302: OpenApiResponse(description="Redirect to a short-lived signed storage URL (CONTENT_DELIVERY=redirect)"),
        **errors(400, 404, 416),
    },
}
QUERY_GET: dict[str, Any] = {
    "operation_id": "queryVideo",
    "summary": "Query a video (relay format)",
    "parameters": [VIDEO_ID],
    "responses": {200: OpenApiResponse(QUERY), **errors(404)},
}
QUERY_POST: dict[str, Any] = {
    "operation_id": "queryVideoByBody",
    "summary": "Query a video (relay format)",
    "request": {"application/json": QUERY_BODY},
    "responses": {200: OpenApiResponse(QUERY), **errors(400, 404, 415)},
}
MODELS: dict[str, Any] = {
    "operation_id": "listModels",
    "summary": "List available models",
    "responses": {200: OpenApiResponse(MODEL_LIST), **errors()},
}
