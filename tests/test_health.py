"""/healthz and `manage.py pipeline_status`: what a load balancer and a monitoring job are told."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from cluster_fixtures import REDIS_URL, free_port
from django.core.management import CommandError, call_command
from django.utils import timezone
from test_pipeline_inprocess import new_video

from videos.models import Heartbeat, Video

pytestmark = pytest.mark.django_db

CHECKS = {"database", "broker", "cluster", "poll_loop", "archives"}


def health(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, response.json()


def beat(name: str, seconds_ago: float = 0) -> None:
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": seen})


def failing(body: dict) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["ok"]}


def archiving(video: Video, *, ready_ago: timedelta, deadline_in: timedelta) -> None:
    now = timezone.now()
    Video.objects.filter(pk=video.pk).update(
        state="archiving", provider_completed_at=now - ready_ago, provider_expires_at=now + deadline_in
    )


def test_a_fresh_idle_install_is_healthy_for_anyone_without_a_rate_limit(client, settings):
    settings.API_RATE_LIMIT = "1/min"
    for _ in range(5):
        response = client.get("/healthz")
        assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECKS
    assert all(check["ok"] for check in body["checks"].values()), body
    assert "no-store" in response["Cache-Control"]


def test_videos_waiting_without_a_working_cluster_are_unhealthy_until_it_runs(client, alice, offline_providers):
    new_video(alice, offline_providers["emulator-openai"])
    status, body = health(client)
    assert status == 503
    assert body["status"] == "unhealthy"
    assert failing(body) == {"cluster", "poll_loop"}
    assert "qcluster" in body["checks"]["cluster"]["detail"]

    beat("sweeper")
    beat("poll-loop")
    status, body = health(client)
    assert status == 200
    assert not failing(body)


def test_a_cluster_that_stopped_sweeping_is_unhealthy_even_with_nothing_waiting(client, settings):
    beat("sweeper", seconds_ago=settings.HEALTH_HEARTBEAT_SECONDS + 60)
    status, body = health(client)
    assert status == 503
    assert failing(body) == {"cluster"}
    assert "last sweep 6 min ago" in body["checks"]["cluster"]["detail"]

    beat("sweeper")
    assert health(client)[0] == 200


def test_a_poll_loop_that_stopped_while_videos_wait_is_unhealthy(client, alice, offline_providers, settings):
    beat("sweeper")
    beat("poll-loop", seconds_ago=3600)
    status, _ = health(client)
    assert status == 200  # nothing waits: the loop stops by design

    new_video(alice, offline_providers["emulator-openai"])
    status, body = health(client)
    assert status == 503
    assert failing(body) == {"poll_loop"}
    assert "60 min ago" in body["checks"]["poll_loop"]["detail"]


def test_an_archive_close_to_or_past_the_providers_deadline_is_overdue(client, alice, offline_providers, settings):
    beat("sweeper")
    video = new_video(alice, offline_providers["emulator-openai"])
    archiving(video, ready_ago=timedelta(minutes=1), deadline_in=timedelta(minutes=59))
    status, body = health(client)
    assert status == 200
    assert body["checks"]["archives"]["detail"] == "none overdue (1 archiving)"

    archiving(video, ready_ago=timedelta(minutes=1), deadline_in=timedelta(minutes=3))
    status, body = health(client)
    assert status == 503
    assert failing(body) == {"archives"}
    assert body["checks"]["archives"]["detail"].startswith("1 overdue; the most urgent: the provider deletes")

    archiving(video, ready_ago=timedelta(minutes=70), deadline_in=-timedelta(minutes=10))
    status, body = health(client)
    assert status == 503
    assert "deleted its results 10 min ago" in body["checks"]["archives"]["detail"]


def test_an_archive_running_too_long_is_overdue_even_far_from_its_deadline(client, alice, offline_providers):
    beat("sweeper")
    video = new_video(alice, offline_providers["emulator-azure"])
    archiving(video, ready_ago=timedelta(minutes=90), deadline_in=timedelta(hours=20))
    status, body = health(client)
    assert status == 503
    assert failing(body) == {"archives"}
    assert "ready at the provider 90 min ago" in body["checks"]["archives"]["detail"]


def test_the_answer_names_no_user_video_or_prompt(client, alice, offline_providers):
    video = new_video(alice, offline_providers["emulator-openai"], prompt="a private lighthouse at dawn")
    archiving(video, ready_ago=timedelta(hours=1), deadline_in=-timedelta(minutes=1))
    response = client.get("/healthz")
    assert response.status_code == 503
    text = response.content.decode()
    for secret in (alice.username, alice.email, video.pk, "lighthouse"):
        assert secret not in text


def test_healthz_answers_on_plain_http_where_everything_else_redirects(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/accounts/login/").status_code == 301
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_an_unreachable_redis_broker_is_named(client, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    status, body = health(client)
    assert status == 200
    assert body["checks"]["broker"]["detail"].startswith("Redis, ")

    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    status, body = health(client)
    assert status == 503
    assert failing(body) == {"broker"}
    assert body["checks"]["broker"]["detail"] == "failed (ConnectionError)"


def test_pipeline_status_prints_the_checks_and_exits_non_zero_when_unhealthy(alice, offline_providers):
    out = StringIO()
    call_command("pipeline_status", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["database", "broker", "cluster", "poll_loop", "archives"]
    assert lines[-1] == "healthy"

    new_video(alice, offline_providers["emulator-openai"])
    out = StringIO()
    with pytest.raises(CommandError, match="unhealthy: cluster, poll_loop"):
        call_command("pipeline_status", stdout=out)
    assert "FAIL" in out.getvalue()
    assert "qcluster" in out.getvalue()
