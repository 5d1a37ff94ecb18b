"""Creates in rounds: while a provider's request limit binds, creates go out together, so that
their jobs finish together and one list call finds them all; a video the window can take at
once is never held back. Real HTTP to the emulator, as in test_pipeline_inprocess.py."""

from __future__ import annotations

import time

import pytest
from conftest import make_user
from django.utils import timezone
from test_pipeline_inprocess import drive, new_video

from videos import pipeline, throttle
from videos.models import ProviderState, Video, VideoState

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = "[emulator:queue=30]"  # jobs that stay at work while the test looks at the window


def busy_window(provider, *, requests: int, age: int) -> None:
    """The provider's window as if `requests` had gone out `age` seconds ago."""
    ProviderState.objects.filter(pk=provider.pk).update(window={str(int(time.time()) - age): requests})


@pytest.fixture
def limited(providers):
    """The OpenAI-protocol provider at 20 requests a minute: rounds of 4 creates (4 x 4 + 1 list)."""
    provider = providers["emulator-openai"]
    provider.requests_per_minute = 20
    provider.save()
    throttle.provider_state(provider)
    return provider


def test_a_round_of_creates_goes_out_together_counting_on_older_requests_leaving_the_window(limited, emulator):
    alice = make_user("alice")
    for i in range(6):
        new_video(alice, limited, prompt=f"round {i} {SLOW}")
    # 14 requests that leave the window within seconds, before the round's downloads are due.
    busy_window(limited, requests=14, age=55)
    assert throttle.round_size(limited, Video.objects.first()) == 4
    assert pipeline.submit_pending(limited) == 4
    assert emulator.jobs_created("openai") == 4
    assert throttle.window_used(limited) == 18
    assert Video.objects.filter(state=VideoState.PENDING).count() == 2


def test_creates_wait_for_room_for_a_whole_round_rather_than_trickle_out(limited, emulator):
    alice = make_user("alice")
    for i in range(6):
        new_video(alice, limited, prompt=f"round {i} {SLOW}")
    busy_window(limited, requests=17, age=58)  # room for 3 now, for a whole round in 3 seconds
    assert pipeline.submit_pending(limited) == 0
    assert emulator.jobs_created("openai") == 0
    waiting = Video.objects.exclude(next_step_at=None).get()
    assert 0 < (waiting.next_step_at - timezone.now()).total_seconds() <= 4
    busy_window(limited, requests=17, age=61)  # the minute has passed
    Video.objects.update(next_step_at=None)
    assert pipeline.submit_pending(limited) == 4
    assert emulator.jobs_created("openai") == 4


def test_a_lone_video_goes_at_once_into_a_busy_window_and_is_found_within_seconds(limited, emulator):
    busy_window(limited, requests=17, age=58)
    video = new_video(make_user("alice"), limited)
    started = time.monotonic()
    assert pipeline.submit_pending(limited) == 1
    video = drive(video, until=("archiving",))
    assert time.monotonic() - started < 3
    assert emulator.received("openai", "list") == 1


def test_one_list_call_finds_a_round_of_jobs_finished_together(providers, emulator, settings):
    settings.PIPELINE_MAX_POLL_SECONDS = 5
    provider = providers["emulator-openai"]
    alice = make_user("alice")
    timing = "[emulator:queue=0.5,generation=0.5]"
    drive(new_video(alice, provider, prompt=f"first {timing}"))  # how long a job takes is learned
    assert throttle.typical_job_seconds(provider) is not None
    for i in range(5):
        new_video(alice, provider, prompt=f"round {i} {timing}")
    assert pipeline.submit_pending(provider) == 5
    lists_before = emulator.received("openai", "list")
    end = time.monotonic() + 10
    while Video.objects.filter(state__in=(VideoState.SUBMITTED, VideoState.GENERATING)).exists():
        assert time.monotonic() < end, "the round was not found finished"
        with provider.adapter() as adapter:
            pipeline.poll_due(provider, adapter)
        time.sleep(0.05)
    assert Video.objects.filter(state=VideoState.ARCHIVING).count() == 5
    assert emulator.received("openai", "list") - lists_before == 1
