"""Token-free download links end with the video, the password or "revoke all", and are rate limited."""

from __future__ import annotations

import re

import pytest
from api_helpers import MP4, make_video
from conftest import PASSWORD, bearer
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke

NEW_PASSWORD = "a different long passphrase 42"


@pytest.fixture(autouse=True)
def _counters_in_the_test_database(settings):
    """Count in the test database, rolled back after each test, even where REDIS_URL names a shared Redis."""
    settings.CACHES = {name: value for name, value in settings.CACHES.items() if name != "ratelimit"}


@pytest.fixture(autouse=True)
def _storage(media_root):
    pass


def link_for(video, token: str) -> str:
    """The video_result link of the query API, as a path on the test server."""
    body = Client().get(f"/v1/videos/query/{video.pk}", **bearer(token)).json()
    return body["video_result"].split("testserver", 1)[1]


def assert_downloads(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200, response.content[:300]
    assert b"".join(response.streaming_content) == MP4


def assert_refused(path: str, status: int, code: str) -> dict:
    response = Client().get(path)
    assert response.status_code == status, f"answered {response.status_code}"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    return error


def test_a_link_stops_working_when_its_video_or_its_owners_account_is_gone(client, alice, bob, alice_token, bob_token):
    video = make_video(alice, "ready", provider_job_id="video_" + "0a" * 24)
    path = link_for(video, alice_token)
    assert_downloads(path)
    assert client.delete(f"/v1/videos/{video.pk}", **bearer(alice_token)).status_code == 200
    assert_refused(path, 404, "video_not_found")

    bobs_path = link_for(make_video(bob, "ready", provider_job_id="video_" + "0b" * 24), bob_token)
    assert_downloads(bobs_path)
    bob.is_active = False
    bob.save()
    assert_refused(bobs_path, 404, "video_not_found")


def test_a_link_stops_working_when_the_owner_changes_the_password(client, alice, alice_token):
    path = link_for(make_video(alice, "ready"), alice_token)
    assert_downloads(path)
    client.force_login(alice)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert_refused(path, 403, "invalid_link")


def test_a_link_stops_working_when_the_password_is_reset(client, alice, alice_token):
    path = link_for(make_video(alice, "ready"), alice_token)
    assert_downloads(path)
    client.post(reverse("accounts:password_reset"), {"email": "alice@example.org"})
    reset = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(reset, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert_refused(path, 403, "invalid_link")


def test_revoke_all_on_the_tokens_page_ends_every_token_and_every_link(client, alice, bob, alice_token, bob_token):
    first = make_video(alice, "ready", provider_job_id="video_" + "01" * 24)
    second = make_video(alice, "ready", provider_job_id="video_" + "02" * 24)
    bobs = make_video(bob, "ready", provider_job_id="video_" + "03" * 24)
    paths = [link_for(first, alice_token), link_for(second, alice_token)]
    bobs_path = link_for(bobs, bob_token)
    # Revoking one token, or making another, leaves links alone.
    spare = api_token_create(user=alice, name="spare")
    assert api_token_revoke(user=alice, token_id=spare.token.pk)
    assert_downloads(paths[0])

    client.force_login(alice)
    page = client.get(reverse("accounts:tokens"))
    assert reverse("accounts:tokens_revoke_all").encode() in page.content
    response = client.post(reverse("accounts:tokens_revoke_all"), follow=True)
    assert response.status_code == 200
    assert "Download links handed out before now no longer work" in response.content.decode()

    for path in paths:
        assert_refused(path, 403, "invalid_link")
    assert not ApiToken.objects.active().filter(user=alice).exists()
    assert Client().get("/v1/models", **bearer(alice_token)).status_code == 401
    # Bob's links and tokens are his own; alice's new links work again.
    assert_downloads(bobs_path)
    assert_downloads(link_for(first, api_token_create(user=alice, name="new").raw))


def test_download_links_are_rate_limited_per_owner(alice, bob, alice_token, bob_token, settings):
    settings.API_RATE_LIMIT = "3/hour"
    mine = make_video(alice, "ready", provider_job_id="video_" + "04" * 24)
    other = make_video(alice, "ready", provider_job_id="video_" + "05" * 24)
    bobs = make_video(bob, "ready", provider_job_id="video_" + "06" * 24)
    with freeze_time("2030-01-01 12:40:00"):
        paths = [link_for(mine, alice_token), link_for(other, alice_token)]
        bobs_path = link_for(bobs, bob_token)
        for path in (paths[0], paths[1], paths[0]):
            assert_downloads(path)
        response = Client().get(paths[1])
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
        assert "for this account's download links" in response.json()["error"]["message"]
        assert response["Retry-After"] == str(20 * 60)
        # Another owner's links, and the owner's own API calls, have counters of their own.
        assert_downloads(bobs_path)
        assert Client().get("/v1/models", **bearer(alice_token)).status_code == 200
    with freeze_time("2030-01-01 13:00:00"):
        assert_downloads(paths[1])
