"""Provider misbehaviour, switched on in the emulator: throttling, outages, lost answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from emulator_fixtures import INSTANT

from videos.providers import ProviderConfig, ProviderError, SubmissionSpec, build_provider

PROTOCOLS = {
    "openai": ("openai", "sora-2", "1280x720", 4),
    "azure": ("azure_sora", "sora", "854x480", 5),
}


@pytest.fixture(params=sorted(PROTOCOLS))
def protocol(request) -> str:
    return request.param


@pytest.fixture
def provider(emulator, protocol):
    kind = PROTOCOLS[protocol][0]
    base_url = emulator.openai_base_url if protocol == "openai" else emulator.azure_base_url
    config = ProviderConfig(kind=kind, name="emulator", base_url=base_url, api_key=emulator.api_key)
    with build_provider(config) as adapter:
        yield adapter


def spec(protocol: str, prompt: str = f"a red fox {INSTANT}") -> SubmissionSpec:
    _, model, size, seconds = PROTOCOLS[protocol]
    return SubmissionSpec(model=model, prompt=prompt, size=size, seconds=seconds)


def test_a_429_is_retryable_and_carries_retry_after(provider, emulator, protocol):
    emulator.add_fault("rate_limit", protocol=protocol, operation="create", retry_after=7)
    with pytest.raises(ProviderError) as caught:
        provider.create(spec(protocol))
    error = caught.value
    assert (error.status_code, error.permanent, error.outcome_unknown) == (429, False, False)
    assert error.retry_after == 7.0
    assert emulator.jobs_created(protocol) == 0


def test_retry_after_ms_wins_over_whole_seconds(provider, emulator, protocol):
    emulator.add_fault("rate_limit", protocol=protocol, operation="retrieve", retry_after=1.25)
    job = provider.create(spec(protocol))
    with pytest.raises(ProviderError) as caught:
        provider.retrieve(job.job_id)
    assert caught.value.retry_after == 1.25


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retryable(provider, emulator, protocol, status):
    emulator.add_fault("server_error", protocol=protocol, operation="create", status_code=status, retry_after=3)
    with pytest.raises(ProviderError) as caught:
        provider.create(spec(protocol))
    assert (caught.value.status_code, caught.value.permanent, caught.value.retry_after) == (status, False, 3.0)
    assert not caught.value.outcome_unknown
    assert provider.create(spec(protocol)).job_id  # the fault was used up


def test_a_create_whose_connection_drops_is_never_resent_and_can_be_reconciled(provider, emulator, protocol):
    since = datetime.now(UTC)
    emulator.add_fault("drop", protocol=protocol, operation="create")
    submission = spec(protocol, f"a fox that must be billed once {INSTANT}")
    with pytest.raises(ProviderError) as caught:
        provider.create(submission)
    assert caught.value.outcome_unknown
    assert not caught.value.permanent
    assert emulator.received(protocol, "create") == 1
    assert emulator.jobs_created(protocol) == 1
    provider.create(spec(protocol, f"another prompt {INSTANT}"))
    found = provider.find_created(submission, since=since)
    assert len(found) == 1
    assert found[0].prompt == submission.prompt


def test_find_created_finds_nothing_when_the_create_never_arrived(provider, protocol):
    assert provider.find_created(spec(protocol, "never sent"), since=datetime.now(UTC)) == []


def test_a_read_whose_connection_drops_is_retryable(provider, emulator, protocol):
    job = provider.create(spec(protocol))
    emulator.add_fault("drop", protocol=protocol, operation="retrieve")
    with pytest.raises(ProviderError) as caught:
        provider.retrieve(job.job_id)
    assert not caught.value.permanent
    assert not caught.value.outcome_unknown


def test_an_html_page_instead_of_json_is_a_retryable_invalid_response(provider, emulator, protocol):
    job = provider.create(spec(protocol))
    emulator.add_fault("html", protocol=protocol, operation="retrieve")
    with pytest.raises(ProviderError) as caught:
        provider.retrieve(job.job_id)
    assert caught.value.code == "invalid_response"
    assert not caught.value.permanent


def test_an_html_page_answering_a_create_leaves_the_outcome_unknown(provider, emulator, protocol):
    emulator.add_fault("html", protocol=protocol, operation="create")
    with pytest.raises(ProviderError) as caught:
        provider.create(spec(protocol))
    assert caught.value.outcome_unknown


def test_a_status_word_outside_the_protocol_never_ends_polled_jobs(provider, emulator, protocol):
    ids = [provider.create(spec(protocol, f"fox {n} [emulator:queue=60]")).job_id for n in range(3)]
    emulator.add_fault("status_word", protocol=protocol, operation="list", status_word="warming_up")
    result = provider.poll_many(ids)
    assert {job.state for job in result.values()} == {"unknown"}
    assert {job.raw_status for job in result.values()} == {"warming_up"}


def test_poll_many_stops_at_a_rate_limit_and_reports_it(provider, emulator, protocol):
    ids = [provider.create(spec(protocol)).job_id for _ in range(3)]
    emulator.add_fault("server_error", protocol=protocol, operation="list", status_code=404)
    emulator.add_fault("rate_limit", protocol=protocol, operation="retrieve", retry_after=5)
    result = provider.poll_many(ids)
    # No usable list: one by one, until the provider asks to slow down.
    assert len(result.errors) == 1
    assert result.retry_after == 5.0
    assert len(result) + len(result.errors) + len(result.skipped) == 3


def test_the_proxy_environment_is_ignored(provider, monkeypatch, protocol):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    with build_provider(provider.config) as fresh:
        assert fresh.create(spec(protocol)).job_id
