"""Status words and failure reasons of both protocols, normalised in one table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from videos.providers.azure_sora import parse_job
from videos.providers.openai import parse_video
from videos.providers.status import describe_failure, normalise_status, timestamp


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("queued", "queued"),
        ("preprocessing", "queued"),
        ("pending", "queued"),
        ("submitted", "queued"),
        ("in_progress", "generating"),
        ("running", "generating"),
        ("processing", "generating"),
        ("completed", "succeeded"),
        ("succeeded", "succeeded"),
        ("success", "succeeded"),
        ("done", "succeeded"),
        ("failed", "failed"),
        ("cancelled", "failed"),
        ("canceled", "failed"),
        ("COMPLETED", "succeeded"),
        (" running ", "generating"),
    ],
)
def test_it_maps_every_known_status_word(word, state):
    assert normalise_status(word) == state


@pytest.mark.parametrize("word", ["", None, "rendering", "finished_maybe", 3, {"status": "done"}])
def test_it_never_ends_a_job_on_an_unknown_or_missing_word(word):
    assert normalise_status(word) == "unknown"


def test_it_logs_unknown_status_words(caplog):
    normalise_status("warming_up")
    assert "warming_up" in caplog.text


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("input_moderation", "input_moderation"),
        ("output_moderation", "output_moderation"),
        ("moderation_blocked", "moderation_blocked"),
        ("ResponsibleAIPolicyViolation", "moderation_blocked"),
        ("internal_error", "provider_internal_error"),
        ("cancelled", "provider_cancelled"),
        ("something_new", "generation_failed"),
        (None, "generation_failed"),
    ],
)
def test_it_maps_failure_reasons_to_platform_codes(reason, code):
    failure = describe_failure(reason)
    assert failure.code == code
    assert failure.message.endswith(".")


def test_it_reads_unix_seconds_and_milliseconds_as_aware_datetimes():
    expected = datetime(2025, 11, 13, 17, 12, 33, tzinfo=UTC)
    assert timestamp(1763053953) == expected
    assert timestamp(1763053953000) == expected
    assert timestamp(None) is None
    assert timestamp("1763053953") is None
    assert timestamp(True) is None


def test_it_parses_a_failed_openai_video_with_its_error():
    job = parse_video(
        {
            "id": "video_1",
            "object": "video",
            "model": "sora-2",
            "status": "failed",
            "progress": 0,
            "created_at": 1763053953,
            "completed_at": 1763054021,
            "expires_at": None,
            "prompt": "a fox",
            "size": "1280x720",
            "seconds": "8",
            "remixed_from_video_id": None,
            "error": {"code": "moderation_blocked", "message": "Your request was blocked."},
        }
    )
    assert job.state == "failed"
    assert job.error_code == "moderation_blocked"
    assert job.provider_error_message == "Your request was blocked."
    assert job.seconds == 8
    assert job.assets() == ()


def test_it_parses_a_succeeded_azure_job_with_two_variants():
    job = parse_job(
        {
            "object": "video.generation.job",
            "id": "task_1",
            "status": "succeeded",
            "created_at": 1743551594,
            "finished_at": 1743551606,
            "expires_at": 1743637994,
            "generations": [
                {"object": "video.generation", "id": "gen_a", "job_id": "task_1"},
                {"object": "video.generation", "id": "gen_b", "job_id": "task_1"},
            ],
            "prompt": "a fox",
            "model": "sora",
            "n_variants": 2,
            "n_seconds": 5,
            "height": 480,
            "width": 854,
            "failure_reason": None,
        }
    )
    assert job.state == "succeeded"
    assert job.generation_ids == ("gen_a", "gen_b")
    assert job.size == "854x480"
    assert [(a.variant_index, a.kind, a.path) for a in job.assets()] == [
        (0, "video", "/video/generations/gen_a/content/video"),
        (0, "thumbnail", "/video/generations/gen_a/content/thumbnail"),
        (1, "video", "/video/generations/gen_b/content/video"),
        (1, "thumbnail", "/video/generations/gen_b/content/thumbnail"),
    ]


def test_it_quotes_ids_that_would_change_the_request_path():
    job = parse_video({"id": "../../admin", "status": "completed"})
    assert job.assets()[0].path == "/videos/..%2F..%2Fadmin/content"
