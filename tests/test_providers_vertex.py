"""The Vertex AI (Veo) adapter against the built-in emulator over real HTTP, in express and project mode."""

from __future__ import annotations

import json

import httpx
import pytest
from emulator_fixtures import INSTANT, image_bytes, wait_until
from vertex_keys import service_account_info

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider, vertex
from videos.providers.types import SpecImage

MODEL = "veo-3.1-fast-generate-001"


def spec(prompt: str = f"a red fox {INSTANT}", **extra) -> SubmissionSpec:
    return SubmissionSpec(**{"model": MODEL, "prompt": prompt, "size": "1280x720", "seconds": 8, **extra})


@pytest.fixture
def express(emulator):
    config = ProviderConfig(
        kind="vertex", name="express", base_url=f"{emulator.url}/vertex/v1", api_key=emulator.api_key
    )
    with build_provider(config) as adapter:
        yield adapter


@pytest.fixture
def project(emulator, settings):
    info, public = service_account_info(f"{emulator.url}/vertex/token")
    settings.EMULATOR_VERTEX_PUBLIC_KEYS = [public]
    vertex._tokens.clear()
    base = f"{emulator.url}/vertex/v1/projects/demo-project/locations/us-central1"
    config = ProviderConfig(kind="vertex", name="project", base_url=base, api_key=json.dumps(info))
    with build_provider(config) as adapter:
        yield adapter


def finished(provider, job_id: str):
    return wait_until(lambda: (job := provider.retrieve(job_id)).is_terminal and job)


def test_express_mode_makes_a_video_that_the_archive_decodes_from_the_operation(express, emulator):
    job = express.create(
        spec(
            input_image=image_bytes(1280, 720),
            last_frame=SpecImage(image_bytes(1280, 720)),
            seed=11,
            audio=False,
            negative_prompt="people",
        )
    )
    assert job.job_id.startswith(f"publishers/google/models/{MODEL}/operations/")
    inputs = emulator.job(job.job_id.rsplit("/", 1)[1]).inputs
    assert (inputs["seed"], inputs["generateAudio"], inputs["negativePrompt"]) == (11, False, "people")
    assert set(inputs) >= {"image", "lastFrame"}
    done = finished(express, job.job_id)
    assert done.state == "succeeded"
    [asset] = done.assets()
    assert asset.path == "inline:0"
    assert "bytesBase64Encoded" not in json.dumps(dict(done.raw))  # the poll keeps no video bytes
    with express.open_asset(asset) as stream:
        data = b"".join(stream.iter_bytes())
    assert data[4:8] == b"ftyp"
    with express.open_asset(asset, offset=10) as rest:
        assert b"".join(rest.iter_bytes()) == data[10:]


def test_project_mode_turns_the_service_account_into_one_token_for_many_calls(project, emulator):
    job = project.create(spec())
    assert job.job_id.startswith("projects/demo-project/locations/us-central1/publishers/google/models/")
    done = finished(project, job.job_id)
    assert done.state == "succeeded"
    assert emulator.received("vertex", "token") == 1  # cached for the following calls


def test_a_key_that_is_not_a_service_account_is_refused_before_any_call(emulator):
    config = ProviderConfig(kind="vertex", base_url=f"{emulator.url}/vertex/v1", api_key='{"type": "authorized_user"}')
    with pytest.raises(ProviderError) as raised:
        build_provider(config)
    assert raised.value.code == "invalid_credentials"
    assert raised.value.permanent


def test_an_untrusted_service_account_is_a_permanent_credentials_error(emulator, settings):
    info, _ = service_account_info(f"{emulator.url}/vertex/token")
    settings.EMULATOR_VERTEX_PUBLIC_KEYS = []
    vertex._tokens.clear()
    base = f"{emulator.url}/vertex/v1/projects/demo-project/locations/us-central1"
    config = ProviderConfig(kind="vertex", base_url=base, api_key=json.dumps(info))
    with build_provider(config) as adapter, pytest.raises(ProviderError) as raised:
        adapter.create(spec())
    assert raised.value.code == "invalid_credentials"
    assert raised.value.permanent
    assert emulator.jobs_created("vertex") == 0


def test_filtered_and_failed_operations(express):
    filtered = finished(express, express.create(spec(f"x {INSTANT} [emulator:fail=moderation]")).job_id)
    assert filtered.state == "failed"
    assert filtered.error_code == "moderation_blocked"
    failed = finished(express, express.create(spec(f"x {INSTANT} [emulator:fail=internal]")).job_id)
    assert failed.state == "failed"
    assert failed.provider_error_code == "13"
    for hostile in ("../x", "publishers/google/models/m/operations/../../y"):
        with pytest.raises(ProviderError) as raised:
            express.retrieve(hostile)
        assert raised.value.code == "invalid_job_id"


def test_a_video_larger_than_a_poll_answer_is_read_once_more_within_the_download_limit(emulator):
    config = ProviderConfig(
        kind="vertex",
        base_url=f"{emulator.url}/vertex/v1",
        api_key=emulator.api_key,
        max_response_bytes=64 * 1024,
    )
    with build_provider(config) as adapter:
        job = adapter.create(spec(f"big {INSTANT} [emulator:bytes=300000]"))
        done = finished(adapter, job.job_id)
        assert done.state == "succeeded"
        with adapter.open_asset(done.assets()[0]) as stream:
            assert len(b"".join(stream.iter_bytes())) == 300_000


def test_project_mode_writes_to_the_operators_bucket_and_the_archive_reads_it_with_the_token(project, emulator):
    storage = {"storage_uri": "gs://videos-out/veo"}
    job = project.create(spec(mapping=storage, n_variants=2))
    assert emulator.job(job.job_id.rsplit("/", 1)[1]).inputs["storageUri"] == "gs://videos-out/veo"
    done = finished(project, job.job_id)
    assert done.state == "succeeded"
    assets = done.assets()
    assert [a.path for a in assets] == [
        f"gcs:gs://videos-out/veo/{job.job_id.rsplit('/', 1)[1]}/sample_{i}.mp4" for i in range(2)
    ]
    with project.open_asset(assets[1]) as stream:
        assert b"".join(stream.iter_bytes())[4:8] == b"ftyp"
    assert project.storage_url("gs://videos-out/veo/a b.mp4").endswith(
        "/storage/v1/b/videos-out/o/veo%2Fa%20b.mp4?alt=media"
    )


def test_a_bucket_needs_project_mode_and_a_real_gs_address(express, project):
    with pytest.raises(ProviderError) as express_mode:
        express.create(spec(mapping={"storage_uri": "gs://videos-out/veo"}))
    assert express_mode.value.permanent
    with pytest.raises(ProviderError) as not_gs:
        project.create(spec(mapping={"storage_uri": "https://elsewhere.example/out"}))
    assert not_gs.value.permanent


def test_cloud_storage_reads_are_refused_without_an_oauth_token(express, emulator):
    url = f"{emulator.url}/vertex/storage/v1/b/videos-out/o/veo%2Fx%2Fsample_0.mp4?alt=media"
    assert httpx.get(url, headers={"x-goog-api-key": emulator.api_key}).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer ya29.forged"}).status_code == 401
