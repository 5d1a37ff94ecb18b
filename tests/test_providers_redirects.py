"""Where a content download may be redirected to (SSRF guard), checked on real URLs."""

from __future__ import annotations

import logging

import httpx
import pytest

from videos.providers import ProviderConfig, ProviderError
from videos.providers.azure_sora import generation_assets
from videos.providers.http import ProviderHttp
from videos.providers.openai import video_assets
from videos.providers.safety import check_redirect

EMULATOR = ProviderConfig(kind="openai", base_url="http://127.0.0.1:8000/emulator/openai/v1", api_key="k")
PUBLIC = ProviderConfig(
    kind="openai",
    base_url="https://api.openai.com/v1",
    api_key="k",
    redirect_allow_hosts=("videos.openai.com", "127.0.0.1:9000", "localhost"),
)


def refused(config: ProviderConfig, target: str, current: str | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        check_redirect(config, httpx.URL(current or config.base_url), httpx.URL(target))
    assert caught.value.code == "redirect_blocked"
    return caught.value


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:5432/",
        "http://127.0.0.1:8001/emulator/openai/v1/videos/video_1/content",
        "http://10.0.0.5/video.mp4",
        "http://[::1]:8000/x",
        "https://evil.example.com/video.mp4",
    ],
)
def test_it_refuses_redirects_off_the_emulator_host_and_port(target):
    error = refused(EMULATOR, target)
    assert error.permanent


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://videos.openai.com/x", "gopher://127.0.0.1:8000/"])
def test_it_refuses_non_http_schemes(target):
    refused(PUBLIC, target)


def test_it_refuses_a_downgrade_to_plain_http():
    refused(PUBLIC, "http://api.openai.com/v1/videos/x/content")


def test_it_refuses_an_allow_listed_name_that_resolves_to_loopback_or_another_port():
    refused(PUBLIC, "https://localhost/video.mp4")
    refused(PUBLIC, "https://127.0.0.1:9000/video.mp4")


def test_it_refuses_credentials_in_the_redirect_url():
    refused(PUBLIC, "https://user:pass@api.openai.com/v1/x")


def test_it_follows_redirects_to_the_providers_own_host_and_port():
    check_redirect(EMULATOR, httpx.URL(EMULATOR.base_url), httpx.URL("http://127.0.0.1:8000/media/x.mp4"))


def test_it_allows_another_loopback_name_only_on_the_emulators_own_port():
    config = ProviderConfig(
        kind="openai", base_url="http://127.0.0.1:8000/emulator", api_key="k", redirect_allow_hosts=("localhost",)
    )
    check_redirect(config, httpx.URL(config.base_url), httpx.URL("http://localhost:8000/media/x.mp4"))
    refused(config, "http://localhost:8001/media/x.mp4")


def test_it_logs_a_security_warning_when_refusing(caplog):
    with caplog.at_level(logging.WARNING, logger="videos.providers.security"):
        refused(EMULATOR, "http://169.254.169.254/latest/meta-data/?token=secret")
    assert "169.254.169.254" in caplog.text
    assert "secret" not in caplog.text


@pytest.mark.parametrize("hostile_id", ["http://169.254.169.254/latest", "//127.0.0.1:5432/x", "../../../admin"])
def test_ids_from_provider_data_cannot_change_the_download_host(hostile_id):
    http = ProviderHttp(EMULATOR)
    for asset in (*video_assets(hostile_id), *generation_assets(0, hostile_id)):
        url = httpx.URL(http.url(asset.path))
        assert (url.scheme, url.host, url.port) == ("http", "127.0.0.1", 8000)
        assert url.raw_path.startswith(b"/emulator/openai/v1/")
        assert b"/../" not in url.raw_path
    http.close()
