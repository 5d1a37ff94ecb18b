from django.apps import AppConfig


class EmulatorConfig(AppConfig):
    name = "videos.emulator"
    label = "emulator"
    verbose_name = "Provider emulator"
    default_auto_field = "django.db.models.BigAutoField"
