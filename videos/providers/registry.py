"""Provider kinds and the adapter class that speaks each protocol."""

from __future__ import annotations

from videos.providers.ark import ArkSeedanceProvider
from videos.providers.azure_sora import AzureSoraProvider
from videos.providers.base import VideoProvider
from videos.providers.fal import FalQueueProvider
from videos.providers.gemini import GeminiVeoProvider
from videos.providers.kling import KlingProvider
from videos.providers.luma import LumaProvider
from videos.providers.minimax import MiniMaxProvider
from videos.providers.openai import OpenAIVideoProvider
from videos.providers.openrouter import OpenRouterProvider
from videos.providers.replicate import ReplicateProvider
from videos.providers.runway import RunwayProvider
from videos.providers.types import ProviderConfig
from videos.providers.vertex import VertexVeoProvider

PROVIDER_CLASSES: dict[str, type[VideoProvider]] = {
    "openai": OpenAIVideoProvider,
    "azure_sora": AzureSoraProvider,
    "gemini": GeminiVeoProvider,
    "vertex": VertexVeoProvider,
    "ark": ArkSeedanceProvider,
    "fal": FalQueueProvider,
    "replicate": ReplicateProvider,
    "runway": RunwayProvider,
    "kling": KlingProvider,
    "minimax": MiniMaxProvider,
    "luma": LumaProvider,
    "openrouter": OpenRouterProvider,
}


def build_provider(config: ProviderConfig) -> VideoProvider:
    """The adapter for `config.kind`; close it (or use it as a context manager) when done."""
    try:
        provider_class = PROVIDER_CLASSES[config.kind]
    except KeyError:
        raise ValueError(f"unknown provider kind {config.kind!r}") from None
    return provider_class(config)
