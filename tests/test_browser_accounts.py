"""The account pages in a real browser: sign up, create a token, see it once, revoke it."""

from __future__ import annotations

import httpx
import pytest
from conftest import PASSWORD

from accounts.models import ApiToken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_create_copy_and_revoke_a_token(live_server, page, output_dir):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("dora")
    page.get_by_label("Email").fill("dora@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(live_server.url + "/videos/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API tokens").click()

    page.get_by_label("Name").fill("my laptop")
    page.get_by_role("button", name="Create token").click()
    raw = page.get_by_label("New API token").input_value()
    assert raw.startswith("vp_")
    page.screenshot(path=str(output_dir / "tokens.png"), full_page=True)

    response = httpx.get(live_server.url + "/v1/models", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200

    page.reload()
    assert page.get_by_label("New API token").count() == 0
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("The token was revoked").wait_for()
    assert ApiToken.objects.get(name="my laptop").revoked_at is not None
    assert httpx.get(live_server.url + "/v1/models", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_sign_up_form_shows_field_errors(live_server, page):
    page.goto(live_server.url + "/accounts/signup/")
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill("something else entirely")
    page.get_by_role("button", name="Sign up").click()
    assert page.locator(".field-error").filter(has_text="valid email").count() == 1
    assert page.locator(".field-error").filter(has_text="match").count() == 1
