"""One model, several providers: a model id names a model, the video goes to the preferred
provider that accepts the whole request and can take it now, and a create refused for a
passing reason moves to the next one, never one whose outcome is unknown.

The providers are the emulator's, over real HTTP; the cluster's steps run in this process
(test_pipeline_cluster.py has the same with a real qcluster)."""

from __future__ import annotations

import base64
import time

import pytest
from conftest import make_user
from django.test import Client
from django.utils import timezone
from emulator_fixtures import INSTANT, image_bytes

from accounts.services import api_token_create
from videos import archive, pipeline, services
from videos.models import Provider, ProviderState, Video, VideoState

pytestmark = pytest.mark.django_db(transaction=True)

SETTLED = ("ready", "failed", "expired")


def only(providers: dict, *names: str, **priorities: int) -> None:
    """Leave only `names` enabled, with the given priorities (by provider name, - as _)."""
    Provider.objects.exclude(name__in=names).update(enabled=False)
    for name, priority in priorities.items():
        Provider.objects.filter(name=name.replace("_", "-")).update(priority=priority)


class Api:
    def __init__(self, user) -> None:
        self.client = Client()
        self.auth = f"Bearer {api_token_create(user=user, name='api').raw}"

    def create(self, **body):
        return self.client.post("/v1/videos", body, content_type="application/json", HTTP_AUTHORIZATION=self.auth)


def veo(api: Api, **fields) -> Video:
    body = {"prompt": f"a lighthouse {INSTANT}", "model": "veo-3.1", "seconds": "8", "size": "1280x720", **fields}
    answer = api.create(**body)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["model"] == body["model"]  # the id the user named, whoever makes it
    return Video.objects.get(pk=answer.json()["id"])


def run_until_settled(videos: list[Video], *, timeout: float = 30) -> list[Video]:
    """The cluster's steps for every enabled provider, round after round, until all settle."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        services.videos_leave_disabled()
        for provider in Provider.objects.filter(enabled=True):
            pipeline.submit_pending(provider)
            with provider.adapter() as adapter:
                pipeline.reconcile_unknown(provider, adapter)
                pipeline.poll_due(provider, adapter)
        for archiving in Video.objects.filter(state=VideoState.ARCHIVING):
            archive.archive_video(archiving.pk)
        for video in videos:
            video.refresh_from_db()
        if all(video.state in SETTLED for video in videos):
            return videos
        time.sleep(0.1)
    raise AssertionError([(v.pk[-6:], v.provider.name, v.state, v.error_code) for v in videos])


def data_url(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(width, height)).decode()


def test_a_failing_provider_hands_its_videos_to_the_next_and_its_breaker_recovers(providers, emulator):
    only(providers, "emulator-gemini", "emulator-fal", emulator_gemini=10)
    Provider.objects.filter(name="emulator-gemini").update(max_concurrent_jobs=10)
    emulator.add_fault("server_error", protocol="gemini", operation="create", remaining=None, status_code=503)
    api = Api(make_user("alice"))
    first = [veo(api) for _ in range(5)]
    assert {video.provider.name for video in first} == {"emulator-gemini"}  # preferred, and free
    run_until_settled(first)
    for video in first:
        assert video.state == "ready", (video.error_code, video.error_message)
        assert (video.provider.name, video.model, video.requested_model) == ("emulator-fal", "fal-ai/veo3.1", "veo-3.1")
    assert emulator.received("gemini", "create") == 5  # each refused once, then sent on
    assert emulator.jobs_created("gemini") == 0
    assert emulator.jobs_created("fal") == 5  # each video made exactly once

    # Five failures in a row opened the breaker: a new video goes straight to the next provider.
    gemini = Provider.objects.get(name="emulator-gemini")
    state = ProviderState.objects.get(pk=gemini.pk)
    assert state.consecutive_failures == 5
    assert state.blocked_until > timezone.now()
    during = veo(api)
    assert during.provider.name == "emulator-fal"
    run_until_settled([during])
    assert emulator.received("gemini", "create") == 5

    # The provider heals: once the breaker's wait is over, videos go to it again and it closes.
    emulator.clear_faults()
    while ProviderState.objects.get(pk=gemini.pk).blocked_until > timezone.now():
        time.sleep(0.2)
    after = veo(api)
    assert after.provider.name == "emulator-gemini"
    run_until_settled([after])
    assert after.state == "ready"
    assert ProviderState.objects.get(pk=gemini.pk).consecutive_failures == 0
    assert emulator.jobs_created("gemini") == 1
    made = [video.provider_job_id for video in [*first, during, after]]
    assert len(set(made)) == len(made) == 7


def test_videos_waiting_for_a_provider_that_asks_for_patience_go_to_another(providers, emulator):
    only(providers, "emulator-gemini", "emulator-fal", emulator_gemini=10)
    emulator.add_fault("rate_limit", protocol="gemini", operation="create", remaining=None, retry_after=60)
    api = Api(make_user("alice"))
    waiting = [veo(api), veo(api)]
    assert {video.provider.name for video in waiting} == {"emulator-gemini"}
    run_until_settled(waiting)
    assert [video.provider.name for video in waiting] == ["emulator-fal", "emulator-fal"]
    assert all(video.state == "ready" for video in waiting)
    # One 429 held the provider back for a minute: the second video was never sent to it.
    assert emulator.received("gemini", "create") == 1
    assert emulator.jobs_created("fal") == 2


def test_a_create_whose_outcome_is_unknown_is_never_sent_to_a_second_provider(providers, emulator):
    only(providers, "emulator-gemini", "emulator-fal", emulator_gemini=10)
    emulator.add_fault("drop", protocol="gemini", operation="create")
    api = Api(make_user("alice"))
    video = veo(api)
    run_until_settled([video])
    # Veo lists no operations, so the lost answer cannot be looked up: it fails where it was sent.
    assert (video.state, video.error_code, video.provider.name) == (
        "failed",
        "submit_outcome_unknown",
        "emulator-gemini",
    )
    assert emulator.jobs_created("gemini") == 1  # the provider did make it; nothing else was sent
    assert emulator.received("fal", "create") == 0


def test_a_video_goes_only_to_providers_that_can_make_all_of_it(providers, emulator):
    only(providers, "emulator-gemini", "emulator-runway", emulator_runway=10)
    api = Api(make_user("alice"))
    plain = veo(api)
    assert plain.provider.name == "emulator-runway"  # the highest priority
    # Runway's Veo takes no reference images: Google's does, so the video goes there.
    with_references = veo(api, reference_images=[{"image_url": data_url(64, 64)}])
    assert with_references.provider.name == "emulator-gemini"
    assert with_references.routes == []  # no other provider could take it
    run_until_settled([plain, with_references])
    assert (plain.state, with_references.state) == ("ready", "ready")
    assert emulator.jobs_created("runway") == 1
    assert emulator.jobs_created("gemini") == 1


def test_a_provider_model_id_pins_one_provider_and_a_providers_own_name_means_it(providers, emulator):
    only(providers, "emulator-gemini", "emulator-runway", emulator_runway=10)
    api = Api(make_user("alice"))
    pinned = veo(api, model="emulator-gemini/veo-3.1")
    assert (pinned.provider.name, pinned.model, pinned.routes) == ("emulator-gemini", "veo-3.1-generate-preview", [])
    own_name = veo(api, model="veo-3.1-generate-preview")
    assert own_name.provider.name == "emulator-gemini"
    refused = api.create(
        prompt="x", model="emulator-runway/veo-3.1", seconds="8", reference_images=[{"image_url": data_url(64, 64)}]
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "reference_images"
    unknown = api.create(prompt="x", model="emulator-nowhere/veo-3.1")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "model_not_found"
    assert "veo-3.1" in unknown.json()["error"]["message"]


def test_a_combination_no_single_provider_can_make_is_refused_up_front(providers, emulator):
    only(providers, "emulator-gemini", "emulator-runway", emulator_runway=10)
    api = Api(make_user("alice"))
    # Reference images (Google's) and silence (Runway's): each is possible, both at once nowhere.
    refused = api.create(
        prompt="x", model="veo-3.1", seconds="8", audio=False, reference_images=[{"image_url": data_url(64, 64)}]
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("No provider of veo-3.1 can make this combination")
    assert Video.objects.count() == 0


@pytest.mark.slow
def test_a_real_cluster_sends_videos_around_a_failing_provider(cluster, providers, s3, emulator):
    only(providers, "emulator-gemini", "emulator-fal", emulator_gemini=10)
    emulator.add_fault("server_error", protocol="gemini", operation="create", remaining=None, status_code=503)
    api = Api(make_user("alice"))
    videos = [veo(api) for _ in range(3)]
    cluster.start()
    end = time.monotonic() + 60
    while time.monotonic() < end and not all(v.state in SETTLED for v in videos):
        time.sleep(0.25)
        for video in videos:
            video.refresh_from_db()
    assert [(v.state, v.provider.name) for v in videos] == [("ready", "emulator-fal")] * 3, cluster.logs()
    assert emulator.received("gemini", "create") == 3
    assert emulator.jobs_created("gemini") == 0
    assert emulator.jobs_created("fal") == 3
    assert all(s3.keys(f"videos/{v.owner_id}/{v.pk}/0/") for v in videos)


def test_videos_waiting_for_a_full_provider_go_to_one_with_a_free_slot(providers, emulator):
    only(providers, "emulator-gemini", "emulator-fal", emulator_gemini=10)
    Provider.objects.filter(name="emulator-gemini").update(max_concurrent_jobs=1)
    Provider.objects.filter(name="emulator-fal").update(max_concurrent_jobs=0)  # full for now
    api = Api(make_user("alice"))
    videos = [veo(api) for _ in range(3)]
    assert {video.provider.name for video in videos} == {"emulator-gemini"}  # nobody was free: the first
    Provider.objects.filter(name="emulator-fal").update(max_concurrent_jobs=4)
    run_until_settled(videos)
    assert all(video.state == "ready" for video in videos)
    # One slot at the preferred provider: the two behind it were made elsewhere meanwhile.
    assert emulator.jobs_created("gemini") == 1
    assert emulator.jobs_created("fal") == 2
    assert sorted(video.provider.name for video in videos) == ["emulator-fal", "emulator-fal", "emulator-gemini"]


def test_videos_waiting_for_a_provider_added_after_they_were_made_go_there(providers, emulator):
    only(providers, "emulator-gemini")
    Provider.objects.filter(name="emulator-gemini").update(max_concurrent_jobs=1)
    api = Api(make_user("alice"))
    videos = [veo(api) for _ in range(3)]
    assert all(video.routes == [] for video in videos)  # one provider served the model then
    # The operator adds a second provider of Veo 3.1 while two videos still wait for a slot.
    Provider.objects.filter(name="emulator-fal").update(enabled=True)
    run_until_settled(videos)
    assert all(video.state == "ready" for video in videos)
    assert emulator.jobs_created("gemini") == 1
    assert emulator.jobs_created("fal") == 2


def test_videos_waiting_for_a_provider_an_operator_disabled_go_to_another_unless_pinned(providers, emulator):
    only(providers, "emulator-gemini", "emulator-fal", emulator_gemini=10)
    Provider.objects.filter(name="emulator-gemini").update(max_concurrent_jobs=0)  # nothing goes out yet
    Provider.objects.filter(name="emulator-fal").update(max_concurrent_jobs=0)
    api = Api(make_user("alice"))
    waiting = [veo(api), veo(api)]
    pinned = veo(api, model="emulator-gemini/veo-3.1")
    assert {video.provider.name for video in [*waiting, pinned]} == {"emulator-gemini"}
    Provider.objects.filter(name="emulator-gemini").update(enabled=False)
    Provider.objects.filter(name="emulator-fal").update(max_concurrent_jobs=4)
    run_until_settled(waiting)
    assert [video.provider.name for video in waiting] == ["emulator-fal", "emulator-fal"]
    assert all(video.state == "ready" for video in waiting)
    pinned.refresh_from_db()
    # Asked of that provider alone: it waits for the provider to come back.
    assert (pinned.provider.name, pinned.state) == ("emulator-gemini", "pending")
    assert emulator.jobs_created("gemini") == 0
    Provider.objects.filter(name="emulator-gemini").update(enabled=True, max_concurrent_jobs=4)
    assert run_until_settled([pinned])[0].state == "ready"
