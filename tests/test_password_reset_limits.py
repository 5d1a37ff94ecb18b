"""Password-reset e-mails are limited per account and per client address, and the page never tells."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

DONE = reverse("accounts:password_reset_done")


@pytest.fixture(autouse=True)
def _counters_in_the_test_database(settings):
    """Count in the test database, rolled back after each test, even where REDIS_URL names a shared Redis."""
    settings.CACHES = {name: value for name, value in settings.CACHES.items() if name != "ratelimit"}


def ask(client, email: str, address: str = "192.0.2.1"):
    response = client.post(reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR=address)
    # The same answer whether an e-mail went out, was held back or had no account to go to.
    assert (response.status_code, response.url) == (302, DONE)
    return response


def test_an_account_gets_at_most_three_reset_emails_an_hour(client, alice, bob):
    with freeze_time("2030-01-01 12:00:00") as frozen:
        for n, email in enumerate(["alice@example.org", "ALICE@example.org", "alice@example.org", "Alice@Example.org"]):
            ask(client, email, address=f"198.51.100.{n}")
        assert [message.to for message in mail.outbox] == [["alice@example.org"]] * 3
        ask(client, "bob@example.org")
        assert mail.outbox[-1].to == ["bob@example.org"]
        frozen.move_to("2030-01-01 13:00:00")
        ask(client, "alice@example.org")
        assert len(mail.outbox) == 5
        assert mail.outbox[-1].to == ["alice@example.org"]


def test_one_address_gets_at_most_ten_reset_requests_an_hour(client, alice):
    with freeze_time("2030-01-01 12:00:00") as frozen:
        for n in range(10):
            ask(client, f"nobody{n}@example.org", address="203.0.113.7")
        ask(client, "alice@example.org", address="203.0.113.7")
        assert mail.outbox == []
        ask(client, "alice@example.org", address="203.0.113.8")
        assert len(mail.outbox) == 1
        frozen.move_to("2030-01-01 13:00:00")
        ask(client, "alice@example.org", address="203.0.113.7")
        assert len(mail.outbox) == 2


def test_the_limits_are_settings(client, alice, settings):
    settings.PASSWORD_RESET_RATE_PER_ACCOUNT = "1/day"
    with freeze_time("2030-01-01 12:00:00"):
        ask(client, "alice@example.org")
        ask(client, "alice@example.org", address="192.0.2.2")
        assert len(mail.outbox) == 1
