"""The archive fetches what the poll saw: four provider calls make an OpenAI-protocol video
(create, and one download per file, besides its share of list polls), and a refused download
is the only reason to ask the provider again."""

from __future__ import annotations

import pytest
from conftest import make_user
from test_pipeline_inprocess import drive, new_video

from videos import archive
from videos.models import Video
from videos.outcomes import Outcome

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("name", "protocol", "files"), [("emulator-openai", "openai", 3), ("emulator-azure", "azure", 4)]
)
def test_a_finished_job_is_archived_with_downloads_alone(providers, media_root, emulator, name, protocol, files):
    video = new_video(make_user("alice"), providers[name], n_variants=1 if protocol == "openai" else 2)
    video = drive(video, until=("archiving",))
    before = emulator.counters()["counters"][protocol]
    assert archive.archive_video(video.pk) is Outcome.READY
    after = emulator.counters()["counters"][protocol]
    made = {operation: after[operation] - before.get(operation, 0) for operation in after}
    assert {operation: n for operation, n in made.items() if n} == {"content": files}
    video.refresh_from_db()
    assert video.assets.count() == files
    assert emulator.received(protocol, "create") == 1


def test_a_refused_download_asks_the_provider_for_fresh_addresses_once(providers, media_root, emulator):
    video = drive(new_video(make_user("alice"), providers["emulator-openai"]), until=("archiving",))
    moved = [
        {**asset, "path": asset["path"].replace(video.provider_job_id, "video_moved")}
        for asset in video.provider_assets
    ]
    Video.objects.filter(pk=video.pk).update(provider_assets=moved, lease_owner="", lease_expires_at=None)
    assert archive.archive_video(video.pk) is Outcome.READY
    video.refresh_from_db()
    assert video.assets.count() == 3
    assert emulator.received("openai", "retrieve") == 1
    assert video.provider_assets[0]["path"].find(video.provider_job_id) > 0
