"""Providers that call back: the emulator calls `/hooks/...` like each real provider, and a valid
callback makes the video due for a status check at once; nothing is taken from the body.

Polls are set ten minutes apart here, so a video that becomes ready within seconds was made
ready by its callback. The cluster's steps run in this process."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest
import standardwebhooks
from conftest import make_user
from django.utils import timezone
from emulator_fixtures import INSTANT

from videos import archive, pipeline, services
from videos.emulator.callbacks import replicate_secret
from videos.emulator.models import Job
from videos.models import Provider, ProviderState, Video
from webhooks import inbound
from webhooks.models import InboundCallback

pytestmark = pytest.mark.django_db(transaction=True)

PUSHING = ["emulator-ark", "emulator-kling", "emulator-luma", "emulator-minimax", "emulator-replicate"]


@pytest.fixture
def pushing(providers, live_server, settings):
    settings.PUBLIC_URL = live_server.url
    settings.PIPELINE_FIRST_POLL_SECONDS = 600
    settings.PIPELINE_MAX_POLL_SECONDS = 600
    return providers


def submitted(provider: Provider, prompt: str = "a lighthouse [emulator:queue=0,generation=1]") -> Video:
    model = provider.model_names[0]
    caps = provider.capabilities(model)
    size = caps.default_size()
    video = services.video_create(
        owner=make_user(f"u{time.monotonic_ns()}"),
        provider=provider,
        model=model,
        prompt=prompt,
        size=size,
        seconds=caps.default_seconds(size),
    )
    pipeline.submit_pending(provider)
    video.refresh_from_db()
    assert video.provider_job_id, (video.state, video.error_code, video.error_message)
    return video


def wait_until_due(video: Video, timeout: float = 15) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        video.refresh_from_db()
        if video.next_step_at and video.next_step_at <= timezone.now():
            return
        time.sleep(0.05)
    raise AssertionError(f"no callback made video {video.pk} due (next step {video.next_step_at})")


def finish(video: Video) -> Video:
    with video.provider.adapter() as adapter:
        pipeline.poll_due(video.provider, adapter)
    video.refresh_from_db()
    if video.state == "archiving":
        archive.archive_video(video.pk)
        video.refresh_from_db()
    return video


def hook_url(video: Video, token: str | None = None) -> str:
    url = inbound.callback_url(video)
    assert url is not None
    return url if token is None else url.rsplit("/", 1)[0] + "/" + token


@pytest.mark.parametrize("name", PUSHING)
def test_a_callback_makes_the_video_ready_without_waiting_for_a_poll(pushing, name):
    provider = pushing[name]
    video = submitted(provider)
    assert (video.next_step_at - timezone.now()).total_seconds() > 500  # no poll is due for minutes
    wait_until_due(video)
    assert finish(video).state == "ready"
    assert ProviderState.objects.get(pk=provider.pk).callback_seen_at is not None


def test_without_public_url_no_callback_is_asked_for(providers, emulator):
    video = submitted(providers["emulator-ark"], prompt=f"a lighthouse {INSTANT}")
    assert inbound.callback_url(video) is None
    assert "callback" not in Job.objects.get(public_id=video.provider_job_id).inputs


def test_a_forged_callback_only_costs_a_status_check(pushing):
    video = submitted(pushing["emulator-ark"], prompt="a lighthouse [emulator:queue=0,generation=30]")
    lie = {"id": video.provider_job_id, "status": "succeeded", "content": {"video_url": "https://evil.example/x.mp4"}}
    answer = httpx.post(hook_url(video), json=lie)
    assert answer.status_code == 200
    video.refresh_from_db()
    assert video.next_step_at <= timezone.now()
    # The provider itself says the job is still running: nothing of the body was taken.
    assert finish(video).state in ("submitted", "generating")
    assert video.provider_assets in ([], {}, None)


def test_a_wrong_token_is_refused_and_an_unknown_video_acknowledged(pushing):
    video = submitted(pushing["emulator-kling"], prompt="a lighthouse [emulator:queue=0,generation=30]")
    before = video.next_step_at
    wrong = httpx.post(hook_url(video, token="0" * 40), json={})
    assert wrong.status_code == 403
    video.refresh_from_db()
    assert video.next_step_at == before
    assert httpx.post(hook_url(video, token="é" * 40), json={}).status_code == 403  # not a 500
    gone = "video_" + "0" * 48  # with its own valid token, as a deleted video's callback would come
    unknown = hook_url(video).replace(video.pk, gone).rsplit("/", 1)[0] + "/" + inbound.video_token(gone)
    answer = httpx.post(unknown, json={})
    assert (answer.status_code, answer.json()) == (200, {"ignored": True})


def test_minimax_challenges_are_echoed(pushing):
    video = submitted(pushing["emulator-minimax"], prompt="a lighthouse [emulator:queue=0,generation=30]")
    answer = httpx.post(hook_url(video), json={"challenge": "5c8d"})
    assert answer.json() == {"challenge": "5c8d"}


def signed(body: bytes, *, message_id: str = "msg_1", stamp: int | None = None, secret: str | None = None) -> dict:
    """Headers as Replicate signs them, made by the standardwebhooks package."""
    moment = datetime.fromtimestamp(int(time.time()) if stamp is None else stamp, tz=UTC)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": standardwebhooks.Webhook(secret or replicate_secret()).sign(message_id, moment, body),
    }


def test_replicate_callbacks_are_verified_stale_ones_refused_and_repeats_handled_once(pushing):
    video = submitted(pushing["emulator-replicate"], prompt="a lighthouse [emulator:queue=0,generation=30]")
    before = video.next_step_at
    body = json.dumps({"id": video.provider_job_id, "status": "succeeded"}).encode()
    forged = httpx.post(hook_url(video), content=body, headers=signed(body, secret="whsec_" + "A" * 44))
    assert forged.status_code == 401
    stale = httpx.post(hook_url(video), content=body, headers=signed(body, stamp=int(time.time()) - 301))
    assert stale.status_code == 400
    unsigned = httpx.post(hook_url(video), content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    video.refresh_from_db()
    assert video.next_step_at == before  # none of them was acted on
    first = httpx.post(hook_url(video), content=body, headers=signed(body, message_id="msg_42"))
    assert first.json() == {"received": True}
    video.refresh_from_db()
    assert video.next_step_at <= timezone.now()
    services.video_poll_later(video.pk, seconds=600)
    again = httpx.post(hook_url(video), content=body, headers=signed(body, message_id="msg_42"))
    assert again.json() == {"duplicate": True}
    video.refresh_from_db()
    assert (video.next_step_at - timezone.now()).total_seconds() > 500  # the repeat changed nothing
    assert InboundCallback.objects.filter(message_id="msg_42").count() == 1


def test_polls_relax_while_callbacks_arrive_and_stay_the_safety_net(pushing, settings):
    settings.PIPELINE_FIRST_POLL_SECONDS = 2
    settings.PIPELINE_MAX_POLL_SECONDS = 10
    provider = pushing["emulator-luma"]
    video = submitted(provider, prompt="a lighthouse [emulator:queue=0,generation=60]")
    Video.objects.filter(pk=video.pk).update(next_step_at=timezone.now())
    finish(video)
    video.refresh_from_db()
    normal = (video.next_step_at - timezone.now()).total_seconds()
    services.provider_note_callback(provider)
    Video.objects.filter(pk=video.pk).update(next_step_at=timezone.now())
    finish(video)
    video.refresh_from_db()
    relaxed = (video.next_step_at - timezone.now()).total_seconds()
    assert relaxed > 2.5 * normal


def test_an_operator_can_turn_a_providers_callbacks_off(pushing):
    provider = pushing["emulator-kling"]
    provider.callbacks = False
    provider.save()
    video = submitted(provider)
    assert inbound.callback_url(video) is None
    job_id = video.provider_job_id.rpartition("/")[2]  # Kling's job ids carry the task family
    assert "callback" not in Job.objects.get(public_id=job_id).inputs
