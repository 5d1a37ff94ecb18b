"""/v1/webhook_endpoints and /v1/webhook_event_types, in the shape the openai SDK's
`client.webhooks` manages. Each user sees and manages only their own endpoints: anyone
else's is a 404, like an unknown id. The signing secret is in the answer only to the create
and to a rotation."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from project.api_errors import ApiError
from videos.api.views import ApiView, page_limit, reject_unknown_fields
from webhooks import schema, services
from webhooks.models import WebhookDelivery, WebhookEndpoint

CREATE_FIELDS = {"name", "url", "event_types"}
ROTATE_FIELDS = {"keep_old_secret_active_for_24_hours"}
TEST_FIELDS = {"event_type"}


def endpoint_object(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "name": endpoint.name,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "created_at": int(endpoint.created_at.timestamp()),
        "updated_at": int(endpoint.updated_at.timestamp()),
        "signing_secret_hint": endpoint.secret_hint,
        # Beyond OpenAI's shape: whether deliveries go out, and why not.
        "status": "enabled" if endpoint.enabled else "disabled",
        "disabled_reason": endpoint.disabled_reason or None,
    }
    if secret is not None:
        body["signing_secret"] = secret
    return body


def invalid(exc: services.InvalidEndpoint) -> ApiError:
    return ApiError(exc.message, param=exc.param, code="invalid_value")


def _user(request: Request) -> User:
    return cast(User, request.user)  # every view here requires a signed-in user


def own_endpoint(request: Request, endpoint_id: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, owner=_user(request)).first()
    if endpoint is None:
        raise ApiError(
            f"No webhook endpoint found with id '{endpoint_id}'.", status_code=404, code="webhook_endpoint_not_found"
        )
    return endpoint


def _body(request: Request, allowed: set[str]) -> Any:
    reject_unknown_fields(request.data, allowed)
    return request.data


class EndpointCollection(ApiView):
    @extend_schema(**schema.CREATE)
    def post(self, request: Request) -> Response:
        data = _body(request, CREATE_FIELDS)
        try:
            endpoint, secret = services.endpoint_create(
                owner=request.user, name=data.get("name"), url=data.get("url"), event_types=data.get("event_types")
            )
        except services.InvalidEndpoint as exc:
            raise invalid(exc) from None
        return Response(endpoint_object(endpoint, secret=secret))

    @extend_schema(**schema.LIST)
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = page_limit(params, {"after", "limit"})
        mine = WebhookEndpoint.objects.filter(owner=_user(request)).order_by("-created_at", "-id")
        after = params.get("after")
        if after:
            anchor = mine.filter(pk=after).first()
            if anchor is None:
                raise ApiError(
                    f"No webhook endpoint found with id '{after}' to list after.",
                    param="after",
                    code="webhook_endpoint_not_found",
                )
            mine = mine.filter(created_at__lte=anchor.created_at).exclude(
                created_at=anchor.created_at, id__gte=anchor.id
            )
        rows = list(mine[: limit + 1])
        data = [endpoint_object(e) for e in rows[:limit]]
        return Response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": len(rows) > limit,
            }
        )


class EndpointDetail(ApiView):
    @extend_schema(**schema.RETRIEVE)
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(endpoint_object(own_endpoint(request, endpoint_id)))

    @extend_schema(**schema.UPDATE)
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = own_endpoint(request, endpoint_id)
        data = _body(request, CREATE_FIELDS)
        try:
            services.endpoint_update(
                endpoint, name=data.get("name"), url=data.get("url"), event_types=data.get("event_types")
            )
        except services.InvalidEndpoint as exc:
            raise invalid(exc) from None
        return Response(endpoint_object(endpoint))

    @extend_schema(**schema.DELETE)
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = own_endpoint(request, endpoint_id)
        services.endpoint_delete(endpoint)
        return Response({"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True})


class EndpointRotateSecret(ApiView):
    @extend_schema(**schema.ROTATE)
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = own_endpoint(request, endpoint_id)
        keep = _body(request, ROTATE_FIELDS).get("keep_old_secret_active_for_24_hours", False)
        if not isinstance(keep, bool):
            raise ApiError(
                "keep_old_secret_active_for_24_hours must be true or false.",
                param="keep_old_secret_active_for_24_hours",
            )
        secret = services.endpoint_rotate_secret(endpoint, keep_old_for_24_hours=keep)
        return Response(endpoint_object(endpoint, secret=secret))


class EndpointTest(ApiView):
    @extend_schema(**schema.TEST)
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = own_endpoint(request, endpoint_id)
        event_type = _body(request, TEST_FIELDS).get("event_type")
        try:
            row: WebhookDelivery = services.send_test(endpoint, event_type)
        except services.InvalidEndpoint as exc:
            raise invalid(exc) from None
        if row.last_status_code is None:
            raise ApiError(
                f"The test event could not be delivered: {row.last_error}",
                param="url",
                code="webhook_unreachable",
            )
        return Response(
            {
                "object": "webhook_endpoint.test",
                "webhook_endpoint_id": endpoint.id,
                "event_type": event_type,
                "status_code": row.last_status_code,
                "success": True,
            }
        )


class EventTypeList(ApiView):
    @extend_schema(**schema.EVENT_TYPE_LIST)
    def get(self, request: Request) -> Response:
        return Response({"object": "list", "data": list(services.EVENT_TYPES)})
