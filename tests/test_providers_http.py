"""The shared HTTP helper: retry-after parsing, error mapping, and what a lost answer means."""

from __future__ import annotations

import email.utils
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider
from videos.providers.errors import error_from_response, parse_error_body, parse_retry_after
from videos.providers.http import ProviderHttp


def response(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers or {})


def test_it_prefers_retry_after_ms_over_retry_after():
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "7"}) == 1.5


def test_it_reads_retry_after_in_seconds():
    assert parse_retry_after({"Retry-After": "7"}) == 7.0


def test_it_reads_retry_after_as_an_http_date():
    now = time.time()
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= parse_retry_after({"retry-after": header}, now=now) <= 31


def test_it_never_returns_a_negative_wait_for_a_past_date():
    header = email.utils.formatdate(time.time() - 600, usegmt=True)
    assert parse_retry_after({"retry-after": header}) == 0.0


def test_it_reads_azures_try_again_sentence_when_no_header_is_sent():
    message = "Rate limit is exceeded. Try again in 12 seconds."
    assert parse_retry_after({}, message) == 12.0


def test_it_ignores_garbage_retry_after():
    assert parse_retry_after({"retry-after": "soon", "retry-after-ms": "x"}) is None


def test_it_reads_codes_from_both_error_envelopes():
    openai = {
        "error": {"message": "Bad size", "type": "invalid_request_error", "param": "size", "code": "invalid_size"}
    }
    azure_flat = {"code": "InvalidRequest", "message": "width is invalid"}
    azure_inner = {
        "error": {"code": None, "message": "blocked", "inner_error": {"code": "ResponsibleAIPolicyViolation"}}
    }
    assert parse_error_body(openai) == ("invalid_size", "Bad size")
    assert parse_error_body(azure_flat) == ("InvalidRequest", "width is invalid")
    assert parse_error_body(azure_inner) == ("ResponsibleAIPolicyViolation", "blocked")
    assert parse_error_body(["not", "an", "object"]) == (None, None)


@pytest.mark.parametrize("status", [401, 403])
def test_it_makes_auth_failures_permanent(status):
    error = error_from_response(
        response(status, {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}})
    )
    assert error.permanent
    assert error.status_code == status
    assert error.code == "invalid_api_key"
    assert "Incorrect API key" in error.message


@pytest.mark.parametrize("status", [400, 404, 422])
def test_it_makes_request_errors_permanent_with_the_providers_message(status):
    error = error_from_response(response(status, {"error": {"message": "The video is no longer available."}}))
    assert error.permanent
    assert error.message == "The video is no longer available."


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_it_makes_throttling_and_server_errors_retryable(status):
    error = error_from_response(response(status, {"error": {"message": "busy"}}, {"retry-after": "7"}))
    assert not error.permanent
    assert error.retry_after == 7.0
    assert not error.outcome_unknown


def test_it_treats_a_gateway_timeout_on_a_create_as_an_unknown_outcome():
    assert error_from_response(response(504), create=True).outcome_unknown
    assert not error_from_response(response(503), create=True).outcome_unknown


def test_it_survives_an_html_error_page():
    error = error_from_response(httpx.Response(502, html="<html>Bad gateway</html>"))
    assert not error.permanent
    assert error.message == "HTTP 502 from the provider"


def test_config_defaults_follow_the_kind():
    openai = ProviderConfig(kind="openai", base_url="https://api.openai.com/v1/", api_key="sk-secret")
    azure = ProviderConfig(kind="azure_sora", base_url="https://r.openai.azure.com/openai/v1", api_key="k")
    assert (openai.auth_style, openai.api_version, openai.base_url) == ("bearer", None, "https://api.openai.com/v1")
    assert (azure.auth_style, azure.api_version) == ("api_key", "preview")
    assert "sk-secret" not in repr(openai)
    with pytest.raises(ValueError, match="must be http"):
        ProviderConfig(kind="openai", base_url="file:///etc/passwd", api_key="k")


def test_the_client_ignores_proxy_environment_and_never_follows_redirects(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    http = ProviderHttp(ProviderConfig(kind="openai", base_url="https://api.openai.com/v1", api_key="k"))
    assert http.client.trust_env is False
    assert http.client.follow_redirects is False
    assert "authorization" not in http.client.headers
    http.close()


# --- Lost answers, against real sockets ---------------------------------------------------------


def serve_once(behaviour: str) -> Iterator[str]:
    """A TCP peer that reads one request, then answers nothing: it closes, or just waits."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def run() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        if behaviour == "close":
            connection.close()
        else:
            stop.wait(10)
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/v1"
    stop.set()
    listener.close()


@pytest.fixture
def closing_server() -> Iterator[str]:
    yield from serve_once("close")


@pytest.fixture
def silent_server() -> Iterator[str]:
    yield from serve_once("wait")


def provider_at(base_url: str, **extra: object):
    return build_provider(ProviderConfig(kind="openai", base_url=base_url, api_key="k", **extra))


def test_a_create_whose_connection_drops_after_sending_has_an_unknown_outcome(closing_server):
    with provider_at(closing_server) as provider, pytest.raises(ProviderError) as caught:
        provider.create(SubmissionSpec(model="sora-2", prompt="a fox"))
    assert caught.value.outcome_unknown
    assert not caught.value.permanent


def test_a_create_whose_answer_times_out_has_an_unknown_outcome(silent_server):
    with provider_at(silent_server, read_timeout=0.3) as provider, pytest.raises(ProviderError) as caught:
        provider.create(SubmissionSpec(model="sora-2", prompt="a fox"))
    assert caught.value.outcome_unknown


def test_a_create_that_cannot_connect_is_safe_to_retry():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there any more
    with provider_at(f"http://127.0.0.1:{port}/v1") as provider, pytest.raises(ProviderError) as caught:
        provider.create(SubmissionSpec(model="sora-2", prompt="a fox"))
    assert not caught.value.outcome_unknown
    assert not caught.value.permanent
    assert caught.value.code == "unreachable"


def test_a_read_whose_connection_drops_is_retryable_and_not_a_create(closing_server):
    with provider_at(closing_server) as provider, pytest.raises(ProviderError) as caught:
        provider.retrieve("video_1")
    assert not caught.value.outcome_unknown
    assert not caught.value.permanent
