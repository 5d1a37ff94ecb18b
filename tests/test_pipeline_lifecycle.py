"""Deadlines, deleting, cancelling, the attempt cap and the queue's own configuration."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from conftest import make_user
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from emulator_fixtures import INSTANT, image_bytes
from test_pipeline_inprocess import drive, new_video, stored_files

from videos import archive, backoff, pipeline, services, sweeper, tasks
from videos.models import Heartbeat, Video, VideoState
from videos.outcomes import Outcome

pytestmark = pytest.mark.django_db(transaction=True)


def test_queue_settings_never_hand_a_running_task_to_a_second_worker():
    q = settings.Q_CLUSTER
    assert q["retry"] > q["timeout"] + 30
    assert q["max_attempts"] >= 1
    assert q["catch_up"] is False
    assert q["timeout"] > settings.PIPELINE_LOOP_SECONDS
    assert ("orm" in q) != ("redis" in q)


def test_schedules_for_the_poll_loop_and_the_sweeper_exist():
    from django_q.models import Schedule

    funcs = set(Schedule.objects.values_list("func", flat=True))
    assert {"videos.tasks.poll_loop", "videos.tasks.sweep"} <= funcs


def test_sweeper_expires_videos_past_their_deadline_and_prioritises_those_near_it(providers, media_root):
    alice = make_user("alice")
    provider = providers["emulator-azure"]
    gone = new_video(alice, provider, prompt="gone [emulator:queue=30]")
    near = new_video(alice, provider, prompt="near [emulator:queue=30]")
    far = new_video(alice, provider, prompt="far [emulator:queue=30]")
    pipeline.submit_pending(provider)
    now = timezone.now()
    Video.objects.filter(pk=gone.pk).update(provider_expires_at=now - timedelta(minutes=1))
    Video.objects.filter(pk=near.pk).update(provider_expires_at=now + timedelta(minutes=5))
    Video.objects.filter(pk=far.pk).update(provider_expires_at=now + timedelta(hours=20))
    counts = sweeper.sweep()
    assert counts["expired"] == 1
    gone.refresh_from_db(), near.refresh_from_db(), far.refresh_from_db()
    assert gone.state == "expired"
    assert gone.error_code == "video_expired"
    assert near.priority > far.priority
    assert Heartbeat.objects.filter(name="sweeper").exists()
    assert sweeper.sweep()["expired"] == 0  # once


def test_sweeper_never_touches_finished_videos(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]))
    Video.objects.filter(pk=video.pk).update(provider_expires_at=timezone.now() - timedelta(hours=1))
    sweeper.sweep()
    video.refresh_from_db()
    assert video.state == "ready"


def test_an_archive_whose_worker_died_is_resumed_exactly_once(providers, media_root):
    alice = make_user("alice")
    video = new_video(alice, providers["emulator-openai"], prompt=f"x {INSTANT}")
    drive(video, until=("archiving",))
    # A worker claimed it and died: its lease runs out.
    Video.objects.filter(pk=video.pk).update(
        lease_owner="999.dead", lease_expires_at=timezone.now() - timedelta(seconds=1), next_step_at=None
    )
    from django_q.brokers import get_broker

    broker = get_broker()
    broker.purge_queue()
    assert archive.resume_stalled_archives() == 1
    assert archive.resume_stalled_archives() == 0  # a second sweeper finds nothing to do
    assert broker.queue_size() == 1


def test_a_lost_lease_counts_toward_the_cap_and_a_released_one_does_not(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]), until=("archiving",))
    token = services.video_claim(video.pk, states=(VideoState.ARCHIVING,))
    services.video_lease_release(video.pk, token, failed=True)
    video.refresh_from_db()
    assert (video.attempts, video.retries) == (0, 1)
    services.video_claim(video.pk, states=(VideoState.ARCHIVING,))  # a worker takes it ... and dies
    Video.objects.filter(pk=video.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    services.video_claim(video.pk, states=(VideoState.ARCHIVING,))
    video.refresh_from_db()
    assert video.attempts == 1


def test_the_attempt_cap_fails_a_poison_archive(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]), until=("archiving",))
    # The last worker to hold it died (its lease ran out) as often as the cap allows.
    Video.objects.filter(pk=video.pk).update(
        attempts=settings.PIPELINE_MAX_ATTEMPTS,
        lease_owner="4242.dead",
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert archive.archive_video(video.pk) == "failed"
    video.refresh_from_db()
    assert video.state == "failed"
    assert video.error_code == "archive_failed"


def test_deleting_a_running_video_cancels_it_at_the_provider_and_leaves_nothing(providers, media_root, emulator):
    alice = make_user("alice")
    video = new_video(
        alice,
        providers["emulator-openai"],
        prompt="slow [emulator:queue=30]",
        input_image=services.InputImage(image_bytes(1280, 720), "image/png"),
    )
    pipeline.submit_pending(video.provider)
    video.refresh_from_db()
    assert video.state == "submitted"
    assert stored_files(media_root)
    services.video_delete(video=video)
    assert not Video.objects.for_user(alice).filter(pk=video.pk).exists()
    assert tasks.cleanup_video(video.pk) == "deleted"
    assert not Video.objects.filter(pk=video.pk).exists()
    assert stored_files(media_root) == []
    assert emulator.received("openai", "delete") == 1


def test_deleting_a_ready_video_removes_its_files(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]))
    services.video_delete(video=video)
    assert tasks.cleanup_video(video.pk) == "deleted"
    assert stored_files(media_root) == []


def test_delete_racing_an_archive_waits_for_it_and_leaves_no_orphan(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]), until=("archiving",))
    token = services.video_claim(video.pk, states=(VideoState.ARCHIVING,))  # an archive is running
    services.video_delete(video=video)
    assert tasks.cleanup_video(video.pk) == "busy"
    # The archive finishes its work but may not publish into a deleted video.
    assert not services.video_asset_record(
        video, token, variant=0, kind="video", key="k", content_type="video/mp4", size=1, sha256="0" * 64
    )
    services.video_lease_release(video.pk, token)
    assert tasks.cleanup_video(video.pk) == "deleted"
    assert stored_files(media_root) == []


def test_cancel_stops_a_running_video(providers, media_root, emulator):
    alice = make_user("alice")
    video = new_video(alice, providers["emulator-openai"], prompt="slow [emulator:queue=30]")
    pipeline.submit_pending(video.provider)
    video.refresh_from_db()
    assert services.video_cancel(video=video)
    assert tasks.cancel_at_provider(video.pk)
    video.refresh_from_db()
    assert video.state == "failed"
    assert video.error_code == "cancelled"
    assert not services.video_cancel(video=video)  # finished videos stay as they are


def test_admin_actions_go_through_services(client, providers, media_root):
    staff = make_user("sam", is_staff=True, is_superuser=True)
    alice = make_user("alice")
    running = new_video(alice, providers["emulator-openai"], prompt="slow [emulator:queue=30]")
    pipeline.submit_pending(running.provider)
    client.force_login(staff)
    url = reverse("admin:videos_video_changelist")
    client.post(url, {"action": "repoll_or_rearchive", "_selected_action": [running.pk]})
    running.refresh_from_db()
    assert running.priority == 10
    assert running.next_step_at <= timezone.now()
    client.post(url, {"action": "cancel", "_selected_action": [running.pk]})
    running.refresh_from_db()
    assert running.state == "failed"
    assert running.error_code == "cancelled"


def test_admin_warns_when_the_cluster_has_stalled(client, providers, media_root):
    staff = make_user("sam", is_staff=True, is_superuser=True)
    new_video(make_user("alice"), providers["emulator-openai"])
    Heartbeat.objects.update_or_create(name="poll-loop", defaults={"seen_at": timezone.now() - timedelta(hours=1)})
    client.force_login(staff)
    response = client.get(reverse("admin:videos_video_changelist"))
    assert b"task cluster has not polled" in response.content
    Heartbeat.objects.filter(name="poll-loop").update(seen_at=timezone.now())
    assert b"task cluster has not polled" not in client.get(reverse("admin:videos_video_changelist")).content


def test_poll_loop_exits_at_once_while_another_loop_holds_the_lease(providers, media_root):
    from videos import throttle

    for provider in providers.values():
        assert throttle.poll_lease_acquire(provider, "other-loop", 30)
    started = time.monotonic()
    counts = pipeline.poll_loop(seconds=5)
    assert counts["cycles"] == 0
    assert time.monotonic() - started < 2


def test_poll_loop_takes_over_a_dead_loops_lease(providers, media_root):
    from videos import throttle

    alice = make_user("alice")
    for provider in providers.values():
        throttle.poll_lease_acquire(provider, "dead-loop", 0.01)
    time.sleep(0.05)
    video = new_video(alice, providers["emulator-openai"])
    counts = pipeline.poll_loop(seconds=3)
    assert counts["cycles"] >= 1
    assert counts["submitted"] == 1
    video.refresh_from_db()
    assert video.state in ("submitted", "generating", "archiving")


def test_videos_past_the_platforms_retention_are_deleted(providers, media_root, settings):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]))
    assert sweeper.sweep()["retention_deleted"] == 0  # kept until deleted by default
    settings.VIDEO_RETENTION_DAYS = 7
    Video.objects.filter(pk=video.pk).update(archived_at=timezone.now() - timedelta(days=8))
    assert sweeper.sweep()["retention_deleted"] == 1
    assert tasks.cleanup_video(video.pk) == "deleted"
    assert stored_files(media_root) == []


def test_polling_starts_fast_and_backs_off_to_its_cap(settings):
    settings.PIPELINE_FIRST_POLL_SECONDS, settings.PIPELINE_POLL_BACKOFF, settings.PIPELINE_MAX_POLL_SECONDS = (
        2,
        1.25,
        10,
    )
    intervals = [backoff.poll_interval(n) for n in range(12)]
    assert intervals[0] == 2
    assert all(a <= b for a, b in itertools.pairwise(intervals))
    assert intervals[-1] == 10


def test_a_loop_that_runs_out_of_time_with_work_waiting_hands_over(providers, media_root, settings):
    from django_q.brokers import get_broker

    settings.PIPELINE_LOOP_SECONDS = 0.5
    broker = get_broker()
    new_video(make_user("alice"), providers["emulator-openai"], prompt="slow [emulator:queue=30]")
    broker.purge_queue()
    counts = pipeline.poll_loop()
    assert counts.get("handed_over") == 1
    assert broker.queue_size() == 1
    Video.objects.all().delete()
    broker.purge_queue()
    assert "handed_over" not in pipeline.poll_loop()  # nothing waiting: the schedule suffices


def test_the_request_window_never_sends_more_than_the_limit_in_any_minute_and_uses_nearly_all_of_it(providers):
    from videos import throttle

    provider = providers["emulator-openai"]
    provider.requests_per_minute = 60
    provider.save()
    start = timezone.now()
    sent: list[float] = []
    moment = start
    while moment < start + timedelta(seconds=180):
        if throttle.throttle_acquire(provider, now=moment) == 0:
            sent.append((moment - start).total_seconds())
        else:
            moment += timedelta(milliseconds=250)
    # Whichever way the provider cuts its minutes, and within any 5 seconds at most half.
    assert max(sum(1 for t in sent if s - 60 < t <= s) for s in sent) <= 60
    assert max(sum(1 for t in sent if s - 5 < t <= s) for s in sent) <= 30
    assert len(sent) >= 0.95 * 180


def test_an_archive_waiting_for_request_budget_is_not_a_provider_failure(providers, media_root):
    from videos import throttle
    from videos.models import ProviderState

    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]), until=("archiving",))
    provider = video.provider
    provider.requests_per_minute = 1
    provider.save()
    ProviderState.objects.filter(pk=provider.pk).update(window={str(int(time.time())): 1})
    assert archive.archive_video(video.pk) is Outcome.WAITING_FOR_BUDGET
    video.refresh_from_db()
    state = throttle.provider_state(provider)
    assert (video.state, video.retries, state.consecutive_failures, state.blocked_until) == ("archiving", 0, 0, None)
    assert video.next_step_at > timezone.now()


def test_a_create_leaves_the_window_what_archives_and_jobs_in_flight_will_need(providers, media_root):
    from videos import throttle
    from videos.models import ProviderState

    alice = make_user("alice")
    provider = providers["emulator-openai"]
    finished = drive(new_video(alice, provider), until=("archiving",))  # 3 downloads to come
    provider.requests_per_minute = 11
    provider.save()
    ProviderState.objects.filter(pk=provider.pk).update(window={})
    for i in range(3):
        new_video(alice, provider, prompt=f"later {i} [emulator:queue=30]")
    # The first create keeps 3 for the archive and 3 + 1 for its own video: 1 + 7 of 11. The
    # second would also keep 3 for the first one's downloads: 1 + 1 + 10 > 11.
    assert pipeline.submit_pending(provider) == 1
    assert throttle.window_used(provider) == 1
    # Once archived (and the minute past), the finished video no longer holds any back.
    assert archive.archive_video(finished.pk) is Outcome.READY
    ProviderState.objects.filter(pk=provider.pk).update(window={})
    assert pipeline.submit_pending(provider) == 1
    assert Video.objects.filter(state=VideoState.PENDING).count() == 1
