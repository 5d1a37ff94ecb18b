"""The dashboard's pages as a signed-in user sees them: gallery, video page, usage, home."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from api_helpers import make_video
from django.urls import reverse
from django.utils import timezone

from videos.models import Video


def title(response) -> str:
    return re.search(r"<title>(.*?)</title>", response.content.decode(), re.S).group(1).strip()


def test_home_explains_the_platform_to_visitors(client, db):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("accounts:signup") in page
    assert reverse("accounts:login") in page
    assert "video" in title(response).lower()


def test_home_sends_a_signed_in_user_to_their_videos(alice_client):
    response = alice_client.get("/")
    assert response.status_code == 302
    assert response.url == reverse("videos:list")


def test_pages_ask_visitors_to_log_in(client, db):
    for name, args in [("videos:list", []), ("videos:new", []), ("videos:detail", ["video_x"]), ("accounts:usage", [])]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("accounts:login")), name


def test_gallery_shows_own_videos_newest_first_with_badges(alice_client, alice, bob, offline_providers):
    old = make_video(alice, "ready", prompt="an old harbour", created_at=timezone.now() - timedelta(hours=2))
    running = make_video(alice, "generating", prompt="a running fox", progress=40)
    make_video(bob, "ready", prompt="bob's secret garden")
    response = alice_client.get(reverse("videos:list"))
    page = response.content.decode()
    assert title(response).startswith("My videos")
    assert "bob&#x27;s secret garden" not in page
    assert "secret garden" not in page
    assert page.index("a running fox") < page.index("an old harbour")
    assert f'data-video-id="{running.pk}" data-state="generating" data-active="true"' in page
    assert f'data-video-id="{old.pk}" data-state="ready" data-active="false"' in page
    assert 'value="40"' in page
    assert reverse("videos:file", args=[old.pk, 0, "thumbnail"]) in page
    assert reverse("videos:status") in page


def test_gallery_filters_by_state(alice_client, alice, offline_providers):
    make_video(alice, "ready", prompt="ready one")
    make_video(alice, "pending", prompt="queued one")
    make_video(alice, "failed", prompt="failed one")
    make_video(alice, "expired", prompt="expired one")
    shown = {}
    for state in ("", "active", "ready", "failed", "bogus"):
        page = alice_client.get(reverse("videos:list"), {"state": state} if state else {}).content.decode()
        shown[state] = {p for p in ("ready one", "queued one", "failed one", "expired one") if p in page}
    assert shown[""] == shown["bogus"] == {"ready one", "queued one", "failed one", "expired one"}
    assert shown["active"] == {"queued one"}
    assert shown["ready"] == {"ready one"}
    assert shown["failed"] == {"failed one", "expired one"}


def test_gallery_pages_through_many_videos(alice_client, alice, offline_providers):
    start = timezone.now()
    for i in range(14):
        make_video(alice, "failed", prompt=f"clip number {i:02d}", created_at=start - timedelta(minutes=i))
    first = alice_client.get(reverse("videos:list")).content.decode()
    second_response = alice_client.get(reverse("videos:list"), {"page": 2})
    second = second_response.content.decode()
    assert "clip number 00" in first
    assert "clip number 11" in first
    assert "clip number 12" not in first
    assert "clip number 12" in second
    assert "clip number 13" in second
    assert "clip number 00" not in second
    assert "Page 1 of 2" in first
    assert "page=2" in first
    assert "page 2" in title(second_response)


def test_filters_keep_their_state_across_pages(alice_client, alice, offline_providers):
    for i in range(13):
        make_video(alice, "failed", prompt=f"f{i}")
    page = alice_client.get(reverse("videos:list"), {"state": "failed"}).content.decode()
    assert "?state=failed&amp;page=2" in page


def test_an_empty_gallery_invites_the_first_video(alice_client, offline_providers):
    page = alice_client.get(reverse("videos:list")).content.decode()
    assert "No videos yet" in page
    assert reverse("videos:new") in page


def test_video_page_of_a_ready_video_has_player_downloads_remix_and_delete(alice_client, alice, offline_providers):
    video = make_video(alice, "ready", prompt="a quiet harbour at dawn")
    response = alice_client.get(reverse("videos:detail", args=[video.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert title(response).startswith("a quiet harbour at dawn")
    video_url = reverse("videos:file", args=[video.pk, 0, "video"])
    poster_url = reverse("videos:file", args=[video.pk, 0, "thumbnail"])
    assert re.search(rf'<video[^>]+src="{video_url}"[^>]+poster="{poster_url}"', page)
    for kind in ("video", "thumbnail", "spritesheet"):
        assert reverse("videos:file", args=[video.pk, 0, kind]) + "?download=1" in page
    assert reverse("videos:remix", args=[video.pk]) in page
    assert reverse("videos:delete", args=[video.pk]) in page
    assert "sora-2" in page
    assert "1280\u00d7720" in page
    assert "4 seconds" in page
    assert "Stored on this platform" in page
    assert "Requested" in page


def test_video_page_while_generating_shows_progress_and_time_left(alice_client, alice, offline_providers):
    deadline = timezone.now() + timedelta(minutes=50)
    video = make_video(
        alice,
        "generating",
        progress=60,
        submitted_at=timezone.now(),
        provider_expires_at=deadline,
    )
    page = alice_client.get(reverse("videos:detail", args=[video.pk])).content.decode()
    assert "<video" not in page
    assert 'value="60"' in page
    assert "60%" in page
    assert "Sent to the provider" in page
    assert re.search(r"(49|50)\xa0minutes left", page)
    assert 'data-live="reload"' in page


def test_video_page_before_submission_tells_how_long_the_provider_keeps_results(alice_client, alice, offline_providers):
    video = make_video(alice, "pending")
    page = alice_client.get(reverse("videos:detail", args=[video.pk])).content.decode()
    assert "keeps the results for 1 hour" in page
    assert "queued" in page


@pytest.mark.parametrize(
    ("state", "code", "explained"),
    [
        ("failed", "moderation_blocked", "safety system refused"),
        ("expired", "video_expired", "gone before they could be copied here"),
        ("failed", "something_new", "could not generate this video"),
    ],
)
def test_video_page_explains_a_failure(alice_client, alice, offline_providers, state, code, explained):
    video = make_video(alice, state, error_code=code, error_message="Your request was blocked.")
    page = alice_client.get(reverse("videos:detail", args=[video.pk])).content.decode()
    assert explained in page
    assert "Your request was blocked." in page
    assert f"{reverse('videos:new')}?from={video.pk}" in page
    assert "<video" not in page
    assert reverse("videos:remix", args=[video.pk]) not in page


def test_try_again_prefills_the_form_with_the_failed_videos_settings(alice_client, alice, offline_providers):
    video = make_video(alice, "failed", prompt="a stormy sea", size="720x1280", seconds=8)
    form = alice_client.get(reverse("videos:new"), {"from": video.pk}).context["form"]
    assert form.initial["prompt"] == "a stormy sea"
    assert form.initial["size"] == "720x1280"
    assert form.initial["seconds"] == "8"


def test_video_page_of_an_azure_video_says_it_cannot_be_remixed(alice_client, alice, offline_providers):
    video = make_video(alice, "ready", provider=offline_providers["emulator-azure"], model="sora")
    page = alice_client.get(reverse("videos:detail", args=[video.pk])).content.decode()
    assert "cannot remix videos" in page
    assert reverse("videos:remix", args=[video.pk]) not in page


def test_video_page_of_a_remix_links_to_its_source(alice_client, alice, offline_providers):
    source = make_video(alice, "ready", prompt="the source clip")
    remix = make_video(
        alice, "pending", prompt="the remix", kind="remix", remix_source=source, remixed_from_video_id=source.pk
    )
    page = alice_client.get(reverse("videos:detail", args=[remix.pk])).content.decode()
    assert reverse("videos:detail", args=[source.pk]) in page
    assert "Remix of" in page
    source_page = alice_client.get(reverse("videos:detail", args=[source.pk])).content.decode()
    assert reverse("videos:detail", args=[remix.pk]) in source_page


def test_usage_page_shows_limits_and_use(alice_client, alice, offline_providers, settings):
    settings.USER_MAX_ACTIVE_VIDEOS = 4
    settings.USER_DAILY_SECONDS = 100
    make_video(alice, "generating", seconds=8)
    make_video(alice, "ready", seconds=4, n_variants=2)
    response = alice_client.get(reverse("accounts:usage"))
    page = response.content.decode()
    assert title(response).startswith("Usage")
    assert re.search(r"<strong>1</strong> of 4", page)
    assert re.search(r"<strong>16</strong> of 100 used · 84 left", page)
    assert "<strong>2</strong> videos, 1 ready to play" in page


def test_every_page_has_a_distinct_title_and_labelled_fields(alice_client, alice, offline_providers):
    video = make_video(alice, "ready")
    titles = set()
    for url in [
        reverse("videos:list"),
        reverse("videos:new"),
        reverse("videos:detail", args=[video.pk]),
        reverse("videos:delete", args=[video.pk]),
        reverse("accounts:usage"),
        reverse("accounts:tokens"),
    ]:
        response = alice_client.get(url)
        assert response.status_code == 200, url
        titles.add(title(response))
        page = response.content.decode()
        for field_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page):
            labelled = f'for="{field_id}"' in page or re.search(rf'id="{field_id}"[^>]*aria-label=', page)
            assert labelled, f"{url}: #{field_id} has no label"
    assert len(titles) == 6


def test_deleted_videos_disappear_from_the_gallery(alice_client, alice, offline_providers):
    video = make_video(alice, "ready", prompt="soon gone")
    Video.objects.filter(pk=video.pk).update(deleted_at=timezone.now())
    assert "soon gone" not in alice_client.get(reverse("videos:list")).content.decode()
