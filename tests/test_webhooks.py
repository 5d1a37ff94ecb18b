"""Webhook endpoints through the official openai SDK, and the deliveries that follow a video's
end, verified by the openai SDK and the standardwebhooks package.

Deliveries go to a real HTTP receiver on this machine (so these tests allow private addresses,
as WEBHOOKS_ALLOW_PRIVATE_URLS does); what is refused without that setting is tested with it
off. The cluster's steps run in this process (test_pipeline_cluster.py has a real qcluster)."""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import timedelta

import openai
import pytest
import standardwebhooks
from conftest import make_user
from django.utils import timezone
from emulator_fixtures import INSTANT
from test_pipeline_inprocess import drive
from webhook_receiver import start_receiver

from accounts.services import api_token_create
from videos import pipeline
from videos.models import Video
from webhooks import delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    found = start_receiver()
    yield found
    found.close()


@pytest.fixture
def private_ok(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    return settings


def client_for(live_server, user) -> openai.OpenAI:
    token = api_token_create(user=user, name="sdk").raw
    return openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=token, max_retries=0)


@pytest.fixture
def alice(live_server, providers):
    user = make_user("alice")
    client = client_for(live_server, user)
    client.user = user
    return client


def run_deliveries() -> None:
    """What the cluster does with the deliveries handed to it: one attempt each that is due."""
    for row in WebhookDelivery.objects.filter(state="pending", next_attempt_at__lte=timezone.now()):
        delivery.deliver(row.pk)


def make_video(client: openai.OpenAI, prompt: str = f"a lighthouse {INSTANT}") -> Video:
    made = client.videos.create(prompt=prompt, model="sora-2", seconds="4", size="1280x720")
    return drive(Video.objects.get(pk=made.id))


def verify_both(secret: str, body: bytes, headers: dict[str, str]) -> dict:
    openai.OpenAI(api_key="unused", webhook_secret=secret).webhooks.verify_signature(body, headers)
    return standardwebhooks.Webhook(secret).verify(body, headers)


def test_the_openai_sdk_manages_an_endpoint_through_every_operation(alice, receiver, private_ok):
    made = alice.webhooks.create(name="builds", url=receiver.url, event_types=["video.completed"])
    assert made.id.startswith("we_")
    assert made.signing_secret.startswith("whsec_")
    assert made.signing_secret_hint.endswith(made.signing_secret[-4:])
    assert made.event_types == ["video.completed"]
    assert made.created_at == made.updated_at
    fetched = alice.webhooks.retrieve(made.id)
    assert fetched.url == receiver.url
    assert "signing_secret" not in fetched.model_dump()
    second = alice.webhooks.create(name="alerts", url=receiver.url, event_types=["video.failed", "video.completed"])
    assert second.event_types == ["video.completed", "video.failed"]
    page = alice.webhooks.list(limit=1)
    assert [e.id for e in page.data] == [second.id]  # newest first
    assert page.has_more
    assert [e.id for e in alice.webhooks.list()] == [second.id, made.id]
    assert [e.id for e in alice.webhooks.list(after=second.id).data] == [made.id]
    unchanged = alice.webhooks.update(made.id, name="builds")
    assert unchanged.updated_at == made.updated_at
    time.sleep(1.05)
    renamed = alice.webhooks.update(made.id, name="renders", event_types=["video.failed"])
    assert (renamed.name, renamed.event_types) == ("renders", ["video.failed"])
    assert renamed.updated_at > made.updated_at
    rotated = alice.webhooks.rotate_secret(made.id)
    assert rotated.signing_secret.startswith("whsec_")
    assert rotated.signing_secret != made.signing_secret
    tested = alice.webhooks.test(made.id, event_type="video.completed")
    assert (tested.status_code, tested.success, tested.webhook_endpoint_id) == (200, True, made.id)
    (sample,) = receiver.wait_for(1)
    event = verify_both(rotated.signing_secret, sample.body, sample.headers)
    assert (event["type"], event["object"], event["data"]) == ("video.completed", "event", {"id": "video_test"})
    assert list(alice.webhooks.event_types.list().data) == ["video.completed", "video.failed"]
    deleted = alice.webhooks.delete(made.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (made.id, True, "webhook_endpoint.deleted")
    with pytest.raises(openai.NotFoundError):
        alice.webhooks.retrieve(made.id)


def test_bad_endpoints_are_refused_with_the_field_named(alice, private_ok):
    cases = [
        ({"name": "", "url": "https://hooks.example.com/x", "event_types": ["video.completed"]}, "name"),
        ({"name": "a", "url": "ftp://hooks.example.com/x", "event_types": ["video.completed"]}, "url"),
        ({"name": "a", "url": "https://user:pw@hooks.example.com/x", "event_types": ["video.completed"]}, "url"),
        ({"name": "a", "url": "https://hooks.example.com/x", "event_types": []}, "event_types"),
        ({"name": "a", "url": "https://hooks.example.com/x", "event_types": ["batch.completed"]}, "event_types"),
    ]
    for body, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            alice.webhooks.create(**body)
        assert caught.value.body["param"] == param, body
    assert WebhookEndpoint.objects.count() == 0


def test_without_the_setting_only_https_to_public_addresses_is_accepted(alice):
    for url in (
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.0.0.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://localhost:8443/x",
        "https://[64:ff9b::a9fe:a9fe]/x",  # NAT64 to 169.254.169.254
        "https://[2002:a00:1::]/x",  # 6to4 from 10.0.0.1
        "https://[fec0::1]/x",
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            alice.webhooks.create(name="a", url=url, event_types=["video.completed"])
        assert caught.value.body["param"] == "url", url
    assert alice.webhooks.create(name="a", url="https://hooks.example.com/x", event_types=["video.failed"]).id


def test_another_users_endpoint_is_a_404_everywhere(alice, live_server, receiver, private_ok):
    mine = alice.webhooks.create(name="mine", url=receiver.url, event_types=["video.completed"])
    bob = client_for(live_server, make_user("bob"))
    for call in (
        lambda: bob.webhooks.retrieve(mine.id),
        lambda: bob.webhooks.update(mine.id, url="https://hooks.example.com/bob"),
        lambda: bob.webhooks.rotate_secret(mine.id),
        lambda: bob.webhooks.test(mine.id, event_type="video.completed"),
        lambda: bob.webhooks.delete(mine.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    # As for an id that never existed (and as the video list answers).
    with pytest.raises(openai.BadRequestError) as theirs:
        bob.webhooks.list(after=mine.id)
    with pytest.raises(openai.BadRequestError) as nobodys:
        bob.webhooks.list(after="we_" + "0" * 32)
    assert theirs.value.body["code"] == nobodys.value.body["code"] == "webhook_endpoint_not_found"
    assert list(bob.webhooks.list()) == []
    assert receiver.received == []
    assert alice.webhooks.retrieve(mine.id).url == receiver.url


def test_a_ready_video_is_delivered_signed_and_verified_by_both_libraries(alice, receiver, private_ok):
    endpoint = alice.webhooks.create(name="ready", url=receiver.url, event_types=["video.completed"])
    video = make_video(alice)
    assert video.state == "ready"
    run_deliveries()
    (hit,) = receiver.wait_for(1)
    event = verify_both(endpoint.signing_secret, hit.body, hit.headers)
    assert event["type"] == "video.completed"
    assert event["data"] == {"id": video.pk}
    assert event["id"] == hit.headers["webhook-id"]
    assert hit.headers["content-type"] == "application/json"
    assert "authorization" not in hit.headers
    assert "cookie" not in hit.headers
    assert WebhookDelivery.objects.get().state == "delivered"


def test_failed_and_expired_videos_are_video_failed_events_and_types_not_asked_for_are_not_sent(
    alice, receiver, private_ok
):
    alice.webhooks.create(name="failures", url=receiver.url, event_types=["video.failed"])
    ready = make_video(alice)
    failed = make_video(alice, prompt=f"a storm {INSTANT} [emulator:fail=moderation]")
    assert (ready.state, failed.state) == ("ready", "failed")
    made = alice.videos.create(prompt=f"a tide {INSTANT} [emulator:retention=1]", model="sora-2", seconds="4")
    waiting = Video.objects.get(pk=made.id)
    pipeline.submit_pending(waiting.provider)
    time.sleep(2.5)  # the job finished and its results were deleted before anyone looked
    assert drive(waiting).state == "expired"
    run_deliveries()
    hits = receiver.wait_for(2)
    time.sleep(0.2)
    events = [json.loads(hit.body) for hit in hits]
    assert len(events) == 2
    assert {e["data"]["id"] for e in events} == {failed.pk, waiting.pk}
    assert {e["type"] for e in events} == {"video.failed"}
    fetched = {e["data"]["id"]: alice.videos.retrieve(e["data"]["id"]) for e in events}
    assert fetched[waiting.pk].error.code == "video_expired"


def test_a_failing_receiver_is_tried_again_with_the_same_id_and_fresh_signatures(alice, receiver, private_ok):
    endpoint = alice.webhooks.create(name="flaky", url=receiver.url, event_types=["video.completed"])
    receiver.statuses = [500]
    make_video(alice)
    run_deliveries()
    receiver.wait_for(1)
    row = WebhookDelivery.objects.get()
    assert (row.state, row.attempts, row.last_status_code, row.last_error) == ("pending", 1, 500, "HTTP 500")
    wait = (row.next_attempt_at - row.last_attempt_at).total_seconds()
    assert 5 <= wait <= 6.3  # the first retry, jittered
    run_deliveries()
    assert len(receiver.received) == 1  # not due yet
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # its time comes
    time.sleep(1.05)  # a new second for the new timestamp
    run_deliveries()
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert first.body == second.body
    verify_both(endpoint.signing_secret, second.body, second.headers)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status_code) == ("delivered", 2, 200)


def test_a_receiver_slower_than_the_timeout_is_tried_again(alice, receiver, private_ok):
    private_ok.WEBHOOKS_TIMEOUT_SECONDS = 1
    alice.webhooks.create(name="slow", url=receiver.url, event_types=["video.completed"])
    receiver.delay = 2
    make_video(alice)
    started = time.monotonic()
    run_deliveries()
    assert time.monotonic() - started < 1.9
    row = WebhookDelivery.objects.get()
    assert (row.state, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert row.last_error
    receiver.delay = 0
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    run_deliveries()
    row.refresh_from_db()
    assert row.state == "delivered"


def test_redirects_are_never_followed(alice, receiver, private_ok):
    elsewhere = start_receiver()
    try:
        alice.webhooks.create(name="moved", url=receiver.url, event_types=["video.completed"])
        receiver.statuses, receiver.location = [302], elsewhere.url
        make_video(alice)
        run_deliveries()
        receiver.wait_for(1)
        time.sleep(0.2)
        assert elsewhere.received == []
        row = WebhookDelivery.objects.get()
        assert (row.state, row.last_status_code) == ("pending", 302)
        assert "redirects are not followed" in row.last_error
    finally:
        elsewhere.close()


def test_a_name_resolving_to_a_private_address_is_never_connected_to(alice, receiver, monkeypatch, caplog):
    endpoint = alice.webhooks.create(
        name="rebind", url=f"https://hooks.example.test:{receiver.port}/hooks", event_types=["video.completed"]
    )
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "hooks.example.test":  # the receiver's own address: a leak would be seen
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", receiver.port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    make_video(alice)
    run_deliveries()
    time.sleep(0.3)
    assert receiver.received == []
    row = WebhookDelivery.objects.get(endpoint_id=endpoint.id)
    assert (row.state, row.last_status_code) == ("pending", None)
    # The owner is told no more than that: what the name resolved to could map the network.
    assert row.last_error == "refused: the URL's host is not a public address"
    assert "127.0.0.1" in caplog.text


def test_an_endpoint_failing_for_days_is_disabled_and_says_why(alice, receiver, private_ok):
    endpoint = alice.webhooks.create(name="down", url=receiver.url, event_types=["video.completed"])
    receiver.statuses = [503] * 10
    make_video(alice)
    run_deliveries()
    WebhookEndpoint.objects.update(failing_since=timezone.now() - timedelta(days=5, minutes=1))  # days pass
    make_video(alice)
    run_deliveries()
    shown = alice.webhooks.retrieve(endpoint.id).model_dump()
    assert shown["status"] == "disabled"
    assert "failed for 5 days" in shown["disabled_reason"]
    assert "HTTP 503" in shown["disabled_reason"]
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"failed"}
    sent = len(receiver.received)
    make_video(alice)  # no delivery for a disabled endpoint
    run_deliveries()
    assert len(receiver.received) == sent
    assert WebhookDelivery.objects.count() == 2


def test_a_day_without_failures_starts_the_count_again(alice, receiver, private_ok):
    endpoint = alice.webhooks.create(name="quiet", url=receiver.url, event_types=["video.completed"])
    receiver.statuses = [503]
    # It failed six days ago, then had nothing to send for three days.
    WebhookEndpoint.objects.update(
        failing_since=timezone.now() - timedelta(days=6), last_failure_at=timezone.now() - timedelta(days=3)
    )
    make_video(alice)
    run_deliveries()
    shown = alice.webhooks.retrieve(endpoint.id).model_dump()
    assert shown["status"] == "enabled"
    assert WebhookEndpoint.objects.get().failing_since > timezone.now() - timedelta(minutes=1)
    assert WebhookDelivery.objects.get().state == "pending"


def test_endpoints_that_never_answer_take_at_most_two_workers_of_their_owner(alice, receiver, private_ok):
    alice.webhooks.create(name="slow", url=receiver.url, event_types=["video.completed"])
    make_video(alice)
    make_video(alice)
    make_video(alice)
    rows = list(WebhookDelivery.objects.order_by("pk"))
    # Two of alice's deliveries are being sent by other workers right now.
    WebhookDelivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(
        lease_owner="elsewhere", lease_expires_at=timezone.now() + timedelta(seconds=30)
    )
    assert delivery.deliver(rows[2].pk).startswith("postponed")
    rows[2].refresh_from_db()
    assert (rows[2].state, rows[2].attempts) == ("pending", 0)
    assert rows[2].next_attempt_at > timezone.now()
    assert receiver.received == []


def test_the_secret_never_appears_after_creation_nor_in_logs(alice, receiver, private_ok, caplog):
    caplog.set_level(logging.DEBUG)
    made = alice.webhooks.create(name="quiet", url=receiver.url, event_types=["video.completed"])
    secret = made.signing_secret
    receiver.statuses = [500]
    make_video(alice)
    run_deliveries()
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    run_deliveries()
    answers = [
        alice.webhooks.retrieve(made.id).model_dump_json(),
        alice.webhooks.list().to_json(),
        alice.webhooks.update(made.id, name="still quiet").model_dump_json(),
        alice.webhooks.test(made.id, event_type="video.failed").model_dump_json(),
    ]
    key = secret.removeprefix("whsec_")
    for text in [*answers, caplog.text]:
        assert secret not in text
        assert key not in text
    assert WebhookEndpoint.objects.get().secret != secret  # stored sealed


def test_a_month_on_finished_deliveries_are_pruned_and_pending_ones_kept(alice, receiver, private_ok):
    from videos import sweeper

    alice.webhooks.create(name="history", url=receiver.url, event_types=["video.completed"])
    receiver.statuses = [500]
    make_video(alice)
    make_video(alice)
    run_deliveries()  # one delivered, one failed once and still pending
    assert sorted(WebhookDelivery.objects.values_list("state", flat=True)) == ["delivered", "pending"]
    WebhookEvent.objects.update(created_at=timezone.now() - timedelta(days=31))  # a month passes
    counts = sweeper.sweep()
    assert counts["webhook_events_pruned"] >= 1
    assert list(WebhookDelivery.objects.values_list("state", flat=True)) == ["pending"]


def test_another_users_endpoint_pages_are_404s(client, private_ok, receiver):
    from webhooks import services

    endpoint, _ = services.endpoint_create(
        owner=make_user("alice"), name="mine", url=receiver.url, event_types=["video.completed"]
    )
    client.force_login(make_user("bob"))
    assert client.get(f"/webhooks/{endpoint.pk}/").status_code == 404
    for action in ("rotate", "test", "enabled", "delete"):
        assert client.post(f"/webhooks/{endpoint.pk}/{action}/", {"event_type": "video.completed"}).status_code == 404
    assert endpoint.pk not in client.get("/webhooks/").content.decode()
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert receiver.received == []
