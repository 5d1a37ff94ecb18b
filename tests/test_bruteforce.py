from __future__ import annotations

from conftest import PASSWORD
from django.conf import settings
from django.urls import reverse

LIMIT = settings.AXES_FAILURE_LIMIT


def attempt(client, username: str, password: str, ip: str, url: str | None = None):
    return client.post(
        url or reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR="10.9.8.7",
        HTTP_X_FORWARDED_FOR=ip,
    )


def test_account_locks_after_repeated_failures_whatever_the_forwarded_address(client, alice):
    for i in range(LIMIT):
        attempt(client, "alice", "wrong", f"203.0.113.{i}")
    locked = attempt(client, "alice", PASSWORD, "198.51.100.1")
    assert locked.status_code in (403, 429)
    assert b"Too many failed log-in attempts" in locked.content
    assert "_auth_user_id" not in client.session


def test_lock_is_by_account_too_not_only_by_address(client, alice):
    for i in range(LIMIT):
        client.post(reverse("accounts:login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR=f"192.0.2.{i}")
    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="192.0.2.200"
    )
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_unknown_user_is_locked_the_same_way(client, db):
    ghost = [attempt(client, "ghost", "wrong", "203.0.113.1").status_code for _ in range(LIMIT + 1)]
    assert ghost[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert ghost[-1] in (403, 429)


def test_admin_login_is_covered(client, staff):
    url = reverse("admin:login")
    for _ in range(LIMIT):
        client.post(url, {"username": "sam", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    response = client.post(url, {"username": "sam", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2")
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_resets_the_count(client, alice):
    for _ in range(LIMIT - 1):
        attempt(client, "alice", "wrong", "203.0.113.9")
    assert attempt(client, "alice", PASSWORD, "203.0.113.9").status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        attempt(client, "alice", "wrong", "203.0.113.9")
    assert attempt(client, "alice", PASSWORD, "203.0.113.9").status_code == 302
