"""Schemathesis over the published schema: whatever it sends, the API never answers 5xx."""

from __future__ import annotations

import json

import pytest
import schemathesis
from conftest import make_user
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.services import api_token_create


def published_schema() -> dict:
    """The document served at /v1/schema (generated the same way, without a request)."""
    from drf_spectacular.generators import SchemaGenerator

    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(published_schema())


@pytest.fixture
def target(live_server, media_root, settings) -> dict:
    settings.USER_MAX_ACTIVE_VIDEOS, settings.USER_DAILY_SECONDS = 10**6, 10**9
    return {"base_url": live_server.url, "headers": {"Authorization": f"Bearer {_token()}"}}


def _token() -> str:
    from accounts.models import User

    user = User.objects.filter(username="fuzzer").first() or make_user("fuzzer")
    return api_token_create(user=user, name="fuzz").raw


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_the_api_fail(case, target):
    response = case.call(base_url=target["base_url"], headers=target["headers"])
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance], headers=target["headers"]
    )
