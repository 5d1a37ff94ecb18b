from __future__ import annotations

import pytest
from django.test import Client, override_settings

PRODUCTION_SECURITY = {
    "DEBUG": False,
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}


@override_settings(**PRODUCTION_SECURITY)
def test_pages_carry_the_security_headers(db):
    response = Client().get("/accounts/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@override_settings(**PRODUCTION_SECURITY)
def test_plain_http_is_redirected_to_https(db):
    response = Client().get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.urls("urls_errors")
@override_settings(DEBUG=False)
def test_an_api_error_is_an_envelope_without_traceback(db):
    response = Client(raise_request_exception=False).get("/v1/explode")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == "server_error"
    assert b"boom" not in response.content
    assert b"Traceback" not in response.content


@pytest.mark.urls("urls_errors")
@override_settings(DEBUG=False)
def test_a_page_error_is_a_plain_page_without_traceback(db):
    response = Client(raise_request_exception=False).get("/explode")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"boom" not in response.content


@override_settings(DEBUG=False)
def test_unknown_api_paths_answer_in_the_envelope(client, db):
    response = client.get("/v1/no/such/thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_oversized_dashboard_upload_is_refused_before_it_is_read(client, alice, settings):
    settings.MAX_REQUEST_BYTES = 2000
    client.force_login(alice)
    response = client.post("/videos/new/", {"prompt": "x" * 5000})
    assert response.status_code == 413
    assert b"The upload is too large" in response.content
