"""Extending a finished video from its page: the form appears only where the model can extend
that video, says why not otherwise, and makes an extension like the API does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_helpers import make_video
from conftest import make_user
from django.urls import reverse
from django.utils import timezone

from videos.models import Provider, Video, VideoKind

pytestmark = pytest.mark.django_db


def veo(alice, state: str = "ready", **fields) -> Video:
    gemini = Provider.objects.get(name="emulator-gemini")
    values = {
        "provider": gemini,
        "model": "veo-3.1-generate-preview",
        "requested_model": "veo-3.1",
        "seconds": 8,
        "provider_generation_ids": ["abc0s0"],
        "provider_expires_at": timezone.now() + timedelta(days=1),
        "provider_job_id": "models/veo-3.1-generate-preview/operations/" + str(Video.objects.count()),
    }
    return make_video(alice, state, **{**values, **fields})


def test_a_ready_veo_video_offers_to_add_seven_seconds_and_is_extended(alice_client, alice, offline_providers):
    source = veo(alice)
    page = alice_client.get(reverse("videos:detail", args=[source.pk])).content.decode()
    assert reverse("videos:extend", args=[source.pk]) in page
    assert '<option value="7" selected>7 seconds</option>' in page
    response = alice_client.post(reverse("videos:extend", args=[source.pk]), {"prompt": "night falls", "seconds": "7"})
    extension = Video.objects.get(extend_source=source)
    assert response.status_code == 302
    assert response.url == reverse("videos:detail", args=[extension.pk])
    assert (extension.kind, extension.seconds, extension.base_seconds, extension.size) == (
        VideoKind.EXTEND,
        7,
        8,
        "1280x720",
    )
    page = alice_client.get(response.url).content.decode()
    assert "Extension of" in page
    assert reverse("videos:detail", args=[source.pk]) in page
    assert "15 seconds" in page
    assert (
        reverse("videos:detail", args=[extension.pk])
        in alice_client.get(reverse("videos:detail", args=[source.pk])).content.decode()
    )


def test_a_wrong_length_or_empty_prompt_is_a_message_in_the_form(alice_client, alice, offline_providers):
    source = veo(alice)
    response = alice_client.post(reverse("videos:extend", args=[source.pk]), {"prompt": "", "seconds": "9"})
    assert response.status_code == 400
    errors = response.context["extend_form"].errors
    assert "the prompt is empty" in " ".join(errors["prompt"])
    assert "seconds" in errors
    assert Video.objects.count() == 1


def test_sora_offers_no_extension_and_a_veo_video_the_provider_deleted_says_why(alice_client, alice, offline_providers):
    sora = make_video(alice, "ready")
    page = alice_client.get(reverse("videos:detail", args=[sora.pk])).content.decode()
    assert reverse("videos:extend", args=[sora.pk]) not in page
    old = veo(alice, provider_expires_at=timezone.now() - timedelta(hours=1))
    page = alice_client.get(reverse("videos:detail", args=[old.pk])).content.decode()
    assert reverse("videos:extend", args=[old.pk]) not in page
    assert "The provider no longer holds this video" in page
    response = alice_client.post(reverse("videos:extend", args=[old.pk]), {"prompt": "x", "seconds": "7"}, follow=True)
    assert "The provider no longer holds this video" in response.content.decode()
    assert not Video.objects.filter(kind=VideoKind.EXTEND).exists()


def test_another_users_video_cannot_be_extended(client, alice, offline_providers):
    source = veo(alice)
    client.force_login(make_user("bob"))
    response = client.post(reverse("videos:extend", args=[source.pk]), {"prompt": "x", "seconds": "7"})
    assert response.status_code == 404
    assert Video.objects.count() == 1
