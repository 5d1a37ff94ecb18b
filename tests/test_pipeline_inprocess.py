"""The pipeline's steps run in this process against the emulator over real HTTP.

The same steps run in a real cluster in test_pipeline_cluster.py; here each step is called
directly, so races and failures can be arranged exactly.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import make_user
from django.utils import timezone
from emulator_fixtures import INSTANT, image_bytes
from vertex_keys import service_account_info

from videos import archive, pipeline, services
from videos.emulator.models import Fault
from videos.models import Video, VideoAsset, VideoState
from videos.providers import vertex

pytestmark = pytest.mark.django_db(transaction=True)


def drive(video: Video, *, until: tuple[str, ...] = ("ready", "failed", "expired"), timeout: float = 20) -> Video:
    """Run submit, poll and archive steps as the cluster would, until the video settles
    (or reaches one of `until`; archives are not run when `until` names archiving)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        provider = video.provider
        pipeline.submit_pending(provider)
        with provider.adapter() as adapter:
            pipeline.reconcile_unknown(provider, adapter)
            pipeline.poll_due(provider, adapter)
        for archiving in Video.objects.filter(state=VideoState.ARCHIVING):
            if "archiving" not in until:
                archive.archive_video(archiving.pk)
        video.refresh_from_db()
        if video.state in until:
            return video
        time.sleep(0.1)
    raise AssertionError(f"video stayed {video.state}: {video.error_code} {video.error_message}")


def new_video(owner, provider, prompt: str = f"a lighthouse {INSTANT}", **fields) -> Video:
    defaults = {"model": provider.model_names[0], "size": "1280x720", "seconds": 4 if provider.kind == "openai" else 5}
    return services.video_create(owner=owner, provider=provider, prompt=prompt, **{**defaults, **fields})


def stored_files(media_root: Path) -> list[str]:
    return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())


def test_text_to_video_reaches_ready_with_every_asset_stored(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]))
    assert video.state == "ready"
    assert video.progress == 100
    assets = {a.kind: a for a in video.assets.all()}
    assert set(assets) == {"video", "thumbnail", "spritesheet"}
    for asset in assets.values():
        data = (media_root / asset.storage_key).read_bytes()
        assert len(data) == asset.size_bytes
        assert hashlib.sha256(data).hexdigest() == asset.sha256
        assert asset.storage_key.startswith(f"videos/{alice.pk}/{video.pk}/0/")
    assert (media_root / assets["video"].storage_key).read_bytes()[4:8] == b"ftyp"
    assert video.archived_at
    assert video.provider_completed_at
    assert video.provider_expires_at
    assert not [f for f in stored_files(media_root) if ".part-" in f]


def test_image_to_video_sends_the_start_frame(providers, media_root, emulator):
    alice = make_user("alice")
    image = services.InputImage(data=image_bytes(1280, 720), content_type="image/png")
    video = drive(new_video(alice, providers["emulator-openai"], input_image=image))
    assert video.state == "ready"
    assert video.kind == "image"
    assert emulator.job(video.provider_job_id).inputs.get("input_reference")


def test_azure_with_two_variants_stores_each_variants_video_and_thumbnail(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-azure"], size="1280x720", n_variants=2))
    assert video.state == "ready"
    assert sorted(video.assets.values_list("variant", "kind")) == [
        (0, "thumbnail"),
        (0, "video"),
        (1, "thumbnail"),
        (1, "video"),
    ]
    assert len(video.provider_generation_ids) == 2


def test_remix_of_a_ready_video_reaches_ready(providers, media_root, emulator):
    alice = make_user("alice")
    source = drive(new_video(alice, providers["emulator-openai"]))
    remix = drive(
        new_video(alice, providers["emulator-openai"], prompt=f"same, at night {INSTANT}", remix_source=source)
    )
    assert remix.state == "ready"
    assert remix.kind == "remix"
    assert emulator.job(remix.provider_job_id).remixed_from == source.provider_job_id


def test_moderation_failure_reaches_failed_with_its_reason(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"], prompt=f"x {INSTANT} [emulator:fail=moderation]"))
    assert video.state == "failed"
    assert video.error_code == "moderation_blocked"
    assert "moderation" in video.error_message.lower() or "safety" in video.error_message.lower()
    assert not video.assets.exists()


def test_unknown_status_word_keeps_the_video_running(providers, media_root):
    alice = make_user("alice")
    video = new_video(alice, providers["emulator-openai"], prompt="x [emulator:queue=0,generation=3,status=thinking]")
    video = drive(video, until=("generating", "submitted"), timeout=5)
    time.sleep(0.5)
    video = drive(video, until=("ready",))
    assert video.state == "ready"


def test_archiving_twice_stores_once(providers, media_root):
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"]))
    assert archive.archive_video(video.pk) == "busy"  # ready: nothing to claim
    assert services.video_requeue(video=video) == "rearchive"  # a fresh copy, made beside the stored one
    assert archive.rearchive_video(video.pk) == "replaced"
    video.refresh_from_db()
    assert video.state == "ready"
    assert VideoAsset.objects.filter(video=video).count() == 3
    assert len([f for f in stored_files(media_root) if "/0/" in f]) == 3


def test_two_pollers_make_one_transition(providers, media_root):
    alice = make_user("alice")
    video = new_video(alice, providers["emulator-openai"])
    pipeline.submit_pending(video.provider)
    time.sleep(0.3)
    video.refresh_from_db()
    with video.provider.adapter() as adapter:
        status = adapter.retrieve(video.provider_job_id)
    assert status.state == "succeeded"
    outcomes = [services.video_apply_status(video, status), services.video_apply_status(video, status)]
    assert sorted(outcomes) == ["archiving", "stale"]


def test_provider_concurrency_limit_keeps_excess_pending(providers, media_root, emulator):
    provider = providers["emulator-openai"]
    provider.max_concurrent_jobs = 2
    provider.save()
    alice = make_user("alice")
    for i in range(4):
        new_video(alice, provider, prompt=f"v{i} [emulator:queue=5]")
    assert pipeline.submit_pending(provider) == 2
    states = sorted(Video.objects.values_list("state", flat=True))
    assert states == ["pending", "pending", "submitted", "submitted"]
    assert emulator.jobs_created("openai") == 2


def test_submission_is_fair_between_users(providers, media_root):
    provider = providers["emulator-openai"]
    provider.max_concurrent_jobs = 2
    provider.save()
    alice, bob = make_user("alice"), make_user("bob")
    for i in range(5):
        new_video(alice, provider, prompt=f"a{i} [emulator:queue=5]")
    new_video(bob, provider, prompt="b [emulator:queue=5]")
    pipeline.submit_pending(provider)
    sent = Video.objects.exclude(state="pending")
    assert sorted(v.owner.username for v in sent) == ["alice", "bob"]


def test_rate_limit_with_retry_after_holds_every_call_back(providers, media_root, emulator):
    provider = providers["emulator-openai"]
    alice = make_user("alice")
    emulator.add_fault("rate_limit", protocol="openai", operation="create", retry_after=7)
    video = new_video(alice, provider)
    assert pipeline.submit_pending(provider) == 0
    video.refresh_from_db()
    assert video.state == "pending"
    assert video.retries == 1
    assert video.attempts == 0
    assert pipeline.submit_pending(provider) == 0  # blocked: the provider said wait 7 s
    assert emulator.jobs_created("openai") == 0
    assert emulator.received("openai", "create") == 1
    provider.state.refresh_from_db()
    assert provider.state.blocked_until is not None
    assert 6 <= (provider.state.blocked_until - video.updated_at).total_seconds() <= 8.5


def test_lost_create_answer_is_reconciled_not_resent(providers, media_root, emulator):
    provider = providers["emulator-openai"]
    alice = make_user("alice")
    emulator.add_fault("drop", protocol="openai", operation="create")
    video = new_video(alice, provider)
    pipeline.submit_pending(provider)
    video.refresh_from_db()
    assert video.state == "pending"
    assert video.submit_outcome_unknown
    Video.objects.filter(pk=video.pk).update(next_step_at=None)
    video = drive(video)
    assert video.state == "ready"
    assert emulator.jobs_created("openai") == 1
    assert emulator.received("openai", "create") == 1


def test_results_gone_at_the_provider_make_the_video_expired(providers, media_root, emulator):
    alice = make_user("alice")
    emulator.add_fault("expired", protocol="openai", operation="*", remaining=None)
    video = drive(new_video(alice, providers["emulator-openai"]))
    assert video.state == "expired"
    assert video.error_code == "video_expired"
    assert not video.assets.exists()
    assert not stored_files(media_root)


def test_a_download_cut_short_is_resumed_and_never_stored_short(providers, media_root, emulator):
    alice = make_user("alice")
    emulator.add_fault("truncate", protocol="openai", operation="content", remaining=2, truncate_at=300_000)
    video = drive(new_video(alice, providers["emulator-openai"], prompt=f"x {INSTANT} [emulator:bytes=3000000]"))
    assert video.state == "ready"
    stored = video.assets.get(kind="video")
    data = (media_root / stored.storage_key).read_bytes()
    assert len(data) == stored.size_bytes == 3_000_000
    assert hashlib.sha256(data).hexdigest() == stored.sha256
    assert emulator.received("openai", "content") >= 4  # two cut answers, then the rest


def test_an_html_page_instead_of_the_video_is_never_published(providers, media_root, emulator):
    alice = make_user("alice")
    emulator.add_fault("html", protocol="openai", operation="content", remaining=2)
    video = drive(new_video(alice, providers["emulator-openai"]))
    assert video.state == "ready"  # retried after the bogus answers
    for asset in video.assets.all():
        assert (media_root / asset.storage_key).read_bytes()[:15] != b"<!DOCTYPE html>"
    assert not [f for f in stored_files(media_root) if ".part-" in f]


def test_an_asset_over_the_size_cap_fails_the_video_and_stores_nothing(providers, media_root, settings):
    settings.PIPELINE_MAX_ASSET_BYTES = 1_000_000
    alice = make_user("alice")
    video = drive(new_video(alice, providers["emulator-openai"], prompt=f"x {INSTANT} [emulator:bytes=2000000]"))
    assert video.state == "failed"
    assert video.error_code == "asset_too_large"
    assert not [f for f in stored_files(media_root) if f.endswith(".mp4") or ".part-" in f]


def test_a_remix_of_a_video_the_provider_deleted_fails_with_a_clear_reason(providers, media_root, emulator):
    alice = make_user("alice")
    source = drive(new_video(alice, providers["emulator-openai"]))
    with source.provider.adapter() as adapter:
        adapter.delete(source.provider_job_id)  # as the provider does once its retention ends
    remix = drive(new_video(alice, providers["emulator-openai"], prompt="again", remix_source=source))
    assert remix.state == "failed"
    assert remix.error_code == "remix_source_expired"
    assert "no longer holds the original" in remix.error_message


# --- Veo through the Gemini API -------------------------------------------------------------


def new_veo(owner, providers, prompt: str = f"a lighthouse {INSTANT}", **fields) -> Video:
    values = {"model": "veo-3.1-fast-generate-preview", "size": "1280x720", "seconds": 8, **fields}
    return services.video_create(owner=owner, provider=providers["emulator-gemini"], prompt=prompt, **values)


def test_a_veo_video_is_stored_with_a_thumbnail_made_from_its_own_frames(providers, media_root, emulator):
    alice = make_user("alice")
    video = drive(new_veo(alice, providers))
    assert video.state == "ready"
    assets = {a.kind: a for a in video.assets.all()}
    assert set(assets) == {"video", "thumbnail"}
    assert (media_root / assets["video"].storage_key).read_bytes()[4:8] == b"ftyp"
    picture = (media_root / assets["thumbnail"].storage_key).read_bytes()
    assert picture[8:12] == b"WEBP"
    assert hashlib.sha256(picture).hexdigest() == assets["thumbnail"].sha256
    # Google keeps the files two days after creation: the deadline was known at submission.
    assert abs((video.provider_expires_at - video.submitted_at).total_seconds() - 2 * 86400) < 5
    # Create, one poll or a few, one keyed download and the signed address it redirects to.
    assert emulator.received("gemini", "create") == 1
    assert emulator.received("gemini", "content") == 1
    assert emulator.received("gemini", "media") == 1


def test_a_veo_video_sends_its_last_frame_and_reference_images(providers, media_root, emulator):
    alice = make_user("alice")
    frame = services.InputImage(image_bytes(1280, 720), "image/png")
    reference = services.InputImage(image_bytes(200, 300, "JPEG"), "image/jpeg")
    video = drive(
        services.video_create(
            owner=alice,
            provider=providers["emulator-gemini"],
            model="veo-3.1-generate-preview",
            prompt=f"a lighthouse {INSTANT}",
            size="1280x720",
            seconds=8,
            input_image=frame,
            more_images=(("last_frame", frame), ("reference", reference), ("reference", reference)),
            options={"negative_prompt": "fog"},
        )
    )
    assert video.state == "ready"
    inputs = emulator.job(video.provider_job_id.rsplit("/", 1)[1]).inputs
    assert inputs["lastFrame"]["mimeType"] == "image/png"
    assert [image["mimeType"] for image in inputs["referenceImages"]] == ["image/jpeg", "image/jpeg"]
    assert inputs["negativePrompt"] == "fog"
    assert len(stored_files(media_root)) == 2 + 4  # video, thumbnail, start frame, last frame, two references


def test_a_safety_filtered_veo_video_fails_saying_why_after_one_poll(providers, media_root, emulator):
    alice = make_user("alice")
    video = drive(new_veo(alice, providers, prompt=f"x {INSTANT} [emulator:fail=moderation]"))
    assert video.state == "failed"
    assert video.error_code == "moderation_blocked"
    assert "safety filters" in video.error_message
    assert emulator.jobs_created("gemini") == 1
    assert emulator.received("gemini", "content") == 0


def test_a_lost_veo_create_is_never_sent_again_and_fails_clearly(providers, media_root, emulator):
    """Operations cannot be listed, so a create whose answer was lost cannot be found: the
    video fails with submit_outcome_unknown rather than risk a second billed job."""
    alice = make_user("alice")
    emulator.add_fault("drop", protocol="gemini", operation="create")
    video = new_veo(alice, providers)
    pipeline.submit_pending(video.provider)
    Video.objects.filter(pk=video.pk).update(next_step_at=None)
    video = drive(video)
    assert video.state == "failed"
    assert video.error_code == "submit_outcome_unknown"
    assert emulator.received("gemini", "create") == 1
    assert emulator.received("gemini", "list") == 0


def test_veo_jobs_are_polled_one_call_each_within_the_request_window(providers, media_root, emulator):
    provider = providers["emulator-gemini"]
    provider.requests_per_minute = 12  # a burst of at most 6 requests
    provider.max_concurrent_jobs = 6
    provider.save()
    alice = make_user("alice")
    videos = [new_veo(alice, providers, prompt=f"fox {n} [emulator:queue=0,generation=30]") for n in range(4)]
    pipeline.submit_pending(provider)
    Video.objects.filter(pk__in=[v.pk for v in videos]).update(next_step_at=timezone.now())
    with provider.adapter() as adapter:
        polled = pipeline.poll_due(provider, adapter)
    # Four creates took four of the six requests the burst allows: two polls now, the rest wait.
    assert polled == 2
    assert emulator.received("gemini", "retrieve") == 2
    assert Video.objects.filter(pk__in=[v.pk for v in videos], poll_count=0).count() == 2


def test_a_vertex_video_written_to_the_operators_bucket_is_archived_from_it(providers, media_root, emulator, settings):
    info, public = service_account_info(f"{emulator.url}/vertex/token")
    settings.EMULATOR_VERTEX_PUBLIC_KEYS = [public]
    vertex._tokens.clear()
    provider = providers["emulator-vertex"]
    provider.base_url = f"{emulator.url}/vertex/v1/projects/demo-project/locations/us-central1"
    provider.api_key = json.dumps(info)
    provider.model_capabilities = {"veo-3.1-generate-001": {"mapping": {"storage_uri": "gs://videos-out/veo"}}}
    provider.save()
    alice = make_user("alice")
    video = drive(
        services.video_create(
            owner=alice,
            provider=provider,
            model="veo-3.1-generate-001",
            prompt=f"a fox {INSTANT}",
            size="1280x720",
            seconds=8,
        )
    )
    assert video.state == "ready", video.error_message
    assert {a.kind for a in video.assets.all()} == {"video", "thumbnail"}
    assert video.provider_assets[0]["path"].startswith("gcs:gs://videos-out/veo/")
    assert emulator.received("vertex", "token") == 1


def test_a_replicate_video_not_stored_within_its_hour_is_expired_not_failed(providers, media_root, emulator):
    """Replicate deletes inputs and outputs an hour after creation (here, scaled down, a second):
    a prediction found after that says `data_removed`, and the video ends expired."""
    alice = make_user("alice")
    provider = providers["emulator-replicate"]
    video = services.video_create(
        owner=alice,
        provider=provider,
        model="google/veo-3.1",
        prompt=f"too late {INSTANT} [emulator:retention=1]",
        size="1280x720",
        seconds=8,
    )
    pipeline.submit_pending(provider)
    time.sleep(1.5)  # the cluster was busy elsewhere
    video = drive(video)
    assert video.state == "expired"
    assert video.error_code == "video_expired"
    assert not video.assets.exists()


def test_a_replicate_video_is_stored_well_within_its_hour(providers, media_root, emulator):
    alice = make_user("alice")
    provider = providers["emulator-replicate"]
    video = drive(
        services.video_create(
            owner=alice,
            provider=provider,
            model="kwaivgi/kling-v2.1",
            prompt=f"a kite {INSTANT}",
            size="1920x1080",
            seconds=5,
        )
    )
    assert video.state == "ready"
    assert video.archived_at - video.created_at < timedelta(minutes=1)
    assert abs((video.provider_expires_at - video.submitted_at).total_seconds() - 3600) < 5


def test_a_runway_url_that_expired_before_the_archive_is_signed_again(providers, media_root, emulator, settings):
    """Runway's output URLs expire within a day or two; the archive that finds one refused asks
    for the task again, whose fresh GET signs a new URL."""
    settings.EMULATOR_RUNWAY_URL_SECONDS = 1
    alice = make_user("alice")
    provider = providers["emulator-runway"]
    video = services.video_create(
        owner=alice, provider=provider, model="veo3.1", prompt=f"x {INSTANT}", size="1280x720", seconds=8
    )
    video = drive(video, until=("archiving",))
    time.sleep(2.1)  # the URL the poll stored has expired meanwhile
    settings.EMULATOR_RUNWAY_URL_SECONDS = 60  # the fresh one lasts, however busy the machine is
    retrieves = emulator.received("runway", "retrieve")
    archive.archive_video(video.pk)
    video.refresh_from_db()
    assert video.state == "ready"
    assert emulator.received("runway", "retrieve") == retrieves + 1
    assert emulator.received("runway", "media") == 2  # the refused URL, then the fresh one


def test_a_lost_kling_create_is_adopted_by_its_tag_even_beside_an_identical_request(providers, media_root, emulator):
    """Kling tags each task with the video's id, so alice's lost answer is resolved to her own
    task although bob sent the very same request: certainty, where other protocols must fail."""
    provider = providers["emulator-kling"]
    alice, bob = make_user("alice"), make_user("bob")
    fields = {"model": "kling-v3", "prompt": f"the same words {INSTANT}", "size": "1920x1080", "seconds": 5}
    bobs = services.video_create(owner=bob, provider=provider, **fields)
    pipeline.submit_pending(provider)
    emulator.add_fault("drop", protocol="kling", operation="create")
    alices = services.video_create(owner=alice, provider=provider, **fields)
    pipeline.submit_pending(provider)
    alices.refresh_from_db()
    assert alices.submit_outcome_unknown
    Video.objects.filter(pk=alices.pk).update(next_step_at=None)
    alices, bobs = drive(alices), drive(bobs)
    assert alices.state == bobs.state == "ready"
    assert alices.provider_job_id != bobs.provider_job_id
    assert emulator.job(alices.provider_job_id.split("/")[1]).inputs["external_task_id"] == alices.pk
    assert emulator.jobs_created("kling") == 2


def test_a_luma_video_is_stored_with_lumas_own_thumbnail_and_polled_by_the_list(providers, media_root, emulator):
    """Luma's assets hold the video and an image: both are archived from its CDN without the key,
    the image as the thumbnail (a JPEG, not one made here). Jobs in flight are learned from the
    newest-first list, not one call each; the results are assumed kept a day."""
    alice = make_user("alice")
    provider = providers["emulator-luma"]
    video = drive(
        services.video_create(
            owner=alice,
            provider=provider,
            model="ray-2",
            prompt="a cat [emulator:queue=0,generation=1]",
            size="1280x720",
            seconds=5,
            input_image=services.InputImage(data=image_bytes(1280, 720), content_type="image/png"),
        )
    )
    assert video.state == "ready"
    assets = {a.kind: a for a in video.assets.all()}
    assert set(assets) == {"video", "thumbnail"}
    assert assets["thumbnail"].content_type == "image/jpeg"
    assert (media_root / assets["thumbnail"].storage_key).read_bytes()[:3] == b"\xff\xd8\xff"
    assert emulator.job(video.provider_job_id).inputs["frames"] == ["frame0"]
    assert emulator.received("luma", "list") >= 1
    assert emulator.received("luma", "retrieve") == 0
    assert emulator.received("luma", "media") == 2
    assert abs((video.provider_expires_at - video.submitted_at).total_seconds() - 86400) < 5


def test_a_lost_luma_create_is_found_in_the_list_and_adopted(providers, media_root, emulator):
    provider = providers["emulator-luma"]
    alice = make_user("alice")
    emulator.add_fault("drop", protocol="luma", operation="create")
    video = new_video(alice, provider)
    pipeline.submit_pending(provider)
    video.refresh_from_db()
    assert video.submit_outcome_unknown
    Video.objects.filter(pk=video.pk).update(next_step_at=None)
    video = drive(video)
    assert video.state == "ready"
    assert emulator.jobs_created("luma") == 1
    assert emulator.received("luma", "create") == 1


def new_openrouter(owner, providers, prompt: str = f"a kite {INSTANT}", **fields) -> Video:
    defaults = {"model": "google/veo-3.1", "size": "1280x720", "seconds": 8}
    return services.video_create(
        owner=owner, provider=providers["emulator-openrouter"], prompt=prompt, **{**defaults, **fields}
    )


def test_an_openrouter_video_is_archived_from_its_content_with_the_key(providers, media_root, emulator):
    """OpenRouter serves a completed job's content on its own host behind the key; the archive
    downloads it from the path the adapter builds, and makes the thumbnail itself."""
    alice = make_user("alice")
    frame = services.InputImage(data=image_bytes(1280, 720), content_type="image/png")
    video = drive(new_openrouter(alice, providers, input_image=frame))
    assert video.state == "ready"
    assert {a.kind for a in video.assets.all()} == {"video", "thumbnail"}
    assert video.provider_assets[0]["path"] == f"/videos/{video.provider_job_id}/content"
    assert emulator.received("openrouter", "content") == 1
    assert emulator.job(video.provider_job_id).inputs["frames"] == ["first_frame"]


def test_an_openrouter_video_whose_results_expired_ends_expired_not_failed(providers, media_root, emulator):
    """A job found `expired` (its results gone, here a second after creation) ends the video
    expired, as Replicate's hour does."""
    alice = make_user("alice")
    video = new_openrouter(alice, providers, prompt=f"too late {INSTANT} [emulator:retention=1]")
    pipeline.submit_pending(video.provider)
    time.sleep(1.5)  # the cluster was busy elsewhere
    video = drive(video)
    assert video.state == "expired"
    assert video.error_code == "video_expired"
    assert not video.assets.exists()
    assert emulator.received("openrouter", "content") == 0


def test_a_lost_openrouter_create_is_never_sent_again_and_fails_clearly(providers, media_root, emulator):
    """OpenRouter lists no jobs, so a create whose answer was lost cannot be looked up."""
    alice = make_user("alice")
    emulator.add_fault("drop", protocol="openrouter", operation="create")
    video = new_openrouter(alice, providers)
    pipeline.submit_pending(video.provider)
    Video.objects.filter(pk=video.pk).update(next_step_at=None)
    video = drive(video)
    assert video.state == "failed"
    assert video.error_code == "submit_outcome_unknown"
    assert emulator.received("openrouter", "create") == 1


def test_an_openrouter_account_out_of_credits_fails_the_video_at_once(providers, media_root, emulator):
    alice = make_user("alice")
    video = drive(new_openrouter(alice, providers, prompt=f"x {INSTANT} [emulator:credits=0]"))
    assert video.state == "failed"
    assert video.error_code == "insufficient_credits"
    assert "credits" in video.error_message
    assert emulator.received("openrouter", "create") == 1


def test_a_seedance_video_knows_its_24_hour_deadline_from_submission(providers, media_root):
    # Ark keeps a task's files 24 hours after it was created.
    video = drive(new_video(make_user("alice"), providers["emulator-ark"], prompt=f"a harbour {INSTANT}"))
    assert video.state == "ready"
    assert abs((video.provider_expires_at - video.submitted_at).total_seconds() - 24 * 3600) < 5


def test_fal_is_asked_to_keep_outputs_as_long_as_the_provider_says_the_platform_needs(providers, media_root, emulator):
    fal = providers["emulator-fal"]
    fal.retention_seconds = 3 * 24 * 3600  # the operator's setting, not fal's 7-day default
    fal.save()
    model = fal.model_names[0]
    caps = fal.capabilities(model)
    size = caps.default_size()
    video = drive(new_video(make_user("alice"), fal, model=model, size=size, seconds=caps.default_seconds(size)))
    assert video.state == "ready", (video.error_code, video.error_message)
    job = emulator.job(video.provider_job_id.rsplit("/", 1)[1])
    assert job.retention_seconds == 3 * 24 * 3600  # X-Fal-Object-Lifecycle-Preference was sent
    assert abs((video.provider_expires_at - video.submitted_at).total_seconds() - 3 * 24 * 3600) < 5


@pytest.mark.parametrize("name", ["emulator-gemini", "emulator-ark", "emulator-fal", "emulator-runway"])
def test_a_cut_download_from_the_living_providers_is_resumed_and_stored_whole(providers, media_root, emulator, name):
    # Keyed downloads (the Gemini API) and public CDN files (Ark, fal, Runway).
    provider = providers[name]
    model = provider.model_names[0]
    caps = provider.capabilities(model)
    size = caps.default_size()
    emulator.add_fault("truncate", protocol=provider.kind, operation="content", remaining=2, truncate_at=300_000)
    video = drive(
        new_video(
            make_user("alice"),
            provider,
            model=model,
            size=size,
            seconds=caps.default_seconds(size),
            prompt=f"x {INSTANT} [emulator:bytes=3000000]",
        )
    )
    assert video.state == "ready", (video.error_code, video.error_message)
    stored = video.assets.get(kind="video")
    data = (media_root / stored.storage_key).read_bytes()
    assert len(data) == stored.size_bytes == 3_000_000
    assert hashlib.sha256(data).hexdigest() == stored.sha256
    assert Fault.objects.get(protocol=provider.kind).hits == 2  # both cuts happened
