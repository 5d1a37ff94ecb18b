from __future__ import annotations

import json

import pytest
from conftest import bearer, make_user
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import ApiToken
from accounts.services import api_token_create
from videos.models import Provider, Video

CHANGELISTS = [
    "admin:index",
    "admin:accounts_user_changelist",
    "admin:accounts_apitoken_changelist",
    "admin:videos_video_changelist",
    "admin:videos_provider_changelist",
    "admin:django_q_schedule_changelist",
    "admin:django_q_success_changelist",
    "admin:django_q_failure_changelist",
]
if "orm" in settings.Q_CLUSTER:  # django-q2 shows its database queue only with the ORM broker
    CHANGELISTS.append("admin:django_q_ormq_changelist")


@pytest.fixture
def video(alice) -> Video:
    return Video.objects.create(
        owner=alice,
        provider=Provider.objects.get(name="emulator-openai"),
        model="sora-2",
        prompt="a lighthouse at dawn",
        size="1280x720",
        seconds=4,
    )


@pytest.mark.parametrize("name", CHANGELISTS)
def test_admin_pages_load_for_staff(client, staff, video, name):
    client.force_login(staff)
    assert client.get(reverse(name)).status_code == 200


def test_admin_detail_pages_load_for_staff(client, staff, video, alice_token):
    client.force_login(staff)
    for url in [
        reverse("admin:videos_video_change", args=[video.pk]),
        reverse("admin:videos_provider_change", args=[video.provider_id]),
        reverse("admin:accounts_apitoken_change", args=[ApiToken.objects.first().pk]),
        reverse("admin:accounts_user_change", args=[video.owner_id]),
    ]:
        assert client.get(url).status_code == 200, url


def test_admin_video_search_finds_by_id_and_prompt(client, staff, video):
    other = Video.objects.create(
        owner=video.owner, provider=video.provider, model="sora-2", prompt="a red kite", size="1280x720", seconds=4
    )
    client.force_login(staff)
    by_prompt = client.get(reverse("admin:videos_video_changelist"), {"q": "lighthouse"}).content
    by_id = client.get(reverse("admin:videos_video_changelist"), {"q": other.id}).content
    assert video.id.encode() in by_prompt
    assert other.id.encode() not in by_prompt
    assert other.id.encode() in by_id
    assert video.id.encode() not in by_id


def test_admin_never_shows_token_secrets_or_provider_keys(client, staff, alice):
    raw = api_token_create(user=alice, name="t").raw
    provider = Provider.objects.get(name="emulator-openai")
    provider.api_key = "sk-live-abcdefghijklmnop1234"
    provider.save()
    client.force_login(staff)
    pages = [
        client.get(reverse("admin:accounts_apitoken_changelist")).content,
        client.get(reverse("admin:accounts_user_change", args=[alice.pk])).content,
        client.get(reverse("admin:videos_provider_changelist")).content,
        client.get(reverse("admin:videos_provider_change", args=[provider.pk])).content,
    ]
    for content in pages:
        assert raw[11:].encode() not in content
        assert b"abcdefghijklmnop" not in content
    assert b"sk-\xe2\x80\xa61234" in pages[2]


def test_admin_sets_a_provider_key_without_storing_it_in_plain_text(client, staff):
    client.force_login(staff)
    provider = Provider.objects.get(name="emulator-openai")
    url = reverse("admin:videos_provider_change", args=[provider.pk])
    data = {
        "name": provider.name,
        "display_name": "x",
        "kind": provider.kind,
        "base_url": provider.base_url,
        "auth_style": provider.auth_style,
        "api_version": "",
        "model_names": '["sora-2"]',
        "sizes": "[]",
        "seconds": "[]",
        "max_concurrent_jobs": 2,
        "requests_per_minute": 60,
        "priority": 0,
        "enabled": "on",
        "new_api_key": "sk-brand-new-key-5678",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    provider.refresh_from_db()
    assert provider.api_key == "sk-brand-new-key-5678"
    assert "brand-new" not in provider.api_key_encrypted


def test_non_staff_are_sent_to_the_admin_login(client, alice):
    client.force_login(alice)
    for name in CHANGELISTS:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert reverse("admin:login") in response.url


def test_api_token_does_not_open_the_admin(client, staff):
    raw = api_token_create(user=staff, name="t").raw
    response = client.get(reverse("admin:videos_video_changelist"), **bearer(raw))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url


def test_staff_without_permission_gets_403(client, db):
    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_provider"))
    client.force_login(clerk)
    assert client.get(reverse("admin:videos_provider_changelist")).status_code == 200
    assert client.get(reverse("admin:videos_video_changelist")).status_code == 403


def test_staff_see_each_users_usage(client, staff, alice, settings, media_root):
    from api_helpers import make_video

    make_video(alice, "generating", seconds=8)
    make_video(alice, "ready", seconds=4)
    client.force_login(staff)
    listing = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert f"1 / {settings.USER_MAX_ACTIVE_VIDEOS}" in listing
    assert f"12 / {settings.USER_DAILY_SECONDS}" in listing
    detail = client.get(reverse("admin:accounts_user_change", args=[alice.pk])).content.decode()
    assert "1 of 5 videos in flight; 12 of 600 seconds requested today" in detail


def provider_form(provider, **changes) -> dict:
    data = {
        "name": provider.name,
        "display_name": provider.display_name,
        "kind": provider.kind,
        "base_url": provider.base_url,
        "auth_style": provider.auth_style,
        "api_version": provider.api_version,
        "model_names": json.dumps(provider.model_names),
        "sizes": "[]",
        "seconds": "[]",
        "max_concurrent_jobs": 2,
        "requests_per_minute": 60,
        "priority": 0,
        "model_capabilities": "{}",
        "download_hosts": "",
        "enabled": "on",
    }
    return {**data, **changes}


def test_staff_add_a_model_and_narrow_another_without_code(client, staff):
    client.force_login(staff)
    provider = Provider.objects.get(name="emulator-gemini")
    url = reverse("admin:videos_provider_change", args=[provider.pk])
    overrides = {
        "veo-3.1-generate-preview": {"seconds": [8], "negative_prompt": False},
        "veo-4-preview": {"sizes": ["1280x720"], "seconds": [10], "label": "Veo 4"},
    }
    names = ["veo-3.1-generate-preview", "veo-4-preview"]
    response = client.post(
        url,
        provider_form(
            provider,
            model_names=json.dumps(names),
            model_capabilities=json.dumps(overrides),
            download_hosts=".videos.example.net\ncdn.example.org:8443",
        ),
    )
    assert response.status_code == 302, response.content[:3000]
    provider.refresh_from_db()
    narrowed = provider.capabilities("veo-3.1-generate-preview")
    assert narrowed.seconds == (8,)
    assert not narrowed.negative_prompt
    assert narrowed.last_frame  # the rest stays as the catalogue says
    added = provider.capabilities("veo-4-preview")
    assert (added.sizes, added.seconds, added.retention_seconds) == (("1280x720",), (10,), 2 * 86400)
    assert provider.as_config().redirect_allow_hosts[-2:] == (".videos.example.net", "cdn.example.org:8443")


@pytest.mark.parametrize(
    ("capabilities", "hosts", "message"),
    [
        ({"sora-2": {"seconds": "eight"}}, "", "seconds"),
        ({"sora-2": {"colour": True}}, "", "unknown capability"),
        ({"sora-3": {"seconds": [4]}}, "", "not one of this provider"),
        ({"sora-2": {"sizes": ["wide"]}}, "", "WIDTHxHEIGHT"),
        ({}, "https://cdn.example.org/x", "not a host name"),
    ],
)
def test_capabilities_and_hosts_that_make_no_sense_are_refused(client, staff, capabilities, hosts, message):
    client.force_login(staff)
    provider = Provider.objects.get(name="emulator-openai")
    url = reverse("admin:videos_provider_change", args=[provider.pk])
    response = client.post(
        url, provider_form(provider, model_capabilities=json.dumps(capabilities), download_hosts=hosts)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    provider.refresh_from_db()
    assert provider.model_capabilities == {}
