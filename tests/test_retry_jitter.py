"""Waits after a 429 or a 5xx are spread, so the jobs one outage held back do not all come
back in the same second, and never come back before the provider's retry-after."""

from __future__ import annotations

import pytest
from conftest import make_user
from django.utils import timezone
from test_pipeline_inprocess import new_video

from videos import pipeline
from videos.backoff import retry_wait
from videos.models import Video


def test_a_hundred_jobs_held_back_by_the_same_429_come_back_spread_out():
    waits = [retry_wait(0, retry_after=7) for _ in range(100)]
    assert min(waits) >= 7  # never before the provider said
    assert max(waits) <= 7 * 1.25
    assert max(waits) - min(waits) >= 1.0
    assert len({round(w, 1) for w in waits}) > 10


def test_waits_after_5xx_grow_spread_and_stay_capped():
    for retries in range(10):
        waits = [retry_wait(retries) for _ in range(50)]
        base = min(30.0, 2.0 * 2**retries)
        assert base <= min(waits)
        assert max(waits) <= base * 1.25
        assert len(set(waits)) > 1


@pytest.mark.django_db(transaction=True)
def test_videos_held_back_by_a_failing_list_call_are_polled_again_spread_out(providers, media_root, emulator):
    provider = providers["emulator-openai"]
    provider.max_concurrent_jobs = 20
    provider.requests_per_minute = 6000  # room for twenty creates at once
    provider.save()
    alice = make_user("alice")
    for index in range(20):
        new_video(alice, provider, prompt=f"kite {index} [emulator:queue=30]")
    pipeline.submit_pending(provider)
    Video.objects.update(next_step_at=timezone.now())
    emulator.add_fault("server_error", protocol="openai", operation="list", status_code=503, retry_after=5)
    with provider.adapter() as adapter:
        assert pipeline.poll_due(provider, adapter) == 0
    now = timezone.now()
    waits = [(v.next_step_at - now).total_seconds() for v in Video.objects.filter(state="submitted")]
    assert len(waits) == 20
    assert min(waits) >= 4.5  # the provider's retry-after, give or take the test's own time
    assert max(waits) - min(waits) >= 0.5
