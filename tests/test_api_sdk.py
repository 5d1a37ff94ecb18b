"""The official openai SDK against the platform, changing only base_url and api_key."""

from __future__ import annotations

import base64
import io
import time

import openai
import pytest
from conftest import make_user
from emulator_fixtures import INSTANT, image_bytes
from test_pipeline_inprocess import drive

from accounts.services import api_token_create
from videos.models import Video

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sdk(live_server, providers):
    user = make_user("alice")
    client = openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=api_token_create(user=user, name="sdk").raw, max_retries=0
    )
    client.user = user
    return client


def settle(video_id: str) -> None:
    drive(Video.objects.get(pk=video_id))


def test_create_retrieve_poll_and_download_every_variant(sdk):
    video = sdk.videos.create(prompt=f"a lighthouse at dawn {INSTANT}", model="sora-2", seconds="4", size="1280x720")
    assert video.id.startswith("video_")
    assert video.status == "queued"
    assert video.seconds == "4"
    settle(video.id)
    done = sdk.videos.poll(video.id)
    assert done.status == "completed"
    assert done.progress == 100
    assert done.completed_at
    again = sdk.videos.retrieve(video.id)
    assert again.model_dump() == done.model_dump()
    mp4 = sdk.videos.download_content(video.id).read()
    assert mp4[4:8] == b"ftyp"
    thumbnail = sdk.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    assert thumbnail.read()[8:12] == b"WEBP"
    assert sdk.videos.download_content(video.id, variant="spritesheet").read()[:3] == b"\xff\xd8\xff"


def test_create_with_an_input_reference_file(sdk):
    image = ("start.png", io.BytesIO(image_bytes(1280, 720)), "image/png")
    video = sdk.videos.create(prompt=f"it moves {INSTANT}", size="1280x720", seconds="4", input_reference=image)
    settle(video.id)
    assert sdk.videos.retrieve(video.id).status == "completed"
    assert Video.objects.get(pk=video.id).kind == "image"


def test_list_pages_through_every_video(sdk):
    created = [sdk.videos.create(prompt=f"clip {i} [emulator:queue=60]").id for i in range(5)]
    page = sdk.videos.list(limit=2)
    assert len(page.data) == 2
    assert page.has_more
    seen = [video.id for video in sdk.videos.list(limit=2)]
    assert seen == list(reversed(created))
    assert [v.id for v in sdk.videos.list(limit=100, order="asc")] == created


def test_remix_and_delete(sdk):
    source = sdk.videos.create(prompt=f"a fox {INSTANT}", size="1280x720")
    settle(source.id)
    remix = sdk.videos.remix(source.id, prompt=f"the fox at night {INSTANT}")
    assert remix.remixed_from_video_id == source.id
    settle(remix.id)
    assert sdk.videos.retrieve(remix.id).status == "completed"
    deleted = sdk.videos.delete(remix.id)
    assert deleted.id == remix.id
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        sdk.videos.retrieve(remix.id)


def test_typed_errors(sdk, live_server, settings):
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.videos.create(prompt="x", seconds="7")
    assert bad.value.body["param"] == "seconds"
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.videos.retrieve("video_" + "0" * 48)
    assert missing.value.body["code"] == "video_not_found"
    stranger = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key="vp_not-a-real-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.videos.list()
    settings.USER_MAX_ACTIVE_VIDEOS = 1
    sdk.videos.create(prompt="first [emulator:queue=60]")
    with pytest.raises(openai.RateLimitError) as limited:
        sdk.videos.create(prompt="second")
    assert limited.value.body["code"] == "too_many_active_videos"
    assert limited.value.response.headers["retry-after"]


def test_the_sdk_is_told_to_poll_gently(sdk):
    video = sdk.videos.create(prompt="slow [emulator:queue=60]")
    response = sdk.videos.with_raw_response.retrieve(video.id)
    assert int(response.headers["openai-poll-after-ms"]) >= 1000
    assert response.headers["cache-control"] == "private, no-store"


def data_url(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(width, height)).decode()


def test_a_veo_video_with_first_and_last_frame_is_made_archived_and_given_a_thumbnail(sdk, emulator):
    video = sdk.videos.create(
        prompt=f"a lighthouse at dawn {INSTANT}",
        model="veo-3.1-generate-preview",
        seconds="6",
        size="720x1280",
        input_reference=("start.png", io.BytesIO(image_bytes(720, 1280)), "image/png"),
        extra_body={"last_frame": {"image_url": data_url(720, 1280)}, "negative_prompt": "blur"},
    )
    assert video.model == "veo-3.1-generate-preview"
    settle(video.id)
    done = sdk.videos.retrieve(video.id)
    assert done.status == "completed"
    stored = Video.objects.get(pk=video.id)
    inputs = emulator.job(stored.provider_job_id.rsplit("/", 1)[1]).inputs
    assert set(inputs) == {"image", "lastFrame", "negativePrompt"}
    assert sdk.videos.download_content(video.id).read()[4:8] == b"ftyp"
    thumbnail = sdk.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    assert thumbnail.read()[8:12] == b"WEBP"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"seconds": "5"}, "seconds"),
        ({"size": "1920x1080", "seconds": "4"}, "seconds"),  # 1080p only at 8 s
        ({"size": "1024x1792"}, "size"),
        ({"extra_body": {"seed": "7"}}, "seed"),  # the Gemini API takes no seed
        ({"extra_body": {"audio": "false"}}, "audio"),  # Veo 3.1 always makes sound
        ({"extra_body": {"reference_images": [{"image_url": data_url(64, 64)}]}, "seconds": "4"}, "seconds"),
    ],
)
def test_what_veo_cannot_do_is_a_400_naming_the_param(sdk, fields, param):
    values = {"prompt": "a fox", "model": "veo-3.1-generate-preview", "seconds": "8", "size": "1280x720", **fields}
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.videos.create(**values)
    assert raised.value.body["param"] == param
    assert not Video.objects.exists()


def test_sora_refuses_the_extensions_it_cannot_use(sdk):
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.videos.create(prompt="a fox", model="sora-2", extra_body={"last_frame": {"image_url": data_url(720, 1280)}})
    assert raised.value.body["param"] == "last_frame"
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.videos.create(prompt="a fox", model="sora-2", extra_body={"negative_prompt": "blur"})
    assert raised.value.body["param"] == "negative_prompt"


def test_models_list_each_model_once_with_what_it_can_do_and_the_ids_that_pin_a_provider(sdk):
    listed = list(sdk.models.list())
    models = {model.id: model for model in listed}
    assert len(models) == len(listed)
    assert {"sora-2", "veo-3.1", "veo-3.1-lite", "seedance-2", "kling-v3", "hailuo-02"} <= set(models)
    assert "veo-3.1-generate-preview" not in models  # a provider's own name is not a second model
    veo = models["veo-3.1"]
    assert veo.owned_by == "platform"
    assert veo.label == "Veo 3.1"
    assert set(veo.routes) >= {
        "emulator-gemini/veo-3.1",
        "emulator-vertex/veo-3.1",
        "emulator-fal/veo-3.1",
        "emulator-replicate/veo-3.1",
        "emulator-runway/veo-3.1",
    }
    assert not hasattr(veo, "providers")  # which provider holds which name is for staff
    # What any of its providers can do: reference images at Google's, silence elsewhere.
    assert veo.capabilities["inputs"]["last_frame"] is True
    assert veo.capabilities["inputs"]["reference_images"] == 3
    assert veo.capabilities["audio"] == "optional"
    assert models["sora-2"].owned_by == "emulator-openai"
    assert models["sora-2"].routes == ["emulator-openai/sora-2"]
    assert models["sora-2"].capabilities["inputs"]["last_frame"] is False
    assert models["sora-2"].capabilities["remix"] is True
    assert models["veo-3.1-lite"].capabilities["inputs"]["reference_images"] == 0


def test_staff_see_which_provider_serves_a_model_under_which_name(live_server, providers, staff):
    client = openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=api_token_create(user=staff, name="sdk").raw, max_retries=0
    )
    veo = next(model for model in client.models.list() if model.id == "veo-3.1")
    by_provider = {entry["provider"]: entry for entry in veo.providers}
    assert by_provider["emulator-gemini"]["model"] == "veo-3.1-generate-preview"
    assert by_provider["emulator-gemini"]["id"] == "emulator-gemini/veo-3.1"
    assert by_provider["emulator-runway"]["model"] == "veo3.1"
    assert by_provider["emulator-gemini"]["capabilities"]["audio"] == "always"
    assert by_provider["emulator-runway"]["capabilities"]["inputs"]["reference_images"] == 0


def test_a_seedance_video_with_seed_silence_and_a_last_frame_comes_from_the_cdn(sdk, emulator):
    video = sdk.videos.create(
        prompt=f"a cat surfing at dusk {INSTANT}",
        model="dreamina-seedance-2-0-260128",
        seconds="7",
        size="960x960",
        extra_body={"seed": "42", "audio": "false", "last_frame": {"image_url": data_url(960, 960)}},
    )
    settle(video.id)
    assert sdk.videos.retrieve(video.id).status == "completed"
    inputs = emulator.job(Video.objects.get(pk=video.id).provider_job_id).inputs
    assert (inputs["seed"], inputs["generate_audio"], inputs["duration"]) == (42, False, 7)
    assert [image["role"] for image in inputs["images"]] == ["last_frame"]
    assert sdk.videos.download_content(video.id).read()[4:8] == b"ftyp"
    assert sdk.videos.download_content(video.id, variant="thumbnail").read()[8:12] == b"WEBP"
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.videos.create(prompt="x", model="dreamina-seedance-2-0-260128", extra_body={"negative_prompt": "blur"})
    assert raised.value.body["param"] == "negative_prompt"
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.videos.create(prompt="x", model="dreamina-seedance-2-0-260128", seconds="16")
    assert raised.value.body["param"] == "seconds"


def test_a_kling_video_through_fal_from_a_start_and_a_last_frame(sdk, emulator):
    video = sdk.videos.create(
        prompt=f"a paper boat on a river {INSTANT}",
        model="fal-ai/kling-video/v3/pro",
        seconds="10",
        size="1080x1920",
        input_reference=("start.png", io.BytesIO(image_bytes(1080, 1920)), "image/png"),
        extra_body={"last_frame": {"image_url": data_url(1080, 1920)}, "audio": "true"},
    )
    settle(video.id)
    assert sdk.videos.retrieve(video.id).status == "completed"
    job = emulator.job(Video.objects.get(pk=video.id).provider_job_id.rsplit("/", 1)[1])
    assert job.model == "fal-ai/kling-video/v3/pro/image-to-video"
    assert set(job.inputs["body"]) == {"prompt", "start_image_url", "end_image_url", "duration", "generate_audio"}
    assert sdk.videos.download_content(video.id).read()[4:8] == b"ftyp"
    assert sdk.videos.download_content(video.id, variant="thumbnail").read()[8:12] == b"WEBP"


def test_a_vertex_veo_video_with_a_seed_and_no_sound_is_archived_from_the_operation(sdk, emulator):
    video = sdk.videos.create(
        prompt=f"a harbour at night {INSTANT}",
        model="veo-3.1-generate-001",
        seconds="4",
        size="1280x720",
        extra_body={"seed": "5", "audio": "false"},
    )
    settle(video.id)
    assert sdk.videos.retrieve(video.id).status == "completed"
    inputs = emulator.job(Video.objects.get(pk=video.id).provider_job_id.rsplit("/", 1)[1]).inputs
    assert (inputs["seed"], inputs["generateAudio"]) == (5, False)
    assert sdk.videos.download_content(video.id).read()[4:8] == b"ftyp"
    assert sdk.videos.download_content(video.id, variant="thumbnail").read()[8:12] == b"WEBP"


def settle_all(video_ids: list[str], timeout: float = 90) -> None:
    """Run the pipeline's steps for every provider until each video is final."""
    from videos import archive, pipeline
    from videos.models import Provider, VideoState

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for provider in Provider.objects.filter(enabled=True):
            pipeline.submit_pending(provider)
            with provider.adapter() as adapter:
                pipeline.poll_due(provider, adapter)
        for archiving in Video.objects.filter(state=VideoState.ARCHIVING):
            archive.archive_video(archiving.pk)
        states = dict(Video.objects.filter(pk__in=video_ids).values_list("pk", "state"))
        if all(state in ("ready", "failed", "expired") for state in states.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"not settled: {states}")


def test_every_model_at_every_provider_of_the_development_setup_makes_text_and_image_videos(
    live_server, providers, staff, settings
):
    settings.PIPELINE_FIRST_POLL_SECONDS = 0.1
    settings.USER_MAX_ACTIVE_VIDEOS = 100
    settings.USER_DAILY_SECONDS = 10_000
    # Staff see each provider's own record of a model; the `provider/model` ids pin one route.
    sdk = openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=api_token_create(user=staff, name="sdk").raw, max_retries=0
    )
    routes = [route for model in sdk.models.list() for route in model.providers]
    made: dict[str, list[str]] = {}
    for route in routes:
        model_id, caps = route["id"], route["capabilities"]
        size = caps["sizes"][0]
        width, height = (int(part) for part in size.split("x"))
        seconds = caps["seconds_by_size"][size][0]
        text = sdk.videos.create(prompt=f"{model_id} from words {INSTANT}", model=model_id, size=size, seconds=seconds)
        made[model_id] = [text.id]
        inputs = caps["inputs"]
        extra: dict = {}
        if inputs["last_frame"]:
            extra["last_frame"] = {"image_url": data_url(width, height)}
        if inputs["reference_images"] and not inputs["last_frame"]:
            extra["reference_images"] = [{"image_url": data_url(64, 64)}]
            seconds = (inputs["reference_images_seconds"] or [seconds])[0]
            if seconds not in caps["seconds_by_size"][size]:
                extra.pop("reference_images")
        if inputs["input_reference"]:
            frame = ("start.png", io.BytesIO(image_bytes(width, height)), "image/png")
            framed = sdk.videos.create(
                prompt=f"{model_id} from a frame {INSTANT}",
                model=model_id,
                size=size,
                seconds=str(seconds),
                input_reference=frame,
                extra_body=extra,
            )
            made[model_id].append(framed.id)
        if inputs["reference_images"] and inputs["last_frame"]:
            # Reference images on their own, where the frame video above carried a last frame.
            ref_seconds = (inputs["reference_images_seconds"] or [seconds])[0]
            if ref_seconds in caps["seconds_by_size"][size]:
                referenced = sdk.videos.create(
                    prompt=f"{model_id} from references {INSTANT}",
                    model=model_id,
                    size=size,
                    seconds=str(ref_seconds),
                    extra_body={"reference_images": [{"image_url": data_url(64, 64)}]},
                )
                made[model_id].append(referenced.id)
        # What the model cannot do is a 400 naming the parameter, for every model.
        for param, value in (("seconds", "97"), ("size", "10x10")):
            wrong = {"size": size, "seconds": str(seconds), param: value}
            with pytest.raises(openai.BadRequestError) as refused:
                sdk.videos.create(prompt="never made", model=model_id, **wrong)
            assert refused.value.body["param"] == param, (model_id, refused.value.body)
    assert len(made) >= 24
    referenced_models = [
        m for m, ids in made.items() if any("references" in Video.objects.get(pk=i).prompt for i in ids)
    ]
    assert len(referenced_models) >= 4, referenced_models  # Veo on Gemini and Vertex, Seedance, OpenRouter
    assert {Video.objects.get(pk=ids[0]).provider.name for ids in made.values()} == {p.name for p in providers.values()}
    settle_all([video_id for ids in made.values() for video_id in ids])
    for model_id, ids in made.items():
        for video_id in ids:
            video = sdk.videos.retrieve(video_id)
            assert video.status == "completed", (model_id, Video.objects.get(pk=video_id).error_message)
            assert sdk.videos.download_content(video_id).read()[4:8] == b"ftyp", model_id
            thumbnail = sdk.videos.download_content(video_id, variant="thumbnail")
            assert thumbnail.response.headers["content-type"] in ("image/webp", "image/jpeg"), model_id
