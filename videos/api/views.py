from __future__ import annotations

from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from project.api_errors import NO_STORE, ApiError
from videos.models import Provider


class ModelList(APIView):
    """GET /v1/models: the models that enabled providers serve, in OpenAI's list shape."""

    def get(self, request: Request) -> Response:
        data = []
        seen: set[str] = set()
        for provider in Provider.objects.filter(enabled=True).order_by("name"):
            created = int(provider.created_at.timestamp())
            for name in provider.model_names:
                if name in seen:
                    continue
                seen.add(name)
                data.append({"id": name, "object": "model", "created": created, "owned_by": provider.name})
        response = Response({"object": "list", "data": data})
        response["Cache-Control"] = NO_STORE
        return response


@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def not_found(request: Request) -> Response:
    raise ApiError(f"No API route {request.method} {request.path}.", status_code=404, code="not_found")
