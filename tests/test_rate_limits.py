"""The API rate limit holds per account, whatever tokens it uses, and across server processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cluster_fixtures import database_url, free_port
from conftest import bearer
from freezegun import freeze_time

from accounts.models import RateCounter
from accounts.services import api_token_create

ROOT = Path(__file__).resolve().parent.parent
URL = "/v1/models"


@pytest.fixture(autouse=True)
def _counters_in_the_test_database(settings):
    """Count in the test database, rolled back after each test, even where REDIS_URL names a shared Redis."""
    settings.CACHES = {name: value for name, value in settings.CACHES.items() if name != "ratelimit"}


@pytest.fixture(autouse=True)
def _middleware_loaded(client, db):
    """Django loads its middleware, and psycopg's C module with it, on the first request: before a clock is frozen."""
    client.get("/accounts/login/")


def envelope_429(response) -> dict:
    assert response.status_code == 429, response.content[:300]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    return error


def test_all_tokens_and_the_session_of_one_account_share_one_limit(client, alice, bob, settings):
    settings.API_RATE_LIMIT = "4/hour"
    first = api_token_create(user=alice, name="laptop").raw
    second = api_token_create(user=alice, name="script").raw
    with freeze_time("2030-01-01 12:00:00"):
        assert client.get(URL, **bearer(first)).status_code == 200
        assert client.get(URL, **bearer(second)).status_code == 200
        assert client.get(URL, **bearer(first)).status_code == 200
        client.force_login(alice)
        assert client.get(URL).status_code == 200  # the dashboard's own session
        client.logout()
        # A token made now starts no fresh allowance.
        third = api_token_create(user=alice, name="one more").raw
        error = envelope_429(client.get(URL, **bearer(third)))
        assert "4 requests per hour for this account" in error["message"]
        envelope_429(client.get(URL, **bearer(first)))
        # Another account has its own.
        assert client.get(URL, **bearer(api_token_create(user=bob, name="b").raw)).status_code == 200


def test_the_429_says_when_the_window_resets_and_then_lets_requests_through(client, alice_token, settings):
    settings.API_RATE_LIMIT = "2/min"
    with freeze_time("2030-01-01 12:00:45") as frozen:
        for _ in range(2):
            assert client.get(URL, **bearer(alice_token)).status_code == 200
        response = client.get(URL, **bearer(alice_token))
        error = envelope_429(response)
        assert response["Retry-After"] == "15"
        assert error["message"].startswith(
            "Rate limit of 2 requests per minute for this account exceeded. It resets in 15 seconds."
        )
        frozen.move_to("2030-01-01 12:00:59")
        assert client.get(URL, **bearer(alice_token))["Retry-After"] == "1"
        frozen.move_to("2030-01-01 12:01:00")
        assert client.get(URL, **bearer(alice_token)).status_code == 200


def test_requests_without_a_valid_token_count_per_client_address(client, alice_token, settings):
    settings.API_RATE_LIMIT = "3/hour"
    with freeze_time("2030-01-01 12:00:00"):
        assert client.get(URL).status_code == 401
        assert client.get(URL, HTTP_AUTHORIZATION="Bearer vp_not-a-token").status_code == 401
        assert client.get(URL, HTTP_AUTHORIZATION="Basic YWxpY2U6cHc=").status_code == 401
        error = envelope_429(client.get(URL))
        assert "3 requests per hour for this address" in error["message"]
        # Another address, and a real token from the same address, are not held back.
        assert client.get(URL, REMOTE_ADDR="192.0.2.44").status_code == 401
        assert client.get(URL, **bearer(alice_token)).status_code == 200


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(client, db, settings):
    settings.API_RATE_LIMIT = "1/hour"
    settings.TRUSTED_PROXY_COUNT = 1
    with freeze_time("2030-01-01 12:00:00"):
        assert client.get(URL, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 401
        envelope_429(client.get(URL, HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.1"))  # spoofed first entry
        assert client.get(URL, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 401


# --- several server processes ----------------------------------------------------------------

LIMIT = 30
CLIENTS = 4
REQUESTS_PER_CLIENT = 20  # 80 requests for a limit of 30


# One process per server, threads inside it: the counters are shared between both kinds.
GUNICORN = [sys.executable, "-m", "gunicorn", "project.wsgi:application", "--workers", "1", "--threads", "4"]


def _hammer(urls: list[str], token: str, count: int, start_at: float) -> list[int]:
    """One client process: waits for the common start, then sends its requests round the servers."""
    time.sleep(max(0.0, start_at - time.time()))
    statuses = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        for index in range(count):
            statuses.append(http.get(urls[index % len(urls)] + URL).status_code)
    return statuses


@contextlib.contextmanager
def redis_server(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
    process = subprocess.Popen([binary, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if redis.Redis(port=port).ping():
                    break
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def web_servers(count: int, env: dict[str, str], tmp_path: Path) -> Iterator[list[str]]:
    """`count` gunicorn servers, each its own process, on the test database."""
    processes, urls = [], []
    try:
        for index in range(count):
            port = free_port()
            log = open(tmp_path / f"gunicorn-{index}.log", "wb")  # noqa: SIM115
            processes.append(
                subprocess.Popen(
                    [*GUNICORN, "--bind", f"127.0.0.1:{port}"],
                    env=env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        for url in urls:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url + "/accounts/login/", timeout=5).status_code == 200:
                        break
                assert time.monotonic() < deadline, (tmp_path / "gunicorn-0.log").read_text(errors="replace")[-3000:]
                time.sleep(0.2)
        yield urls
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("counters", ["database", "redis"])
def test_clients_in_several_processes_never_get_more_than_the_limit_through(alice, settings, tmp_path, counters):
    tokens = [api_token_create(user=alice, name=f"client {n}").raw for n in range(CLIENTS)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env.update(
        {
            "DATABASE_URL": database_url(),
            "DATA_DIR": str(tmp_path / "data"),
            "DEBUG": "true",
            "SECRET_KEY": settings.SECRET_KEY,
            "API_RATE_LIMIT": f"{LIMIT}/day",
            "REDIS_URL": "",
        }
    )
    # One window for the whole run: not in the last minutes of a UTC day.
    to_midnight = 86400 - time.time() % 86400
    if to_midnight < 180:
        time.sleep(to_midnight + 1)
    with contextlib.ExitStack() as stack:
        if counters == "redis":
            env["REDIS_URL"] = stack.enter_context(redis_server(tmp_path))
        urls = stack.enter_context(web_servers(3, env, tmp_path))
        start_at = time.time() + 1
        with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
            results = pool.starmap(_hammer, [(urls, token, REQUESTS_PER_CLIENT, start_at) for token in tokens])
    statuses = Counter(status for result in results for status in result)
    assert statuses == {200: LIMIT, 429: CLIENTS * REQUESTS_PER_CLIENT - LIMIT}, statuses
    # The counting was done where the configuration says: Redis when REDIS_URL is set.
    assert RateCounter.objects.exists() is (counters == "database")
