"""Creating, remixing and deleting videos through the dashboard's forms, and their messages."""

from __future__ import annotations

import re

import pytest
from api_helpers import make_video
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from emulator_fixtures import image_bytes
from PIL import Image

from videos.models import Provider, Video


def new_video(client, **fields):
    data = {"prompt": "a lighthouse at dawn", "model": "sora-2", "size": "1280x720", "seconds": "4", **fields}
    return client.post(reverse("videos:new"), {k: v for k, v in data.items() if v is not None})


def field_errors(response, field: str) -> str:
    return " ".join(response.context["form"].errors.get(field, []))


def offered_models(response) -> dict[str, list[str]]:
    """Provider name: its models, as grouped in the model list."""
    choices = response.context["form"].fields["model"].widget.choices
    return {group: [value for value, _ in options] for group, options in choices}


def test_the_form_offers_only_models_of_enabled_providers(alice_client, offline_providers):
    offered = offered_models(alice_client.get(reverse("videos:new")))
    # Each model once, whichever providers serve it, then the ids that pin one provider.
    models = offered.pop("Models")
    assert len(models) == len(set(models))
    assert {"sora", "sora-2", "sora-2-pro", "veo-3.1", "veo-3.1-fast", "seedance-2", "kling-v3", "hailuo-02"} <= set(
        models
    )
    assert {"gen-4.5", "wan-2.5", "hailuo-2.3", "kling-v2.1", "kling-v2.5-turbo", "ray-2", "ray-flash-2"} <= set(models)
    assert offered["Only through Emulator (Gemini API, Veo)"] == [
        "emulator-gemini/veo-3.1",
        "emulator-gemini/veo-3.1-fast",
        "emulator-gemini/veo-3.1-lite",
    ]
    assert offered["Only through Emulator (Runway)"] == ["emulator-runway/veo-3.1"]
    assert offered["Only through Emulator (Kling)"] == ["emulator-kling/kling-v3"]
    assert "emulator-fal/kling-v3" in offered["Only through Emulator (fal queue)"]
    assert "emulator-replicate/veo-3.1" in offered["Only through Emulator (Replicate)"]
    assert "emulator-minimax/hailuo-02" in offered["Only through Emulator (MiniMax)"]
    assert "emulator-vertex/veo-3.1" in offered["Only through Emulator (Vertex AI, Veo)"]
    # A model one provider alone serves needs no pinning id.
    assert not any(value.endswith(("/sora-2", "/gen-4.5")) for values in offered.values() for value in values)
    assert offered["Only through Emulator (OpenRouter)"] == [
        "emulator-openrouter/veo-3.1",
        "emulator-openrouter/veo-3.1-fast",
    ]
    Provider.objects.exclude(name="emulator-openai").update(enabled=False)
    response = alice_client.get(reverse("videos:new"))
    assert offered_models(response) == {"Models": ["sora-2", "sora-2-pro"]}
    assert '"sora"' not in response.content.decode().split('id="model-options"')[1]


def test_the_form_lists_each_models_sizes_durations_and_variants_for_the_script(alice_client, offline_providers):
    options = alice_client.get(reverse("videos:new")).context["options"]
    assert options["sora"]["seconds"] == [5, 10, 15, 20]
    assert options["sora"]["variants"]["1920x1080"] == 1
    assert options["sora"]["variants"]["480x480"] == 4
    assert options["sora-2"]["variants"] == {s: 1 for s in options["sora-2"]["sizes"]}


def test_a_text_to_video_is_created_and_shown(alice_client, alice, offline_providers):
    response = new_video(alice_client)
    video = Video.objects.get(owner=alice)
    assert response.status_code == 302
    assert response.url == reverse("videos:detail", args=[video.pk])
    assert (video.state, video.kind, video.model, video.size, video.seconds) == (
        "pending",
        "text",
        "sora-2",
        "1280x720",
        4,
    )
    page = alice_client.get(response.url).content.decode()
    assert "Your video is queued" in page


def test_an_image_to_video_stores_the_start_frame(alice_client, alice, offline_providers):
    image = SimpleUploadedFile("frame.png", image_bytes(1280, 720), content_type="image/png")
    response = new_video(alice_client, image=image)
    assert response.status_code == 302
    video = Video.objects.get(owner=alice)
    assert video.kind == "image"
    assert video.input_image_type == "image/png"
    frame = alice_client.get(reverse("videos:file", args=[video.pk, 0, "start-frame"]))
    assert frame.status_code == 200
    assert b"".join(frame.streaming_content)[:4] == b"\x89PNG"


def test_azure_variants_are_accepted_within_the_sizes_limit(alice_client, alice, offline_providers):
    response = new_video(alice_client, model="sora", size="480x480", seconds="5", n_variants="4")
    assert response.status_code == 302
    assert Video.objects.get(owner=alice).n_variants == 4


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"prompt": "   "}, "prompt", "the prompt is empty"),
        ({"prompt": "x" * 32001}, "prompt", "the limit is 32000"),
        ({"model": "dall-e"}, "model", "Unknown model 'dall-e'"),
        ({"size": "480x480"}, "size", "not available for this model"),
        ({"seconds": "5"}, "seconds", "not available for this model"),
        ({"seconds": "four"}, "seconds", "not available for this model"),
        ({"model": "sora", "size": "1920x1080", "seconds": "5", "n_variants": "2"}, "n_variants", "between 1 and 1"),
        ({"n_variants": "two"}, "n_variants", "whole number"),
    ],
)
def test_invalid_requests_get_a_message_next_to_the_field(
    alice_client, alice, offline_providers, fields, field, message
):
    response = new_video(alice_client, **fields)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    page = response.content.decode()
    assert re.search(rf'id="id_{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{field}"', page)
    assert f'id="id_{field}_error"' in page
    assert not Video.objects.exists()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        # With "exact size only"; a crop or a pad would fit it.
        (SimpleUploadedFile("f.png", image_bytes(640, 480), content_type="image/png"), "The image is 640x480"),
        (SimpleUploadedFile("f.gif", image_bytes(1280, 720, "GIF"), content_type="image/gif"), "use JPEG, PNG or WebP"),
        (SimpleUploadedFile("f.png", b"not an image at all", content_type="image/png"), "not a readable"),
    ],
)
def test_bad_start_frames_are_refused_with_a_message(alice_client, offline_providers, upload, message):
    response = new_video(alice_client, image=upload, input_fit="exact")
    assert response.status_code == 400
    assert message in field_errors(response, "image")
    assert not Video.objects.exists()


def test_a_too_large_image_is_refused_before_it_is_read(alice_client, offline_providers, settings):
    settings.MAX_INPUT_IMAGE_BYTES = 2048
    upload = SimpleUploadedFile("f.png", image_bytes(1280, 720) + b"\0" * 4096, content_type="image/png")
    response = new_video(alice_client, image=upload)
    assert "the limit is 2 KB" in field_errors(response, "image")


def test_a_chosen_image_must_be_chosen_again_when_another_field_is_wrong(alice_client, offline_providers):
    image = SimpleUploadedFile("frame.png", image_bytes(1280, 720), content_type="image/png")
    response = new_video(alice_client, prompt="", image=image)
    assert "Choose the image again" in field_errors(response, "image")


def test_limits_are_shown_on_the_form(alice_client, alice, offline_providers, settings):
    settings.USER_MAX_ACTIVE_VIDEOS = 1
    make_video(alice, "generating")
    response = new_video(alice_client)
    assert response.status_code == 429
    assert "the limit is 1" in " ".join(response.context["form"].non_field_errors())
    assert Video.objects.filter(owner=alice).count() == 1


def test_the_daily_budget_is_shown_on_the_form(alice_client, alice, offline_providers, settings):
    settings.USER_DAILY_SECONDS = 6
    response = new_video(alice_client, seconds="8")
    assert "6 of 6 are left today" in " ".join(response.context["form"].non_field_errors())


def test_a_ready_video_is_remixed(alice_client, alice, offline_providers):
    source = make_video(alice, "ready")
    response = alice_client.post(reverse("videos:remix", args=[source.pk]), {"prompt": "now at night"})
    remix = Video.objects.get(remix_source=source)
    assert response.status_code == 302
    assert response.url == reverse("videos:detail", args=[remix.pk])
    assert (remix.kind, remix.prompt, remix.model, remix.size) == ("remix", "now at night", "sora-2", "1280x720")


def test_an_empty_remix_prompt_gets_a_message_in_the_remix_form(alice_client, alice, offline_providers):
    source = make_video(alice, "ready")
    response = alice_client.post(reverse("videos:remix", args=[source.pk]), {"prompt": ""})
    assert response.status_code == 400
    assert "the prompt is empty" in " ".join(response.context["remix_form"].errors["prompt"])
    assert Video.objects.count() == 1


def test_a_video_that_is_not_ready_cannot_be_remixed(alice_client, alice, offline_providers):
    source = make_video(alice, "generating")
    response = alice_client.post(reverse("videos:remix", args=[source.pk]), {"prompt": "x"}, follow=True)
    assert "Only a finished (completed) video can be remixed." in response.content.decode()
    assert Video.objects.count() == 1


def test_a_remix_counts_against_the_limits(alice_client, alice, offline_providers, settings):
    settings.USER_DAILY_SECONDS = 5
    source = make_video(alice, "ready", seconds=4)
    response = alice_client.post(reverse("videos:remix", args=[source.pk]), {"prompt": "again"})
    assert response.status_code == 429
    assert "daily budget" in " ".join(response.context["remix_form"].non_field_errors())


def test_delete_asks_first_then_removes_the_video(alice_client, alice, offline_providers):
    video = make_video(alice, "ready", prompt="to be deleted")
    confirm = alice_client.get(reverse("videos:delete", args=[video.pk]))
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    Video.objects.get(pk=video.pk)  # asking deletes nothing
    response = alice_client.post(reverse("videos:delete", args=[video.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("videos:list")
    assert "was deleted" in response.content.decode()
    assert alice_client.get(reverse("videos:detail", args=[video.pk])).status_code == 404
    assert alice_client.get(reverse("videos:file", args=[video.pk, 0, "video"])).status_code == 404


def test_every_dashboard_form_refuses_a_post_without_csrf_token(csrf_client, alice, offline_providers):
    video = make_video(alice, "ready")
    csrf_client.force_login(alice)
    for url, data in [
        (reverse("videos:new"), {"prompt": "x", "model": "sora-2", "size": "1280x720", "seconds": "4"}),
        (reverse("videos:remix", args=[video.pk]), {"prompt": "x"}),
        (reverse("videos:delete", args=[video.pk]), {}),
    ]:
        assert csrf_client.post(url, data).status_code == 403, url
    assert list(Video.objects.values_list("pk", "deleted_at")) == [(video.pk, None)]


def test_forms_work_with_the_csrf_token(csrf_client, alice, offline_providers):
    csrf_client.force_login(alice)
    page = csrf_client.get(reverse("videos:new"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = csrf_client.post(
        reverse("videos:new"),
        {"csrfmiddlewaretoken": token, "prompt": "x", "model": "sora-2", "size": "1280x720", "seconds": "4"},
    )
    assert response.status_code == 302


def test_with_no_provider_enabled_the_form_says_so(alice_client, offline_providers):
    Provider.objects.update(enabled=False)
    page = alice_client.get(reverse("videos:new")).content.decode()
    assert "No video provider is enabled" in page
    response = new_video(alice_client)
    assert "No video provider is enabled" in field_errors(response, "model")


def test_a_start_frame_of_another_size_is_cropped_to_the_video(alice_client, alice, offline_providers, media_root):
    upload = SimpleUploadedFile("f.png", image_bytes(640, 480), content_type="image/png")
    response = new_video(alice_client, image=upload)
    assert response.status_code == 302
    video = Video.objects.get()
    assert video.options == {"input_fit": "crop"}
    with Image.open(media_root / video.input_image_key) as frame:
        assert f"{frame.width}x{frame.height}" == video.size


def test_reference_images_and_a_seed_go_with_a_model_that_takes_them(alice_client, alice, offline_providers):
    pictures = [SimpleUploadedFile(f"r{n}.png", image_bytes(300 + n, 200), content_type="image/png") for n in range(2)]
    response = new_video(
        alice_client,
        model="veo-3.1-generate-001",
        size="1280x720",
        seconds="8",
        reference_images=pictures,
        seed="77",
    )
    assert response.status_code == 302
    video = Video.objects.get()
    assert [item["role"] for item in video.input_images] == ["reference", "reference"]
    assert video.options["seed"] == 77


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"model": "veo-3.1-generate-001", "seconds": "4"}, "reference_images", "8-second videos only"),
        ({"model": "veo-3.1-lite-generate-001", "seconds": "8"}, "reference_images", "takes no reference_images"),
        ({"model": "sora-2", "seconds": "4"}, "reference_images", "takes no reference_images"),
    ],
)
def test_reference_images_a_model_cannot_use_are_refused_by_the_field(
    alice_client, offline_providers, fields, field, message
):
    picture = SimpleUploadedFile("r.png", image_bytes(64, 64), content_type="image/png")
    response = new_video(alice_client, size="1280x720", reference_images=[picture], **fields)
    assert response.status_code == 400
    assert message in field_errors(response, field)
    assert not Video.objects.exists()


def test_a_seed_for_a_model_without_one_is_refused(alice_client, offline_providers):
    response = new_video(alice_client, model="veo-3.1-generate-preview", size="1280x720", seconds="8", seed="3")
    assert response.status_code == 400
    assert "takes no seed" in field_errors(response, "seed")
