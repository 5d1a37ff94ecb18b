from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from conftest import bearer
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke

URL = "/v1/models"


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_plain_token_is_never_stored(alice):
    created = api_token_create(user=alice, name="laptop")
    assert created.raw.startswith("vp_")
    assert created.token.prefix == created.raw[:11]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        rows = cursor.fetchall()
    assert created.raw not in repr(rows)
    assert created.raw[11:] not in repr(rows)


def test_a_valid_token_authenticates_and_records_its_use(client, alice, alice_token):
    response = client.get(URL, **bearer(alice_token))
    assert response.status_code == 200
    assert response.json()["object"] == "list"
    token = ApiToken.objects.get(user=alice)
    assert token.last_used_at is not None


def test_models_endpoint_lists_what_enabled_providers_serve(client, alice_token):
    ids = [m["id"] for m in client.get(URL, **bearer(alice_token)).json()["data"]]
    assert "sora-2" in ids
    assert "sora" in ids


def test_missing_token_is_unauthorized(client, db):
    assert_unauthorized(client.get(URL))


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer vp_unknown", "Token vp_abc", "Bearer a b", "Basic YWxpY2U6cHc=", "Bearer " + "vp_" + "x" * 300],
)
def test_malformed_or_unknown_tokens_are_unauthorized(client, db, header):
    assert_unauthorized(client.get(URL, HTTP_AUTHORIZATION=header))


def test_revoked_token_is_unauthorized(client, alice, alice_token):
    token = ApiToken.objects.get(user=alice)
    assert api_token_revoke(user=alice, token_id=token.pk)
    assert_unauthorized(client.get(URL, **bearer(alice_token)))


def test_a_user_cannot_revoke_another_users_token(alice, bob, bob_token):
    token = ApiToken.objects.get(user=bob)
    assert not api_token_revoke(user=alice, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_expired_token_is_unauthorized(client, alice):
    raw = api_token_create(user=alice, name="short", expires_at=timezone.now() + timedelta(days=1)).raw
    assert client.get(URL, **bearer(raw)).status_code == 200
    with freeze_time(timezone.now() + timedelta(days=1, seconds=1)):
        assert_unauthorized(client.get(URL, **bearer(raw)))


def test_inactive_users_token_is_unauthorized(client, alice, alice_token):
    alice.is_active = False
    alice.save()
    assert_unauthorized(client.get(URL, **bearer(alice_token)))


def test_token_page_creates_shows_once_and_revokes(client, alice):
    client.force_login(alice)
    response = client.post(reverse("accounts:tokens"), {"name": "render script", "expires_in": "30"}, follow=True)
    raw = response.context["new_token"]["raw"]
    assert raw.encode() in response.content
    token = ApiToken.objects.get(user=alice)
    assert token.name == "render script"
    assert token.expires_at is not None
    # Shown once: a reload no longer has it.
    assert raw.encode() not in client.get(reverse("accounts:tokens")).content
    assert token.prefix.encode() in client.get(reverse("accounts:tokens")).content

    client.post(reverse("accounts:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_token_page_rejects_a_blank_name(client, alice):
    client.force_login(alice)
    response = client.post(reverse("accounts:tokens"), {"name": "   "})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_token_page_rejects_an_unknown_expiry_choice(client, alice):
    client.force_login(alice)
    response = client.post(reverse("accounts:tokens"), {"name": "x", "expires_in": "9999"})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_token_page_shows_only_the_users_own_tokens(client, alice, bob):
    api_token_create(user=bob, name="bobs-secret-name")
    client.force_login(alice)
    assert b"bobs-secret-name" not in client.get(reverse("accounts:tokens")).content


def test_revoking_another_users_token_through_the_page_changes_nothing(client, alice, bob):
    token = api_token_create(user=bob, name="b").token
    client.force_login(alice)
    client.post(reverse("accounts:token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_page_requires_login(client, db):
    response = client.get(reverse("accounts:tokens"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response.url


def test_create_api_token_command_prints_the_token_alone_on_the_last_line(client, alice):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "alice", "--name", "ci", stdout=out, stderr=err)
    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("vp_")
    assert " " not in raw
    assert ApiToken.objects.get(user=alice).name == "ci"
    assert client.get(URL, **bearer(raw)).status_code == 200


def test_create_api_token_command_rejects_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_token", "ghost", stdout=StringIO(), stderr=StringIO())
