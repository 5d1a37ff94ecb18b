"""Extensions (`POST /v1/videos/extensions`): the openai SDK's `videos.extend` continues one of
the caller's finished Veo videos at the provider that made it, over real HTTP to the emulator."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import httpx
import openai
import pytest
from conftest import make_user
from django.utils import timezone
from emulator_fixtures import INSTANT
from test_api_sdk import sdk, settle  # noqa: F401  (the fixture)

from videos import services
from videos.models import Video, VideoKind
from videos.pipeline import _read as read_stored
from videos.storage import delete_key

pytestmark = pytest.mark.django_db(transaction=True)


def made(sdk, model: str, *, size: str = "1280x720", seconds: str = "8") -> Video:  # noqa: F811
    video = sdk.videos.create(prompt=f"a lighthouse at dawn {INSTANT}", model=model, seconds=seconds, size=size)
    settle(video.id)
    stored = Video.objects.get(pk=video.id)
    assert stored.state == "ready", stored.error_message
    return stored


def emulator_job(emulator, video: Video):
    return emulator.job(Video.objects.get(pk=video.pk).provider_job_id.rsplit("/", 1)[1])


def test_a_gemini_veo_video_is_extended_from_the_file_the_provider_still_holds(sdk, emulator):  # noqa: F811
    source = made(sdk, "veo-3.1-generate-preview")
    # The SDK sends `video` as a file: the one downloaded from the source, unchanged, names it.
    downloaded = sdk.videos.download_content(source.pk).read()
    extension = sdk.videos.extend(
        prompt=f"the camera rises {INSTANT}", seconds="7", video=("mine.mp4", downloaded, "video/mp4")
    )
    assert (extension.status, extension.seconds, extension.size) == ("queued", "7", "1280x720")
    assert extension.model == "veo-3.1-generate-preview"
    assert extension.remixed_from_video_id is None
    settle(extension.id)
    assert sdk.videos.retrieve(extension.id).status == "completed"
    assert sdk.videos.download_content(extension.id).read()[4:8] == b"ftyp"
    assert sdk.videos.download_content(extension.id, variant="thumbnail").read()[8:12] == b"WEBP"
    stored = Video.objects.get(pk=extension.id)
    assert (stored.kind, stored.extend_source_id, stored.extended_from_video_id) == (
        VideoKind.EXTEND,
        source.pk,
        source.pk,
    )
    assert (stored.provider_id, stored.base_seconds, stored.length_seconds) == (source.provider_id, 8, 15)
    job = emulator_job(emulator, stored)
    # The held file of the source, by the id its operation named; eight seconds asked, seven added.
    assert job.inputs["video"] == {"file": source.provider_generation_ids[0], "seconds": 8}
    assert job.seconds == 15

    # An extension can be extended again: its length is the whole chain.
    again = extend_by_id(sdk, prompt=f"night falls {INSTANT}", seconds="7", video={"id": extension.id})
    settle(again.id)
    assert Video.objects.get(pk=again.id).length_seconds == 22
    assert emulator_job(emulator, Video.objects.get(pk=again.id)).inputs["video"]["seconds"] == 15


def test_a_vertex_veo_video_is_extended_from_the_copy_stored_here(sdk, emulator):  # noqa: F811
    source = made(sdk, "veo-3.1-fast-generate-001", size="720x1280", seconds="4")
    # Vertex AI is sent the video itself: the provider need not hold it any longer.
    Video.objects.filter(pk=source.pk).update(provider_expires_at=timezone.now() - timedelta(days=3))
    extension = extend_by_id(sdk, prompt=f"the rain stops {INSTANT}", seconds="7", video={"id": source.pk})
    settle(extension.id)
    assert sdk.videos.retrieve(extension.id).status == "completed"
    stored_source = source.assets.get(kind="video", variant=0)
    sent = emulator_job(emulator, Video.objects.get(pk=extension.id)).inputs["video"]
    assert sent["sha256"] == hashlib.sha256(read_stored(stored_source.storage_key)).hexdigest()
    assert sdk.videos.download_content(extension.id).read()[4:8] == b"ftyp"


def extend_by_id(sdk, **body) -> openai.types.Video:  # noqa: F811
    """The documented JSON body (`video: {"id"}`), which the SDK's extend cannot send as a form."""
    return sdk.post("/videos/extensions", body=body, cast_to=openai.types.Video)


def test_a_form_names_the_video_as_video_id_in_brackets(sdk, live_server):  # noqa: F811
    source = made(sdk, "veo-3.1-generate-001")
    response = httpx.post(
        f"{live_server.url}/v1/videos/extensions",
        headers={"Authorization": f"Bearer {sdk.api_key}"},
        data={"prompt": f"more {INSTANT}", "seconds": "7", "video[id]": source.pk},
        files={"unused": ("x.txt", b"", "text/plain")},
    )
    assert response.status_code == 400  # an unknown part is refused, as everywhere
    assert response.json()["error"]["param"] == "unused"
    response = httpx.post(
        f"{live_server.url}/v1/videos/extensions",
        headers={"Authorization": f"Bearer {sdk.api_key}"},
        data={"prompt": f"more {INSTANT}", "seconds": "7", "video[id]": source.pk},
    )
    assert response.status_code == 200, response.text
    assert response.json()["seconds"] == "7"
    assert Video.objects.get(pk=response.json()["id"]).kind == VideoKind.EXTEND


def test_what_cannot_be_extended_is_refused_naming_the_param(sdk, live_server, providers):  # noqa: F811
    source = made(sdk, "veo-3.1-generate-preview")

    def refused(error_type, **fields):
        with pytest.raises(error_type) as caught:
            extend_by_id(sdk, **{"prompt": "next", "seconds": "7", "video": {"id": source.pk}, **fields})
        return caught.value.body

    assert refused(openai.BadRequestError, seconds="8")["param"] == "seconds"
    assert refused(openai.BadRequestError, prompt="")["param"] == "prompt"
    with pytest.raises(openai.NotFoundError) as stranger_file:
        sdk.videos.extend(prompt="x", seconds="7", video=("clip.mp4", io.BytesIO(b"\0\0\0\x18ftypmp42"), "video/mp4"))
    assert (stranger_file.value.body["param"], stranger_file.value.body["code"]) == ("video", "video_not_found")
    assert refused(openai.BadRequestError, size="720x1280")["param"] == "size"
    assert refused(openai.BadRequestError, video={"id": source.pk, "x": 1})["param"] == "video"

    # Another user's video is as unknown as one that never existed.
    bob = make_user("bob")
    bobs = services.video_create(
        owner=bob, provider=source.provider, model=source.model, prompt="bob's", size="1280x720", seconds=8
    )
    for video_id in (bobs.pk, "video_" + "0" * 48):
        missing = refused(openai.NotFoundError, video={"id": video_id})
        assert (missing["param"], missing["code"]) == ("video", "video_not_found")

    pending = sdk.videos.create(prompt="slow [emulator:queue=60]", model="veo-3.1-generate-preview", size="1280x720")
    assert refused(openai.ConflictError, video={"id": pending.id})["code"] == "video_not_ready"

    for model, size, seconds in (
        ("sora-2", "1280x720", "4"),  # the model cannot extend
        ("veo-3.1-lite-generate-preview", "1280x720", "8"),  # nor Lite at the Gemini API
        ("veo-3.1-generate-preview", "1920x1080", "8"),  # Veo extends 720p videos only
    ):
        other = made(sdk, model, size=size, seconds=seconds)
        body = refused(openai.BadRequestError, video={"id": other.pk})
        assert (body["param"], body["code"]) == ("video", "extend_unsupported"), model

    # The Gemini API extends only what it still holds (two days).
    Video.objects.filter(pk=source.pk).update(provider_expires_at=timezone.now() - timedelta(seconds=1))
    gone = refused(openai.ConflictError)
    assert (gone["param"], gone["code"]) == ("video", "extend_source_expired")
    assert not Video.objects.filter(kind=VideoKind.EXTEND).exists()  # nothing half-made


def test_a_source_deleted_before_the_job_is_sent_fails_the_extension_clearly(sdk):  # noqa: F811
    source = made(sdk, "veo-3.1-generate-preview")
    extension = extend_by_id(sdk, prompt="next [emulator:queue=0]", seconds="7", video={"id": source.pk})
    sdk.videos.delete(source.pk)
    settle(extension.id)
    failed = sdk.videos.retrieve(extension.id)
    assert failed.status == "failed"
    assert failed.error.code == "extend_source_gone"


def test_a_held_source_that_expires_before_the_job_is_sent_fails_clearly_and_costs_nothing(sdk, emulator):  # noqa: F811
    source = made(sdk, "veo-3.1-generate-preview")
    extension = extend_by_id(sdk, prompt="next [emulator:queue=0]", seconds="7", video={"id": source.pk})
    created = emulator.jobs_created("gemini")
    Video.objects.filter(pk=source.pk).update(provider_expires_at=timezone.now() - timedelta(seconds=1))
    settle(extension.id)
    failed = sdk.videos.retrieve(extension.id)
    assert (failed.status, failed.error.code) == ("failed", "extend_source_expired")
    assert emulator.jobs_created("gemini") == created


def test_a_vertex_source_whose_stored_file_is_gone_fails_before_anything_is_sent(sdk, emulator):  # noqa: F811
    source = made(sdk, "veo-3.1-generate-001")
    extension = extend_by_id(sdk, prompt="next [emulator:queue=0]", seconds="7", video={"id": source.pk})
    created = emulator.jobs_created("vertex")
    delete_key(source.assets.get(kind="video").storage_key)
    settle(extension.id)
    failed = sdk.videos.retrieve(extension.id)
    assert (failed.status, failed.error.code) == ("failed", "extend_source_gone")
    assert emulator.jobs_created("vertex") == created


def test_models_say_which_can_extend_and_by_how_much(sdk):  # noqa: F811
    models = {m.id: m for m in sdk.models.list()}
    veo = models["veo-3.1"].capabilities["extend"]
    # The Gemini API's and Vertex AI's together; the longest video either takes.
    assert veo == {"supported": True, "seconds": ["7"], "sizes": ["1280x720", "720x1280"], "max_video_seconds": 141}
    assert models["sora-2"].capabilities["extend"] == {
        "supported": False,
        "seconds": [],
        "sizes": [],
        "max_video_seconds": None,
    }
    # Lite extends at Vertex AI only (up to 30 s), not at the Gemini API.
    assert models["veo-3.1-lite"].capabilities["extend"]["max_video_seconds"] == 30
    assert models["seedance-2"].capabilities["extend"]["supported"] is False


def test_an_operator_override_is_honoured_and_a_protocol_that_cannot_extend_is_never_asked_to(sdk):  # noqa: F811
    lite = made(sdk, "veo-3.1-lite-generate-preview")
    with pytest.raises(openai.BadRequestError):
        extend_by_id(sdk, prompt="x", seconds="7", video={"id": lite.pk})
    lite.provider.model_capabilities = {"veo-3.1-lite-generate-preview": {"extend": True, "extend_seconds": [7]}}
    lite.provider.save()
    accepted = extend_by_id(sdk, prompt="x [emulator:queue=60]", seconds="7", video={"id": lite.pk})
    assert accepted.status == "queued"

    sora = made(sdk, "sora-2", seconds="4")
    sora.provider.model_capabilities = {"sora-2": {"extend": True, "extend_seconds": [4, 8]}}
    sora.provider.save()
    with pytest.raises(openai.BadRequestError) as refused:
        extend_by_id(sdk, prompt="x", seconds="4", video={"id": sora.pk})
    assert refused.value.body["code"] == "extend_unsupported"
