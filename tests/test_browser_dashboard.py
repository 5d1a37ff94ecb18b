"""The dashboard in a real browser: sign up, make videos, watch them progress, play, download,
remix and delete them; another user sees none of it; bad input gets messages by the fields.

The pipeline runs in this thread (`drive`, `advance`) while the page follows it on its own, so
videos progress without a task cluster.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from api_helpers import make_video
from conftest import PASSWORD, make_user
from PIL import Image
from playwright.sync_api import expect
from test_pipeline_inprocess import drive

from videos.models import Video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The emulator's job takes 6 s to generate, in five progress steps: time to watch it move.
WATCHABLE = "[emulator:queue=0,generation=6]"
QUICK = "[emulator:queue=0,generation=0.5]"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def advance(video: Video, *, progress: int, timeout: float = 20) -> Video:
    """Run pipeline steps until the provider has reported at least `progress` percent."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        video = drive(video, until=("generating", "archiving", "ready", "failed", "expired"))
        if video.progress >= progress:
            return video
        time.sleep(0.1)
    raise AssertionError(f"progress stayed at {video.progress}")


def picture(path: Path, width: int, height: int) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def px(size: str) -> str:
    """A size as the pages write it for people: 1280, the multiplication sign, 720."""
    return size.replace("x", "\u00d7")


def script_errors(page) -> list[str]:
    """Collects the page's uncaught script errors and console errors, to assert there are none."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def nav(page):
    return page.get_by_role("navigation", name="Main")


def log_in(page, url: str, username: str) -> None:
    page.goto(url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "/videos/")


def bar_reaches(page, selector: str, value: int) -> None:
    page.wait_for_function(
        """([selector, value]) => {
             const bar = document.querySelector(selector);
             return bar !== null && bar.hasAttribute("value") && bar.value >= value;
           }""",
        arg=[selector, value],
    )


def wait_until_playable(page, selector: str = "video") -> float:
    """The element has loaded the stream's metadata and first frame: it knows its duration."""
    page.wait_for_function(f"document.querySelector('{selector}').readyState >= 2")
    assert page.evaluate(f"document.querySelector('{selector}').error") is None
    return page.evaluate(f"document.querySelector('{selector}').duration")


def screenshots(page, output_dir: Path, name: str) -> None:
    page.screenshot(path=str(output_dir / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(output_dir / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_sign_up_make_watch_play_download_remix_and_delete(live_server, providers, page, output_dir, tmp_path):
    errors = script_errors(page)
    url = live_server.url
    page.goto(url + "/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Email").fill("dora@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(url + "/videos/")
    page.get_by_text("No videos yet").wait_for()

    # A text-to-video.
    nav(page).get_by_role("link", name="New video").click()
    prompt = f"A lighthouse on a cliff at dawn {WATCHABLE}"
    page.get_by_label("Prompt").fill(prompt)
    expect(page.locator("#prompt-count")).to_have_text(f"{len(prompt)} / 32,000 characters")
    page.get_by_label("Model").select_option("sora-2")
    page.get_by_label("Size").select_option("1280x720")
    page.get_by_label("Duration").select_option("4")
    expect(page.locator("#variants-field")).to_be_hidden()  # sora-2 makes one variant
    page.get_by_role("button", name="Generate video").click()
    page.get_by_text("Your video is queued").wait_for()
    video = Video.objects.get(owner__username="dora")
    assert page.url == f"{url}/videos/{video.pk}/"

    # The gallery follows it: the bar moves without a reload, then the card turns ready.
    nav(page).get_by_role("link", name="My videos").click()
    page.wait_for_url(url + "/videos/")
    card = f"[data-video-id='{video.pk}']"
    assert page.locator(f"{card} [data-role=badge]").inner_text() == "Queued"
    page.evaluate("window.notReloaded = true")
    video = advance(video, progress=20)
    bar_reaches(page, f"{card} progress", 20)
    assert page.locator(f"{card} [data-role=badge]").inner_text() == "Generating"
    video = advance(video, progress=60)
    bar_reaches(page, f"{card} progress", 60)
    assert page.locator(f"{card} [data-role=percent]").inner_text() == f"{video.progress}%"
    polls: list[str] = []
    page.on("request", lambda request: "/videos/status" in request.url and polls.append(request.url))
    video = drive(video)
    assert video.state == "ready"
    page.locator(f"{card} .badge.ready").wait_for()
    page.wait_for_function(f'document.querySelector("{card} img")?.naturalWidth > 0')
    assert page.evaluate("window.notReloaded") is True
    polls.clear()
    page.wait_for_timeout(4500)  # two poll intervals and more: nothing is running, so nothing is asked
    assert polls == []

    # The video page plays it, with the thumbnail as poster.
    page.locator(f"{card} .card-title a").click()
    page.wait_for_url(f"{url}/videos/{video.pk}/")
    assert page.locator("video").get_attribute("poster").endswith("/thumbnail")
    assert wait_until_playable(page) == pytest.approx(4.0, abs=0.1)
    assert page.title().startswith("A lighthouse on a cliff at dawn")
    for label in ("Requested", "Sent to the provider", "Generated by the provider", "Stored on this platform"):
        assert page.locator(".timeline").get_by_text(label).count() == 1
    screenshots(page, output_dir, "dashboard-video")

    # Download it.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download video").click()
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    stored = video.assets.get(kind="video", variant=0)
    assert saved.name == f"{video.pk}-video.mp4"
    assert saved.stat().st_size == stored.size_bytes
    assert saved.read_bytes()[4:8] == b"ftyp"

    # Remix it; the remix's page shows the player by itself once it is ready.
    page.get_by_label("Describe the change").fill(f"The same lighthouse at night {QUICK}")
    page.get_by_role("button", name="Remix this video").click()
    page.get_by_text("Your remix is queued").wait_for()
    remix = Video.objects.get(remix_source=video)
    assert page.url == f"{url}/videos/{remix.pk}/"
    assert page.get_by_role("link", name="A lighthouse on a cliff at dawn").count() == 1
    remix = drive(remix)
    assert remix.state == "ready"
    assert remix.kind == "remix"
    page.locator("video").wait_for()
    assert wait_until_playable(page) > 0

    # A gallery with videos in every state, for people to look at.
    dora = video.owner
    make_video(dora, "generating", prompt="Waves rolling over black sand, slow aerial shot", progress=40)
    make_video(dora, "pending", prompt="A paper boat drifting down a rainy street")
    make_video(dora, "failed", prompt="A crowd at a stadium", error_code="moderation_blocked")
    make_video(dora, "expired", prompt="Northern lights over a frozen lake", error_code="video_expired")
    page.goto(url + "/videos/")
    page.locator(".video-card img").first.wait_for()
    screenshots(page, output_dir, "dashboard-gallery")

    # Delete the first video, from the keyboard.
    page.goto(f"{url}/videos/{video.pk}/")
    page.locator("summary", has_text="Delete this video").focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Delete video").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(url + "/videos/")
    page.get_by_text("was deleted").wait_for()
    assert page.locator(f"[data-video-id='{video.pk}']").count() == 0
    assert page.locator(f"[data-video-id='{remix.pk}']").count() == 1
    assert errors == []
    assert page.goto(f"{url}/videos/{video.pk}/").status == 404

    # Someone else signs in: none of dora's videos, and her remaining one's URLs are 404.
    nav(page).get_by_role("button", name="Log out (dora)").click()
    make_user("bob")
    log_in(page, url, "bob")
    page.get_by_text("No videos yet").wait_for()
    for path in (f"/videos/{remix.pk}/", f"/videos/{remix.pk}/files/0/video", f"/videos/{remix.pk}/delete/"):
        assert page.goto(url + path).status == 404, path
        assert "lighthouse" not in page.content()


def test_image_to_video_previews_the_frame_and_plays(live_server, providers, page, output_dir, tmp_path):
    errors = script_errors(page)
    make_user("erin")
    url = live_server.url
    log_in(page, url, "erin")
    nav(page).get_by_role("link", name="New video").click()
    page.get_by_label("Prompt").fill(f"The orange wall slowly cracks open {WATCHABLE}")
    page.get_by_label("Size").select_option("1280x720")
    expect(page.locator("#image-hint")).to_contain_text(f"fitted to the {px('1280x720')} frame")

    # A picture of another size: previewed, and the hint offers the matching video size.
    page.get_by_label("Start frame (optional)").set_input_files(str(picture(tmp_path / "tall.png", 720, 1280)))
    page.locator("#image-preview img").wait_for()
    page.wait_for_function("document.querySelector('#image-preview img').naturalWidth === 720")
    hint = page.locator("#image-hint")
    expect(hint).to_contain_text(
        f"This image is {px('720x1280')}, but the video is {px('1280x720')}: it will be cropped"
    )
    # The preview has the video's shape; the fit decides how the picture fills it.
    frame = page.locator("#image-frame")
    assert frame.evaluate("(node) => getComputedStyle(node).aspectRatio") == "1280 / 720"
    assert page.locator("#image-frame img").evaluate("(node) => getComputedStyle(node).objectFit") == "cover"
    page.get_by_label("Fit the frames").select_option("pad")
    assert page.locator("#image-frame img").evaluate("(node) => getComputedStyle(node).objectFit") == "contain"
    expect(hint).to_contain_text("black bars")
    page.get_by_label("Fit the frames").select_option("exact")
    expect(hint).to_contain_text("they must be the same size")
    hint.get_by_role("button", name=f"Use {px('720x1280')} for the video").click()
    expect(page.get_by_label("Size")).to_have_value("720x1280")
    expect(hint).to_contain_text("matches the video's size")

    # The one we want.
    page.get_by_label("Size").select_option("1280x720")
    page.get_by_label("Start frame (optional)").set_input_files(str(picture(tmp_path / "wide.png", 1280, 720)))
    page.wait_for_function(
        "(text) => document.querySelector('#image-hint').textContent.includes(text)",
        arg=f"{px('1280x720')} pixels: matches",
    )
    page.screenshot(path=str(output_dir / "dashboard-new-video.png"), full_page=True)
    page.get_by_role("button", name="Generate video").click()
    page.get_by_text("Your video is queued").wait_for()
    video = Video.objects.get(owner__username="erin")
    assert video.kind == "image"
    assert video.size == "1280x720"
    page.wait_for_function("document.querySelector('.start-frame img').naturalWidth === 1280")

    # The video page follows the progress too, and shows the player when it is ready.
    video = advance(video, progress=40)
    bar_reaches(page, "progress", 40)
    # OpenAI says when it deletes the results only once they exist; until then the page says how long.
    assert "keeps the results for 1 hour" in page.locator(".deadline").inner_text()
    video = drive(video)
    assert video.state == "ready"
    page.locator("video").wait_for()
    assert wait_until_playable(page) == pytest.approx(4.0, abs=0.1)
    assert errors == []


def test_another_user_sees_none_of_the_first_users_videos(live_server, providers, page):
    alice, _bob = make_user("alice"), make_user("bob")
    mine = make_video(alice, "ready", prompt="Alice's private harbour")
    running = make_video(alice, "generating", prompt="Alice's running fox", progress=30)
    url = live_server.url
    log_in(page, url, "bob")
    page.get_by_text("No videos yet").wait_for()
    assert "Alice" not in page.content()
    for path in (
        f"/videos/{mine.pk}/",
        f"/videos/{running.pk}/",
        f"/videos/{mine.pk}/delete/",
        f"/videos/{mine.pk}/files/0/video",
        f"/videos/{mine.pk}/files/0/thumbnail",
        "/videos/video_" + "0" * 48 + "/",
    ):
        response = page.goto(url + path)
        assert response.status == 404, path
        assert page.title().startswith("Page not found")
        assert "Alice" not in page.content()
    status = page.request.get(f"{url}/videos/status?ids={mine.pk},{running.pk}")
    assert status.json() == {"videos": {}}
    mine.refresh_from_db()
    assert mine.deleted_at is None


def test_invalid_forms_show_messages_next_to_the_fields(live_server, providers, page, output_dir, tmp_path):
    frank = make_user("frank")
    url = live_server.url
    log_in(page, url, "frank")
    page.goto(url + "/videos/new/")
    page.get_by_label("Size").select_option("1280x720")
    page.get_by_label("Start frame (optional)").set_input_files(str(picture(tmp_path / "small.png", 640, 480)))
    page.get_by_label("Fit the frames").select_option("exact")
    page.get_by_role("button", name="Generate video").click()
    page.get_by_text("The video was not created").wait_for()
    prompt_error = page.locator("#id_prompt_error")
    image_error = page.locator("#id_image_error")
    assert "the prompt is empty" in prompt_error.inner_text()
    assert "The image is 640x480 but the video is 1280x720" in image_error.inner_text()
    # The messages belong to their fields, and the first field to fix has the focus.
    assert "id_prompt_error" in page.get_by_label("Prompt").get_attribute("aria-describedby")
    assert page.get_by_label("Prompt").get_attribute("aria-invalid") == "true"
    expect(page.get_by_label("Prompt")).to_be_focused()
    page.screenshot(path=str(output_dir / "dashboard-form-errors.png"), full_page=True)
    assert not Video.objects.exists()

    # An empty remix prompt.
    ready = make_video(frank, "ready", prompt="A calm lake")
    page.goto(f"{url}/videos/{ready.pk}/")
    page.get_by_role("button", name="Remix this video").click()
    assert "the prompt is empty" in page.locator("#id_prompt_error").inner_text()
    assert Video.objects.count() == 1


def test_the_forms_work_without_javascript(live_server, providers, chromium):
    make_user("gina")
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        url = live_server.url
        log_in(page, url, "gina")
        page.goto(url + "/videos/new/")
        # Every model's choices are offered; the server refuses those the model does not take.
        page.get_by_label("Prompt").fill(f"A red kite over hills {QUICK}")
        page.get_by_label("Model").select_option("sora")
        page.get_by_label("Size").select_option("1280x720")
        page.get_by_label("Duration").select_option("4")
        page.get_by_role("button", name="Generate video").click()
        assert "4 seconds is not available for this model" in page.locator("#id_seconds_error").inner_text()
        page.get_by_label("Duration").select_option("5")
        page.get_by_label("Variants").select_option("2")
        page.get_by_role("button", name="Generate video").click()
        page.get_by_text("Your video is queued").wait_for()
        video = Video.objects.get(owner__username="gina")
        assert (video.model, video.seconds, video.n_variants) == ("sora", 5, 2)
        assert page.locator("progress").count() == 1  # the state as rendered; a reload shows more
        video = drive(video, until=("archiving",))  # generated, not yet stored
        page.reload()
        # Azure keeps results 24 hours from creation: the time left to store them is shown.
        assert "23\xa0hours" in page.locator(".deadline").inner_text()
        assert "left to store them here" in page.locator(".deadline").inner_text()
        video = drive(video)
        page.reload()
        assert page.locator("video").count() == 2  # one player per variant
        page.locator("summary", has_text="Delete this video").click()
        page.get_by_role("button", name="Delete video").click()
        page.get_by_text("was deleted").wait_for()
    finally:
        context.close()


def test_switching_from_sora_to_veo_offers_only_what_veo_can_do(live_server, providers, page, tmp_path):
    errors = script_errors(page)
    make_user("vera")
    log_in(page, live_server.url, "vera")
    nav(page).get_by_role("link", name="New video").click()
    size, duration = page.get_by_label("Size"), page.get_by_label("Duration")
    offered = "(select) => Array.from(document.querySelector(select).options, (o) => o.value)"
    page.wait_for_load_state("load")  # the form's script (deferred) has run

    page.get_by_label("Model").select_option("sora-2")
    assert page.evaluate(offered, "#id_size") == ["720x1280", "1280x720", "1024x1792", "1792x1024"]
    assert page.evaluate(offered, "#id_seconds") == ["4", "8", "12"]
    expect(page.get_by_label("Last frame (optional)")).to_be_hidden()
    expect(page.locator("#audio-field")).to_be_hidden()
    expect(page.locator("#negative-prompt-field")).to_be_hidden()
    expect(page.locator("#references-field")).to_be_hidden()
    expect(page.locator("#seed-field")).to_be_hidden()

    page.get_by_label("Model").select_option("emulator-gemini/veo-3.1")
    assert "1024x1792" not in page.evaluate(offered, "#id_size")
    assert "1920x1080" in page.evaluate(offered, "#id_size")
    assert page.evaluate(offered, "#id_seconds") == ["4", "6", "8"]
    expect(page.get_by_label("Last frame (optional)")).to_be_visible()
    expect(page.locator("#negative-prompt-field")).to_be_visible()
    expect(page.get_by_label("With sound")).to_be_checked()
    expect(page.get_by_label("With sound")).to_be_disabled()
    expect(page.locator("#audio-note")).to_have_text("This model always makes sound.")
    expect(page.locator("#references-field")).to_contain_text("Up to 3 (8-second videos)")
    expect(page.locator("#seed-field")).to_be_hidden()  # the Gemini API takes no seed
    # Vertex AI's Veo takes a seed and can be silent; Lite takes no reference images.
    page.get_by_label("Model").select_option("emulator-vertex/veo-3.1-lite")
    expect(page.locator("#seed-field")).to_be_visible()
    expect(page.locator("#references-field")).to_be_hidden()
    expect(page.get_by_label("With sound")).to_be_enabled()
    expect(page.locator("#audio-note")).to_have_text("Untick for a silent video.")
    # Veo 3.1 from whichever provider serves it: what any of them can do is offered.
    page.get_by_label("Model").select_option("veo-3.1")
    expect(page.locator("#seed-field")).to_be_visible()
    expect(page.locator("#references-field")).to_be_visible()
    expect(page.get_by_label("With sound")).to_be_enabled()
    page.get_by_label("Model").select_option("emulator-gemini/veo-3.1")
    # 1080p is made at 8 seconds only: the durations follow the size.
    size.select_option("1920x1080")
    assert page.evaluate(offered, "#id_seconds") == ["8"]
    size.select_option("1280x720")
    duration.select_option("6")

    page.get_by_label("Prompt").fill(f"A lighthouse, the beam sweeping the fog {QUICK}")
    page.get_by_label("Start frame (optional)").set_input_files(str(picture(tmp_path / "a.png", 1280, 720)))
    page.get_by_label("Last frame (optional)").set_input_files(str(picture(tmp_path / "b.png", 1280, 720)))
    page.get_by_label("Leave out (optional)").fill("text, watermarks")
    page.get_by_role("button", name="Generate video").click()
    page.get_by_text("Your video is queued").wait_for()
    video = Video.objects.get(owner__username="vera")
    assert (video.model, video.size, video.seconds) == ("veo-3.1-generate-preview", "1280x720", 6)
    assert (video.provider.name, video.requested_model) == ("emulator-gemini", "emulator-gemini/veo-3.1")
    assert [item["role"] for item in video.input_images] == ["last_frame"]
    assert video.options == {"negative_prompt": "text, watermarks", "input_fit": "crop"}
    assert drive(video).state == "ready"

    # A finished 720p Veo video can be extended from its page: seven seconds more.
    page.goto(f"{live_server.url}/videos/{video.pk}/")
    extend = page.locator("#extend")
    expect(extend.get_by_label("Seconds to add")).to_have_value("7")
    extend.get_by_label("What happens next").fill(f"The beam finds a ship {QUICK}")
    extend.get_by_role("button", name="Extend this video").click()
    page.get_by_text("Your extension is queued").wait_for()
    extension = Video.objects.get(extend_source=video)
    assert page.url == f"{live_server.url}/videos/{extension.pk}/"
    assert drive(extension).state == "ready"
    page.reload()
    expect(page.locator("dl.settings")).to_contain_text("13 seconds (7 added to 6)")
    expect(page.locator("dl.settings")).to_contain_text("Extension of")
    assert errors == []
