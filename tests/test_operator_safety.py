"""An operator's click never destroys a stored video, and never sends a provider key elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import bearer, make_user
from django.urls import reverse
from django.utils import timezone
from test_pipeline_inprocess import drive, new_video

from accounts.services import api_token_create
from videos import archive, services
from videos.models import Provider, Video

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ready_video(providers, media_root) -> Video:
    video = drive(new_video(make_user("alice"), providers["emulator-openai"]))
    assert video.state == "ready"
    return video


def stored(video: Video) -> dict[str, tuple[str, str]]:
    return {a.kind: (a.storage_key, a.sha256) for a in video.assets.all()}


def served(client, video: Video) -> bytes:
    token = api_token_create(user=video.owner, name="check").raw
    response = client.get(f"/v1/videos/{video.pk}/content", **bearer(token))
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def archive_again(client, video: Video):
    staff = make_user("sam", is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse("admin:videos_video_changelist")
    return client.post(url, {"action": "repoll_or_rearchive", "_selected_action": [video.pk]}, follow=True)


def test_archive_again_on_a_ready_video_the_provider_forgot_keeps_it_ready_and_served(client, ready_video):
    before = stored(ready_video)
    content = served(client, ready_video)
    with ready_video.provider.adapter() as adapter:
        adapter.delete(ready_video.provider_job_id)  # as the provider does when its retention ends

    page = archive_again(client, ready_video).content.decode()
    assert "Nothing changed for these ready videos" in page
    assert "no longer knows the job" in page
    ready_video.refresh_from_db()
    assert ready_video.state == "ready"
    assert stored(ready_video) == before
    assert served(client, ready_video) == content


def test_a_fresh_copy_that_meets_a_forgotten_job_leaves_the_stored_one_alone(client, ready_video, media_root):
    before = stored(ready_video)
    with ready_video.provider.adapter() as adapter:
        adapter.delete(ready_video.provider_job_id)
    assert archive.rearchive_video(ready_video.pk) == "kept"
    ready_video.refresh_from_db()
    assert ready_video.state == "ready"
    assert ready_video.lease_owner == ""
    assert stored(ready_video) == before
    for key, _sha in before.values():
        assert (media_root / key).exists()
    assert served(client, ready_video)


def test_archive_again_replaces_the_copy_while_the_provider_still_has_it(client, ready_video, media_root):
    before = stored(ready_video)
    content = served(client, ready_video)
    page = archive_again(client, ready_video).content.decode()
    assert "making a fresh copy of 1 ready video" in page
    ready_video.refresh_from_db()
    assert ready_video.state == "ready"  # never moved back while the copy is made

    assert archive.rearchive_video(ready_video.pk) == "replaced"
    after = stored(ready_video)
    assert set(after) == set(before)
    for kind, (key, sha) in after.items():
        assert key != before[kind][0]
        assert sha == before[kind][1]
        assert (media_root / key).exists()
        assert not (media_root / before[kind][0]).exists()
    assert served(client, ready_video) == content


def test_archive_again_past_the_providers_retention_changes_nothing(client, ready_video):
    Video.objects.filter(pk=ready_video.pk).update(provider_expires_at=timezone.now() - timedelta(minutes=1))
    before = stored(ready_video)
    page = archive_again(client, ready_video).content.decode()
    assert "retention has ended" in page
    ready_video.refresh_from_db()
    assert ready_video.state == "ready"
    assert stored(ready_video) == before


def test_the_sweeper_never_expires_a_video_whose_deadline_moved_since_it_looked(providers, media_root):
    video = new_video(make_user("alice"), providers["emulator-openai"])
    Video.objects.filter(pk=video.pk).update(
        state="generating", provider_job_id="video_x", provider_expires_at=timezone.now() + timedelta(hours=1)
    )
    assert not services.video_mark_expired(video.pk)
    video.refresh_from_db()
    assert video.state == "generating"
    Video.objects.filter(pk=video.pk).update(provider_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.video_mark_expired(video.pk)


def test_the_sweeper_never_expires_a_video_someone_holds_or_an_archive_is_retrying(providers, media_root):
    video = new_video(make_user("alice"), providers["emulator-openai"])
    past = timezone.now() - timedelta(seconds=1)
    # A poll or an archive holds it: the update leaves it alone, whatever the ids it read said.
    held = {"lease_owner": "w1", "lease_expires_at": timezone.now() + timedelta(minutes=1)}
    Video.objects.filter(pk=video.pk).update(
        state="generating", provider_job_id="video_x", provider_expires_at=past, **held
    )
    assert not services.video_mark_expired(video.pk)
    # An archive between two tries (no lease): it goes on trying while the files may be there.
    Video.objects.filter(pk=video.pk).update(state="archiving", lease_owner="", lease_expires_at=None)
    assert not services.video_mark_expired(video.pk)
    video.refresh_from_db()
    assert video.state == "archiving"


def provider_form(provider: Provider, **changes) -> dict:
    data = {
        "name": provider.name,
        "display_name": provider.display_name,
        "kind": provider.kind,
        "base_url": provider.base_url,
        "auth_style": provider.auth_style,
        "api_version": provider.api_version,
        "model_names": '["sora-2"]',
        "sizes": "[]",
        "seconds": "[]",
        "max_variants": 1,
        "max_concurrent_jobs": 4,
        "retention_seconds": 3600,
        "requests_per_minute": 60,
        "priority": 0,
        "enabled": "on",
    }
    return {**data, **changes}


def test_changing_a_providers_base_url_requires_entering_the_key_again(client, staff):
    provider = Provider.objects.create(name="gateway", kind="openai", base_url="https://api.example.com/v1")
    provider.api_key = "sk-stored-key-1234"
    provider.save()
    client.force_login(staff)
    url = reverse("admin:videos_provider_change", args=[provider.pk])

    response = client.post(url, provider_form(provider, base_url="https://collector.example.net/v1"))
    assert response.status_code == 200
    assert "Enter the API key again" in response.content.decode()
    provider.refresh_from_db()
    assert provider.base_url == "https://api.example.com/v1"

    response = client.post(url, provider_form(provider, display_name="Gateway"))
    assert response.status_code == 302  # other changes keep the stored key

    moved = provider_form(provider, base_url="https://collector.example.net/v1", new_api_key="sk-new-key-5678")
    assert client.post(url, moved).status_code == 302
    provider.refresh_from_db()
    assert provider.base_url == "https://collector.example.net/v1"
    assert provider.api_key == "sk-new-key-5678"
