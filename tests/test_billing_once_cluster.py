"""A real cluster never sends one video's create twice: not when the provider holds the answer
longer than the submit lease, and not when the worker sending it is killed mid-call."""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import make_user
from emulator_fixtures import INSTANT
from test_pipeline_cluster import create, wait_for

from videos.emulator.models import Job
from videos.models import Video

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def wait_for_create_in_flight(video: Video, cluster, *, timeout: float = 30) -> Video:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        video.refresh_from_db()
        if video.submit_started_at and video.lease_owner:
            return video
        time.sleep(0.05)
    raise AssertionError(f"the create was never sent: {video.state}\n{cluster.logs()}")


def test_a_create_slower_than_the_submit_lease_is_sent_once(cluster, providers, s3, emulator):
    # The cluster's lease is 6 s; the provider holds its answer for 15 s.
    emulator.add_fault("delay", protocol="openai", operation="create", delay=15)
    cluster.start()
    video = create(make_user("alice"), providers["emulator-openai"])
    wait_for([video], cluster, timeout=90)
    assert video.state == "ready", (video.error_code, video.error_message)
    assert emulator.received("openai", "create") == 1
    assert emulator.jobs_created("openai") == 1
    assert Job.objects.get().public_id == video.provider_job_id


def test_a_worker_killed_while_its_create_is_in_flight_never_causes_a_second_job(cluster, providers, s3, emulator):
    emulator.add_fault("delay", protocol="openai", operation="create", delay=4)
    cluster.start(PIPELINE_RECONCILE_SECONDS="2")
    video = wait_for_create_in_flight(
        create(make_user("alice"), providers["emulator-openai"], prompt=f"x {INSTANT}"), cluster
    )
    os.kill(int(video.lease_owner.split(".", 1)[0]), signal.SIGKILL)

    wait_for([video], cluster, timeout=150)
    assert emulator.received("openai", "create") == 1
    assert emulator.jobs_created("openai") == 1
    if video.state == "ready":  # the job was found in the provider's list and adopted
        assert video.provider_job_id == Job.objects.get().public_id
    else:
        assert (video.state, video.error_code) == ("failed", "submit_outcome_unknown"), video.error_message
