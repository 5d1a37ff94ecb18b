"""Text that no video id can be (a NUL byte, which PostgreSQL refuses in a query; a huge string)
answers exactly like an id that does not exist, on every endpoint that takes one."""

from __future__ import annotations

import pytest
from conftest import bearer

from videos.models import Video

pytestmark = pytest.mark.django_db

IMPOSSIBLE = ["video_\x00abc", "x" * 500]


@pytest.mark.parametrize("video_id", IMPOSSIBLE)
def test_an_impossible_id_is_not_found_in_the_api(client, alice_token, offline_providers, video_id):
    for status, response in (
        (404, client.get("/v1/videos/" + video_id.replace("\x00", "%00"), **bearer(alice_token))),
        (400, client.get("/v1/videos", {"after": video_id}, **bearer(alice_token))),  # as for any unknown cursor
        (
            404,
            client.post(
                "/v1/videos/query", {"video_id": video_id}, content_type="application/json", **bearer(alice_token)
            ),
        ),
    ):
        assert response.status_code == status, response.content[:300]
        assert response.json()["error"]["code"] == "video_not_found"


@pytest.mark.parametrize("video_id", IMPOSSIBLE)
def test_an_impossible_id_is_not_found_on_the_dashboard(alice_client, offline_providers, video_id):
    assert alice_client.get("/videos/status", {"ids": video_id}).json() == {"videos": {}}
    assert alice_client.get("/videos/new/", {"from": video_id}).status_code == 200


def test_with_ids_keeps_the_real_ones(alice, offline_providers):
    video = Video.objects.create(
        owner=alice,
        provider=offline_providers["emulator-openai"],
        model="sora-2",
        prompt="p",
        size="1280x720",
        seconds=4,
    )
    assert list(Video.objects.with_ids([video.pk, "video_\x00", 7])) == [video]
    assert not Video.objects.with_id("x" * 65).exists()
