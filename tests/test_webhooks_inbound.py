"""Providers that call back: the emulator calls `/hooks/...` like each real provider, and a valid
callback makes the video due for a status check at once; nothing is taken from the body.

Polls are set ten minutes apart here, so a video that becomes ready within seconds was made
ready by its callback. The cluster's steps run in this process."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import httpx
import pytest
import standardwebhooks
from conftest import make_user
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.cache import cache
from django.utils import timezone
from emulator_fixtures import INSTANT

from videos import archive, pipeline, services
from videos.emulator import control
from videos.emulator.models import Job, Webhook
from videos.emulator.signing import FAL_USER_ID, fal_key, openrouter_secret, replicate_secret
from videos.models import Provider, ProviderState, Video
from webhooks import inbound
from webhooks.models import InboundCallback

pytestmark = pytest.mark.django_db(transaction=True)

PUSHING = [
    "emulator-ark",
    "emulator-fal",
    "emulator-kling",
    "emulator-luma",
    "emulator-minimax",
    "emulator-openrouter",
    "emulator-replicate",
]


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


def fal_signed(body: bytes, request_id: str, *, stamp: int | None = None, key: Ed25519PrivateKey | None = None) -> dict:
    """Headers as fal signs its webhooks: Ed25519 over request id, user id, timestamp, body hash."""
    stamp = int(time.time()) if stamp is None else stamp
    message = f"{request_id}\n{FAL_USER_ID}\n{stamp}\n{hashlib.sha256(body).hexdigest()}".encode()
    return {
        "content-type": "application/json",
        "x-fal-webhook-request-id": request_id,
        "x-fal-webhook-user-id": FAL_USER_ID,
        "x-fal-webhook-timestamp": str(stamp),
        "x-fal-webhook-signature": (key or fal_key()).sign(message).hex(),
    }


def test_fal_callbacks_are_checked_against_its_jwks_stale_ones_refused_and_repeats_handled_once(pushing):
    video = submitted(pushing["emulator-fal"], prompt="a lighthouse [emulator:queue=0,generation=30]")
    request_id = video.provider_job_id.rsplit("/", 1)[1]
    before = video.next_step_at
    body = json.dumps({"request_id": request_id, "status": "OK", "payload": {"video": {"url": "https://x"}}}).encode()
    forged = httpx.post(
        hook_url(video), content=body, headers=fal_signed(body, request_id, key=Ed25519PrivateKey.generate())
    )
    assert forged.status_code == 401
    stale = httpx.post(
        hook_url(video), content=body, headers=fal_signed(body, request_id, stamp=int(time.time()) - 301)
    )
    assert stale.status_code == 400
    tampered = httpx.post(hook_url(video), content=body + b" ", headers=fal_signed(body, request_id))
    assert tampered.status_code == 401
    unsigned = httpx.post(hook_url(video), content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    video.refresh_from_db()
    assert video.next_step_at == before
    first = httpx.post(hook_url(video), content=body, headers=fal_signed(body, request_id))
    assert first.json() == {"received": True}
    video.refresh_from_db()
    assert video.next_step_at <= timezone.now()
    services.video_poll_later(video.pk, seconds=600)
    again = httpx.post(hook_url(video), content=body, headers=fal_signed(body, request_id))  # fal retrying
    assert again.json() == {"duplicate": True}
    video.refresh_from_db()
    assert (video.next_step_at - timezone.now()).total_seconds() > 500
    # The submission asked fal to call back, and fal's answer is what the body never decides.
    assert Job.objects.get(public_id=request_id).inputs["callback"]["url"] == hook_url(video)
    assert finish(video).state in ("submitted", "generating")


def openrouter_signed(body: bytes, *, stamp: int | None = None, secret: str | None = None, key: str = "k1") -> dict:
    stamp = int(time.time()) if stamp is None else stamp
    mac = hmac.new((secret or openrouter_secret()).encode(), f"{stamp},".encode() + body, hashlib.sha256)
    return {
        "content-type": "application/json",
        "x-openrouter-signature": f"t={stamp},v1={mac.hexdigest()}",
        "x-openrouter-idempotency-key": key,
    }


def test_openrouter_callbacks_are_verified_with_the_workspace_secret(pushing):
    video = submitted(pushing["emulator-openrouter"], prompt="a lighthouse [emulator:queue=0,generation=30]")
    before = video.next_step_at
    body = json.dumps({"type": "video.generation.completed", "data": {"id": video.provider_job_id}}).encode()
    forged = httpx.post(hook_url(video), content=body, headers=openrouter_signed(body, secret="not-the-secret"))
    assert forged.status_code == 401
    stale = httpx.post(hook_url(video), content=body, headers=openrouter_signed(body, stamp=int(time.time()) - 301))
    assert stale.status_code == 400
    garbled = httpx.post(hook_url(video), content=body, headers={"x-openrouter-signature": "v1=abc"})
    assert garbled.status_code == 401
    video.refresh_from_db()
    assert video.next_step_at == before
    assert httpx.post(hook_url(video), content=body, headers=openrouter_signed(body)).json() == {"received": True}
    services.video_poll_later(video.pk, seconds=600)
    again = httpx.post(hook_url(video), content=body, headers=openrouter_signed(body))
    assert again.json() == {"duplicate": True}


def test_openrouter_is_asked_to_call_back_only_once_its_signing_secret_is_entered(pushing):
    provider = pushing["emulator-openrouter"]
    provider.webhook_secret = ""
    provider.save()
    video = submitted(provider, prompt="a lighthouse [emulator:queue=0,generation=30]")
    assert inbound.callback_url(video) is None
    assert "callback" not in Job.objects.get(public_id=video.provider_job_id).inputs


@pytest.fixture
def gemini(pushing):
    provider = pushing["emulator-gemini"]
    url = inbound.register_project_webhook(provider)
    provider.refresh_from_db()
    return provider, url


def test_a_gemini_project_webhook_is_registered_and_its_events_make_videos_ready(gemini):
    provider, url = gemini
    first = Webhook.objects.get()
    assert (first.uri, first.events) == (url, ["video.generated"])
    # Registering again replaces the earlier registration of the same URL, and its secret.
    assert inbound.register_project_webhook(provider) == url
    provider.refresh_from_db()
    hook = Webhook.objects.get()
    assert hook.pk != first.pk
    assert provider.webhook_secret == hook.secret  # answered once, kept encrypted
    assert hook.secret not in provider.webhook_secret_encrypted
    video = submitted(provider)
    assert (video.next_step_at - timezone.now()).total_seconds() > 500
    wait_until_due(video)
    assert finish(video).state == "ready"
    assert ProviderState.objects.get(pk=provider.pk).callback_seen_at is not None


def test_gemini_project_events_are_verified_and_unknown_operations_ignored(gemini):
    provider, url = gemini
    video = submitted(provider, prompt="a lighthouse [emulator:queue=0,generation=30]")
    before = video.next_step_at
    body = json.dumps({"type": "video.generated", "data": {"id": video.provider_job_id}}).encode()
    forged = httpx.post(url, content=body, headers=signed(body, secret="whsec_" + "A" * 44))
    assert forged.status_code == 401
    stale = httpx.post(
        url, content=body, headers=signed(body, stamp=int(time.time()) - 301, secret=provider.webhook_secret)
    )
    assert stale.status_code == 400
    video.refresh_from_db()
    assert video.next_step_at == before
    first = httpx.post(url, content=body, headers=signed(body, message_id="msg_g1", secret=provider.webhook_secret))
    assert first.json() == {"received": True}
    video.refresh_from_db()
    assert video.next_step_at <= timezone.now()
    again = httpx.post(url, content=body, headers=signed(body, message_id="msg_g1", secret=provider.webhook_secret))
    assert again.json() == {"duplicate": True}
    other = json.dumps({"type": "video.generated", "data": {"id": "models/veo/operations/nothing"}}).encode()
    ignored = httpx.post(url, content=other, headers=signed(other, message_id="msg_g2", secret=provider.webhook_secret))
    assert ignored.json() == {"ignored": True}
    assert httpx.post(url.rstrip("/") + "-nobody", content=body).status_code == 404


def test_a_gemini_provider_without_a_secret_refuses_project_events(pushing):
    provider = pushing["emulator-gemini"]
    body = b'{"type": "video.generated", "data": {"id": "x"}}'
    url = inbound.project_callback_url(provider)
    answer = httpx.post(url, content=body, headers=signed(body, secret="whsec_" + "A" * 44))
    assert answer.status_code == 401


def test_the_admin_registers_a_gemini_project_webhook_and_refuses_others(pushing, admin_client):
    gemini, ark = pushing["emulator-gemini"], pushing["emulator-ark"]
    answer = admin_client.post(
        "/admin/videos/provider/",
        {"action": "register_callbacks", "_selected_action": [gemini.pk, ark.pk]},
        follow=True,
    )
    shown = [str(m) for m in answer.context["messages"]]
    assert any(m.startswith("emulator-gemini: callbacks will come to") for m in shown), shown
    assert any(m.startswith("emulator-ark: Only Gemini API providers") for m in shown), shown
    gemini.refresh_from_db()
    assert gemini.webhook_secret.startswith("whsec_")


def test_absurd_timestamps_and_a_broken_stored_secret_get_clear_answers_not_500s(gemini):
    provider, url = gemini
    body = b'{"type": "video.generated", "data": {"id": "x"}}'
    for stamp in ("9" * 400, "9" * 5000, "-5", "1e9"):
        headers = {"webhook-id": "msg_t", "webhook-timestamp": stamp, "webhook-signature": "v1,AAAA"}
        assert httpx.post(url, content=body, headers=headers).status_code == 400, stamp
    Provider.objects.filter(pk=provider.pk).update(webhook_secret_encrypted="not-a-token")
    answer = httpx.post(url, content=body, headers=signed(body, secret=provider.webhook_secret))
    assert answer.status_code == 503
    provider.webhook_secret = "whsec_!!not base64"
    provider.save()
    assert httpx.post(url, content=body, headers=signed(body, secret="whsec_" + "A" * 44)).status_code == 503


def test_fal_keys_are_fetched_again_once_when_no_cached_key_matches(pushing, emulator):
    """fal rotated its keys since the platform cached them: one fresh JWKS, not one per callback."""
    video = submitted(pushing["emulator-fal"], prompt="a lighthouse [emulator:queue=0,generation=30]")
    request_id = video.provider_job_id.rsplit("/", 1)[1]
    provider = pushing["emulator-fal"]
    key_hash = hashlib.sha256(provider.api_key_encrypted.encode()).hexdigest()[:12]
    cache.set(
        f"webhooks:provider-keys:{provider.pk}:{key_hash}",
        [Ed25519PrivateKey.generate().public_key().public_bytes_raw()],
    )
    body = json.dumps({"request_id": request_id, "status": "OK"}).encode()
    assert httpx.post(hook_url(video), content=body, headers=fal_signed(body, request_id)).json() == {"received": True}
    fetched = emulator.received("fal", "jwks")
    forged = fal_signed(body + b" ", request_id, key=Ed25519PrivateKey.generate())
    assert httpx.post(hook_url(video), content=body + b" ", headers=forged).status_code == 401
    assert emulator.received("fal", "jwks") == fetched  # a forged signature forces no new fetch


def test_callbacks_an_operator_turned_off_are_acknowledged_and_ignored(pushing):
    provider = pushing["emulator-ark"]
    video = submitted(provider, prompt="a lighthouse [emulator:queue=0,generation=30]")
    url = hook_url(video)
    provider.callbacks = False
    provider.save()
    before = video.next_step_at
    assert httpx.post(url, json={}).json() == {"ignored": True}
    video.refresh_from_db()
    assert video.next_step_at == before


def test_the_admin_refuses_a_gemini_secret_that_is_not_a_whsec_one(pushing, admin_client):
    gemini = pushing["emulator-gemini"]
    answer = admin_client.get(f"/admin/videos/provider/{gemini.pk}/change/")
    form = answer.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(new_webhook_secret="just-a-password", model_names='["veo-3.1-generate-preview"]')
    data["model_capabilities"] = "{}"
    data["sizes"], data["seconds"] = "[]", "[]"
    refused = admin_client.post(f"/admin/videos/provider/{gemini.pk}/change/", data)
    assert refused.status_code == 200
    assert "whsec_ followed by base64" in refused.content.decode()


def test_the_emulators_reset_forgets_the_callbacks_it_has_not_sent(pushing):
    video = submitted(pushing["emulator-ark"], prompt="a lighthouse [emulator:queue=0,generation=1]")
    before = video.next_step_at
    assert control.reset() is None
    time.sleep(2)  # past the job's end: its callback would have come by now
    video.refresh_from_db()
    assert video.next_step_at == before
