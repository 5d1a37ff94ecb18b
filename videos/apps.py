from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


def _sync_emulator_providers(sender: AppConfig, using: str = "default", **kwargs) -> None:
    from videos.models import Provider
    from videos.services import providers_sync_emulator

    # Where the emulator is on, or where its providers exist and must be switched off.
    if settings.EMULATOR_ENABLED or Provider.objects.using(using).filter(is_emulator=True).exists():
        providers_sync_emulator()


class VideosConfig(AppConfig):
    name = "videos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_sync_emulator_providers, sender=self)
