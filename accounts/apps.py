from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from accounts.ratelimit import parse_rate

        # A mistyped limit stops every process at start-up instead of failing requests later.
        for name in ("API_RATE_LIMIT", "PASSWORD_RESET_RATE_PER_ACCOUNT", "PASSWORD_RESET_RATE_PER_ADDRESS"):
            parse_rate(getattr(settings, name), setting=name)
