"""What the pages' script reads: the status endpoint, and the files the player and downloads use."""

from __future__ import annotations

import pytest
from api_helpers import MP4, make_video
from django.urls import reverse


def test_status_reports_state_progress_and_whether_to_keep_polling(alice_client, alice, offline_providers):
    queued = make_video(alice, "submitted")
    running = make_video(alice, "generating", progress=55)
    ready = make_video(alice, "ready")
    response = alice_client.get(reverse("videos:status"), {"ids": f"{queued.pk},{running.pk},{ready.pk}"})
    assert response["Cache-Control"].startswith("max-age=0")
    videos = response.json()["videos"]
    assert videos[queued.pk] == {
        "state": "submitted",
        "label": "Queued",
        "badge": "queued",
        "progress": 0,
        "active": True,
    }
    assert videos[running.pk]["progress"] == 55
    assert videos[running.pk]["active"] is True
    assert videos[ready.pk]["progress"] == 100
    assert videos[ready.pk]["active"] is False


def test_status_progress_stays_below_100_until_stored(alice_client, alice, offline_providers):
    archiving = make_video(alice, "archiving", progress=100)
    entry = alice_client.get(reverse("videos:status"), {"ids": archiving.pk}).json()["videos"][archiving.pk]
    assert entry["progress"] == 99
    assert entry["label"] == "Saving"


def test_status_sends_fresh_cards_for_the_gallery(alice_client, alice, offline_providers):
    ready = make_video(alice, "ready", prompt="a finished harbour")
    entry = alice_client.get(reverse("videos:status"), {"ids": ready.pk, "cards": "1"}).json()["videos"][ready.pk]
    assert entry["card"].lstrip().startswith("<article")
    assert "a finished harbour" in entry["card"]
    assert reverse("videos:file", args=[ready.pk, 0, "thumbnail"]) in entry["card"]


def test_status_asks_a_logged_out_page_to_stop(client, db):
    response = client.get(reverse("videos:status"), {"ids": "video_x"})
    assert response.status_code == 401


def test_status_answers_about_at_most_a_hundred_ids(alice_client, alice, offline_providers):
    videos = [make_video(alice, "generating") for _ in range(3)]
    ids = ",".join(["video_unknown"] * 100 + [v.pk for v in videos])
    assert alice_client.get(reverse("videos:status"), {"ids": ids}).json()["videos"] == {}


def test_the_video_file_streams_with_byte_ranges_for_the_player(alice_client, alice, offline_providers):
    video = make_video(alice, "ready")
    url = reverse("videos:file", args=[video.pk, 0, "video"])
    whole = alice_client.get(url)
    assert whole.status_code == 200
    assert whole["Content-Type"] == "video/mp4"
    assert whole["Content-Disposition"].startswith("inline")
    assert b"".join(whole.streaming_content) == MP4
    part = alice_client.get(url, HTTP_RANGE="bytes=4-11")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == b"ftypmp42"
    assert part["Content-Range"] == f"bytes 4-11/{len(MP4)}"


def test_downloads_are_attachments(alice_client, alice, offline_providers):
    video = make_video(alice, "ready")
    response = alice_client.get(reverse("videos:file", args=[video.pk, 0, "video"]), {"download": "1"})
    assert response["Content-Disposition"] == f'attachment; filename="{video.pk}-video.mp4"'


@pytest.mark.parametrize("state", ["generating", "failed", "expired"])
def test_files_of_a_video_without_content_are_404(alice_client, alice, offline_providers, state):
    video = make_video(alice, state)
    for kind in ("video", "thumbnail", "spritesheet", "start-frame", "nonsense"):
        assert alice_client.get(reverse("videos:file", args=[video.pk, 0, kind])).status_code == 404


def test_a_missing_variant_is_404(alice_client, alice, offline_providers):
    video = make_video(alice, "ready")
    assert alice_client.get(reverse("videos:file", args=[video.pk, 1, "video"])).status_code == 404
