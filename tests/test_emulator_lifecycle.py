"""How an emulated job's state follows from time, and the prompt directives (no HTTP here)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from videos.emulator import directives, ids, jobs
from videos.emulator.lifecycle import snapshot
from videos.emulator.render import azure_status, openai_status


def test_directives_are_read_from_anywhere_in_the_prompt():
    found = directives.parse("a fox [emulator:fail=internal] at dawn [EMULATOR:queue=0.5, generation=2,bytes=1000]")
    assert (found.fail, found.queue_seconds, found.generation_seconds, found.video_bytes) == (
        "internal",
        0.5,
        2.0,
        1000,
    )
    assert directives.parse("[emulator:status=weird] [emulator:retention=60]").status_word == "weird"
    assert directives.parse("[emulator:retention=60]").retention_seconds == 60


@pytest.mark.parametrize(
    "prompt",
    [
        "[emulator:fail=maybe]",
        "[emulator:queue=-1]",
        "[emulator:queue=nan]",
        "[emulator:bytes=1e9]",
        "[emulator:status=a b]",
    ],
)
def test_malformed_directives_are_ignored(prompt):
    assert directives.parse(prompt) == directives.Directives()


def test_ids_have_the_providers_formats():
    assert re.fullmatch(r"video_[0-9a-f]{48}", ids.video_id())
    assert re.fullmatch(r"task_[0-7][0-9a-hjkmnp-tv-z]{25}", ids.task_id())
    assert re.fullmatch(r"gen_[0-7][0-9a-hjkmnp-tv-z]{25}", ids.generation_id())
    assert len({ids.task_id() for _ in range(100)}) == 100


@pytest.mark.django_db
def test_state_follows_the_clock(settings):
    settings.EMULATOR_PROGRESS_STEPS = 5
    job = jobs.create_job(
        protocol="azure", model="sora", prompt="x [emulator:queue=10,generation=100]", width=480, height=480, seconds=5
    )
    at = lambda seconds: job.created_at + timedelta(seconds=seconds)  # noqa: E731
    assert [openai_status(job, at(s)) for s in (0, 6, 10, 109, 110)] == [
        "queued",
        "queued",
        "in_progress",
        "in_progress",
        "completed",
    ]
    assert [azure_status(job, at(s)) for s in (1, 6, 10, 89, 91, 110)] == [
        "queued",
        "preprocessing",
        "running",
        "running",
        "processing",
        "succeeded",
    ]
    assert [snapshot(job, at(s)).progress for s in (10, 29, 30, 95, 110)] == [0, 0, 20, 80, 100]
    assert snapshot(job, at(110)).expires_at == job.created_at + timedelta(seconds=86400)


@pytest.mark.django_db
def test_a_moderation_failure_ends_the_job_when_its_queue_time_ends():
    job = jobs.create_job(
        protocol="openai",
        model="sora-2",
        prompt="[emulator:fail=moderation,queue=5,generation=50]",
        width=720,
        height=1280,
        seconds=4,
    )
    assert job.finished_at == job.started_at
    state = snapshot(job, job.created_at + timedelta(seconds=6))
    assert (state.phase, state.progress, state.expires_at) == ("failed", 0, None)


@pytest.mark.django_db
def test_a_job_is_queued_at_its_creation_instant_even_without_queue_time():
    job = jobs.create_job(
        protocol="openai", model="m", prompt="[emulator:queue=0,generation=0]", width=720, height=1280, seconds=4
    )
    assert openai_status(job, job.created_at) == "queued"
    assert openai_status(job, timezone.now() + timedelta(milliseconds=1)) == "completed"
