from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate

SCHEDULES = {
    # One-minute granularity: each run keeps a poll loop alive for about a minute.
    "videos: poll loop": "videos.tasks.poll_loop",
    "videos: sweep deadlines and leftovers": "videos.tasks.sweep",
}


def _after_migrate(sender: AppConfig, using: str = "default", **kwargs) -> None:
    from django_q.models import Schedule

    from videos.models import Provider
    from videos.services import providers_sync_emulator

    # Where the emulator is on, or where its providers exist and must be switched off.
    if settings.EMULATOR_ENABLED or Provider.objects.using(using).filter(is_emulator=True).exists():
        providers_sync_emulator()
    for name, func in SCHEDULES.items():
        Schedule.objects.using(using).update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
        )


class VideosConfig(AppConfig):
    name = "videos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self)
