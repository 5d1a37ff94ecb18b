"""End to end: a real `qcluster`, the emulator over HTTP and moto's S3 server on loopback."""

from __future__ import annotations

import hashlib
import os
import signal
import time

import pytest
from conftest import make_user
from django.test import override_settings
from emulator_fixtures import INSTANT, image_bytes

from videos import services
from videos.models import Video, VideoAsset

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SETTLED = ("ready", "failed", "expired")


def wait_for(videos: list[Video], cluster, *, states=SETTLED, timeout: float = 60) -> list[Video]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for video in videos:
            video.refresh_from_db()
        if all(v.state in states for v in videos):
            return videos
        time.sleep(0.25)
    summary = [(v.pk[-6:], v.state, v.error_code, v.attempts) for v in videos]
    raise AssertionError(f"not settled: {summary}\n{cluster.logs()}")


def create(owner, provider, prompt: str = f"a lighthouse {INSTANT}", **fields) -> Video:
    seconds = {
        "openai": 4,
        "azure_sora": 5,
        "gemini": 8,
        "vertex": 8,
        "ark": 5,
        "fal": 5,
        "replicate": 8,
        "runway": 8,
        "kling": 5,
        "minimax": 6,
        "luma": 5,
        "openrouter": 8,
    }
    seconds = seconds[provider.kind]
    defaults = {"model": provider.model_names[0], "size": "1280x720", "seconds": seconds}
    return services.video_create(owner=owner, provider=provider, prompt=prompt, **{**defaults, **fields})


def assert_stored(video: Video, s3, kinds_per_variant: set[str]) -> None:
    assets = list(video.assets.all())
    assert {(a.variant, a.kind) for a in assets} == {(v, k) for v in range(video.n_variants) for k in kinds_per_variant}
    for asset in assets:
        data = s3.read(asset.storage_key)
        assert len(data) == asset.size_bytes
        assert hashlib.sha256(data).hexdigest() == asset.sha256
    stored = [k for k in s3.keys(f"videos/{video.owner_id}/{video.pk}/") if "/input." not in k]
    assert stored == sorted(a.storage_key for a in assets)


def test_every_kind_of_video_reaches_ready_in_the_bucket(cluster, providers, s3):
    cluster.start()
    alice = make_user("alice")
    openai, azure = providers["emulator-openai"], providers["emulator-azure"]
    text = create(alice, openai)
    image = create(alice, openai, input_image=services.InputImage(image_bytes(1280, 720), "image/png"))
    variants = create(alice, azure, n_variants=2)
    moderated = create(alice, openai, prompt=f"x {INSTANT} [emulator:fail=moderation]")
    veo = create(
        alice, providers["emulator-gemini"], input_image=services.InputImage(image_bytes(1280, 720), "image/png")
    )
    seedance = create(alice, providers["emulator-ark"], options={"audio": False, "seed": 7})
    kling = create(
        alice,
        providers["emulator-fal"],
        model="fal-ai/kling-video/v3/pro",
        size="1080x1920",
        input_image=services.InputImage(image_bytes(1080, 1920), "image/png"),
    )
    vertex = create(alice, providers["emulator-vertex"], options={"seed": 3})
    on_replicate = create(alice, providers["emulator-replicate"], options={"audio": False})
    on_runway = create(alice, providers["emulator-runway"], model="veo3.1")
    on_kling = create(alice, providers["emulator-kling"], size="1920x1080")
    on_minimax = create(alice, providers["emulator-minimax"], size="1366x768")
    on_luma = create(alice, providers["emulator-luma"], size="1280x720")
    on_openrouter = create(alice, providers["emulator-openrouter"], size="720x1280", options={"audio": False})
    made = [
        text,
        image,
        variants,
        moderated,
        veo,
        seedance,
        kling,
        vertex,
        on_replicate,
        on_runway,
        on_kling,
        on_minimax,
        on_luma,
        on_openrouter,
    ]
    wait_for(made, cluster)
    remix = create(alice, openai, prompt=f"the same at night {INSTANT}", remix_source=text)
    # Extensions: of the Gemini API's held file, and of Vertex AI's video read back from the bucket.
    longer = [
        create(alice, source.provider, prompt=f"then it rains {INSTANT}", seconds=7, extend_source=source)
        for source in (veo, vertex)
    ]
    wait_for([remix, *longer], cluster)
    for extension in longer:
        assert extension.state == "ready", (extension.error_code, extension.error_message)
        assert (extension.kind, extension.length_seconds) == ("extend", 15)
        assert_stored(extension, s3, {"video", "thumbnail"})

    for video in (text, image, remix):
        assert video.state == "ready", (video.error_code, video.error_message)
        assert_stored(video, s3, {"video", "thumbnail", "spritesheet"})
    assert variants.state == "ready"
    assert_stored(variants, s3, {"video", "thumbnail"})
    assert moderated.state == "failed"
    assert moderated.error_code == "moderation_blocked"
    assert veo.state == "ready", (veo.error_code, veo.error_message)
    assert_stored(veo, s3, {"video", "thumbnail"})  # the thumbnail made here, from the stored video
    assert seedance.state == "ready", (seedance.error_code, seedance.error_message)
    assert_stored(seedance, s3, {"video", "thumbnail"})  # fetched from the CDN without credentials
    assert kling.state == "ready", (kling.error_code, kling.error_message)
    assert_stored(kling, s3, {"video", "thumbnail"})
    assert vertex.state == "ready", (vertex.error_code, vertex.error_message)
    assert_stored(vertex, s3, {"video", "thumbnail"})  # decoded from the operation's inline bytes
    assert on_replicate.state == "ready", (on_replicate.error_code, on_replicate.error_message)
    assert_stored(on_replicate, s3, {"video", "thumbnail"})  # within the hour Replicate keeps it
    assert on_runway.state == "ready", (on_runway.error_code, on_runway.error_message)
    assert_stored(on_runway, s3, {"video", "thumbnail"})
    assert on_kling.state == "ready", (on_kling.error_code, on_kling.error_message)
    assert_stored(on_kling, s3, {"video", "thumbnail"})
    assert on_minimax.state == "ready", (on_minimax.error_code, on_minimax.error_message)
    assert_stored(on_minimax, s3, {"video", "thumbnail"})
    assert on_luma.state == "ready", (on_luma.error_code, on_luma.error_message)
    assert_stored(on_luma, s3, {"video", "thumbnail"})  # the thumbnail is Luma's own image
    assert on_openrouter.state == "ready", (on_openrouter.error_code, on_openrouter.error_message)
    assert_stored(on_openrouter, s3, {"video", "thumbnail"})
    assert s3.unfinished_uploads() == []
    assert s3.keys(f"videos/{alice.pk}/{image.pk}/input")  # the start frame is kept


def test_a_storm_of_429s_and_5xx_loses_nothing_and_duplicates_nothing(cluster, providers, s3, emulator):
    for kind in ("rate_limit", "server_error"):
        emulator.add_fault(kind, protocol="*", operation="*", remaining=None, probability=0.3, retry_after=1)
    cluster.start()
    alice, bob = make_user("alice"), make_user("bob")
    videos = [
        create(owner, providers[name]) for owner in (alice, bob) for name in ("emulator-openai", "emulator-azure")
    ]
    videos += [create(alice, providers["emulator-openai"]) for _ in range(4)]
    wait_for(videos, cluster, timeout=240)
    assert [v.state for v in videos] == ["ready"] * len(videos)
    assert emulator.jobs_created("openai") == 6
    assert emulator.jobs_created("azure") == 2
    assert emulator.received("openai", "create") >= 6  # some were refused with 429/5xx


def test_a_worker_killed_mid_archive_still_ends_ready_stored_once(cluster, providers, s3, emulator):
    emulator.add_fault(
        "slow_stream", protocol="openai", operation="content", remaining=None, delay=0.05, chunk_bytes=1024 * 1024
    )
    cluster.start()
    alice = make_user("alice")
    video = create(alice, providers["emulator-openai"], prompt=f"big {INSTANT} [emulator:bytes=60000000]")
    end = time.monotonic() + 60
    while time.monotonic() < end:
        video.refresh_from_db()
        if video.state == "archiving" and video.lease_owner and s3.unfinished_uploads():
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"archive never started: {video.state}\n{cluster.logs()}")
    time.sleep(1.0)
    pid = int(video.lease_owner.split(".", 1)[0])
    os.kill(pid, signal.SIGKILL)
    emulator.clear_faults()
    wait_for([video], cluster, timeout=90)
    assert video.state == "ready", video.error_message
    assert_stored(video, s3, {"video", "thumbnail", "spritesheet"})
    assert VideoAsset.objects.filter(video=video, kind="video").get().size_bytes == 60_000_000
    assert s3.unfinished_uploads() == []


def test_an_s3_outage_delays_archives_and_loses_nothing(cluster, providers, s3):
    s3.stop()
    cluster.start()
    alice = make_user("alice")
    videos = [create(alice, providers["emulator-openai"]) for _ in range(2)]
    wait_for(videos, cluster, states=("archiving",), timeout=60)
    time.sleep(3)
    for video in videos:
        video.refresh_from_db()
        assert video.state == "archiving"
    s3.start()
    wait_for(videos, cluster, timeout=90)
    for video in videos:
        assert video.state == "ready"
        assert_stored(video, s3, {"video", "thumbnail", "spritesheet"})


def test_after_downtime_past_deadlines_expire_and_the_rest_archive_in_deadline_order(cluster, providers, s3, emulator):
    from videos import pipeline

    alice = make_user("alice")
    openai = providers["emulator-openai"]
    late = create(alice, openai, prompt=f"late {INSTANT} [emulator:retention=1]")
    soon = create(alice, openai, prompt=f"soon {INSTANT} [emulator:retention=300]")
    later = create(alice, openai, prompt=f"later {INSTANT} [emulator:retention=900]")
    # Seedance keeps results 24 hours after creation; here, scaled down, two seconds.
    ark = providers["emulator-ark"]
    ark.retention_seconds = 2
    ark.save()
    seedance = create(alice, ark, prompt=f"seedance {INSTANT} [emulator:retention=2]")
    # The cluster is down: the jobs were submitted and finish at the provider meanwhile.
    pipeline.submit_pending(openai)
    pipeline.submit_pending(ark)
    time.sleep(2.5)
    # One worker, so archives run one at a time and finish in the order they were started; the
    # poll loop hands the worker over every few seconds.
    cluster.start(Q_WORKERS="1", PIPELINE_LOOP_SECONDS="3")
    wait_for([late, soon, later, seedance], cluster, timeout=90)
    for gone in (late, seedance):
        assert gone.state == "expired"
        assert gone.error_code == "video_expired"
        assert "deleted the results" in gone.error_message
    assert soon.state == later.state == "ready"
    assert soon.archived_at <= later.archived_at


@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_two_clusters_on_redis_submit_and_archive_each_video_once(cluster, providers, s3, emulator):
    cluster.start(count=2)
    alice = make_user("alice")
    videos = [create(alice, providers[name]) for name in ("emulator-openai", "emulator-azure") for _ in range(4)]
    wait_for(videos, cluster, timeout=120)
    assert [v.state for v in videos] == ["ready"] * 8
    assert emulator.jobs_created("openai") == 4
    assert emulator.jobs_created("azure") == 4
    assert emulator.received("openai", "create") == 4
    assert emulator.received("azure", "create") == 4
    for video in videos:
        kinds = {"video", "thumbnail", "spritesheet"} if video.provider.kind == "openai" else {"video", "thumbnail"}
        assert_stored(video, s3, kinds)


def test_the_cluster_delivers_a_signed_webhook_when_a_video_is_ready(cluster, providers, s3, emulator):
    import standardwebhooks
    from webhook_receiver import start_receiver

    from webhooks import services as webhooks

    receiver = start_receiver()
    try:
        alice = make_user("alice")
        with override_settings(WEBHOOKS_ALLOW_PRIVATE_URLS=True):  # the receiver is on this machine
            endpoint, secret = webhooks.endpoint_create(
                owner=alice, name="ready", url=receiver.url, event_types=["video.completed"]
            )
        cluster.start(WEBHOOKS_ALLOW_PRIVATE_URLS="true")
        video = create(alice, providers["emulator-openai"])
        wait_for([video], cluster)
        (hit,) = receiver.wait_for(1, timeout=30)
        event = standardwebhooks.Webhook(secret).verify(hit.body, hit.headers)
        assert (event["type"], event["data"]["id"]) == ("video.completed", video.pk)
        # The receiver has answered; the worker records it a moment later.
        end = time.monotonic() + 10
        while endpoint.deliveries.get().state != "delivered" and time.monotonic() < end:
            time.sleep(0.1)
        assert endpoint.deliveries.get().state == "delivered"
    finally:
        receiver.close()
