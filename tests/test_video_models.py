from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError

from videos import catalogue, routing
from videos.models import Provider, Video, VideoAsset, new_video_id


def make_video(owner, **extra) -> Video:
    fields = {
        "provider": Provider.objects.get(name="emulator-openai"),
        "model": "sora-2",
        "prompt": "p",
        "size": "1280x720",
        "seconds": 4,
    }
    return Video.objects.create(owner=owner, **{**fields, **extra})


def test_video_ids_are_opaque_and_unique():
    ids = {new_video_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"video_[0-9a-f]{48}", i) for i in ids)


def test_a_new_video_gets_an_opaque_id_and_starts_pending(alice):
    video = make_video(alice)
    assert re.fullmatch(r"video_[0-9a-f]{48}", video.id)
    assert video.state == "pending"
    assert video.progress == 0


def test_for_user_never_returns_another_users_video(alice, bob):
    mine = make_video(alice)
    theirs = make_video(bob)
    assert list(Video.objects.for_user(alice)) == [mine]
    assert list(Video.objects.for_user(bob)) == [theirs]
    assert not Video.objects.for_user(alice).filter(pk=theirs.pk).exists()


def test_for_user_returns_nothing_for_anonymous_or_missing_users(alice):
    make_video(alice)
    assert not Video.objects.for_user(AnonymousUser()).exists()
    assert not Video.objects.for_user(None).exists()


def test_for_user_hides_deleted_videos(alice):
    from django.utils import timezone

    video = make_video(alice, deleted_at=timezone.now())
    assert not Video.objects.for_user(alice).filter(pk=video.pk).exists()


def test_an_asset_is_stored_once_per_variant_and_kind(alice):
    video = make_video(alice)
    VideoAsset.objects.create(
        video=video, kind="video", storage_key="k1", content_type="video/mp4", size_bytes=1, sha256="0" * 64
    )
    with pytest.raises(IntegrityError):
        VideoAsset.objects.create(
            video=video, kind="video", storage_key="k2", content_type="video/mp4", size_bytes=1, sha256="0" * 64
        )


def test_provider_keys_are_encrypted_and_masked(db):
    provider = Provider.objects.get(name="emulator-azure")
    provider.api_key = "azure-key-0123456789"
    provider.save()
    stored = Provider.objects.values_list("api_key_encrypted", flat=True).get(pk=provider.pk)
    assert "0123456789" not in stored
    assert Provider.objects.get(pk=provider.pk).api_key == "azure-key-0123456789"
    assert provider.api_key_hint == "azu…6789"


def test_zero_config_has_one_emulator_provider_per_protocol(db):
    kinds = dict(Provider.objects.filter(is_emulator=True, enabled=True).values_list("name", "kind"))
    assert kinds == {
        "emulator-openai": "openai",
        "emulator-azure": "azure_sora",
        "emulator-gemini": "gemini",
        "emulator-vertex": "vertex",
        "emulator-ark": "ark",
        "emulator-fal": "fal",
        "emulator-replicate": "replicate",
        "emulator-runway": "runway",
        "emulator-kling": "kling",
        "emulator-minimax": "minimax",
        "emulator-luma": "luma",
        "emulator-openrouter": "openrouter",
    }


def test_zero_config_serves_every_built_in_model_of_every_protocol(client, alice, alice_token):
    alice.is_staff = True  # staff see which provider model each listed model is served by
    alice.save()
    answer = client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {alice_token}")
    assert answer.status_code == 200
    listed = {(entry["provider"], entry["model"]) for model in answer.json()["data"] for entry in model["providers"]}
    expected = {
        (provider.name, model)
        for provider in Provider.objects.filter(is_emulator=True)
        for model in catalogue.builtin_models(provider.kind)
    }
    assert len(expected) >= 28  # every protocol, several models each
    # One route per provider and model is listed; another name of the same model at the same
    # provider (Ark's Volcengine id) is reached by that name, or pinned.
    for provider, model in sorted(expected - listed):
        for asked in (model, f"{provider}/{model}"):
            served = routing.resolve(asked)
            assert served is not None, asked
            assert [(r.provider.name, r.model) for r in served.routes] == [(provider, model)]
    assert len(expected - listed) <= 1


def test_a_video_asked_for_by_a_providers_other_name_of_a_model_goes_there(client, alice_token):
    answer = client.post(
        "/v1/videos",
        {"model": "doubao-seedance-2-0-260128", "prompt": "a harbour", "size": "1280x720", "seconds": "5"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_token}",
    )
    assert answer.status_code == 200, answer.content
    video = Video.objects.get(pk=answer.json()["id"])
    assert (video.provider.name, video.model) == ("emulator-ark", "doubao-seedance-2-0-260128")
