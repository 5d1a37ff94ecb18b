"""Shared fixtures. Standing users: alice (owner), bob (another user), charlie (no access)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cluster_fixtures import *  # noqa: F403
from django.test import Client
from emulator_fixtures import *  # noqa: F403

from accounts.models import User
from accounts.services import api_token_create

PASSWORD = "correct horse battery staple"


def make_user(username: str, **extra) -> User:
    return User.objects.create_user(username=username, email=f"{username}@example.org", password=PASSWORD, **extra)


@pytest.fixture(autouse=True)
def _generous_api_rate_limit(settings):
    """Tests make many calls with one token; the rate-limit test sets its own limit."""
    settings.API_RATE_LIMIT = "100000/min"


@pytest.fixture
def alice(db) -> User:
    return make_user("alice")


@pytest.fixture
def bob(db) -> User:
    return make_user("bob")


@pytest.fixture
def charlie(db) -> User:
    return make_user("charlie")


@pytest.fixture
def staff(db) -> User:
    return make_user("sam", is_staff=True, is_superuser=True)


@pytest.fixture
def alice_token(alice) -> str:
    return api_token_create(user=alice, name="tests").raw


@pytest.fixture
def bob_token(bob) -> str:
    return api_token_create(user=bob, name="tests").raw


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def csrf_client() -> Client:
    """A client that checks CSRF tokens like a browser-facing server does."""
    return Client(enforce_csrf_checks=True)


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread for the rest of the run; the ORM
    # is still used synchronously here, which Django would otherwise refuse.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser page in its own context (cookies are not shared between tests)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture
def media_root(tmp_path, settings) -> Path:
    """Filesystem storage in a fresh folder for this test."""
    root = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


@pytest.fixture
def providers(emulator, media_root, settings):
    """The two emulator providers, pointing at the live test server, with fast polling."""
    from videos.services import providers_sync_emulator

    settings.PIPELINE_FIRST_POLL_SECONDS = 0.2
    settings.PIPELINE_MAX_POLL_SECONDS = 0.5
    synced = providers_sync_emulator(base_url=emulator.url)
    return {p.name: p for p in synced}


@pytest.fixture
def offline_providers(db, media_root):
    """The emulator providers pointing nowhere: for pages that never call a provider."""
    from videos.services import providers_sync_emulator

    return {p.name: p for p in providers_sync_emulator(base_url="http://127.0.0.1:9/emulator")}


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client
