from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm, UserCreationForm
from django.utils import timezone

from accounts.models import User
from accounts.ratelimit import parse_rate, rate_hit
from accounts.services import user_password_reset

logger = logging.getLogger(__name__)


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Used only to reset your password.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email


class LimitedPasswordResetForm(PasswordResetForm):
    """Sends at most PASSWORD_RESET_RATE_PER_ACCOUNT e-mails to one account; the page never tells."""

    def get_users(self, email: str) -> Iterator[User]:
        rate = parse_rate(settings.PASSWORD_RESET_RATE_PER_ACCOUNT, setting="PASSWORD_RESET_RATE_PER_ACCOUNT")
        for user in super().get_users(email):
            if rate_hit(f"password-reset:user:{user.pk}", rate).allowed:
                yield user
            else:
                logger.warning("Password-reset e-mail to user %s not sent: the per-account limit is reached.", user.pk)


class ResetPasswordForm(SetPasswordForm):
    """The last step of a password reset: it also revokes every API token and download link of the account."""

    def save(self, commit: bool = True) -> User:
        user_password_reset(user=self.user, new_password=self.cleaned_data["new_password1"])
        return self.user


EXPIRY_CHOICES = [
    ("", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. “laptop” or “render script”.", strip=True
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + timedelta(days=int(days)) if days else None
