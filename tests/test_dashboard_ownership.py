"""Another user's video is invisible on the dashboard: every URL answers like a missing id."""

from __future__ import annotations

import re

from api_helpers import make_video
from django.urls import reverse

from videos.models import Video


def without_csrf(content: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content.decode())


def urls_of(video_id: str) -> list[tuple[str, str]]:
    return [
        ("get", reverse("videos:detail", args=[video_id])),
        ("get", reverse("videos:delete", args=[video_id])),
        ("post", reverse("videos:delete", args=[video_id])),
        ("post", reverse("videos:remix", args=[video_id])),
        ("get", reverse("videos:file", args=[video_id, 0, "video"])),
        ("get", reverse("videos:file", args=[video_id, 0, "thumbnail"])),
        ("get", reverse("videos:file", args=[video_id, 0, "start-frame"])),
    ]


def test_another_users_video_answers_exactly_like_a_missing_one(client, alice, bob, offline_providers):
    video = make_video(alice, "ready", prompt="alice's private harbour")
    client.force_login(bob)
    for (method, url), (_, missing_url) in zip(urls_of(video.pk), urls_of("video_" + "0" * 48), strict=True):
        theirs = getattr(client, method)(url, {"prompt": "take it"} if method == "post" else {})
        missing = getattr(client, method)(missing_url, {"prompt": "take it"} if method == "post" else {})
        assert theirs.status_code == missing.status_code == 404, url
        assert without_csrf(theirs.content) == without_csrf(missing.content), url
        assert "harbour" not in theirs.content.decode()
    video.refresh_from_db()
    assert video.deleted_at is None
    assert Video.objects.count() == 1


def test_the_gallery_and_usage_show_only_own_videos(client, alice, bob, offline_providers):
    make_video(alice, "ready", prompt="alice's private harbour")
    client.force_login(bob)
    gallery = client.get(reverse("videos:list")).content.decode()
    assert "harbour" not in gallery
    assert "No videos yet" in gallery
    for state in ("active", "ready", "failed"):
        assert "harbour" not in client.get(reverse("videos:list"), {"state": state}).content.decode()
    assert "<strong>0</strong> videos" in client.get(reverse("accounts:usage")).content.decode()


def test_the_status_endpoint_answers_only_about_own_videos(client, alice, bob, offline_providers):
    mine = make_video(bob, "generating", progress=30)
    theirs = make_video(alice, "generating", progress=70)
    client.force_login(bob)
    response = client.get(reverse("videos:status"), {"ids": f"{mine.pk},{theirs.pk},video_nope"})
    assert response.status_code == 200
    assert set(response.json()["videos"]) == {mine.pk}


def test_another_users_video_cannot_be_used_to_prefill_the_form(client, alice, bob, offline_providers):
    video = make_video(alice, "failed", prompt="alice's private harbour")
    client.force_login(bob)
    response = client.get(reverse("videos:new"), {"from": video.pk})
    assert "harbour" not in response.content.decode()


def test_a_deleted_video_answers_404_to_its_owner_too(client, alice, offline_providers):
    video = make_video(alice, "ready")
    client.force_login(alice)
    client.post(reverse("videos:delete", args=[video.pk]))
    for method, url in urls_of(video.pk):
        assert getattr(client, method)(url).status_code == 404, url
