"""Every write to videos and providers goes through here."""

from __future__ import annotations

from django.conf import settings

from videos.models import AuthStyle, Provider, ProviderKind

EMULATOR_PROVIDERS = {
    "emulator-openai": {
        "display_name": "Emulator (OpenAI Videos protocol)",
        "kind": ProviderKind.OPENAI,
        "path": "/openai/v1",
        "auth_style": AuthStyle.BEARER,
        "api_version": "",
        "model_names": ["sora-2", "sora-2-pro"],
        "max_concurrent_jobs": 8,
        "requests_per_minute": 600,
    },
    "emulator-azure": {
        "display_name": "Emulator (Azure Sora jobs protocol)",
        "kind": ProviderKind.AZURE_SORA,
        "path": "/azure/openai/v1",
        "auth_style": AuthStyle.API_KEY,
        "api_version": "preview",
        "model_names": ["sora"],
        "max_concurrent_jobs": 4,
        "requests_per_minute": 600,
    },
}


def providers_sync_emulator(*, base_url: str | None = None) -> list[Provider]:
    """Create or update the two providers that point at the built-in emulator.

    With the emulator switched off they are disabled rather than deleted, since videos may
    still refer to them.
    """
    base = (base_url or settings.EMULATOR_BASE_URL).rstrip("/")
    synced = []
    for name, spec in EMULATOR_PROVIDERS.items():
        provider = Provider.objects.filter(name=name).first() or Provider(name=name, is_emulator=True)
        provider.display_name = spec["display_name"]
        provider.kind = spec["kind"]
        provider.base_url = base + spec["path"]
        provider.auth_style = spec["auth_style"]
        provider.api_version = spec["api_version"]
        if not provider.pk:
            provider.model_names = spec["model_names"]
            provider.max_concurrent_jobs = spec["max_concurrent_jobs"]
            provider.requests_per_minute = spec["requests_per_minute"]
        provider.is_emulator = True
        provider.enabled = settings.EMULATOR_ENABLED
        provider.api_key = settings.EMULATOR_API_KEY
        provider.save()
        synced.append(provider)
    return synced
