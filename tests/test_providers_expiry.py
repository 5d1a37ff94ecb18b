"""The emulator's `expired` fault on every living protocol: the results are gone, and each
adapter says so with a 404 the archive understands (expired once past the deadline)."""

from __future__ import annotations

import json

import pytest
from emulator_fixtures import INSTANT, wait_until

from videos import catalogue
from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider

CASES = {
    "gemini": ("veo-3.1-generate-preview", "retrieve", "/gemini/v1beta"),
    "vertex": ("veo-3.1-generate-001", "retrieve", "/vertex/v1"),
    "ark": ("dreamina-seedance-2-0-260128", "retrieve", "/ark/api/v3"),
    "fal": ("fal-ai/veo3.1", "result", "/fal"),
}


def fetch_again(adapter, job_id: str) -> bytes:
    """What the archive does when it asks again: the job, then its first file."""
    status = adapter.retrieve(job_id)
    with adapter.open_asset(status.assets()[0]) as stream:
        return b"".join(stream.iter_bytes())


@pytest.mark.parametrize("kind", sorted(CASES))
def test_results_gone_at_the_provider_are_a_404_for_the_archive(emulator, kind):
    model, operation, path = CASES[kind]
    record = catalogue.capabilities(kind, model)
    config = ProviderConfig(kind=kind, base_url=f"{emulator.url}{path}", api_key=emulator.api_key)
    spec = SubmissionSpec(
        model=model,
        prompt=f"gone soon {INSTANT}",
        size="1280x720",
        seconds=record.seconds_for("1280x720")[-1],
        mapping=record.mapping,
    )
    with build_provider(config) as adapter:
        job = adapter.create(spec)
        done = wait_until(lambda: (status := adapter.retrieve(job.job_id)).is_terminal and status)
        assert done.state == "succeeded"
        emulator.add_fault("expired", protocol=kind, operation=operation)
        with pytest.raises(ProviderError) as gone:
            fetch_again(adapter, job.job_id)
        assert gone.value.status_code == 404, json.dumps(repr(gone.value))
