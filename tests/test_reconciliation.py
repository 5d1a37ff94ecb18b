"""A create whose answer was never recorded is reconciled through the provider's list, never
sent again, and never settled with a job that may belong to someone else."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from conftest import make_user
from django.utils import timezone
from emulator_fixtures import INSTANT
from test_pipeline_inprocess import drive, new_video

from videos import pipeline, services
from videos.models import Video

pytestmark = pytest.mark.django_db(transaction=True)

SAME_REQUEST = f"a red kite over the sea {INSTANT}"


@pytest.fixture
def openai(providers, settings):
    settings.PIPELINE_RECONCILE_SECONDS = 0.5
    return providers["emulator-openai"]


def reconcile_until_settled(video: Video, provider) -> Video:
    """Run reconciliation as the poll loop does until the video holds a job or has failed."""
    for _ in range(40):
        Video.objects.filter(pk=video.pk, provider_job_id="").update(next_step_at=None)
        with provider.adapter() as adapter:
            pipeline.reconcile_unknown(provider, adapter)
        video.refresh_from_db()
        if video.provider_job_id or video.state == "failed":
            return video
    raise AssertionError(f"still unresolved: {video.state} {video.error_code}")


def test_alice_never_adopts_bobs_job_when_her_identical_requests_answer_is_lost(openai, emulator):
    alice, bob = make_user("alice"), make_user("bob")
    bobs = new_video(bob, openai, prompt=SAME_REQUEST)
    pipeline.submit_pending(openai)
    bobs.refresh_from_db()
    assert bobs.provider_job_id

    emulator.add_fault("drop", protocol="openai", operation="create")
    alices = new_video(alice, openai, prompt=SAME_REQUEST)
    pipeline.submit_pending(openai)
    alices.refresh_from_db()
    assert alices.state == "pending"
    assert alices.submit_outcome_unknown

    alices = reconcile_until_settled(alices, openai)
    assert alices.provider_job_id
    assert alices.provider_job_id != bobs.provider_job_id
    assert emulator.jobs_created("openai") == 2
    assert emulator.received("openai", "create") == 2
    before = Video.objects.values().get(pk=bobs.pk)
    assert drive(alices).state == "ready"
    assert drive(bobs).state == "ready"
    assert bobs.provider_job_id == before["provider_job_id"]
    assert emulator.job(alices.provider_job_id).prompt == emulator.job(bobs.provider_job_id).prompt


def test_a_lost_create_that_never_arrived_does_not_take_another_users_job(openai, emulator):
    alice, bob = make_user("alice"), make_user("bob")
    bobs = new_video(bob, openai, prompt=SAME_REQUEST)
    pipeline.submit_pending(openai)
    bobs.refresh_from_db()
    # A gateway answers 502: the create may or may not have gone through. Here it did not.
    emulator.add_fault("server_error", protocol="openai", operation="create", status_code=502)
    alices = new_video(alice, openai, prompt=SAME_REQUEST)
    pipeline.submit_pending(openai)
    alices.refresh_from_db()
    assert alices.submit_outcome_unknown

    alices = reconcile_until_settled(alices, openai)
    assert alices.state == "failed"
    assert alices.error_code == "submit_outcome_unknown"
    assert "cannot have been billed twice" in alices.error_message
    assert alices.provider_job_id == ""
    assert emulator.jobs_created("openai") == 1
    assert Video.objects.filter(provider_job_id=bobs.provider_job_id).count() == 1


def test_two_users_identical_lost_creates_adopt_nothing_rather_than_guess(openai, emulator):
    alice, bob = make_user("alice"), make_user("bob")
    emulator.add_fault("drop", protocol="openai", operation="create", remaining=2)
    videos = [new_video(owner, openai, prompt=SAME_REQUEST) for owner in (alice, bob)]
    pipeline.submit_pending(openai)
    settled = [reconcile_until_settled(video, openai) for video in videos]
    assert [v.state for v in settled] == ["failed", "failed"]
    assert {v.error_code for v in settled} == {"submit_outcome_unknown"}
    assert emulator.jobs_created("openai") == 2  # both sent once, neither resent


def test_a_create_sent_by_a_worker_that_died_is_reconciled_not_resent(openai, emulator):
    alice = make_user("alice")
    video = new_video(alice, openai)
    claimed, token = services.video_claim_next_submission(openai)
    assert claimed.pk == video.pk
    assert services.video_mark_submit_started(video.pk, token)
    with openai.adapter() as adapter:
        adapter.create(pipeline.submission_spec(claimed))  # sent; then the worker dies
    Video.objects.filter(pk=video.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    assert pipeline.submit_pending(openai) == 0
    assert emulator.received("openai", "create") == 1
    video = drive(video)
    assert video.state == "ready"
    assert emulator.received("openai", "create") == 1
    assert emulator.jobs_created("openai") == 1


def test_a_create_refused_for_now_is_sent_again_later(openai, emulator):
    alice = make_user("alice")
    emulator.add_fault("server_error", protocol="openai", operation="create", status_code=503, retry_after=0)
    video = new_video(alice, openai)
    pipeline.submit_pending(openai)
    video.refresh_from_db()
    assert video.state == "pending"
    assert video.submit_started_at is None
    assert not video.submit_outcome_unknown
    openai.state.blocked_until = None
    openai.state.consecutive_failures = 0
    openai.state.save()
    Video.objects.filter(pk=video.pk).update(next_step_at=None)
    assert drive(video).state == "ready"
    assert emulator.received("openai", "create") == 2
    assert emulator.jobs_created("openai") == 1


def test_one_provider_job_is_never_recorded_for_two_videos(openai, emulator):
    alice, bob = make_user("alice"), make_user("bob")
    bobs = new_video(bob, openai, prompt=SAME_REQUEST)
    pipeline.submit_pending(openai)
    bobs.refresh_from_db()
    alices = new_video(alice, openai, prompt=SAME_REQUEST)
    token = services.video_claim(alices.pk, states=("pending",))
    with openai.adapter() as adapter:
        bobs_job = adapter.retrieve(bobs.provider_job_id)
    assert not services.video_mark_submitted(alices.pk, token, bobs_job)
    alices.refresh_from_db()
    assert alices.provider_job_id == ""
    assert alices.state == "pending"


def test_on_ark_whose_list_shows_no_prompt_alice_never_adopts_bobs_unresolved_job(providers, emulator, settings):
    """Ark's task list carries no prompt: bob's job (his answer lost, his look-up not yet due)
    matches alice's different request by model, size and duration alone, so it is not hers."""
    settings.PIPELINE_RECONCILE_SECONDS = 0.5
    ark = providers["emulator-ark"]
    alice, bob = make_user("alice"), make_user("bob")
    emulator.add_fault("drop", protocol="ark", operation="create")
    bobs = new_video(bob, ark, prompt=f"bob's private scene {INSTANT}")
    pipeline.submit_pending(ark)
    bobs.refresh_from_db()
    assert bobs.submit_outcome_unknown
    assert not bobs.provider_job_id
    Video.objects.filter(pk=bobs.pk).update(next_step_at=timezone.now() + timedelta(hours=1))

    # Alice's create never reaches the provider: a gateway answers 502.
    emulator.add_fault("server_error", protocol="ark", operation="create", status_code=502)
    alices = new_video(alice, ark, prompt=f"alice's own scene {INSTANT}")
    pipeline.submit_pending(ark)
    alices.refresh_from_db()
    assert alices.submit_outcome_unknown

    alices = reconcile_until_settled(alices, ark)
    assert (alices.state, alices.error_code, alices.provider_job_id) == ("failed", "submit_outcome_unknown", "")
    assert emulator.jobs_created("ark") == 1
    # Bob, whose job it is, still adopts it once his look-up is due.
    bobs = reconcile_until_settled(bobs, ark)
    assert bobs.provider_job_id
    assert emulator.job(bobs.provider_job_id).prompt.startswith("bob's private scene")


def test_a_create_in_flight_keeps_its_lease_so_no_reconciler_takes_the_video(openai, emulator, settings):
    """The provider holds the answer for four times the lease: the submitter renews the lease
    meanwhile, so the reconciler running beside it neither looks the job up nor fails the video."""
    settings.PIPELINE_LEASE_SECONDS = 1
    emulator.add_fault("delay", protocol="openai", operation="create", delay=4)
    video = new_video(make_user("alice"), openai, prompt=SAME_REQUEST)
    submitter = threading.Thread(target=pipeline.submit_pending, args=(openai,))
    submitter.start()
    try:
        end = time.monotonic() + 10
        while not Video.objects.filter(pk=video.pk, submit_started_at__isnull=False).exists():
            assert time.monotonic() < end, "the create was never sent"
            time.sleep(0.05)
        for _ in range(5):  # past the first lease and several more
            time.sleep(0.5)
            with openai.adapter() as adapter:
                pipeline.reconcile_unknown(openai, adapter)
            video.refresh_from_db()
            assert video.lease_expires_at > timezone.now()
            assert (video.state, video.submit_outcome_unknown) == ("pending", False)
    finally:
        submitter.join(timeout=20)
    assert emulator.received("openai", "list") == 0
    video.refresh_from_db()
    assert video.provider_job_id
    assert emulator.received("openai", "create") == 1
