from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _after_migrate(sender: AppConfig, using: str = "default", **kwargs) -> None:
    from django_q.models import Schedule

    # The poll loop hands over due deliveries every few seconds; this, every minute, in any case.
    Schedule.objects.using(using).update_or_create(
        name="webhooks: send due deliveries",
        defaults={"func": "webhooks.tasks.deliver_due", "schedule_type": Schedule.MINUTES, "minutes": 1, "repeats": -1},
    )


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, sender=self)
