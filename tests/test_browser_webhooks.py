"""The Webhooks page in a real browser: add an endpoint, copy its secret, send a test, see the
delivery and its answer, send it again, and disable the endpoint."""

from __future__ import annotations

import pytest
import standardwebhooks
from conftest import make_user
from test_browser_dashboard import log_in, nav
from webhook_receiver import start_receiver

from webhooks import delivery
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_an_endpoint_send_a_test_and_see_the_delivery(live_server, page, settings, output_dir):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the receiver runs on this machine
    receiver = start_receiver()
    try:
        make_user("gina")
        log_in(page, live_server.url, "gina")
        nav(page).get_by_role("link", name="Webhooks").click()
        page.get_by_label("Name").fill("render farm")
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_role("button", name="Add endpoint").click()
        page.get_by_text("Endpoint “render farm” added.").wait_for()
        secret = page.get_by_label("Signing secret").input_value()
        assert secret.startswith("whsec_")

        receiver.statuses = [500]
        page.get_by_role("button", name="Send test event").click()
        page.get_by_text("The test event was not delivered: HTTP 500.").wait_for()
        row = page.locator("table.deliveries tbody tr").first
        assert "HTTP 500" in row.inner_text()
        page.screenshot(path=str(output_dir / "webhooks.png"), full_page=True)

        row.get_by_role("button", name="Send again").click()
        page.get_by_text("Sent again").wait_for()
        for pending in WebhookDelivery.objects.filter(state="pending"):  # the cluster's step
            delivery.deliver(pending.pk)
        (hit_1, hit_2) = receiver.wait_for(2)
        page.reload()
        assert "delivered" in page.locator("table.deliveries tbody tr").first.inner_text()
        standardwebhooks.Webhook(secret).verify(hit_2.body, hit_2.headers)
        assert hit_1.headers["webhook-id"] == hit_2.headers["webhook-id"]
        assert page.get_by_label("Signing secret").count() == 0  # shown once only

        page.get_by_role("button", name="Disable").click()
        page.get_by_text("Disabled: no deliveries until you enable it.").wait_for()
        assert WebhookEndpoint.objects.get().enabled is False
        assert WebhookDelivery.objects.count() == 1
    finally:
        receiver.close()


def test_a_bad_url_is_explained_in_the_form(live_server, page):
    make_user("hana")
    log_in(page, live_server.url, "hana")
    page.goto(live_server.url + "/webhooks/")
    page.get_by_label("Name").fill("local")
    page.get_by_label("URL").fill("http://127.0.0.1:9/hooks")
    page.get_by_role("button", name="Add endpoint").click()
    assert page.locator(".field-error").filter(has_text="https").count() == 1
    assert WebhookEndpoint.objects.count() == 0
