"""A browser really plays the emulator's videos: Chromium loads them and reports their duration."""

from __future__ import annotations

import pytest
from emulator_fixtures import INSTANT, wait_until

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("extra", ["", "[emulator:bytes=3000000]"])
def test_chromium_plays_the_emulated_video(emulator, page, extra):
    with emulator.openai() as client:
        video_id = client.post("/videos", json={"prompt": f"fox {INSTANT} {extra}", "size": "1280x720"}).json()["id"]
        wait_until(lambda: client.get(f"/videos/{video_id}").json()["status"] == "completed")
    page.set_extra_http_headers({"Authorization": f"Bearer {emulator.api_key}"})
    page.set_content(f'<video muted preload="auto" src="{emulator.openai_base_url}/videos/{video_id}/content"></video>')
    # HAVE_CURRENT_DATA: the first frame was decoded, not only the metadata read.
    page.wait_for_function("document.querySelector('video').readyState >= 2")
    duration = page.evaluate("document.querySelector('video').duration")
    width = page.evaluate("document.querySelector('video').videoWidth")
    assert duration == pytest.approx(4.0, abs=0.1)
    assert width == 320
    assert page.evaluate("document.querySelector('video').error") is None
