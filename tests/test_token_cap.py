"""An account holds at most API_TOKENS_PER_USER live tokens, however it creates them."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import ApiToken
from accounts.services import TokenCapReached, api_token_create, api_token_revoke

CAP_MESSAGE = "This account already has 2 active API tokens, the most it may have."


@pytest.fixture(autouse=True)
def _cap(settings):
    settings.API_TOKENS_PER_USER = 2


def test_the_tokens_page_refuses_one_token_too_many_with_a_message(client, alice):
    client.force_login(alice)
    for name in ("laptop", "script"):
        assert client.post(reverse("accounts:tokens"), {"name": name}).status_code == 302
    assert "2 of 2 active tokens in use" in client.get(reverse("accounts:tokens")).content.decode()
    response = client.post(reverse("accounts:tokens"), {"name": "one more"})
    assert response.status_code == 400
    assert CAP_MESSAGE in response.content.decode()
    assert "Revoke a token you no longer use" in response.content.decode()
    assert sorted(ApiToken.objects.filter(user=alice).values_list("name", flat=True)) == ["laptop", "script"]


def test_the_command_refuses_one_token_too_many(alice):
    for _ in range(2):
        call_command("create_api_token", "alice", stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    with pytest.raises(CommandError, match=CAP_MESSAGE):
        call_command("create_api_token", "alice", stdout=out, stderr=StringIO())
    assert out.getvalue() == ""
    assert ApiToken.objects.filter(user=alice).count() == 2


def test_revoked_and_expired_tokens_leave_room_for_new_ones(alice, bob):
    api_token_create(user=alice, name="kept")
    revoked = api_token_create(user=alice, name="revoked")
    with pytest.raises(TokenCapReached):
        api_token_create(user=alice, name="refused")
    assert api_token_revoke(user=alice, token_id=revoked.token.pk)
    api_token_create(user=alice, name="short", expires_at=timezone.now() + timedelta(days=1))
    with freeze_time(timezone.now() + timedelta(days=2)):
        assert api_token_create(user=alice, name="after expiry").token.is_active
        with pytest.raises(TokenCapReached):
            api_token_create(user=alice, name="refused again")
    # The cap is per account.
    assert api_token_create(user=bob, name="bob's").token.user == bob


@pytest.mark.django_db(transaction=True)
def test_creates_racing_at_once_never_pass_the_cap(alice):
    # Each thread has its own database connection, as gunicorn workers do; they start together.
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def create(index: int) -> None:
        start.wait()
        try:
            api_token_create(user=alice, name=f"racer {index}")
            outcomes.append("made")
        except TokenCapReached:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["made", "made"] + ["refused"] * 4
    assert ApiToken.objects.filter(user=alice).count() == 2
