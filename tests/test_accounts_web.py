from __future__ import annotations

import re

import pytest
from conftest import PASSWORD
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from accounts.models import ApiToken, User
from accounts.services import api_token_create

NEW_PASSWORD = "a different long passphrase 42"


def test_signup_creates_the_account_and_signs_in(client, db):
    response = client.post(
        reverse("accounts:signup"),
        {"username": "dora", "email": "dora@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(username="dora")
    assert user.email == "dora@example.org"
    assert client.get(reverse("accounts:tokens")).status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "", "email": "e@example.org"}, "username", "This field is required."),
        ({"username": "erin", "email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"username": "erin", "email": "e@example.org", "password2": "other"}, "password2", "match"),
        ({"username": "alice", "email": "e@example.org"}, "username", "already exists"),
        ({"username": "erin", "email": "ALICE@example.org"}, "email", "already exists"),
        (
            {"username": "erin", "email": "e@example.org", "password1": "123", "password2": "123"},
            "password2",
            "too short",
        ),
    ],
)
def test_signup_rejects_bad_input_with_a_message_and_creates_nothing(client, alice, data, field, message):
    form = {"password1": PASSWORD, "password2": PASSWORD, **data}
    response = client.post(reverse("accounts:signup"), form)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


@override_settings(SIGNUP_ENABLED=False)
def test_signup_can_be_turned_off(client, db):
    assert client.get(reverse("accounts:signup")).status_code == 404
    client.post(
        reverse("accounts:signup"),
        {"username": "x", "email": "x@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert not User.objects.exists()


def test_login_and_logout(client, alice):
    response = client.post(reverse("accounts:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("accounts:tokens")).status_code == 200
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:tokens")).status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client, alice):
    wrong = client.post(reverse("accounts:login"), {"username": "alice", "password": "nope"})
    unknown = client.post(reverse("accounts:login"), {"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()


def test_password_change_keeps_this_session_and_requires_the_old_password(client, alice):
    client.force_login(alice)
    bad = client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert "old_password" in bad.context["form"].errors
    good = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert good.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert client.get(reverse("accounts:tokens")).status_code == 200


def test_password_reset_by_email_sets_the_password_and_revokes_tokens(client, alice):
    raw = api_token_create(user=alice, name="laptop").raw
    other_session = type(client)()
    other_session.force_login(alice)

    client.post(reverse("accounts:password_reset"), {"email": "alice@example.org"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302

    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert ApiToken.objects.get(user=alice).revoked_at is not None
    assert client.get(reverse("api-models"), HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    # Sessions opened before the reset end with it.
    assert other_session.get(reverse("accounts:tokens")).status_code == 302


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, alice):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_every_form_refuses_a_post_without_csrf_token(csrf_client, alice):
    token = api_token_create(user=alice, name="t").token
    anonymous_forms = [
        (
            reverse("accounts:signup"),
            {"username": "z", "email": "z@example.org", "password1": PASSWORD, "password2": PASSWORD},
        ),
        (reverse("accounts:login"), {"username": "alice", "password": PASSWORD}),
        (reverse("accounts:password_reset"), {"email": "alice@example.org"}),
    ]
    for url, data in anonymous_forms:
        assert csrf_client.post(url, data).status_code == 403, url
    csrf_client.force_login(alice)
    signed_in_forms = [
        (reverse("accounts:tokens"), {"name": "sneaky"}),
        (reverse("accounts:token_revoke", args=[token.pk]), {}),
        (
            reverse("accounts:password_change"),
            {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        ),
        (reverse("accounts:logout"), {}),
    ]
    for url, data in signed_in_forms:
        assert csrf_client.post(url, data).status_code == 403, url
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.count() == 1
    assert User.objects.filter(username="z").count() == 0


def test_forms_work_with_the_csrf_token(csrf_client, alice):
    page = csrf_client.get(reverse("accounts:login"))
    csrf = page.cookies["csrftoken"].value
    response = csrf_client.post(
        reverse("accounts:login"), {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 302
